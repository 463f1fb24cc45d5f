"""``mec5g up SCENARIO``: a scenario's topology as OS processes, its links emulated, its events
played.

In order: the TTP's key store gets each MEC node's K credentials and ECQV identity; every
process gets its place in the network (``links.py``); the TTP starts, then each MEC node behind
its backhaul link, then each patient's UE (empty) behind its radio link, each with its compute
profile (``--compute-profile``). Then the story, as the apps would run it: the doctors and the
patients register (phase 1), each patient creates an analysis of its devices readable by its
doctors and provisions them into its UE (phase 2); the devices attach (phase 3) and stream
(phase 4) to their zone's node. From then on the scenario's clock runs: events happen at their
times (``events.py``), each doctor reads its patients' results once (phase 5) and watches them
for emergencies (phase 6), and a line every two seconds sums up the UEs and the nodes' alerts.
At the end (``duration``, ``--duration`` or Ctrl-C) every process stops, and the summary gives
the totals, each node's real and emulated computation, what each link carried, and whether every
device and MEC credential still agrees with its TTP record.

Ports: the TTP 50051 (metrics 9151); MEC node i (from 0, in file order) 50100 + i (9200 + i);
patient j's UE 50200 + j (9300 + j); all shifted by ``--port-offset``. Files: ``ttp.db``,
``<node>/`` and ``<patient>/`` for each process's state, ``users/`` for the wallets,
``<name>.log`` for each process's log.

Mobility events need the handover (context transfer through the TTP), which this build does not
have: ``hand_over`` is where it goes, and ``mec5g up`` refuses a scenario with mobility events
before starting anything while ``HANDOVER_AVAILABLE`` is False.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import random
import signal
import socket
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import grpc
from prometheus_client.samples import Sample

from mec5g.core.profiles import DoctorAttributes, PatientAttributes
from mec5g.mec.server import SERVICE_NAME as MEC_SERVICE
from mec5g.processes import RoleProcess
from mec5g.runtime.grpc_server import channel
from mec5g.runtime.metrics import KEY_AGREEMENT
from mec5g.runtime.scrape import scrape
from mec5g.runtime.wallet import Wallet
from mec5g.scenario import netem
from mec5g.scenario.events import Action, Restart, Restore, Timeline
from mec5g.scenario.links import EmulatorNetwork, Network
from mec5g.scenario.model import (
    Compute,
    Deterioration,
    LinkDegradation,
    Mobility,
    NodeFailure,
    Patient,
    Scenario,
)
from mec5g.testbed import (
    SESSION_GRACE_SECONDS,
    Totals,
    alert_levels,
    check_agreement,
    doctor_analyses,
    enrol_mec_node,
    progress_line,
    provision_analysis,
    read_results,
    register_user,
    summary_line,
    watch,
)
from mec5g.ttp.registry import Registry
from mec5g.ttp.server import SERVICE_NAME as TTP_SERVICE
from mec5g.ue.sensors import kind_name
from mec5g.ue.server import SERVICE_NAME as UE_SERVICE
from mec5g.v1 import registration_pb2_grpc, ue_control_pb2, ue_control_pb2_grpc

GRPC_BASE = {"ttp": 50051, "mec": 50100, "ue": 50200}
METRICS_BASE = {"ttp": 9151, "mec": 9200, "ue": 9300}
SERVICES = {"ttp": TTP_SERVICE, "mec": MEC_SERVICE, "ue": UE_SERVICE}
TICK_SECONDS = 2.0
HANDOVER_AVAILABLE = False


class HandoverUnavailable(RuntimeError):
    """A mobility event in a build without the handover."""


@dataclass
class Node:
    """One process of the scenario: the TTP, a MEC node or a patient's UE."""

    name: str
    role: str  # ttp, mec or ue
    port: int
    metrics_port: int
    compute: Compute | None
    host: str = "127.0.0.1"
    process: RoleProcess | None = None
    failed: bool = False  # down on purpose (a node failure)

    @property
    def target(self) -> str:
        return f"{self.host}:{self.port}"


def choose_network(mode: str, seed: int) -> tuple[Network, str]:
    """The network for ``--links`` (auto, emulator or netem) and why it was chosen."""
    if mode == "emulator":
        return EmulatorNetwork(seed), "asked for"
    reason = netem.unavailable()
    if reason is None:
        return netem.NamespaceNetwork(), "the kernel has netem" if mode == "auto" else "asked for"
    if mode == "netem":
        raise SystemExit(f"mec5g up: --links netem: {reason}")
    return EmulatorNetwork(seed), f"no kernel netem here: {reason}"


def device_names(patient: Patient) -> list[str]:
    """The patient's devices, numbered and named for their kinds (the UE emulates the kind a
    name ends with)."""
    return [
        f"{patient.name}-{index:02d}-{kind_name(kind)}"
        for index, kind in enumerate(patient.devices, start=1)
    ]


async def hand_over(testbed: ScenarioTestbed, event: Mobility) -> None:
    """Move ``event.patient``'s UE from its node in zone ``event.source`` to ``event.mec_node``
    in zone ``event.target``, its analysis's context going through the TTP.

    The handover lives here once it is built; this build has none, so ``run`` refuses
    scenarios with mobility events before anything starts and this is never reached.
    """
    raise HandoverUnavailable(
        f"{event.patient} cannot move from {event.source} to {event.target}: "
        "this build has no handover"
    )


class ScenarioTestbed:
    """A scenario's processes and links."""

    def __init__(
        self,
        scenario: Scenario,
        state_dir: Path,
        network: Network,
        args: argparse.Namespace,
    ) -> None:
        self.scenario = scenario
        self.state_dir = state_dir
        self.network = network
        self.args = args
        # (role, name, compute profile), in port order within each role.
        processes: list[tuple[str, str, Compute | None]] = [
            ("ttp", scenario.ttp.name, scenario.ttp.compute),
            *(("mec", node.name, node.compute) for node in scenario.nodes),
            *(("ue", patient.name, patient.compute) for patient in scenario.patients),
        ]
        self.nodes: dict[str, Node] = {}
        for role, name, compute in processes:
            index = sum(node.role == role for node in self.nodes.values()) + args.port_offset
            self.nodes[name] = Node(
                name, role, GRPC_BASE[role] + index, METRICS_BASE[role] + index, compute
            )
        self.analyses: dict[str, str] = {}  # patient -> IDa

    @property
    def ttp(self) -> Node:
        return self.nodes[self.scenario.ttp.name]

    def ues(self) -> list[Node]:
        return [node for node in self.nodes.values() if node.role == "ue"]

    def mecs(self) -> list[Node]:
        return [node for node in self.nodes.values() if node.role == "mec"]

    def holder_files(self) -> tuple[str, ...]:
        return tuple(
            f"{node.name}/{'mec.db' if node.role == 'mec' else 'ue.db'}"
            for node in self.nodes.values()
            if node.role != "ttp"
        )

    def ports_in_use(self) -> list[int]:
        """Ports of the layout something else holds already (loopback only)."""
        taken = []
        for node in self.nodes.values():
            for port in (node.port, node.metrics_port):
                with socket.socket() as probe:
                    try:
                        probe.bind(("127.0.0.1", port))
                    except OSError:
                        taken.append(port)
        return taken

    def enrol(self) -> None:
        """Each MEC node's credentials and ECQV identity (its files in its own folder)."""
        for node in self.scenario.nodes:
            directory = self.state_dir / node.name
            directory.mkdir(exist_ok=True)
            enrol_mec_node(
                self.state_dir, node.credentials, self.scenario.record_rule, node.name, directory
            )
        for patient in self.scenario.patients:
            (self.state_dir / patient.name).mkdir(exist_ok=True)

    def _compute(self, node: Node) -> list[str]:
        if node.compute is None:
            return []
        return ["--compute-profile", str(node.compute.path),
                "--compute-cores", str(node.compute.cores or 0)]  # fmt: skip

    def _command(self, node: Node, upstream: str) -> list[str]:
        args, listen = self.args, self.network.listen(node.name, node.port)
        directory = self.state_dir / node.name
        common = ["--listen", listen, "--metrics-port", str(node.metrics_port)]
        if node.role == "ttp":
            rule = self.scenario.record_rule.label
            return ["ttp", "serve", *common, "--store", str(self.state_dir / "ttp.db"),
                    "--record-rule", rule, *self._compute(node)]  # fmt: skip
        if node.role == "mec":
            return ["mec", "serve", *common, "--ttp", upstream,
                    "--state", str(directory / "mec.db"),
                    "--import", str(directory / "mec-enrolment.json"),
                    "--identity", str(directory / f"{node.name}.wallet.json"),
                    "--session-max-records", str(args.session_records),
                    "--session-max-seconds", str(args.session_seconds + SESSION_GRACE_SECONDS),
                    *self._compute(node)]  # fmt: skip
        patient = self.scenario.patient(node.name)
        seed = random.Random(f"mec5g/scenario/{self.scenario.seed}/{patient.name}").getrandbits(31)
        return ["ue", "serve", *common, "--mec", upstream, "--state", str(directory / "ue.db"),
                "--stream-interval", str(patient.stream_interval),
                "--session-records", str(args.session_records),
                "--session-seconds", str(args.session_seconds),
                "--devices-per-patient", str(len(patient.devices)),
                "--load-concurrency", str(args.load_concurrency),
                "--load-pause", str(args.load_pause),
                "--seed", str(seed), *self._compute(node)]  # fmt: skip

    async def _start(self, node: Node, upstream: str = "") -> None:
        node.host = self.network.host(node.name)
        node.process = RoleProcess(
            node.name,
            self._command(node, upstream),
            node.target,
            SERVICES[node.role],
            self.state_dir,
            prefix=self.network.prefix(node.name),
        )
        await node.process.start()

    async def start(self) -> None:
        self.enrol()
        for name in self.nodes:
            await self.network.place(name)
        await self._start(self.ttp)
        for spec in self.scenario.nodes:
            target = await self.network.connect(
                spec.link, spec.name, self.ttp.name, self.ttp.port, spec.backhaul.profile
            )
            await self._start(self.nodes[spec.name], target)
        for patient in self.scenario.patients:
            mec = self.nodes[patient.mec_node]
            target = await self.network.connect(
                patient.link, patient.name, mec.name, mec.port, patient.radio.profile
            )
            await self._start(self.nodes[patient.name], target)

    def crashed(self) -> list[str]:
        return [
            node.name
            for node in self.nodes.values()
            if node.process is not None and not node.failed and not node.process.running
        ]

    def fail(self, name: str) -> None:
        """Crash a node: its process is killed (SIGKILL), as a power cut would."""
        node = self.nodes[name]
        node.failed = True
        if node.process is not None:
            node.process.stop(signal.SIGKILL)

    async def restart(self, name: str) -> None:
        node = self.nodes[name]
        assert node.process is not None
        await node.process.start()
        node.failed = False

    async def stop(self) -> None:
        """Every process (UEs first, the TTP last), then the links and places."""
        for role in ("ue", "mec", "ttp"):
            for node in self.nodes.values():
                if node.role == role and node.process is not None:
                    try:
                        node.process.stop()
                    except Exception:  # a process that will not stop is killed
                        node.process.stop(signal.SIGKILL)
        await self.network.close()

    # -- events --------------------------------------------------------------------------------

    async def carry_out(self, action: Action, timeline: Timeline) -> str:
        """Carry out one event or follow-up; returns what happened, for the log."""
        if isinstance(action, Deterioration):
            async with channel(self.nodes[action.patient].target) as ue:
                await ue_control_pb2_grpc.UeControlServiceStub(ue).InjectEvent(
                    ue_control_pb2.InjectEventRequest(
                        patient=1,
                        event=action.condition,
                        onset_seconds=action.onset,
                        duration_seconds=action.duration,
                    ),
                    timeout=5.0,
                )
            return f"{action.condition} develops in {action.patient} over {action.onset:g} s"
        if isinstance(action, LinkDegradation):
            before = tuple((link, self.network.profile(link)) for link in action.links)
            for link in action.links:
                await self.network.set_profile(link, action.profile.profile)
            if action.duration is not None:
                timeline.add(Restore(action.at + action.duration, before))
            return f"{', '.join(action.links)} now {action.profile.name}"
        if isinstance(action, Restore):
            for link, profile in action.profiles:
                await self.network.set_profile(link, profile)
            return f"{', '.join(link for link, _ in action.profiles)} restored"
        if isinstance(action, NodeFailure):
            self.fail(action.node)
            if action.restart_after is not None:
                timeline.add(Restart(action.at + action.restart_after, action.node))
            return f"{action.node} failed (process killed)"
        if isinstance(action, Restart):
            await self.restart(action.node)
            return f"{action.node} restarted on its state"
        await hand_over(self, action)
        return f"{action.patient} moved to {action.target}"

    async def play(self, timeline: Timeline, started: float) -> None:
        """Carry out the timeline's actions at their times, until cancelled."""
        while (at := timeline.next_at()) is not None:
            await asyncio.sleep(max(0.0, started + at - time.monotonic()))
            for action in timeline.due(time.monotonic() - started):
                what = await self.carry_out(action, timeline)
                print(f"  [{time.monotonic() - started:7.1f} s] {what}", flush=True)

    # -- the story -----------------------------------------------------------------------------

    async def story(self) -> None:
        """Phases 1 and 2: doctors and patients register; each patient's analysis of its
        devices, readable by its doctors, is provisioned into its UE."""
        users = self.state_dir / "users"
        users.mkdir(exist_ok=True)
        registry = Registry(self.state_dir / "ttp.db")
        attributes: list[tuple[str, DoctorAttributes | PatientAttributes]] = [
            (doctor.name, DoctorAttributes.checked(doctor.expertise, doctor.hospital))
            for doctor in self.scenario.doctors
        ]
        attributes += [
            (patient.name, PatientAttributes.checked(patient.allergies, patient.blood_group))
            for patient in self.scenario.patients
        ]
        wallets: dict[str, Wallet] = {}
        ca_public: bytes | None = None
        async with channel(self.ttp.target) as ttp:
            registration = registration_pb2_grpc.RegistrationServiceStub(ttp)
            for name, attribute in attributes:
                wallets[name] = await register_user(
                    registration, registry, users / f"{name}.wallet.json", name, attribute,
                    ca_public,
                )  # fmt: skip
                ca_public = wallets[name].ca_public
            for patient in self.scenario.patients:
                async with channel(self.nodes[patient.name].target) as ue:
                    self.analyses[patient.name] = await provision_analysis(
                        ttp, ue, wallets[patient.name], device_names(patient),
                        list(patient.readers), f"{patient.name}'s UE",
                    )  # fmt: skip

    def doctor(self, name: str) -> Wallet:
        return Wallet.read(self.state_dir / "users" / f"{name}.wallet.json")

    def readers(self) -> list[tuple[str, Patient]]:
        """(doctor, patient) for every doctor allowed to read a patient."""
        return [
            (doctor, patient) for patient in self.scenario.patients for doctor in patient.readers
        ]

    async def doctor_analysis(self, doctor: Wallet, patient: Patient) -> tuple[str, str] | None:
        analysis = self.analyses.get(patient.name)
        if analysis is not None:
            return analysis, patient.name
        async with channel(self.ttp.target) as ttp:  # a reused state directory
            listed = await doctor_analyses(ttp, doctor)
        return next((found for found in listed if found[1] == patient.name), None)

    async def keep_watching(self, doctor_name: str, patient: Patient) -> None:
        """Phase 6 for one doctor and patient, watched again after the node or the TTP failed."""
        doctor = self.doctor(doctor_name)
        while True:
            mec = self.nodes[patient.mec_node]
            while mec.failed or self.ttp.failed:
                await asyncio.sleep(TICK_SECONDS)
            with contextlib.suppress(grpc.aio.AioRpcError):
                analysis = await self.doctor_analysis(doctor, patient)
                if analysis is not None:
                    await watch(doctor, mec.target, mec.name, analysis)
            await asyncio.sleep(TICK_SECONDS)

    async def read_once(self, doctor_name: str, patient: Patient) -> str | None:
        """Phase 5 for one doctor and patient: the headline, or None until the node has data."""
        doctor = self.doctor(doctor_name)
        mec = self.nodes[patient.mec_node]
        with contextlib.suppress(grpc.aio.AioRpcError):
            analysis = await self.doctor_analysis(doctor, patient)
            if analysis is not None:
                return await read_results(doctor, mec.target, mec.name, analysis)
        return None

    # -- what it did ---------------------------------------------------------------------------

    async def totals(self) -> Totals:
        totals = Totals()
        for node in self.ues():
            with contextlib.suppress(grpc.aio.AioRpcError, OSError):
                totals += await Totals.of(node.target, node.metrics_port, node.host)
        return totals

    async def alerts(self) -> str:
        parts = []
        for node in self.mecs():
            if node.failed:
                parts.append(f"{node.name}: down")
                continue
            try:
                parts.append(f"{node.name}: {await alert_levels(node.target)}")
            except grpc.aio.AioRpcError as error:
                parts.append(f"{node.name}: {error.code().name}")
        return "; ".join(parts)

    async def compute_report(self) -> list[str]:
        """Per node: real and emulated computation per key agreement, and in all."""
        lines = []
        for node in self.nodes.values():
            if node.failed:
                continue
            try:
                samples = await asyncio.to_thread(_scraped, f"{node.host}:{node.metrics_port}")
            except OSError:
                continue
            sums: dict[str, float] = {}
            for sample in samples:
                phase = sample.labels.get("phase")
                for family in ("mec5g_computation_seconds", "mec5g_emulated_computation_seconds"):
                    if sample.name == f"{family}_total":
                        sums[family] = sums.get(family, 0.0) + sample.value
                        if phase == KEY_AGREEMENT:
                            sums[f"{family}/ka"] = sums.get(f"{family}/ka", 0.0) + sample.value
                if sample.name == "mec5g_phase_results_total" and phase == KEY_AGREEMENT:
                    sums["runs"] = sums.get("runs", 0.0) + sample.value
            lines.append(_compute_line(node, sums))
        return lines

    def link_report(self) -> list[str]:
        lines = []
        links = [(spec.link, spec.backhaul.name) for spec in self.scenario.nodes]
        links += [(patient.link, patient.radio.name) for patient in self.scenario.patients]
        for link, profile in links:
            stats = self.network.stats(link)
            if stats is None:
                continue
            parts = [
                f"{direction} {carried.messages} messages, "
                f"{carried.added_seconds * 1e3 / max(carried.messages, 1):.1f} ms on average, "
                f"{carried.segments_lost} segment{'' if carried.segments_lost == 1 else 's'} lost"
                for direction, carried in zip(("up", "down"), stats, strict=True)
            ]
            lines.append(f"  link {link} ({profile}): {'; '.join(parts)}")
        return lines


def _scraped(target: str) -> list[Sample]:
    return list(scrape(target))


def _compute_line(node: Node, sums: dict[str, float]) -> str:
    runs = sums.get("runs", 0.0)
    label = f"{node.name} ({node.role}"
    if node.compute is not None:
        cores = f", {node.compute.cores} cores" if node.compute.cores else ", each device its own"
        label += f", {node.compute.profile.name}{cores}"
    label += ")"
    real, emulated = "mec5g_computation_seconds", "mec5g_emulated_computation_seconds"
    per_run = (
        f"{1e3 * sums.get(f'{real}/ka', 0.0) / runs:.3f} ms real"
        + (
            f", {1e3 * sums.get(f'{emulated}/ka', 0.0) / runs:.3f} ms emulated"
            if node.compute
            else ""
        )
        if runs
        else "no key agreement"
    )
    overall = f"{sums.get(real, 0.0):.3f} s real" + (
        f", {sums.get(emulated, 0.0):.3f} s emulated" if node.compute else ""
    )
    return f"  compute {label}: per key agreement {per_run}; in all {overall}"


def _header(testbed: ScenarioTestbed, why: str) -> list[str]:
    scenario = testbed.scenario
    lines = [
        f"mec5g scenario {scenario.name} up (record rule {scenario.record_rule.label}; links: "
        f"{testbed.network.description}, {why}); state in {testbed.state_dir}"
    ]
    for node in testbed.nodes.values():
        where = f"{node.target:22} metrics http://{node.host}:{node.metrics_port}/metrics"
        compute = f", compute {node.compute.profile.name}" if node.compute else ""
        if node.role == "mec":
            spec = scenario.node(node.name)
            detail = f"zone {spec.zone}, backhaul {spec.backhaul.name}{compute}"
        elif node.role == "ue":
            patient = scenario.patient(node.name)
            detail = (
                f"zone {patient.zone} via {patient.mec_node}, radio {patient.radio.name}, "
                f"{len(patient.devices)} device{'s' if len(patient.devices) > 1 else ''}{compute}"
            )
        else:
            detail = compute.removeprefix(", ")
        lines.append(f"  {node.role.upper():3} {node.name:12} gRPC {where}  {detail}".rstrip())
    return lines


def refusal(scenario: Scenario) -> str | None:
    """Why this build cannot run ``scenario`` (mobility without the handover), or None."""
    if scenario.mobility and not HANDOVER_AVAILABLE:
        times = ", ".join(f"{event.at:g} s" for event in scenario.mobility)
        return (
            f"scenario {scenario.name} has mobility events (at {times}), and this build has no "
            "handover: remove them to run the rest"
        )
    return None


async def run(
    scenario: Scenario,
    args: argparse.Namespace,
    state_dir: Path,
    chosen: tuple[Network, str] | None = None,
) -> int:
    """Run ``scenario`` until its duration (``--duration`` wins), or Ctrl-C, on the network
    ``chosen`` (and why), or the one ``--links`` chooses."""
    if (refused := refusal(scenario)) is not None:
        print(f"mec5g up: {refused}", file=sys.stderr)
        return 2
    fresh = not (state_dir / "ttp.db").exists()
    network, why = chosen or choose_network(args.links, scenario.seed)
    testbed = ScenarioTestbed(scenario, state_dir, network, args)
    if isinstance(network, EmulatorNetwork) and (taken := testbed.ports_in_use()):
        taken_ports = ", ".join(map(str, taken))
        print(f"mec5g up: ports in use: {taken_ports} (try --port-offset)", file=sys.stderr)
        return 2
    duration = args.duration or scenario.duration
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    tasks: list[asyncio.Task[None]] = []
    try:
        await testbed.start()
        print("\n".join(_header(testbed, why)), flush=True)
        if fresh:
            await testbed.story()
        else:
            print("  reusing the users and analyses of this state directory")
        started = time.monotonic()  # the scenario's clock: its events' times count from here
        first = testbed.ues()[0].target
        print(f"  try: grpcurl -plaintext -d '{{}}' {first} mec5g.v1.UeControlService/Status")
        print("Ctrl-C stops everything." if not duration else f"Stopping after {duration:g} s.")
        tasks = [
            asyncio.create_task(testbed.keep_watching(doctor, patient))
            for doctor, patient in testbed.readers()
        ]
        events = asyncio.create_task(testbed.play(Timeline(scenario.events), started))
        tasks.append(events)
        unread = testbed.readers()
        last, last_time = Totals(), time.monotonic()
        while not stop.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), TICK_SECONDS)
            if crashed := testbed.crashed():
                print(f"process ended unexpectedly: {', '.join(crashed)}")
                return 1
            if events.done() and events.exception() is not None:
                print(f"event failed: {events.exception()}")
                return 1
            totals, now = await testbed.totals(), time.monotonic()
            alerts = await testbed.alerts()
            print(progress_line(now - started, totals, last, now - last_time, alerts), flush=True)
            last, last_time = totals, now
            for doctor, patient in list(unread):
                headline = await testbed.read_once(doctor, patient)
                if headline is not None:
                    print(f"  {headline}", flush=True)
                    unread.remove((doctor, patient))
            if duration and now - started >= duration:
                stop.set()
        totals, alerts = await testbed.totals(), await testbed.alerts()
        report = [*await testbed.compute_report(), *testbed.link_report()]
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await testbed.stop()
    problems = check_agreement(state_dir, holder_files=testbed.holder_files())
    print(summary_line(totals, time.monotonic() - started, alerts, problems))
    print("\n".join(report))
    for problem in problems:
        print(f"  {problem}")
    return 0 if not problems else 1
