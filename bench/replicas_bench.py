"""``mec5g bench replicas``: key agreements per second through a real MEC with 1, 2 and 3 TTP
replicas as separate OS processes on one PostgreSQL database, and one SQLite TTP for reference.

Every setup is a real topology of its own (``handshake_bench.start_scheme``): its TTP processes
(``mec5g ttp serve --store-url``, or ``--store`` for SQLite), one MEC process balancing its
calls round-robin over them (``--ttp ipv4:a,b,c``), and this process as the client emulating
devices, each setup with its own devices and MEC credentials. All the setups run side by side
and the client loads one at a time, in alternating slices, so that a shared machine's drifting
speed weighs on each alike; the report gives each setup's rate, latency and CPU time per
handshake by process, and each rate as a ratio to one PostgreSQL replica's, measured in the
same run.

What it cannot show on a small machine: every TTP process, the MEC, the client and the database
server share the machine's cores, so more replicas cannot answer more handshakes there; on two
cores the figures are the cost of each setup, not a scaling curve. Scaling needs the replicas
(and the database) on cores of their own.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import tempfile
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

from mec5g.bench.handshake_bench import (
    SLICE_SECONDS,
    RunResult,
    Topology,
    slices_per_level,
    start_scheme,
)
from mec5g.runtime.holder_store import EnrolmentFile
from mec5g.ttp.enrolment import enrol_devices, enrol_mec
from mec5g.ttp.stores import StoreLocation

SETUPS = (("sqlite", 1), ("postgresql", 1), ("postgresql", 2), ("postgresql", 3))
BASELINE = ("postgresql", 1)


@dataclass(frozen=True)
class ReplicaRun:
    """One setup's figures."""

    backend: str
    replicas: int
    result: RunResult

    @property
    def name(self) -> str:
        return f"{self.backend}, {self.replicas} TTP{'s' if self.replicas > 1 else ''}"

    def cpu_ms(self, prefix: str) -> float:
        """CPU milliseconds per handshake of the processes whose role starts with ``prefix``."""
        return sum(
            spent for role, spent in self.result.cpu_ms_per_op.items() if role.startswith(prefix)
        )


@dataclass(frozen=True)
class ReplicasReport:
    devices: int
    concurrency: int
    duration: float
    cores: int
    runs: list[ReplicaRun]

    def ratio(self, run: ReplicaRun) -> float:
        """``run``'s rate over one PostgreSQL replica's, both measured in this run."""
        baseline = next(r for r in self.runs if (r.backend, r.replicas) == BASELINE)
        return run.result.per_second / baseline.result.per_second

    def as_dict(self) -> dict[str, object]:
        data = asdict(self)
        for run, entry in zip(self.runs, data["runs"], strict=True):
            entry["per_second"] = run.result.per_second
            entry["ratio_to_one_postgresql_replica"] = self.ratio(run)
        return data

    def render(self) -> str:
        lines = [
            f"Key agreements through one MEC, {self.concurrency} in flight, "
            f"{self.duration:g} s measured per setup ({self.devices} devices each):",
            f"{'setup':<22}{'handshakes/s':>13}{'vs 1 PG':>9}{'p50 ms':>8}{'p99 ms':>8}"
            f"{'failed':>8}   CPU ms per handshake: TTPs, MEC, client",
        ]
        for run in self.runs:
            result = run.result
            lines.append(
                f"{run.name:<22}{result.per_second:>13.0f}{self.ratio(run):>9.2f}"
                f"{result.p50_ms:>8.1f}{result.p99_ms:>8.1f}{result.failed:>8}   "
                f"{run.cpu_ms('ttp'):.2f}, {run.cpu_ms('mec'):.2f}, {run.cpu_ms('client'):.2f}"
            )
        lines += [
            f"This machine has {self.cores} cores, shared by every TTP, the MEC, this client and",
            "the database server: more replicas cannot answer more handshakes on it, and a",
            "2-core machine cannot show scaling. The figures are each setup's cost, not a",
            "scaling curve; PostgreSQL's own CPU time is not counted above.",
        ]
        return "\n".join(lines)


async def run(
    store_url: str,
    *,
    devices: int,
    concurrency: int,
    duration: float,
    mec_credentials: int = 16,
    warmup: float = 1.0,
    slice_seconds: float = SLICE_SECONDS,
    on_slice: Callable[[], None] | None = None,
) -> ReplicasReport:
    """Every setup of ``SETUPS``, PostgreSQL's on ``store_url`` (an empty database, or one
    this command used before: each run enrols devices and credentials of its own)."""
    if devices < concurrency:
        raise ValueError("--devices must be at least --concurrency (one attempt per device)")
    tag = os.urandom(3).hex()
    runs = []
    with tempfile.TemporaryDirectory(prefix="mec5g-replicas-") as directory:
        workdir = Path(directory)
        async with contextlib.AsyncExitStack() as stack:
            tasks = []
            async with asyncio.TaskGroup() as starting:  # at once; one failing stops them all
                for backend, replicas in SETUPS:
                    store: StoreLocation = (
                        store_url if backend == "postgresql" else workdir / "ttp.db"
                    )
                    name = f"{backend}-{replicas}"
                    ue_file, mec_file = workdir / f"{name}-ue.json", workdir / f"{name}-mec.json"
                    enrol_devices(store, ue_file, devices, prefix=f"{tag}-{name}-dev")
                    enrol_mec(store, mec_file, f"{tag}-{name}-mec", mec_credentials)
                    states = list(EnrolmentFile.read(ue_file).holder_states().values())
                    scheme = start_scheme(
                        stack, workdir, store, mec_file, states, replicas=replicas, name=name
                    )
                    tasks.append(starting.create_task(scheme))
            topologies: list[Topology] = [task.result() for task in tasks]
            for topology in topologies:
                await topology.run_slice(concurrency, warmup, measured=False)
            slices = slices_per_level(duration, slice_seconds)
            for number in range(slices):
                shift = number % len(topologies)
                for topology in topologies[shift:] + topologies[:shift]:
                    await topology.run_slice(concurrency, duration / slices, measured=True)
                    if on_slice is not None:
                        on_slice()
            for (backend, replicas), topology in zip(SETUPS, topologies, strict=True):
                runs.append(ReplicaRun(backend, replicas, topology.take_result()))
    return ReplicasReport(devices, concurrency, duration, os.cpu_count() or 1, runs)
