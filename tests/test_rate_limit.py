"""Rate limits: token buckets with a fake clock, policy parsing, and the limits at work over
real gRPC (the TTP per device identity), refused with RESOURCE_EXHAUSTED before any work and
counted without the key in any label.
"""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Any

import grpc
import pytest
from grpc_stack import enrol
from prometheus_client import generate_latest

from mec5g.runtime.rate_limit import RatePolicy, TokenBuckets, peer_host
from mec5g.runtime.status import wire_version
from mec5g.ttp import server as ttp_server
from mec5g.ttp.server import TtpConfig
from mec5g.v1 import ttp_key_agreement_pb2, ttp_key_agreement_pb2_grpc


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_bucket_allows_the_burst_then_the_rate() -> None:
    clock = Clock()
    buckets = TokenBuckets(RatePolicy(rate=2, burst=3), clock=clock)
    assert [buckets.allow("a") for _ in range(4)] == [True, True, True, False]
    assert buckets.allow("b"), "keys have buckets of their own"
    clock.now = 0.5  # one token back
    assert buckets.allow("a")
    assert not buckets.allow("a")
    clock.now = 100.0  # never more than the burst
    assert [buckets.allow("a") for _ in range(4)] == [True, True, True, False]


def test_bounded_map_forgets_the_oldest_with_a_full_bucket() -> None:
    clock = Clock()
    buckets = TokenBuckets(RatePolicy(rate=1, burst=1), max_keys=2, clock=clock)
    assert buckets.allow("honest")
    assert not buckets.allow("honest")
    assert buckets.allow("flood-1")
    assert buckets.allow("flood-2")  # a third key: the least recently used, "honest", goes
    assert buckets.allow("honest"), "an evicted caller comes back with a full bucket"


@pytest.mark.parametrize(
    ("text", "policy"),
    [("5", RatePolicy(5, 10)), ("5:7", RatePolicy(5, 7)), ("0", RatePolicy(0, 0))],
)
def test_policy_parsing(text: str, policy: RatePolicy) -> None:
    assert RatePolicy.parse(text) == policy
    assert RatePolicy.parse(str(policy)) == policy


@pytest.mark.parametrize("text", ["fast", "-1", "5:0", "5:x"])
def test_policy_parsing_refuses_nonsense(text: str) -> None:
    with pytest.raises(ValueError, match="rate limit"):
        RatePolicy.parse(text)


class _Peer:
    def __init__(self, peer: str) -> None:
        self._peer = peer

    def peer(self) -> str:
        return self._peer


@pytest.mark.parametrize(
    ("peer", "host"),
    [
        ("ipv4:10.0.0.7:5123", "10.0.0.7"),
        ("ipv6:[::1]:40000", "::1"),
        ("unix:/tmp/socket", "unix:/tmp/socket"),
    ],
)
def test_peer_host(peer: str, host: str) -> None:
    assert peer_host(_Peer(peer)) == host  # type: ignore[arg-type]


async def test_ttp_limits_requests_per_device_identity(tmp_path: Path) -> None:
    enrolled = enrol(tmp_path, devices=2, mec_credentials=1)
    device = enrolled.devices.holder_states()["dev-0001"]
    config = TtpConfig("127.0.0.1:0", enrolled.ttp_db, rate_per_device=RatePolicy(1, 3))
    async with contextlib.AsyncExitStack() as stack:
        ttp = await ttp_server.start(config)
        stack.push_async_callback(ttp.close)
        channel = grpc.aio.insecure_channel(ttp.target)
        stack.push_async_callback(channel.close)
        stub = ttp_key_agreement_pb2_grpc.TtpKeyAgreementServiceStub(channel)
        # One DIDi with forged hashes: refused on authentication three times, then limited.
        m2 = device.credential.did + bytes(112)
        codes = [await _code(stub, m2) for _ in range(5)]
        assert (
            codes
            == [grpc.StatusCode.UNAUTHENTICATED] * 3 + [grpc.StatusCode.RESOURCE_EXHAUSTED] * 2
        )
        # Another identity is not held back.
        other = enrolled.devices.holder_states()["dev-0002"].credential.did + bytes(112)
        assert await _code(stub, other) == grpc.StatusCode.UNAUTHENTICATED
        limited = ttp.metrics.registry.get_sample_value(
            "mec5g_rate_limited_total", {"role": "ttp", "limit": "per_device"}
        )
        assert limited == 2
        assert device.credential.did.hex() not in generate_latest(ttp.metrics.registry).decode()


async def _code(stub: Any, m2: bytes) -> grpc.StatusCode:
    request = ttp_key_agreement_pb2.VerifyRequest(version=wire_version(1), m2=m2)
    try:
        await stub.Verify(request, timeout=10)
    except grpc.aio.AioRpcError as error:
        code: grpc.StatusCode = error.code()
        return code
    return grpc.StatusCode.OK
