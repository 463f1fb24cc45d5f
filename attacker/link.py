"""An attacked link: a man in the middle on an open gRPC hop (the paper's Dolev-Yao model).

The testbed puts an ``AttackedLink`` where a link runs in the open (UE to MEC, MEC to TTP): a
gRPC relay (``runtime/grpc_relay.py``) that every call of the downstream party goes through,
forwarded to the upstream party over a real socket. Every request and response passes the
link's ``on_request`` and ``on_response`` hooks, which may forward it unchanged or modified,
drop it, withhold it for later, or delay it; the attacker can also inject any message of its
own, and deliver what it withheld. Everything that crosses, and what the attacker did with
it, goes to the transcript.

A dropped or withheld message closes the caller's call with UNAVAILABLE at once, as a broken
link would after its deadline: the holder's attempt ends and it retries with a fresh counter
(SPEC.md, Attempts), without the tests waiting for timeouts.

Payloads are the protobuf bytes of the call; ``codec`` reads and rewrites the fields the
scenarios touch. Only unary calls cross (every key-agreement RPC is unary).
"""

from __future__ import annotations

import asyncio
import enum
from collections.abc import Callable
from dataclasses import dataclass, field

import grpc

from mec5g.attacker.transcript import Transcript
from mec5g.runtime.grpc_relay import GrpcRelay

LINK_LOST = "link lost"  # the status details of a dropped or withheld message


class Verdict(enum.Enum):
    FORWARD = "forward"
    DROP = "drop"
    WITHHOLD = "withhold"


@dataclass(frozen=True)
class Action:
    """What the attacker does with one message: forward (possibly rewritten, possibly late),
    drop, or withhold for a later ``deliver_withheld``."""

    verdict: Verdict = Verdict.FORWARD
    payload: bytes | None = None  # a rewritten message; None forwards the original
    delay: float = 0.0

    @property
    def name(self) -> str:
        if self.verdict is not Verdict.FORWARD:
            return str(self.verdict.value)
        modified = "modify" if self.payload is not None else "forward"
        return f"{modified}+delay" if self.delay else modified


FORWARD = Action()
DROP = Action(Verdict.DROP)
WITHHOLD = Action(Verdict.WITHHOLD)


@dataclass(frozen=True)
class Message:
    """One message crossing the link, as the hooks see it."""

    link: str
    method: str  # full gRPC method name, e.g. /mec5g.v1.MecKeyAgreementService/Agree
    direction: str  # "request" (downstream to upstream) or "response"
    payload: bytes
    call: int  # the call's number on this link; a response shares its request's number


Hook = Callable[[Message], Action]


@dataclass(frozen=True)
class InjectionResult:
    """What the upstream party answered to a message the attacker sent itself."""

    code: grpc.StatusCode
    details: str
    response: bytes | None


@dataclass
class AttackedLink:
    """A man in the middle between a downstream caller and ``upstream`` (host:port)."""

    name: str
    upstream: str
    transcript: Transcript
    on_request: Hook = field(default=lambda message: FORWARD)
    on_response: Hook = field(default=lambda message: FORWARD)
    # When the upstream party fails a call: bytes to answer in its place, or None to pass the
    # failure on (the attacker impersonating the upstream party).
    on_failure: Callable[[Message], bytes | None] = field(default=lambda message: None)
    call_timeout: float = 10.0

    def __post_init__(self) -> None:
        self.withheld: list[tuple[str, bytes]] = []
        self.captured: list[Message] = []
        self._calls = 0
        self._relay = GrpcRelay(self.upstream, self.relay)

    @property
    def port(self) -> int:
        return self._relay.port

    @property
    def target(self) -> str:
        """Where the downstream party connects instead of the upstream one."""
        return self._relay.target

    async def start(self) -> None:
        await self._relay.start()

    async def close(self) -> None:
        await self._relay.close()

    def passive(self) -> None:
        """Stop interfering: forward everything from now on (the transcript goes on)."""
        self.on_request = self.on_response = lambda message: FORWARD
        self.on_failure = lambda message: None

    def of(self, method: str, direction: str = "request") -> list[Message]:
        """Captured messages of ``method`` (its last path part is enough) in one direction."""
        return [
            message
            for message in self.captured
            if message.method.endswith(method) and message.direction == direction
        ]

    async def inject(self, method: str, payload: bytes) -> InjectionResult:
        """Send a message of the attacker's own upstream, as if from the downstream party."""
        self._calls += 1
        call = self._calls
        self._note(Message(self.name, method, "request", payload, call), "inject")
        try:
            response = await self._relay.call(method, payload, self.call_timeout)
        except grpc.aio.AioRpcError as error:
            self.transcript.status(self.name, method, call, error.code(), error.details() or "")
            return InjectionResult(error.code(), error.details() or "", None)
        self._note(Message(self.name, method, "response", response, call), "to-attacker")
        return InjectionResult(grpc.StatusCode.OK, "", response)

    async def deliver_withheld(self) -> list[InjectionResult]:
        """Deliver every withheld request, oldest first; the link forgets them."""
        withheld, self.withheld = self.withheld, []
        return [await self.inject(method, payload) for method, payload in withheld]

    def _note(self, message: Message, action: str) -> None:
        self.captured.append(message)
        self.transcript.message(message, action)

    async def relay(self, method: str, request: bytes, context: grpc.aio.ServicerContext) -> bytes:
        """One call of the downstream party, through the hooks (called by the link's server)."""
        self._calls += 1
        call = self._calls
        incoming = Message(self.name, method, "request", request, call)
        action = self.on_request(incoming)
        self._note(incoming, action.name)
        if action.verdict is Verdict.WITHHOLD:
            self.withheld.append((method, request))
        if action.verdict is not Verdict.FORWARD:
            await context.abort(grpc.StatusCode.UNAVAILABLE, LINK_LOST)
        if action.delay:
            await asyncio.sleep(action.delay)
        try:
            response = await self._relay.call(
                method,
                action.payload if action.payload is not None else request,
                self.call_timeout,
            )
        except grpc.aio.AioRpcError as error:
            self.transcript.status(self.name, method, call, error.code(), error.details() or "")
            forged = self.on_failure(incoming)
            if forged is not None:
                self._note(Message(self.name, method, "response", forged, call), "forge")
                return forged
            await context.abort(error.code(), error.details() or "")
            raise  # unreachable: abort raises
        outgoing = Message(self.name, method, "response", response, call)
        action = self.on_response(outgoing)
        self._note(outgoing, action.name)
        if action.verdict is not Verdict.FORWARD:
            await context.abort(grpc.StatusCode.UNAVAILABLE, LINK_LOST)
        if action.delay:
            await asyncio.sleep(action.delay)
        return action.payload if action.payload is not None else response
