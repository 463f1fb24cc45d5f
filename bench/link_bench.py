"""``mec5g bench link``: how closely the in-process link emulator does what its profile says.

A client in this process calls an echo server in another process (``mec5g bench link-echo``)
through an ``EmulatedLink`` (``runtime/link_emulation.py``), one call at a time, and through a
reference link in between, call for call, so that the machine's load drifts alike for both:

- **delay** (5, 10, 20, 50 ms one way, with and without jitter): each call through the
  emulated link is followed by one through an ideal link to an echo server that holds its
  answer for exactly the delay the emulator drew for that call, so that both calls find gRPC's
  threads idle for as long (an idle gRPC stack takes about a millisecond longer to answer than a
  busy one, link or no link). A call's error is the difference of the two; its measured added
  delay is that error plus the drawn delay. The measured mean and standard deviation stand
  beside the profile's own (from 100,000 draws of its bounded distribution), and the raw mean
  beside them is the added delay against a busy ideal link (what a caller sees in all).
- **loss**: the share of calls that waited for a retransmission (added delay above half the
  retransmission timeout) against the probability the profile gives a one-segment message,
  and the mean wait of those against the RTO.
- **rate**: the added delay of one large message against its serialisation time (wire bytes x
  8 / rate); then several at once, the last of which waits for all those before it.

Figures from a shared machine carry its noise: the command prints the load average with them.
"""

from __future__ import annotations

import asyncio
import math
import os
import random
import statistics
import struct
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

import grpc

from mec5g.processes import RoleProcess
from mec5g.runtime.grpc_server import start_server, wait_for_termination
from mec5g.runtime.link_emulation import (
    MAX_RETRANSMISSIONS,
    DirectionProfile,
    Distribution,
    EmulatedLink,
    LinkProfile,
    sleep_until,
    wire_bytes,
)

ECHO_SERVICE = "mec5g.bench.LinkEcho"
ECHO_METHOD = f"/{ECHO_SERVICE}/Echo"
DELAYS_MS = (5.0, 10.0, 20.0, 50.0)
JITTER_MS = 2.0
TARGET_MS = 1.0  # the accuracy target for delays of 5 ms and more
PAYLOAD_BYTES = 64
_HOLD = struct.Struct(">Q")  # the first 8 bytes of a request: microseconds to hold the answer


class _HoldingEcho(grpc.GenericRpcHandler):  # type: ignore[misc]
    """Answers ``ECHO_METHOD`` with the request, after holding it as long as the request says."""

    def service(
        self, handler_call_details: grpc.HandlerCallDetails
    ) -> grpc.RpcMethodHandler | None:
        if handler_call_details.method != ECHO_METHOD:
            return None

        async def echo(request: bytes, context: grpc.aio.ServicerContext) -> bytes:
            if len(request) < _HOLD.size:
                await context.abort(
                    grpc.StatusCode.INVALID_ARGUMENT,
                    f"request: {len(request)} bytes, at least {_HOLD.size} expected (the hold)",
                )
            (hold_us,) = _HOLD.unpack_from(request)
            if hold_us:
                loop = asyncio.get_running_loop()
                await sleep_until(loop, loop.time() + hold_us / 1e6)
            return request

        return grpc.unary_unary_rpc_method_handler(echo)


async def serve_echo(listen: str) -> None:
    """The echo server process (``mec5g bench link-echo``)."""
    server, _ = await start_server(
        listen, [lambda server: server.add_generic_rpc_handlers((_HoldingEcho(),))], [ECHO_SERVICE]
    )
    await wait_for_termination(server)


def _request(size: int, hold_seconds: float = 0.0) -> bytes:
    return _HOLD.pack(round(hold_seconds * 1e6)) + bytes(max(0, size - _HOLD.size))


@dataclass(frozen=True)
class DelayRow:
    """One delay configuration: the profile's own mean and spread, the spread measured, and the
    error of each call (measured added delay minus the delay the emulator drew for it)."""

    label: str
    configured_mean_ms: float
    configured_std_ms: float
    measured_mean_ms: float
    measured_std_ms: float
    error_mean_ms: float
    error_median_ms: float
    error_p95_ms: float  # of the absolute errors
    raw_mean_ms: float  # added delay against a busy ideal link
    calls: int


@dataclass(frozen=True)
class LossRow:
    configured_loss: float
    expected_share: float  # of one-segment messages needing a retransmission
    measured_share: float
    segments_lost: int  # as the emulator counted them
    rto_ms: float
    expected_wait_ms: float  # mean of RTO x (2^k - 1) over k >= 1 losses in a row
    measured_wait_ms: float  # mean extra delay of the calls that waited
    calls: int


@dataclass(frozen=True)
class RateRow:
    rate_kbps: float
    payload_bytes: int
    wire_bytes: int
    serialisation_ms: float
    measured_ms: float  # one message alone
    burst: int
    burst_expected_ms: float  # the last of ``burst`` sent at once
    burst_measured_ms: float


@dataclass
class LinkReport:
    calls: int
    load_average: tuple[float, float, float]
    delays: list[DelayRow] = field(default_factory=list)
    loss: LossRow | None = None
    rate: RateRow | None = None

    def as_dict(self) -> dict[str, object]:
        return {
            "calls": self.calls,
            "load_average": self.load_average,
            "target_ms": TARGET_MS,
            "delays": [asdict(row) for row in self.delays],
            "loss": asdict(self.loss) if self.loss else None,
            "rate": asdict(self.rate) if self.rate else None,
        }

    def render(self) -> str:
        load = ", ".join(f"{value:.2f}" for value in self.load_average)
        lines = [
            f"link emulator accuracy, {self.calls} calls per configuration, one way (uplink); "
            f"load average {load} (a shared machine adds its noise)",
            f"  {'profile':26} {'mean':>7} {'std':>6}  {'measured mean':>13} {'std':>6}  "
            f"{'error mean':>10} {'median':>7} {'p95 |e|':>7}  {'raw mean':>8}",
        ]
        for row in self.delays:
            lines.append(
                f"  {row.label:26} {row.configured_mean_ms:7.3f} {row.configured_std_ms:6.3f}  "
                f"{row.measured_mean_ms:13.3f} {row.measured_std_ms:6.3f}  "
                f"{row.error_mean_ms:+10.3f} {row.error_median_ms:+7.3f} "
                f"{row.error_p95_ms:7.3f}  {row.raw_mean_ms:8.3f}"
            )
        within = sum(abs(row.error_median_ms) <= TARGET_MS for row in self.delays)
        lines.append(
            f"  (ms; error = measured added delay - the delay drawn for that call) median error "
            f"within {TARGET_MS:g} ms: {within} of {len(self.delays)} configurations; largest "
            f"|mean error| {max((abs(row.error_mean_ms) for row in self.delays), default=0):.3f}"
        )
        if self.loss is not None:
            loss = self.loss
            lines.append(
                f"  loss {loss.configured_loss:g} per segment: {loss.measured_share:.3f} of "
                f"{loss.calls} calls waited for a retransmission (expected "
                f"{loss.expected_share:.3f}; {loss.segments_lost} segments lost), waiting "
                f"{loss.measured_wait_ms:.1f} ms on average (expected {loss.expected_wait_ms:.1f} "
                f"ms; RTO {loss.rto_ms:.1f} ms)"
            )
        if self.rate is not None:
            rate = self.rate
            lines.append(
                f"  rate {rate.rate_kbps:g} kbit/s, {rate.payload_bytes} B ({rate.wire_bytes} B "
                f"on the wire): serialisation {rate.serialisation_ms:.2f} ms, measured "
                f"{rate.measured_ms:.2f} ms; {rate.burst} at once: the last after "
                f"{rate.burst_measured_ms:.1f} ms (expected {rate.burst_expected_ms:.1f} ms)"
            )
        return "\n".join(lines)


def profile_moments(profile: DirectionProfile, draws: int = 100_000) -> tuple[float, float]:
    """Mean and standard deviation of a direction's delay in ms, from its own bounded draws."""
    rng = random.Random(0)
    samples = [profile.sample_delay(rng) * 1e3 for _ in range(draws)]
    return statistics.fmean(samples), statistics.pstdev(samples)


class _Links:
    """Emulated links to the echo server, started on demand and closed together."""

    def __init__(self, echo: str) -> None:
        self._echo = echo
        self._open: list[tuple[EmulatedLink, grpc.aio.Channel]] = []

    async def caller(
        self, profile: LinkProfile
    ) -> tuple[EmulatedLink, grpc.aio.UnaryUnaryMultiCallable]:
        link = EmulatedLink("bench", self._echo, profile, seed=len(self._open))
        await link.start()
        channel = grpc.aio.insecure_channel(link.target)
        self._open.append((link, channel))
        call = channel.unary_unary(ECHO_METHOD)
        for _ in range(5):  # connected and warm before anything is timed
            await call(_request(PAYLOAD_BYTES), timeout=10.0)
        return link, call

    async def close(self) -> None:
        for link, channel in self._open:
            await channel.close()
            await link.close()


async def _timed(call: grpc.aio.UnaryUnaryMultiCallable, request: bytes) -> float:
    started = time.perf_counter()
    await call(request, timeout=30.0)
    return time.perf_counter() - started


async def _delay_row(
    links: _Links,
    label: str,
    direction: DirectionProfile,
    calls: int,
    ideal: grpc.aio.UnaryUnaryMultiCallable,
) -> DelayRow:
    mean_ms, std_ms = profile_moments(direction)
    link, emulated = await links.caller(LinkProfile(uplink=direction))
    measured, errors, raw = [], [], []
    for _ in range(calls):
        drawn = link.uplink.stats.added_seconds
        through = await _timed(emulated, _request(PAYLOAD_BYTES))
        drawn = link.uplink.stats.added_seconds - drawn
        held = await _timed(ideal, _request(PAYLOAD_BYTES, drawn))
        raw.append(through - await _timed(ideal, _request(PAYLOAD_BYTES)))
        measured.append(through - held + drawn)
        errors.append(through - held)
    absolute = sorted(abs(error) for error in errors)
    return DelayRow(
        label,
        mean_ms,
        std_ms,
        statistics.fmean(measured) * 1e3,
        statistics.pstdev(measured) * 1e3,
        statistics.fmean(errors) * 1e3,
        statistics.median(errors) * 1e3,
        absolute[math.ceil(0.95 * len(absolute)) - 1] * 1e3,
        statistics.fmean(raw) * 1e3,
        calls,
    )


async def _loss_row(links: _Links, calls: int) -> LossRow:
    direction = DirectionProfile(delay_ms=10.0, loss=0.05)
    profile = LinkProfile(uplink=direction)
    link, emulated = await links.caller(profile)
    before = link.uplink.stats.segments_lost
    rto = profile.retransmission_timeout
    added = [
        await _timed(emulated, _request(PAYLOAD_BYTES)) - direction.delay_ms / 1e3
        for _ in range(calls)
    ]
    waited = [seconds for seconds in added if seconds > rto / 2]
    return LossRow(
        direction.loss,
        direction.loss,  # a 64-byte request is one segment
        len(waited) / calls,
        link.uplink.stats.segments_lost - before,
        rto * 1e3,
        expected_wait(direction.loss, rto) * 1e3,
        statistics.fmean(waited) * 1e3 if waited else 0.0,
        calls,
    )


def expected_wait(loss: float, rto: float) -> float:
    """Mean retransmission wait of a one-segment message lost at least once: k losses in a row
    (probability loss^k (1 - loss), given k >= 1) cost RTO x (2^k - 1)."""
    return math.fsum(
        loss ** (k - 1) * (1 - loss) * rto * (2**k - 1) for k in range(1, MAX_RETRANSMISSIONS + 1)
    )


async def _rate_row(links: _Links, ideal: grpc.aio.UnaryUnaryMultiCallable) -> RateRow:
    payload, burst = 4000, 6
    direction = DirectionProfile(rate_kbps=512.0)
    _, emulated = await links.caller(LinkProfile(uplink=direction))
    size = wire_bytes(payload)
    serialisation = direction.serialisation(size)
    alone = []
    for _ in range(10):
        through = await _timed(emulated, _request(payload))
        held = await _timed(ideal, _request(payload, serialisation))
        alone.append(through - held + serialisation)
    started = time.perf_counter()
    await asyncio.gather(*(emulated(_request(payload), timeout=30.0) for _ in range(burst)))
    return RateRow(
        direction.rate_kbps or 0.0,
        payload,
        size,
        serialisation * 1e3,
        statistics.median(alone) * 1e3,
        burst,
        burst * serialisation * 1e3,
        (time.perf_counter() - started) * 1e3,
    )


async def run(workdir: Path, calls: int, delays: Sequence[float] = DELAYS_MS) -> LinkReport:
    from mec5g.bench.handshake_bench import free_targets

    (target,) = free_targets(1)
    echo = RoleProcess("link-echo", ["bench", "link-echo", "--listen", target], target,
                       ECHO_SERVICE, workdir)  # fmt: skip
    await echo.start()
    links = _Links(target)
    try:
        report = LinkReport(calls, os.getloadavg())
        _, ideal = await links.caller(LinkProfile())
        for delay in delays:
            report.delays.append(
                await _delay_row(
                    links, f"{delay:g} ms", DirectionProfile(delay_ms=delay), calls, ideal
                )
            )
            for distribution in (Distribution.NORMAL, Distribution.PARETO):
                direction = DirectionProfile(
                    delay_ms=delay, jitter_ms=JITTER_MS, distribution=distribution
                )
                label = f"{delay:g} ms ± {JITTER_MS:g} {distribution.value}"
                report.delays.append(await _delay_row(links, label, direction, calls, ideal))
        report.loss = await _loss_row(links, max(calls, 400))
        report.rate = await _rate_row(links, ideal)
        return report
    finally:
        await links.close()
        echo.stop()
