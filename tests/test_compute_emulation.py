"""Compute profiles in the testbed (runtime/compute_emulation.py): a node computes at least as
long as its profile's hardware would, pays the difference before its next message leaves, and
reports real and emulated time apart.

Bounds are loose (at least the emulated time; far less than an unlimited wait would give):
figures belong to benchmarks.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from grpc_stack import enrol, start_mec, start_ttp, start_ue

from mec5g.core.operations import Ledger, Operation, Origin
from mec5g.runtime import compute_emulation
from mec5g.runtime.compute_emulation import ComputeEmulation
from mec5g.runtime.compute_profile import Profile, load_profile

SHIPPED = Path(__file__).parent.parent / "bench" / "profiles"


def _profile(tmp_path: Path, hash_us: float, entity: str = "device") -> Profile:
    """A shipped profile with the hash cost changed (the others as shipped)."""
    raw = json.loads((SHIPPED / "zolertia-re-mote.json").read_text())
    raw["entity"] = entity
    raw["operations"]["Th"] = {"microseconds": hash_us, "assumption": "slow on purpose"}
    path = tmp_path / "slow.json"
    path.write_text(json.dumps(raw))
    return load_profile(path)


@contextlib.contextmanager
def _installed(emulation: ComputeEmulation) -> Iterator[None]:
    """Emulate in the metrics made inside the block only (one role of an in-process stack)."""
    compute_emulation.install(emulation)
    try:
        yield
    finally:
        compute_emulation.install(None)


def _ledger(hashes: int, seconds: float = 0.0) -> Ledger:
    ledger = Ledger()
    ledger[(Operation.HASH, Origin.PAPER)] = hashes
    ledger.seconds = seconds
    return ledger


def test_the_profile_costs_a_ledger_and_the_larger_time_stands(tmp_path: Path) -> None:
    emulation = ComputeEmulation(_profile(tmp_path, 1000.0))
    assert emulation.profile.ledger_seconds(_ledger(2)) == pytest.approx(0.002)
    assert emulation.charge(_ledger(2, seconds=0.0005)) == pytest.approx(0.002)
    assert emulation.charge(_ledger(2, seconds=0.5)) == 0.5  # a slower host is not sped up


async def test_each_task_pays_only_what_it_computed(tmp_path: Path) -> None:
    emulation = ComputeEmulation(_profile(tmp_path, 50_000.0))

    async def computes(hashes: int) -> float:
        emulation.charge(_ledger(hashes))
        started = time.perf_counter()
        await emulation.settle()
        await emulation.settle()  # paid once only
        return time.perf_counter() - started

    idle, busy = await asyncio.gather(computes(0), computes(2))
    assert idle < 0.05
    assert 0.1 <= busy < 0.6


async def test_cores_make_computations_queue(tmp_path: Path) -> None:
    profile = _profile(tmp_path, 100_000.0)

    async def four_at_once(emulation: ComputeEmulation) -> float:
        async def one() -> None:
            emulation.charge(_ledger(1))
            await emulation.settle()

        started = time.perf_counter()
        await asyncio.gather(*(one() for _ in range(4)))
        return time.perf_counter() - started

    assert await four_at_once(ComputeEmulation(profile, cores=1)) >= 0.4
    assert await four_at_once(ComputeEmulation(profile, cores=None)) < 0.35
    with pytest.raises(ValueError, match="core"):
        ComputeEmulation(profile, cores=0)


@pytest.mark.parametrize("slow", ["ue", "mec"])
async def test_a_slow_node_slows_the_handshake_and_reports_both_times(
    tmp_path: Path, slow: str
) -> None:
    """The device (2 Th per handshake in the paper's count) or the MEC (2 Th) on hardware
    where a hash takes 40 ms: the attach takes at least 80 ms more than the hashes' real time,
    and the node's metrics hold the real and the emulated computation apart."""
    enrolled = enrol(tmp_path, devices=1, mec_credentials=1)
    emulation = ComputeEmulation(_profile(tmp_path, 40_000.0, "device" if slow == "ue" else slow))
    async with contextlib.AsyncExitStack() as stack:
        ttp = await start_ttp(stack, enrolled.ttp_db)
        with _installed(emulation) if slow == "mec" else contextlib.nullcontext():
            mec = await start_mec(stack, tmp_path / "mec.db", enrolled.mec_file, ttp.target)
        with _installed(emulation) if slow == "ue" else contextlib.nullcontext():
            ue = await start_ue(stack, tmp_path / "ue.db", enrolled.ue_file, mec.target)
        report = await ue.fleet.attach()
        metrics = ue.running.metrics if slow == "ue" else mec.metrics
        other = mec.metrics if slow == "ue" else ue.running.metrics
        labels = {"role": slow, "phase": "key_agreement"}
        real = metrics.registry.get_sample_value("mec5g_computation_seconds_total", labels)
        emulated = metrics.registry.get_sample_value(
            "mec5g_emulated_computation_seconds_total", labels
        )
        info = metrics.registry.get_sample_value(
            "mec5g_compute_profile_info",
            {"role": slow, "profile": "zolertia-re-mote", "cores": "unlimited"},
        )
    assert report.outcome.name == "SUCCESS"
    assert real is not None
    assert emulated is not None
    assert emulated >= 0.080 > real
    assert report.latency_us / 1e6 >= 0.080
    assert info == 1.0
    assert other.compute is None
    assert (
        other.registry.get_sample_value(
            "mec5g_emulated_computation_seconds_total",
            {"role": "ue" if slow == "mec" else "mec", "phase": "key_agreement"},
        )
        is None
    )


def test_serve_names_a_profile_it_cannot_use(tmp_path: Path) -> None:
    broken = tmp_path / "broken.json"
    broken.write_text('{"name": "x", "entity": "device", "operations": {}}')
    completed = subprocess.run(
        [sys.executable, "-m", "mec5g", "ue", "serve", "--listen", "127.0.0.1:0",
         "--metrics-port", "0", "--state", str(tmp_path / "ue.db"),
         "--compute-profile", str(broken)],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert completed.returncode != 0
    assert "--compute-profile" in completed.stderr
    assert str(broken) in completed.stderr
