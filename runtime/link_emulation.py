"""Link emulation in the process: what a radio or backhaul link does to the gRPC calls crossing it.

An ``EmulatedLink`` is a relay (``runtime/grpc_relay.py``) between a downstream party (a UE, a
MEC) and its upstream party (a MEC, the TTP). Each direction (uplink: the downstream party's
requests; downlink: the answers) has a ``DirectionProfile``:

- **delay**: a base one-way delay plus jitter drawn from a distribution: ``uniform`` over
  ±jitter (netem's default), ``normal`` with jitter as its standard deviation, or ``pareto``
  (shape 3, heavy-tailed to the late side, shifted to mean 0 and scaled to standard deviation
  jitter). The jitter is bounded to ±``jitter_bound_ms`` (default 4 × jitter) and a delay is
  never below 0.
- **rate**: the link carries one message at a time at ``rate_kbps``: a message waits for those
  before it, then takes its wire bytes × 8 / rate to serialise.
- **loss**: each TCP segment of a message is lost with probability ``loss``. gRPC runs over TCP,
  so a loss does not lose the call: TCP sends the segment again after its retransmission timeout
  (RTO), doubling the timeout for each further loss of the same segment, and the message
  arrives late. RTO = RTT + max(4 × RTT variation, 200 ms), RFC 6298 as Linux applies it
  (200 ms is its TCP_RTO_MIN), from the base delays and jitters of both directions. With one
  small message in flight a real stack has no fast retransmit and its tail-loss probe waits
  about as long, so the RTO is the model. A call fails only when the lateness passes the
  caller's deadline, with DEADLINE_EXCEEDED at the caller, as over a real lossy link.
- **order**: one link is one TCP connection, so messages arrive in the order they were sent; a
  late one holds back those behind it (head-of-line blocking).

Wire bytes of a message: its protobuf bytes, 5 (gRPC length prefix), 9 (HTTP/2 DATA frame
header) and 52 per TCP segment of up to 1448 bytes (IPv4 20, TCP 20, timestamps 12). An answer
that is only a status counts ``STATUS_BYTES``. HTTP/2 HEADERS frames and TCP ACKs are not counted.

A request whose caller gave up meanwhile is still delivered upstream (a link does not take back
what it carries), and the upstream party's deadline is the caller's, counted from when the
request arrives (gRPC sends the remaining time with the request). ``set_profile`` changes the
profile of a running link (link degradation) without reordering what is in flight.
"""

from __future__ import annotations

import asyncio
import enum
import math
import random
from dataclasses import dataclass, field

import grpc

from mec5g.runtime.grpc_relay import GrpcRelay

RTO_MIN_SECONDS = 0.2  # Linux's TCP_RTO_MIN
MAX_RETRANSMISSIONS = 15  # Linux's tcp_retries2: a real connection breaks after this many
SEGMENT_BYTES = 1448  # TCP payload per segment on a 1500-byte MTU with timestamps
SEGMENT_HEADER_BYTES = 52  # IPv4 20 + TCP 20 + the timestamps option 12
FRAMING_BYTES = 5 + 9  # gRPC length prefix + HTTP/2 DATA frame header
STATUS_BYTES = 32  # an answer without a message: a trailers frame, estimated
SPIN_SECONDS = 0.0015  # the end of a wait, spent yielding (see sleep_until)
DEFAULT_BOUND_JITTERS = 4.0  # jitter bounded at this many times the jitter by default
_PARETO_SHAPE = 3.0
_PARETO_MEAN = _PARETO_SHAPE / (_PARETO_SHAPE - 1)  # of a Pareto with minimum 1
_PARETO_STD = math.sqrt(_PARETO_SHAPE / ((_PARETO_SHAPE - 1) ** 2 * (_PARETO_SHAPE - 2)))


class Distribution(enum.Enum):
    """How jitter is distributed around the base delay."""

    UNIFORM = "uniform"
    NORMAL = "normal"
    PARETO = "pareto"


@dataclass(frozen=True)
class DirectionProfile:
    """What one direction of a link does to a message; zero everywhere is an ideal link."""

    delay_ms: float = 0.0
    jitter_ms: float = 0.0
    distribution: Distribution = Distribution.NORMAL
    jitter_bound_ms: float | None = None  # None: DEFAULT_BOUND_JITTERS x jitter
    loss: float = 0.0  # per TCP segment
    rate_kbps: float | None = None  # None: no rate limit

    def __post_init__(self) -> None:
        for name in ("delay_ms", "jitter_ms", "jitter_bound_ms", "rate_kbps", "loss"):
            value = getattr(self, name)
            if value is not None and (not math.isfinite(value) or value < 0):
                raise ValueError(f"{name} must be a finite number, 0 or more: {value!r}")
        if self.loss >= 1:
            raise ValueError(f"loss must be below 1 (a probability per segment): {self.loss!r}")
        if self.rate_kbps == 0:
            raise ValueError("rate_kbps must be above 0 (leave it out for no limit)")

    @property
    def bound_ms(self) -> float:
        if self.distribution is Distribution.UNIFORM:
            return self.jitter_ms
        if self.jitter_bound_ms is not None:
            return self.jitter_bound_ms
        return DEFAULT_BOUND_JITTERS * self.jitter_ms

    @property
    def ideal(self) -> bool:
        return not (self.delay_ms or self.jitter_ms or self.loss or self.rate_kbps)

    def sample_delay(self, rng: random.Random) -> float:
        """One message's propagation delay in seconds (no queueing, no retransmission)."""
        offset = 0.0
        if self.jitter_ms:
            if self.distribution is Distribution.UNIFORM:
                offset = rng.uniform(-self.jitter_ms, self.jitter_ms)
            elif self.distribution is Distribution.NORMAL:
                offset = rng.gauss(0.0, self.jitter_ms)
            else:
                pareto = rng.paretovariate(_PARETO_SHAPE)
                offset = self.jitter_ms * (pareto - _PARETO_MEAN) / _PARETO_STD
            bound = self.bound_ms
            offset = min(bound, max(-bound, offset))
        return max(0.0, self.delay_ms + offset) / 1e3

    def serialisation(self, wire_bytes: int) -> float:
        """Seconds the link takes to send ``wire_bytes`` at its rate (0 without a limit)."""
        return wire_bytes * 8 / (self.rate_kbps * 1e3) if self.rate_kbps else 0.0


@dataclass(frozen=True)
class LinkProfile:
    """Both directions of a link."""

    uplink: DirectionProfile = field(default_factory=DirectionProfile)
    downlink: DirectionProfile = field(default_factory=DirectionProfile)

    @property
    def ideal(self) -> bool:
        return self.uplink.ideal and self.downlink.ideal

    @property
    def retransmission_timeout(self) -> float:
        """TCP's RTO in seconds on this link (RFC 6298 with Linux's 200 ms floor)."""
        rtt = (self.uplink.delay_ms + self.downlink.delay_ms) / 1e3
        variation = (self.uplink.jitter_ms + self.downlink.jitter_ms) / 1e3
        return rtt + max(4 * variation, RTO_MIN_SECONDS)


def wire_bytes(payload: int) -> int:
    """Bytes a message of ``payload`` protobuf bytes takes on the link (module docstring)."""
    framed = payload + FRAMING_BYTES
    return framed + SEGMENT_HEADER_BYTES * math.ceil(framed / SEGMENT_BYTES)


@dataclass
class DirectionStats:
    """What one direction carried: messages, wire bytes, segments lost (each retransmitted),
    and the delay it added in all (queueing, serialisation, propagation, retransmission)."""

    messages: int = 0
    wire_bytes: int = 0
    segments_lost: int = 0
    added_seconds: float = 0.0


class LinkDirection:
    """One direction's state: when the link is free to send again, when the last message
    arrives (order is kept), the random draws, and what it carried."""

    def __init__(self, profile: DirectionProfile, rng: random.Random) -> None:
        self.profile = profile
        self._rng = rng
        self._free_at = 0.0
        self._last_arrival = 0.0
        self.stats = DirectionStats()

    def schedule(self, size: int, now: float, rto: float) -> float:
        """The time (on ``now``'s clock) at which a message of ``size`` wire bytes sent at
        ``now`` arrives; ``rto`` is the link's retransmission timeout."""
        profile = self.profile
        sent = max(now, self._free_at) + profile.serialisation(size)
        self._free_at = sent
        late = 0.0
        if profile.loss:
            # Every segment but the last is full, so this is the segment count of wire_bytes.
            for _ in range(math.ceil(size / (SEGMENT_BYTES + SEGMENT_HEADER_BYTES))):
                losses = 0
                while losses < MAX_RETRANSMISSIONS and self._rng.random() < profile.loss:
                    losses += 1
                self.stats.segments_lost += losses
                late = max(late, rto * (2**losses - 1))
        arrival = max(sent + profile.sample_delay(self._rng) + late, self._last_arrival)
        self._last_arrival = arrival
        self.stats.messages += 1
        self.stats.wire_bytes += size
        self.stats.added_seconds += arrival - now
        return arrival


@dataclass(frozen=True)
class _Failed:
    """The upstream party's status, carried back like an answer."""

    code: grpc.StatusCode
    details: str


class EmulatedLink:
    """A link with ``profile`` between a downstream party and ``upstream`` (host:port); the
    downstream party connects to ``target``. ``seed`` makes the random draws reproducible."""

    def __init__(
        self,
        name: str,
        upstream: str,
        profile: LinkProfile,
        *,
        seed: int | None = None,
    ) -> None:
        self.name = name
        self._profile = profile
        rng = random.Random(f"mec5g/link/{seed}/{name}") if seed is not None else random.Random()
        self.uplink = LinkDirection(profile.uplink, rng)
        self.downlink = LinkDirection(profile.downlink, rng)
        self._relay = GrpcRelay(upstream, self._carry)
        self._in_flight: set[asyncio.Future[bytes | _Failed]] = set()

    @property
    def profile(self) -> LinkProfile:
        return self._profile

    def set_profile(self, profile: LinkProfile) -> None:
        """From now on, messages cross with ``profile`` (those in flight keep their times)."""
        self._profile = profile
        self.uplink.profile = profile.uplink
        self.downlink.profile = profile.downlink

    @property
    def target(self) -> str:
        return self._relay.target

    async def start(self) -> None:
        await self._relay.start()

    async def close(self) -> None:
        await self._relay.close()
        for delivery in list(self._in_flight):
            delivery.cancel()

    async def _carry(self, method: str, request: bytes, context: grpc.aio.ServicerContext) -> bytes:
        remaining = context.time_remaining()
        delivery = asyncio.ensure_future(self._deliver(method, request, remaining))
        self._in_flight.add(delivery)
        delivery.add_done_callback(self._in_flight.discard)
        # Shielded: a caller that gives up does not take the request back off the link.
        outcome = await asyncio.shield(delivery)
        if isinstance(outcome, _Failed):
            await context.abort(outcome.code, outcome.details)
            raise AssertionError("unreachable: abort raises")
        return outcome

    async def _deliver(self, method: str, request: bytes, timeout: float | None) -> bytes | _Failed:
        loop = asyncio.get_running_loop()
        rto = self._profile.retransmission_timeout
        await sleep_until(loop, self.uplink.schedule(wire_bytes(len(request)), loop.time(), rto))
        answer: bytes | _Failed
        try:
            answer = await self._relay.call(method, request, timeout)
            size = wire_bytes(len(answer))
        except grpc.aio.AioRpcError as error:
            answer = _Failed(error.code(), error.details() or "")
            size = STATUS_BYTES
        await sleep_until(loop, self.downlink.schedule(size, loop.time(), rto))
        return answer


async def sleep_until(loop: asyncio.AbstractEventLoop, when: float) -> None:
    """Wait until ``when`` on the loop's clock, to within a loop iteration.

    The event loop's epoll timeouts round up to whole milliseconds and wake late by up to
    one more, so a plain ``asyncio.sleep`` would add about 1 ms to every delay. The last
    ``SPIN_SECONDS`` of a wait are spent yielding to the loop instead: other calls run meanwhile,
    and the wait ends within one loop iteration of ``when``.
    """
    coarse = when - loop.time() - SPIN_SECONDS
    if coarse > 0:
        await asyncio.sleep(coarse)
    while loop.time() < when:
        await asyncio.sleep(0)
