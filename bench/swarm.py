"""``mec5g bench swarm``: one UE process emulating thousands of devices; its memory per device,
the attach rate during ramp-up, and the errors.

For each size (0 first, the baseline, then the sizes asked for): enrol that many devices at the
TTP in analyses of ``per_patient`` (``enrol_testbed``, timed), start the TTP, the MEC and the UE
as the OS processes their ``serve`` commands start, the UE starting its devices at
``ramp_up_rate`` per second, each device attaching (key agreement through the MEC and the TTP)
and then streaming a reading every ``interval`` seconds. The driver polls the UE's ``Status``
(counters only) until every device is attached and streaming: that is the ramp-up. Then the
swarm streams for ``steady`` seconds while the driver samples each process's resident memory.

Memory per device = (the UE's median RSS while streaming at this size - the same at size 0) /
devices: what the devices cost, without the interpreter, gRPC and the libraries.
"""

from __future__ import annotations

import asyncio
import statistics
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import grpc

from mec5g.bench.progress import Progress
from mec5g.bench.results import PartResult, Table
from mec5g.processes import ROLES, role_processes, rss_bytes, state_directory
from mec5g.v1 import ue_control_pb2, ue_control_pb2_grpc

MIB = 1024 * 1024
POLL_SECONDS = 1.0


@dataclass(frozen=True)
class SwarmSettings:
    ramp_up_rate: float = 100.0
    interval: float = 30.0
    steady: float = 60.0
    per_patient: int = 7
    mec_credentials: int = 16
    max_in_flight: int = 64


@dataclass(frozen=True)
class SwarmRun:
    """One size's figures."""

    devices: int
    enrol_seconds: float
    ramp_up_seconds: float
    ramped_up: bool  # every device attached and streaming before the deadline
    attach_rate: float  # devices attached per second over the ramp-up
    records_per_second: float  # acknowledged, while steady
    rss_mib: dict[str, float]  # median while steady, per process
    ue_peak_mib: float
    attaches_succeeded: int
    attaches_failed: int
    records_acknowledged: int
    records_failed: int


async def _status(stub: ue_control_pb2_grpc.UeControlServiceStub) -> ue_control_pb2.StatusResponse:
    status: ue_control_pb2.StatusResponse = await stub.Status(
        ue_control_pb2.StatusRequest(summary_only=True), timeout=30.0
    )
    return status


async def run_size(
    state_dir: Path, devices: int, settings: SwarmSettings, show_progress: bool
) -> SwarmRun:
    """Enrol, start and measure one swarm of ``devices`` in ``state_dir``."""
    started = time.perf_counter()
    async with role_processes(
        state_dir, devices, settings.mec_credentials, per_patient=settings.per_patient
    ) as roles:
        enrol_seconds = time.perf_counter() - started
        # Generous: the ramp-up's own length, twice, and a minute for a loaded machine. Sessions
        # outlive it, so that no device is renewing its session when the ramp-up is judged.
        allowed = 2 * devices / settings.ramp_up_rate + 60.0
        for role in ("ttp", "mec"):
            await roles[role].start()
        await roles["ue"].start(
            [
                "--stream-interval", str(settings.interval),
                "--ramp-up-rate", str(settings.ramp_up_rate),
                "--devices-per-patient", str(settings.per_patient),
                "--max-in-flight", str(settings.max_in_flight),
                "--session-seconds", str(max(300.0, allowed)),
            ]
        )  # fmt: skip
        ramp_started = time.monotonic()
        deadline = ramp_started + allowed
        progress = Progress(f"swarm of {devices}", devices, enabled=show_progress)
        async with grpc.aio.insecure_channel(roles["ue"].target) as channel:
            stub = ue_control_pb2_grpc.UeControlServiceStub(channel)
            while True:
                status = await _status(stub)
                progress.advance(status.devices_streaming - progress.done)
                ramped_up = status.devices_streaming == devices and not status.devices_waiting
                if ramped_up or time.monotonic() > deadline:
                    break
                await asyncio.sleep(POLL_SECONDS)
            progress.close()
            ramp_seconds = time.monotonic() - ramp_started
            attached = status.devices_attached
            before = status.records_acknowledged
            samples: dict[str, list[float]] = {role: [] for role in ROLES}
            steady_started = time.monotonic()
            while time.monotonic() - steady_started < settings.steady:
                await asyncio.sleep(POLL_SECONDS)
                for role in ROLES:
                    process = roles[role].process
                    assert process is not None
                    samples[role].append(rss_bytes(process) / MIB)
            status = await _status(stub)
            steady_seconds = time.monotonic() - steady_started
        for role in ("ue", "mec", "ttp"):
            roles[role].stop()
    return SwarmRun(
        devices=devices,
        enrol_seconds=enrol_seconds,
        ramp_up_seconds=ramp_seconds,
        ramped_up=ramped_up,
        attach_rate=attached / ramp_seconds if devices else 0.0,
        records_per_second=(status.records_acknowledged - before) / steady_seconds,
        rss_mib={role: statistics.median(values) for role, values in samples.items()},
        ue_peak_mib=max(samples["ue"]),
        attaches_succeeded=status.attaches_succeeded,
        attaches_failed=status.attaches_failed,
        records_acknowledged=status.records_acknowledged,
        records_failed=status.records_failed,
    )


def bytes_per_device(run: SwarmRun, baseline: SwarmRun) -> float:
    """The UE's memory per emulated device, over the baseline of no devices."""
    return (run.rss_mib["ue"] - baseline.rss_mib["ue"]) * MIB / run.devices if run.devices else 0.0


async def _measure(
    sizes: list[int], settings: SwarmSettings, kept: Path | None, show_progress: bool
) -> list[SwarmRun]:
    runs = []
    for devices in [0, *sizes]:
        folder = kept / f"swarm-{devices}" if kept is not None else None
        with state_directory(folder, f"mec5g-swarm-{devices}-") as state_dir:
            runs.append(await run_size(state_dir, devices, settings, show_progress))
    return runs


def run(
    sizes: list[int],
    settings: SwarmSettings,
    *,
    state_dir: Path | None = None,
    show_progress: bool = False,
) -> PartResult:
    """Every size after the baseline of 0 devices; figures as a table and JSON."""
    if settings.ramp_up_rate <= 0 or settings.interval <= 0 or settings.steady <= 0:
        raise ValueError("the ramp-up rate, the interval and the steady time must be positive")
    runs = asyncio.run(_measure(sorted(sizes), settings, state_dir, show_progress))
    baseline = runs[0]
    rows = [
        [
            f"{run.devices:,}",
            f"{run.enrol_seconds:.1f}",
            f"{run.ramp_up_seconds:.0f}" + ("" if run.ramped_up else " (not all)"),
            f"{run.attach_rate:.0f}" if run.devices else "-",
            f"{run.records_per_second:.0f}",
            f"{run.rss_mib['ue']:.1f}",
            f"{run.ue_peak_mib:.1f}",
            f"{bytes_per_device(run, baseline):,.0f}" if run.devices else "-",
            f"{run.rss_mib['mec']:.1f}",
            f"{run.rss_mib['ttp']:.1f}",
            f"{run.attaches_failed} / {run.records_failed}",
        ]
        for run in runs
    ]
    table = Table(
        "One UE process, N emulated devices",
        [
            "devices",
            "enrol s",
            "ramp-up s",
            "attaches/s",
            "records/s",
            "UE RSS MiB",
            "UE peak MiB",
            "bytes/device",
            "MEC RSS MiB",
            "TTP RSS MiB",
            "failed attaches / records",
        ],
        rows,
        note=(
            f"Ramp-up at {settings.ramp_up_rate:g} devices/s; each device then streams a reading "
            f"every {settings.interval:g} s; RSS is the median over {settings.steady:g} s of "
            f"steady streaming; bytes/device = (UE RSS - UE RSS with 0 devices) / devices. "
            "The three processes share this machine's cores."
        ),
    )
    data: dict[str, Any] = {
        "settings": asdict(settings),
        "runs": [
            asdict(run) | {"bytes_per_device": bytes_per_device(run, baseline)} for run in runs
        ],
    }
    return PartResult("swarm", "UE swarm: memory per emulated device and ramp-up", data, [table])
