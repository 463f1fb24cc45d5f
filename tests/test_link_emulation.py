"""The in-process link emulator (runtime/link_emulation.py): the model on its own, then real gRPC
calls through a link to a real server on a loopback socket.

Timing bounds are loose on purpose (a delay is at least what the profile says, and not grossly
more): accuracy is what ``mec5g bench link`` measures, not a test.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import AsyncIterator

import grpc
import pytest

from mec5g.runtime.link_emulation import (
    RTO_MIN_SECONDS,
    SEGMENT_BYTES,
    DirectionProfile,
    Distribution,
    EmulatedLink,
    LinkDirection,
    LinkProfile,
    wire_bytes,
)

METHOD = "/mec5g.test.Echo/Echo"
SLACK = 0.5  # seconds a loaded machine may add to any emulated delay


class _Echo(grpc.GenericRpcHandler):  # type: ignore[misc]
    """Echoes requests; a request ``missing`` gets NOT_FOUND naming it. Counts what it saw."""

    def __init__(self) -> None:
        self.seen: list[bytes] = []

    def service(self, details: grpc.HandlerCallDetails) -> grpc.RpcMethodHandler | None:
        async def echo(request: bytes, context: grpc.aio.ServicerContext) -> bytes:
            self.seen.append(request)
            if request == b"missing":
                await context.abort(grpc.StatusCode.NOT_FOUND, "no such thing: missing")
            return request

        return grpc.unary_unary_rpc_method_handler(echo)


@pytest.fixture
async def echo() -> AsyncIterator[tuple[str, _Echo]]:
    handler = _Echo()
    server = grpc.aio.server()
    server.add_generic_rpc_handlers((handler,))
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    yield f"127.0.0.1:{port}", handler
    await server.stop(None)


async def _through(
    upstream: str, profile: LinkProfile, request: bytes = b"ping", timeout: float = 10.0
) -> tuple[float, bytes]:
    link = EmulatedLink("test", upstream, profile, seed=1)
    await link.start()
    try:
        async with grpc.aio.insecure_channel(link.target) as channel:
            call = channel.unary_unary(METHOD)
            await call(b"warm", timeout=10.0)
            started = time.perf_counter()
            answer: bytes = await call(request, timeout=timeout)
            return time.perf_counter() - started, answer
    finally:
        await link.close()


# -- the model ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("field", "value"),
    [("delay_ms", -1.0), ("jitter_ms", float("nan")), ("loss", 1.0), ("rate_kbps", 0.0)],
)
def test_a_profile_refuses_impossible_values(field: str, value: float) -> None:
    with pytest.raises(ValueError, match=field):
        DirectionProfile(**{field: value})


@pytest.mark.parametrize("distribution", list(Distribution))
def test_jitter_stays_within_its_bound_and_delays_never_go_negative(
    distribution: Distribution,
) -> None:
    profile = DirectionProfile(delay_ms=3.0, jitter_ms=2.0, distribution=distribution)
    rng = random.Random(7)
    samples = [profile.sample_delay(rng) * 1e3 for _ in range(20_000)]
    assert min(samples) >= 0.0
    assert max(samples) <= 3.0 + profile.bound_ms + 1e-9
    assert len(set(samples)) > 1000  # it does jitter
    mean = sum(samples) / len(samples)
    assert 2.0 < mean < 4.5  # about the base delay (clipping at 0 lifts it a little)


def test_pareto_jitter_is_late_heavy() -> None:
    profile = DirectionProfile(delay_ms=50.0, jitter_ms=5.0, distribution=Distribution.PARETO)
    rng = random.Random(3)
    offsets = [profile.sample_delay(rng) * 1e3 - 50.0 for _ in range(20_000)]
    assert max(offsets) > 3 * -min(offsets)  # a long tail to the late side only


def test_wire_bytes_count_framing_and_segments() -> None:
    assert wire_bytes(64) == 64 + 14 + 52
    assert wire_bytes(SEGMENT_BYTES - 14) == SEGMENT_BYTES + 52
    assert wire_bytes(SEGMENT_BYTES - 13) == SEGMENT_BYTES + 1 + 2 * 52


def test_the_retransmission_timeout_follows_linux() -> None:
    assert LinkProfile().retransmission_timeout == RTO_MIN_SECONDS
    slow = LinkProfile(
        DirectionProfile(delay_ms=300.0, jitter_ms=50.0),
        DirectionProfile(delay_ms=300.0, jitter_ms=50.0),
    )
    assert slow.retransmission_timeout == pytest.approx(0.6 + 4 * 0.1)


def test_a_rate_limited_direction_queues_messages_in_order() -> None:
    direction = LinkDirection(DirectionProfile(rate_kbps=8.0), random.Random(0))
    first = direction.schedule(1000, 0.0, 0.2)  # 1000 bytes at 1000 bytes/s
    second = direction.schedule(1000, 0.0, 0.2)
    assert first == pytest.approx(1.0)
    assert second == pytest.approx(2.0)
    assert direction.stats.messages == 2
    assert direction.stats.wire_bytes == 2000


def test_jitter_never_reorders_a_direction() -> None:
    direction = LinkDirection(DirectionProfile(delay_ms=10.0, jitter_ms=8.0), random.Random(5))
    arrivals = [direction.schedule(100, index * 0.001, 0.2) for index in range(500)]
    assert arrivals == sorted(arrivals)


def test_a_lost_segment_arrives_one_timeout_later_per_loss_in_a_row() -> None:
    direction = LinkDirection(DirectionProfile(loss=0.5), random.Random(11))
    rto = 0.25
    waits = [direction.schedule(100, 1000.0 * index, rto) - 1000.0 * index for index in range(400)]
    allowed = {rto * (2**losses - 1) for losses in range(16)}
    assert all(min(abs(wait - value) for value in allowed) < 1e-9 for wait in waits)
    lost = sum(wait > 0 for wait in waits)
    assert 120 < lost < 280  # about half
    assert direction.stats.segments_lost >= lost


# -- real gRPC calls through a link ---------------------------------------------------------------


async def test_each_direction_delays_by_its_own_profile(echo: tuple[str, _Echo]) -> None:
    upstream, _ = echo
    for profile in (
        LinkProfile(uplink=DirectionProfile(delay_ms=40.0)),
        LinkProfile(downlink=DirectionProfile(delay_ms=40.0)),
    ):
        seconds, answer = await _through(upstream, profile)
        assert answer == b"ping"
        assert 0.040 <= seconds < 0.040 + SLACK


async def test_a_rate_limit_adds_the_serialisation_time(echo: tuple[str, _Echo]) -> None:
    upstream, _ = echo
    request = bytes(4000)
    profile = LinkProfile(uplink=DirectionProfile(rate_kbps=400.0))
    expected = profile.uplink.serialisation(wire_bytes(len(request)))
    seconds, answer = await _through(upstream, profile, request)
    assert answer == request
    assert expected <= seconds < expected + SLACK


async def test_an_upstream_status_crosses_the_link_intact(echo: tuple[str, _Echo]) -> None:
    upstream, _ = echo
    profile = LinkProfile(downlink=DirectionProfile(delay_ms=20.0))
    started = time.perf_counter()
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await _through(upstream, profile, b"missing")
    assert refused.value.code() == grpc.StatusCode.NOT_FOUND
    assert refused.value.details() == "no such thing: missing"
    assert time.perf_counter() - started >= 0.020


async def test_a_request_the_caller_gave_up_on_still_arrives(echo: tuple[str, _Echo]) -> None:
    """Like TCP: the caller's deadline passes while the request is on the link; the upstream
    party gets it all the same (what the counter rule of SPEC.md must survive)."""
    upstream, handler = echo
    link = EmulatedLink("late", upstream, LinkProfile(DirectionProfile(delay_ms=300.0)))
    await link.start()
    try:
        async with grpc.aio.insecure_channel(link.target) as channel:
            with pytest.raises(grpc.aio.AioRpcError) as late:
                await channel.unary_unary(METHOD)(b"late request", timeout=0.1)
            assert late.value.code() == grpc.StatusCode.DEADLINE_EXCEEDED
            for _ in range(100):
                if b"late request" in handler.seen:
                    break
                await asyncio.sleep(0.05)
            assert b"late request" in handler.seen
    finally:
        await link.close()


async def test_a_new_profile_applies_to_the_next_message(echo: tuple[str, _Echo]) -> None:
    upstream, _ = echo
    link = EmulatedLink("degrading", upstream, LinkProfile())
    await link.start()
    try:
        async with grpc.aio.insecure_channel(link.target) as channel:
            call = channel.unary_unary(METHOD)
            await call(b"warm", timeout=5.0)
            link.set_profile(LinkProfile(uplink=DirectionProfile(delay_ms=80.0)))
            started = time.perf_counter()
            await call(b"slow", timeout=5.0)
            assert 0.080 <= time.perf_counter() - started < 0.080 + SLACK
            assert link.uplink.stats.messages == 2
    finally:
        await link.close()


async def test_an_unreachable_upstream_is_unavailable_downstream() -> None:
    from mec5g.bench.handshake_bench import free_targets

    (nobody,) = free_targets(1)
    with pytest.raises(grpc.aio.AioRpcError) as down:
        await _through(nobody, LinkProfile(DirectionProfile(delay_ms=5.0)), timeout=5.0)
    assert down.value.code() == grpc.StatusCode.UNAVAILABLE
