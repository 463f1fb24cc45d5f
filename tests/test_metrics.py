"""Basic metrics on every process (DESIGN.md decision 6): a duration histogram and a result
counter per role and phase by outcome, refusal reasons on the TTP only, served over HTTP, and no
identity or key in any label.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import urllib.request
from pathlib import Path

import grpc
import pytest
from grpc_stack import enrol, start_mec, start_ttp, start_ue
from prometheus_client import generate_latest

from mec5g.runtime.metrics import Metrics
from mec5g.ue.fleet import Outcome
from mec5g.v1 import ue_control_pb2


def _sample(metrics: Metrics, name: str, labels: dict[str, str]) -> float:
    value = metrics.registry.get_sample_value(name, labels)
    return 0.0 if value is None else value


async def test_handshake_metrics_on_mec_and_ue(tmp_path: Path) -> None:
    enrolled = enrol(tmp_path, devices=3, mec_credentials=2)
    async with contextlib.AsyncExitStack() as stack:
        ttp = await start_ttp(stack, enrolled.ttp_db)
        mec = await start_mec(stack, tmp_path / "mec.db", enrolled.mec_file, ttp.target)
        ue = await start_ue(stack, tmp_path / "ue.db", enrolled.ue_file, mec.target)
        for _ in range(3):
            assert (await ue.fleet.attach()).outcome is Outcome.SUCCESS

        labels = {"role": "mec", "phase": "key_agreement", "outcome": "accepted"}
        assert _sample(mec.metrics, "mec5g_phase_results_total", labels) == 3
        assert _sample(mec.metrics, "mec5g_phase_duration_seconds_count", labels) == 3
        assert _sample(mec.metrics, "mec5g_phase_duration_seconds_sum", labels) > 0

        await mec.pool.drain()
        credentials = {"role": "mec", "state": "free"}
        assert _sample(mec.metrics, "mec5g_mec_credentials", credentials) == 2
        assert _sample(mec.metrics, "mec5g_mec_credentials", {**credentials, "state": "busy"}) == 0
        adopt = {"role": "mec", "operation": "adopt"}
        assert _sample(mec.metrics, "mec5g_store_duration_seconds_count", adopt) == 3
        answer = {"role": "ttp", "operation": "answer"}
        assert _sample(ttp.metrics, "mec5g_store_duration_seconds_count", answer) == 3

        exposition = generate_latest(mec.metrics.registry).decode()
        for credential in [
            *enrolled.devices.credentials.values(),
            *enrolled.mec.credentials.values(),
        ]:
            assert credential.did.hex() not in exposition
            assert credential.dk.hex() not in exposition


def test_refusal_reasons_are_counted_on_the_ttp_only() -> None:
    metrics = Metrics("ttp")
    metrics.refusals.labels("stale_device_counter").inc()
    metrics.observe("key_agreement", "refused", 0.001)
    assert (
        metrics.registry.get_sample_value(
            "mec5g_ttp_refusals_total", {"reason": "stale_device_counter"}
        )
        == 1
    )
    assert (
        metrics.registry.get_sample_value(
            "mec5g_phase_results_total",
            {"role": "ttp", "phase": "key_agreement", "outcome": "refused"},
        )
        == 1
    )


async def test_metrics_are_served_over_http() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    metrics = Metrics("ue")
    metrics.observe("key_agreement", "success", 0.002)
    metrics.serve(port, address="127.0.0.1")

    def fetch() -> str:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as reply:
            return str(reply.read().decode())

    body = await asyncio.to_thread(fetch)
    assert "# TYPE mec5g_phase_duration_seconds histogram" in body
    assert 'le="5e-05"' in body, "buckets resolve tens of microseconds"
    assert 'mec5g_phase_results_total{outcome="success",phase="key_agreement",role="ue"} 1.0' in (
        body
    )


async def test_grpc_calls_are_counted_by_method_and_code_on_both_sides(tmp_path: Path) -> None:
    enrolled = enrol(tmp_path, devices=2, mec_credentials=1)
    async with contextlib.AsyncExitStack() as stack:
        ttp = await start_ttp(stack, enrolled.ttp_db)
        mec = await start_mec(stack, tmp_path / "mec.db", enrolled.mec_file, ttp.target)
        ue = await start_ue(stack, tmp_path / "ue.db", enrolled.ue_file, mec.target)
        for _ in range(2):
            assert (await ue.fleet.attach()).outcome is Outcome.SUCCESS
        with pytest.raises(grpc.aio.AioRpcError) as refused:
            await ue.stub.Attach(ue_control_pb2.AttachRequest(device="nope"), timeout=10)
        assert refused.value.code() == grpc.StatusCode.NOT_FOUND

        def handled(metrics: Metrics, side: str, service: str, method: str, code: str) -> float:
            labels = {"role": metrics.role, "side": side, "service": service,
                      "method": method, "code": code}  # fmt: skip
            return _sample(metrics, "mec5g_grpc_handled_total", labels)

        agree, verify = "mec5g.v1.MecKeyAgreementService", "mec5g.v1.TtpKeyAgreementService"
        assert handled(mec.metrics, "server", agree, "Agree", "OK") == 2
        assert handled(mec.metrics, "client", verify, "Verify", "OK") == 2
        assert handled(ttp.metrics, "server", verify, "Verify", "OK") == 2
        assert handled(ue.running.metrics, "client", agree, "Agree", "OK") == 2
        assert (
            handled(
                ue.running.metrics, "server", "mec5g.v1.UeControlService", "Attach", "NOT_FOUND"
            )
            == 1
        )
        assert (
            _sample(
                mec.metrics,
                "mec5g_grpc_duration_seconds_count",
                {"role": "mec", "side": "server", "service": agree, "method": "Agree"},
            )
            == 2
        )
