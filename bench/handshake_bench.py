"""``mec5g bench handshake``: full handshakes over real gRPC against a bare echo chain.

Both topologies are three OS processes on localhost: this process as the client emulating
devices, a MEC process and a TTP process. The scheme's MEC and TTP are the real servers (durable
SQLite records, group commit, K leased credentials); the echo chain's are ``bench.echo``. After a
short warm-up of each, the client loads them in alternating slices at the same concurrency for
``duration`` seconds each, and the report gives both, their ratio, and the CPU time every process
spent per operation. ``run_curve`` does so at several concurrencies with the same processes
(``mec5g bench concurrency``); ``start_scheme`` also serves ``bench growth``, over its own store.

The client keeps each device's state in memory (it emulates devices; durability on the device
side is the UE process's business and is not what is compared here).
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

import grpc

from mec5g.core import device_role
from mec5g.core.credentials import HolderState, RecordRule
from mec5g.core.errors import SchemeError
from mec5g.core.messages import M1_BYTES
from mec5g.mec.server import SERVICE_NAME as MEC_SERVICE
from mec5g.runtime.grpc_server import channel, tune_collector, wait_serving
from mec5g.runtime.holder_store import EnrolmentFile
from mec5g.runtime.status import wire_version
from mec5g.ttp.enrolment import enrol_devices, enrol_mec
from mec5g.ttp.server import SERVICE_NAME as TTP_SERVICE
from mec5g.v1 import mec_key_agreement_pb2, mec_key_agreement_pb2_grpc


@dataclass(frozen=True)
class RunResult:
    """One topology's figures."""

    completed: int
    failed: int
    seconds: float
    p50_ms: float
    p99_ms: float
    cpu_ms_per_op: dict[str, float]

    @property
    def per_second(self) -> float:
        return self.completed / self.seconds


@dataclass(frozen=True)
class HandshakeReport:
    devices: int
    concurrency: int
    duration: float
    mec_credentials: int
    handshake: RunResult
    echo: RunResult

    @property
    def ratio(self) -> float:
        return self.handshake.per_second / self.echo.per_second

    def as_dict(self) -> dict[str, object]:
        data = asdict(self)
        data["handshake"]["per_second"] = self.handshake.per_second
        data["echo"]["per_second"] = self.echo.per_second
        data["ratio"] = self.ratio
        return data


def free_targets(count: int) -> list[str]:
    """``count`` distinct free localhost ports, held at once so that none is handed out twice."""
    with contextlib.ExitStack() as held:
        probes = [held.enter_context(socket.socket()) for _ in range(count)]
        for probe in probes:
            probe.bind(("127.0.0.1", 0))
        return [f"127.0.0.1:{probe.getsockname()[1]}" for probe in probes]


def _process_cpu_seconds(pid: int) -> float:
    """User plus system CPU time of a process (Linux /proc), in seconds."""
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class _Processes:
    """The server processes of one topology, by role; logs go to ``workdir/topology-role.log``."""

    def __init__(self, workdir: Path, topology: str) -> None:
        self.workdir = workdir
        self.topology = topology
        self.running: dict[str, subprocess.Popen[bytes]] = {}

    def cpu_seconds(self) -> dict[str, float]:
        """CPU time so far of this process (the client) and of each server process, by role."""
        sample = {"client": time.process_time()}
        for role, process in self.running.items():
            sample[role] = _process_cpu_seconds(process.pid)
        return sample

    async def start(self, name: str, args: list[str], target: str, service: str) -> None:
        log = (self.workdir / f"{self.topology}-{name}.log").open("ab")
        process = subprocess.Popen(
            [sys.executable, "-m", "mec5g", "--log-level", "WARNING", *args],
            stdout=log,
            stderr=subprocess.STDOUT,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
        log.close()
        self.running[name] = process
        await wait_serving(target, service, timeout=20.0)

    def stop(self) -> None:
        for process in self.running.values():
            process.terminate()
        for process in self.running.values():
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
        self.running.clear()


@dataclass
class _Tally:
    """What the measured slices of one topology added up to."""

    latencies: list[float] = field(default_factory=list)
    failed: int = 0
    seconds: float = 0.0
    cpu_seconds: dict[str, float] = field(default_factory=dict)

    def result(self) -> RunResult:
        completed = max(len(self.latencies), 1)
        cpu_ms = {role: 1e3 * spent / completed for role, spent in self.cpu_seconds.items()}
        quantiles = (
            statistics.quantiles(self.latencies, n=100) if len(self.latencies) >= 2 else [0.0] * 99
        )
        return RunResult(
            len(self.latencies),
            self.failed,
            self.seconds,
            1e3 * quantiles[49],
            1e3 * quantiles[98],
            cpu_ms,
        )


Operation = Callable[[int], Awaitable[bool]]
SLICE_SECONDS = 2.0  # how long the client loads one topology before switching


@dataclass
class Topology:
    """Started servers of one topology and the client operation that drives them.

    ``client(concurrency)`` gives the operation worker ``w`` of ``concurrency`` runs in a loop.
    """

    processes: _Processes
    client: Callable[[int], Operation]
    tally: _Tally = field(default_factory=_Tally)

    async def run_slice(self, concurrency: int, seconds: float, *, measured: bool) -> None:
        """``concurrency`` loops of the client operation for ``seconds``; add them to the tally if
        measured. CPU time is sampled for every process at the start and the end of the slice.
        """
        one = self.client(concurrency)
        latencies: list[float] = []
        failed = 0
        deadline = time.perf_counter() + seconds

        async def worker(index: int) -> None:
            nonlocal failed
            while time.perf_counter() < deadline:
                started = time.perf_counter()
                if await one(index):
                    latencies.append(time.perf_counter() - started)
                else:
                    failed += 1

        cpu_before = self.processes.cpu_seconds()
        started = time.perf_counter()
        await asyncio.gather(*(worker(index) for index in range(concurrency)))
        if not measured:
            return
        elapsed = time.perf_counter() - started
        cpu_after = self.processes.cpu_seconds()
        self.tally.latencies.extend(latencies)
        self.tally.failed += failed
        self.tally.seconds += elapsed
        for role, spent in cpu_after.items():
            self.tally.cpu_seconds[role] = (
                self.tally.cpu_seconds.get(role, 0.0) + spent - cpu_before[role]
            )

    def take_result(self) -> RunResult:
        """The tally so far as a result; the next measurement starts from zero."""
        result = self.tally.result()
        self.tally = _Tally()
        return result


async def start_scheme(
    stack: contextlib.AsyncExitStack,
    workdir: Path,
    store: Path,
    mec_enrolment: Path,
    states: list[HolderState],
) -> Topology:
    """The real TTP (over ``store``) and MEC (importing ``mec_enrolment``) as processes, and a
    client running handshakes for the devices of ``states`` (updated in place as they adopt)."""
    ttp_target, mec_target = free_targets(2)
    processes = _Processes(workdir, "scheme")
    stack.callback(processes.stop)
    await processes.start(
        "ttp",
        ["ttp", "serve", "--listen", ttp_target, "--store", str(store), "--metrics-port", "0"],
        ttp_target,
        TTP_SERVICE,
    )
    await processes.start(
        "mec",
        [
            "mec",
            "serve",
            "--listen",
            mec_target,
            "--ttp",
            ttp_target,
            "--state",
            str(workdir / "mec.db"),
            "--import",
            str(mec_enrolment),
            "--metrics-port",
            "0",
        ],
        mec_target,
        MEC_SERVICE,
    )
    mec_channel = await stack.enter_async_context(channel(mec_target))
    stub = mec_key_agreement_pb2_grpc.MecKeyAgreementServiceStub(mec_channel)

    def client(concurrency: int) -> Operation:
        if len(states) < concurrency:
            raise ValueError("need at least as many devices as concurrency (one attempt each)")
        # Worker w owns devices w, w + C, w + 2C, ...: one attempt per device at a time.
        owned = [itertools.cycle(range(w, len(states), concurrency)) for w in range(concurrency)]

        async def handshake(worker: int) -> bool:
            device = next(owned[worker])
            state, attempt = states[device].begin_attempt()
            states[device] = state
            session = device_role.start(attempt)
            try:
                answer = await stub.Agree(
                    mec_key_agreement_pb2.AgreeRequest(
                        version=wire_version(RecordRule.COUNTER), m1=session.m1.to_bytes()
                    ),
                    timeout=10.0,
                )
                result = device_role.finish(session, answer.m4)
            except (grpc.aio.AioRpcError, SchemeError):
                return False
            states[device] = state.adopt(attempt, result.successor)
            return True

        return handshake

    return Topology(processes, client)


async def _start_echo(stack: contextlib.AsyncExitStack, workdir: Path) -> Topology:
    ttp_target, mec_target = free_targets(2)
    processes = _Processes(workdir, "echo")
    stack.callback(processes.stop)
    await processes.start(
        "ttp", ["bench", "echo-ttp", "--listen", ttp_target], ttp_target, TTP_SERVICE
    )
    await processes.start(
        "mec",
        ["bench", "echo-mec", "--listen", mec_target, "--ttp", ttp_target],
        mec_target,
        MEC_SERVICE,
    )
    payload = os.urandom(M1_BYTES)
    mec_channel = await stack.enter_async_context(channel(mec_target))
    stub = mec_key_agreement_pb2_grpc.MecKeyAgreementServiceStub(mec_channel)

    async def echo(worker: int) -> bool:
        try:
            await stub.Agree(
                mec_key_agreement_pb2.AgreeRequest(
                    version=wire_version(RecordRule.COUNTER), m1=payload
                ),
                timeout=10.0,
            )
        except grpc.aio.AioRpcError:
            return False
        return True

    return Topology(processes, lambda concurrency: echo)


async def run_curve(
    devices: int,
    concurrencies: Sequence[int],
    duration: float,
    *,
    mec_credentials: int = 16,
    warmup: float = 1.0,
    slice_seconds: float = SLICE_SECONDS,
    on_slice: Callable[[], None] | None = None,
) -> list[HandshakeReport]:
    """Both topologies at each concurrency in turn, with the same processes throughout.

    The servers of both topologies run side by side (an idle one costs nothing) and the client
    loads one at a time, switching every ``slice_seconds`` and alternating which goes first, so
    that a shared machine's drifting speed weighs on both alike. ``on_slice`` is called after
    every measured slice (progress).
    """
    if devices < max(concurrencies):
        raise ValueError("--devices must be at least --concurrency (one attempt per device)")
    reports = []
    with tempfile.TemporaryDirectory(prefix="mec5g-bench-") as directory:
        workdir = Path(directory)
        store = workdir / "ttp.db"
        enrol_devices(store, workdir / "ue.json", devices)
        enrol_mec(store, workdir / "mec.json", "mec-bench", mec_credentials)
        states = list(EnrolmentFile.read(workdir / "ue.json").holder_states().values())
        async with contextlib.AsyncExitStack() as stack:
            scheme = await start_scheme(stack, workdir, store, workdir / "mec.json", states)
            echo = await _start_echo(stack, workdir)
            # This process emulates the devices of both topologies alike; like the servers, it
            # runs with the collector set for serving.
            tune_collector()
            slices = slices_per_level(duration, slice_seconds)
            for concurrency in concurrencies:
                for topology in (scheme, echo):
                    await topology.run_slice(concurrency, warmup, measured=False)
                for number in range(slices):
                    order = (scheme, echo) if number % 2 == 0 else (echo, scheme)
                    for topology in order:
                        await topology.run_slice(concurrency, duration / slices, measured=True)
                        if on_slice is not None:
                            on_slice()
                reports.append(
                    HandshakeReport(
                        devices,
                        concurrency,
                        duration,
                        mec_credentials,
                        scheme.take_result(),
                        echo.take_result(),
                    )
                )
    return reports


def slices_per_level(duration: float, slice_seconds: float) -> int:
    """How many measured slices each topology gets at one concurrency."""
    return max(1, round(duration / slice_seconds))


async def run(
    devices: int,
    concurrency: int,
    duration: float,
    *,
    mec_credentials: int = 16,
    warmup: float = 1.0,
    slice_seconds: float = SLICE_SECONDS,
) -> HandshakeReport:
    """Both topologies at one concurrency, measured in alternating slices of the same run."""
    (report,) = await run_curve(
        devices,
        [concurrency],
        duration,
        mec_credentials=mec_credentials,
        warmup=warmup,
        slice_seconds=slice_seconds,
    )
    return report
