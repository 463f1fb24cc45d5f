"""``mec5g bench soak``: hold 80% of the measured capacity for a long time; report errors and
memory growth of every process.

The TTP, the MEC and the UE run as the OS processes their ``serve`` commands start. The driver
asks the UE for attaches through its control service (``Attach`` with no device: the next in
turn), so every handshake crosses all three processes as in the testbed. First it measures
capacity: attaches per second with ``probe_concurrency`` calls kept in flight for
``probe_seconds``. Then it sends attaches open-loop at ``fraction`` of that rate, each at its
scheduled time whatever the answers do, for ``seconds``, and samples each process's resident
memory every ``sample_every`` seconds. Errors are every attach that did not succeed (expected 0);
memory growth is the last sample minus the first one taken after the probe.
"""

from __future__ import annotations

import asyncio
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import grpc

from mec5g.processes import ROLES, role_processes, rss_bytes
from mec5g.v1 import ue_control_pb2, ue_control_pb2_grpc

MIB = 1024 * 1024


@dataclass(frozen=True)
class SoakReport:
    capacity_per_second: float
    target_per_second: float
    achieved_per_second: float
    seconds: float
    attaches: int
    errors: dict[str, int]
    rss_start_mib: dict[str, float]
    rss_end_mib: dict[str, float]
    rss_peak_mib: dict[str, float]

    @property
    def error_count(self) -> int:
        return sum(self.errors.values())

    def as_dict(self) -> dict[str, Any]:
        return asdict(self) | {"error_count": self.error_count}

    def render(self) -> str:
        lines = [
            f"capacity {self.capacity_per_second:.0f} attaches/s; held "
            f"{self.achieved_per_second:.0f}/s (target {self.target_per_second:.0f}/s) "
            f"for {self.seconds:.0f} s: {self.attaches} attaches, {self.error_count} errors "
            f"{self.errors or ''}".rstrip(),
            "",
            "| process | RSS start MiB | RSS end MiB | growth MiB | peak MiB |",
            "|---|---|---|---|---|",
        ]
        for role in ROLES:
            start, end = self.rss_start_mib[role], self.rss_end_mib[role]
            lines.append(
                f"| {role} | {start:.1f} | {end:.1f} | {end - start:+.1f} "
                f"| {self.rss_peak_mib[role]:.1f} |"
            )
        return "\n".join(lines)


class _Driver:
    """Attach calls to the UE's control service, counted by outcome."""

    def __init__(self, stub: ue_control_pb2_grpc.UeControlServiceStub) -> None:
        self._stub = stub
        self.succeeded = 0
        self.errors: dict[str, int] = {}

    async def attach(self) -> None:
        try:
            reply = await self._stub.Attach(ue_control_pb2.AttachRequest(), timeout=30)
        except grpc.aio.AioRpcError as error:
            self._error(error.code().name)
            return
        if reply.outcome == ue_control_pb2.ATTACH_OUTCOME_SUCCESS:
            self.succeeded += 1
        else:
            self._error(ue_control_pb2.AttachOutcome.Name(reply.outcome))

    def _error(self, name: str) -> None:
        self.errors[name] = self.errors.get(name, 0) + 1


async def _capacity(driver: _Driver, concurrency: int, seconds: float) -> float:
    """Attaches per second with ``concurrency`` calls always in flight."""
    deadline = time.monotonic() + seconds
    before = driver.succeeded

    async def worker() -> None:
        while time.monotonic() < deadline:
            await driver.attach()

    started = time.monotonic()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return (driver.succeeded - before) / (time.monotonic() - started)


async def run(
    state_dir: Path,
    *,
    seconds: float = 600.0,
    fraction: float = 0.8,
    devices: int = 200,
    mec_credentials: int = 16,
    probe_seconds: float = 15.0,
    probe_concurrency: int = 32,
    sample_every: float = 5.0,
    progress: bool = True,
) -> SoakReport:
    async with role_processes(state_dir, devices, mec_credentials) as roles:
        for role in ROLES:
            await roles[role].start()
        async with grpc.aio.insecure_channel(roles["ue"].target) as channel:
            driver = _Driver(ue_control_pb2_grpc.UeControlServiceStub(channel))
            capacity = await _capacity(driver, probe_concurrency, probe_seconds)
            target = fraction * capacity
            driver.succeeded, driver.errors = 0, {}

            def rss() -> dict[str, float]:
                return {
                    role: rss_bytes(process) / MIB
                    for role in ROLES
                    if (process := roles[role].process) is not None
                }

            start_rss = rss()
            peak = dict(start_rss)
            in_flight: set[asyncio.Task[None]] = set()
            started = time.monotonic()
            next_sample = started + sample_every
            sent = 0
            while (now := time.monotonic()) < started + seconds:
                due = int((now - started) * target) + 1
                while sent < due:
                    task = asyncio.create_task(driver.attach())
                    in_flight.add(task)
                    task.add_done_callback(in_flight.discard)
                    sent += 1
                if now >= next_sample:
                    for role, mib in rss().items():
                        peak[role] = max(peak[role], mib)
                    next_sample += sample_every
                    if progress:
                        _progress(now - started, seconds, driver)
                await asyncio.sleep(max(0.0, started + sent / target - time.monotonic()))
            await asyncio.gather(*in_flight)
            elapsed = time.monotonic() - started
            end_rss = rss()
            if progress:
                print(file=sys.stderr)
    for role, mib in end_rss.items():
        peak[role] = max(peak[role], mib)
    return SoakReport(
        capacity,
        target,
        driver.succeeded / elapsed,
        elapsed,
        driver.succeeded + sum(driver.errors.values()),
        driver.errors,
        start_rss,
        end_rss,
        peak,
    )


def _progress(done: float, total: float, driver: _Driver) -> None:
    width = 30
    filled = int(width * min(1.0, done / total))
    errors = sum(driver.errors.values())
    print(
        f"\r[{'#' * filled}{'.' * (width - filled)}] {done:5.0f}/{total:.0f} s "
        f"{driver.succeeded} ok {errors} errors",
        end="",
        file=sys.stderr,
        flush=True,
    )
