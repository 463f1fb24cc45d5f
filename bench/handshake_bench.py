"""``mec5g bench handshake``: full handshakes over real gRPC, for each live scheme
(``--scheme``: the paper's ``braeken2021`` and the public-key baseline ``baseline36``), against a
bare echo chain.

Every topology is three OS processes on localhost: this process as the client emulating devices,
a MEC process and a TTP process. A scheme's MEC and TTP are the real servers, each scheme with
its own SQLite store: for ``braeken2021`` durable records, group commit and K leased credentials;
for ``baseline36`` the anonymous key agreement with device ECQV identities and the MEC node's
(``--scheme baseline36``). The echo chain's are ``bench.echo``. After a short warm-up of each,
the client loads them in turn, in slices, at the same concurrency for ``duration`` seconds each,
and the report gives each, its ratio to the echo chain, the schemes' ratio to each other, and the
CPU time every process spent per operation. ``run_curve`` does so at several concurrencies with
the same processes (``mec5g bench concurrency``); ``start_scheme`` also serves ``bench growth``,
over its own store.

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
from collections.abc import Awaitable, Callable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

import grpc

from mec5g.core import anonymous_agreement, device_role
from mec5g.core.anonymous_agreement import Identity, Purpose
from mec5g.core.credentials import HolderState, RecordRule
from mec5g.core.errors import SchemeError
from mec5g.core.messages import M1_BYTES
from mec5g.mec.server import SERVICE_NAME as MEC_SERVICE
from mec5g.mec.server import SERVICE_NAMES as MEC_SERVICES
from mec5g.runtime.device_identities import DeviceIdentities
from mec5g.runtime.grpc_server import channel, tune_collector, wait_serving
from mec5g.runtime.holder_store import EnrolmentFile
from mec5g.runtime.scheme import Scheme
from mec5g.runtime.status import wire_version
from mec5g.testbed import MEC_NODE, enrol_mec_node, mec_wallet
from mec5g.ttp.enrolment import enrol_devices, enrol_mec
from mec5g.ttp.server import SERVICE_NAME as TTP_SERVICE
from mec5g.ttp.server import SERVICE_NAMES as TTP_SERVICES
from mec5g.ttp.stores import StoreLocation, store_flags
from mec5g.v1 import (
    anonymous_key_agreement_pb2,
    anonymous_key_agreement_pb2_grpc,
    mec_key_agreement_pb2,
    mec_key_agreement_pb2_grpc,
)

LIVE_SCHEMES = tuple(scheme.value for scheme in Scheme)  # what --scheme may name here


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
    """One concurrency: each scheme's figures and the echo chain's, measured in one run."""

    devices: int
    concurrency: int
    duration: float
    mec_credentials: int
    schemes: dict[str, RunResult]
    echo: RunResult

    def ratio(self, scheme: str) -> float:
        """The scheme's rate against the echo chain's."""
        return self.schemes[scheme].per_second / self.echo.per_second

    @property
    def baseline_ratio(self) -> float | None:
        """baseline36's rate against braeken2021's, when both ran."""
        if not {Scheme.BRAEKEN2021.value, Scheme.BASELINE36.value} <= set(self.schemes):
            return None
        baseline = self.schemes[Scheme.BASELINE36.value].per_second
        return baseline / self.schemes[Scheme.BRAEKEN2021.value].per_second

    def as_dict(self) -> dict[str, object]:
        data = asdict(self)
        for name, run in self.schemes.items():
            data["schemes"][name].update(per_second=run.per_second, ratio=self.ratio(name))
        data["echo"]["per_second"] = self.echo.per_second
        data["baseline36_to_braeken2021"] = self.baseline_ratio
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
        # Generous: processes starting at once on a busy 2-core machine take a while.
        await wait_serving(target, service, timeout=60.0)

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


def _owned(devices: int, concurrency: int) -> list[Iterator[int]]:
    """Worker w owns devices w, w + C, w + 2C, ...: one attempt per device at a time."""
    if devices < concurrency:
        raise ValueError("need at least as many devices as concurrency (one attempt each)")
    return [itertools.cycle(range(w, devices, concurrency)) for w in range(concurrency)]


async def _start_servers(
    processes: _Processes,
    store: StoreLocation,
    scheme: Scheme,
    mec_state: Path,
    mec_holds: list[str],
    *,
    replicas: int = 1,
) -> str:
    """The TTP over ``store`` (a SQLite file, or a PostgreSQL URL shared by ``replicas`` TTP
    processes, started at once) and the MEC (its state in ``mec_state``; ``mec_holds`` its
    enrolment or identity; balancing over the replicas), all running ``scheme``; returns the
    MEC's target."""
    *ttp_targets, mec_target = free_targets(replicas + 1)
    flag = ["--scheme", scheme.value]
    serve = ["ttp", "serve", *store_flags(store), "--metrics-port", "0", *flag, "--listen"]
    async with asyncio.TaskGroup() as replicas_starting:  # at once; one failing stops all
        for number, target in enumerate(ttp_targets, start=1):
            role = "ttp" if replicas == 1 else f"ttp-{number}"
            replicas_starting.create_task(
                processes.start(role, [*serve, target], target, TTP_SERVICES[scheme])
            )
    ttp = ttp_targets[0] if replicas == 1 else "ipv4:" + ",".join(ttp_targets)
    await processes.start(
        "mec",
        ["mec", "serve", "--listen", mec_target, "--ttp", ttp, "--state", str(mec_state),
         *mec_holds, "--metrics-port", "0", *flag],
        mec_target,
        MEC_SERVICES[scheme],
    )  # fmt: skip
    return mec_target


async def start_scheme(
    stack: contextlib.AsyncExitStack,
    workdir: Path,
    store: StoreLocation,
    mec_enrolment: Path,
    states: list[HolderState],
    *,
    replicas: int = 1,
    name: str = "scheme",
) -> Topology:
    """The real TTP (over ``store``: a SQLite file, or a PostgreSQL URL shared by ``replicas``
    TTP processes) and MEC (importing ``mec_enrolment``, balancing over the replicas) as
    processes, and a client running handshakes for the devices of ``states`` (updated in place
    as they adopt). ``name`` tells the logs and the MEC's state of several topologies apart."""
    processes = _Processes(workdir, name)
    stack.callback(processes.stop)
    mec_target = await _start_servers(
        processes,
        store,
        Scheme.BRAEKEN2021,
        workdir / f"{name}-mec.db",
        ["--import", str(mec_enrolment)],
        replicas=replicas,
    )
    mec_channel = await stack.enter_async_context(channel(mec_target))
    stub = mec_key_agreement_pb2_grpc.MecKeyAgreementServiceStub(mec_channel)

    def client(concurrency: int) -> Operation:
        owned = _owned(len(states), concurrency)

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


async def start_baseline36(
    stack: contextlib.AsyncExitStack,
    workdir: Path,
    store: Path,
    wallet: Path,
    identities: DeviceIdentities,
) -> Topology:
    """The real TTP and MEC under ``--scheme baseline36`` (the MEC answering as the node of
    ``wallet``), and a client running [36] for the devices of ``identities``."""
    processes = _Processes(workdir, "baseline36")
    stack.callback(processes.stop)
    mec_target = await _start_servers(
        processes, store, Scheme.BASELINE36, workdir / "mec.db", ["--identity", str(wallet)]
    )
    mec_channel = await stack.enter_async_context(channel(mec_target))
    stub = anonymous_key_agreement_pb2_grpc.MecAnonymousKeyAgreementServiceStub(mec_channel)
    devices: list[Identity] = list(identities.identities.values())

    def client(concurrency: int) -> Operation:
        owned = _owned(len(devices), concurrency)

        async def handshake(worker: int) -> bool:
            state, m1 = anonymous_agreement.initiator_start(
                devices[next(owned[worker])],
                identities.ca_public,
                MEC_NODE,
                Purpose.DEVICE_SESSION,
            )
            try:
                answer = await stub.AgreeAnonymously(
                    anonymous_key_agreement_pb2.AgreeAnonymouslyRequest(m1=m1), timeout=10.0
                )
                anonymous_agreement.initiator_finish(state, answer.m4)
            except (grpc.aio.AioRpcError, SchemeError):
                return False
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


async def _start(
    stack: contextlib.AsyncExitStack,
    workdir: Path,
    scheme: Scheme,
    devices: int,
    mec_credentials: int,
) -> Topology:
    """One scheme's servers over a store of its own, with ``devices`` enrolled."""
    directory = workdir / scheme.value
    directory.mkdir()
    store = directory / "ttp.db"
    if scheme is Scheme.BRAEKEN2021:
        enrol_devices(store, directory / "ue.json", devices)
        enrol_mec(store, directory / "mec.json", "mec-bench", mec_credentials)
        states = list(EnrolmentFile.read(directory / "ue.json").holder_states().values())
        return await start_scheme(stack, directory, store, directory / "mec.json", states)
    enrol_mec_node(directory, 1, RecordRule.COUNTER)  # [36] needs the node's identity only
    enrol_devices(store, directory / "ue.json", devices, identities=True)
    identities = DeviceIdentities.read(directory / "ue.json")
    if identities is None:
        raise AssertionError("enrolled with identities, read none")
    return await start_baseline36(stack, directory, store, mec_wallet(directory), identities)


async def run_curve(
    devices: int,
    concurrencies: Sequence[int],
    duration: float,
    *,
    schemes: Sequence[str] = LIVE_SCHEMES,
    mec_credentials: int = 16,
    warmup: float = 1.0,
    slice_seconds: float = SLICE_SECONDS,
    on_slice: Callable[[], None] | None = None,
) -> list[HandshakeReport]:
    """Every scheme's topology and the echo chain at each concurrency in turn, with the same
    processes throughout.

    The servers of every topology run side by side (an idle one costs nothing) and the client
    loads one at a time, switching every ``slice_seconds`` and rotating which goes first, so that
    a shared machine's drifting speed weighs on all alike. ``on_slice`` is called after every
    measured slice (progress).
    """
    if devices < max(concurrencies):
        raise ValueError("--devices must be at least --concurrency (one attempt per device)")
    chosen = [Scheme.from_label(name) for name in dict.fromkeys(schemes)]
    reports = []
    with tempfile.TemporaryDirectory(prefix="mec5g-bench-") as directory:
        workdir = Path(directory)
        async with contextlib.AsyncExitStack() as stack:
            topologies = {
                scheme.value: await _start(stack, workdir, scheme, devices, mec_credentials)
                for scheme in chosen
            }
            echo = await _start_echo(stack, workdir)
            order = [*topologies.values(), echo]
            # This process emulates the devices of both topologies alike; like the servers, it
            # runs with the collector set for serving.
            tune_collector()
            slices = slices_per_level(duration, slice_seconds)
            for concurrency in concurrencies:
                for topology in order:
                    await topology.run_slice(concurrency, warmup, measured=False)
                for number in range(slices):
                    turn = number % len(order)
                    for topology in order[turn:] + order[:turn]:
                        await topology.run_slice(concurrency, duration / slices, measured=True)
                        if on_slice is not None:
                            on_slice()
                reports.append(
                    HandshakeReport(
                        devices,
                        concurrency,
                        duration,
                        mec_credentials,
                        {name: topology.take_result() for name, topology in topologies.items()},
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
    schemes: Sequence[str] = LIVE_SCHEMES,
    mec_credentials: int = 16,
    warmup: float = 1.0,
    slice_seconds: float = SLICE_SECONDS,
) -> HandshakeReport:
    """Every topology at one concurrency, measured in rotating slices of the same run."""
    (report,) = await run_curve(
        devices,
        [concurrency],
        duration,
        schemes=schemes,
        mec_credentials=mec_credentials,
        warmup=warmup,
        slice_seconds=slice_seconds,
    )
    return report
