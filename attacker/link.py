"""An attacked link: a man in the middle on an open gRPC hop (the paper's Dolev-Yao model).

The testbed puts an ``AttackedLink`` where a link runs in the open (UE to MEC, MEC to TTP): a
gRPC server that every call of the downstream party goes through, forwarded to the upstream
party over a real socket. Every request and response passes the link's ``on_request`` and
``on_response`` hooks, which may forward it unchanged or modified, drop it, withhold it for
later, or delay it; the attacker can also inject any message of its own, and deliver what it
withheld. Everything that crosses, and what the attacker did with it, goes to the transcript.

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
    call_timeout: float = 10.0

    def __post_init__(self) -> None:
        self.withheld: list[tuple[str, bytes]] = []
        self.captured: list[Message] = []
        self._calls = 0
        self._server: grpc.aio.Server | None = None
        self._channel = grpc.aio.insecure_channel(
            self.upstream, options=[("grpc.enable_retries", 0)]
        )
        self.port = 0

    @property
    def target(self) -> str:
        """Where the downstream party connects instead of the upstream one."""
        return f"127.0.0.1:{self.port}"

    async def start(self) -> None:
        server = grpc.aio.server()
        server.add_generic_rpc_handlers((_Forwarder(self),))
        self.port = server.add_insecure_port("127.0.0.1:0")
        await server.start()
        self._server = server

    async def close(self) -> None:
        if self._server is not None:
            await self._server.stop(None)
        await self._channel.close()

    def passive(self) -> None:
        """Stop interfering: forward everything from now on (the transcript goes on)."""
        self.on_request = self.on_response = lambda message: FORWARD

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
            response: bytes = await self._channel.unary_unary(method)(
                payload, timeout=self.call_timeout
            )
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
            response: bytes = await self._channel.unary_unary(method)(
                action.payload if action.payload is not None else request,
                timeout=self.call_timeout,
            )
        except grpc.aio.AioRpcError as error:
            self.transcript.status(self.name, method, call, error.code(), error.details() or "")
            await context.abort(error.code(), error.details() or "")
        outgoing = Message(self.name, method, "response", response, call)
        action = self.on_response(outgoing)
        self._note(outgoing, action.name)
        if action.verdict is not Verdict.FORWARD:
            await context.abort(grpc.StatusCode.UNAVAILABLE, LINK_LOST)
        if action.delay:
            await asyncio.sleep(action.delay)
        return action.payload if action.payload is not None else response


class _Forwarder(grpc.GenericRpcHandler):  # type: ignore[misc]
    """Hands every unary call the link receives to ``AttackedLink._relay``, as raw bytes."""

    def __init__(self, link: AttackedLink) -> None:
        self._link = link

    def service(
        self, handler_call_details: grpc.HandlerCallDetails
    ) -> grpc.RpcMethodHandler | None:
        method: str = handler_call_details.method

        async def relay(request: bytes, context: grpc.aio.ServicerContext) -> bytes:
            return await self._link.relay(method, request, context)

        return grpc.unary_unary_rpc_method_handler(relay)
