"""``mec5g up``: the whole testbed on one machine, as separate OS processes on localhost.

It enrols K MEC credentials at a fresh SQLite key store (the embedded default), starts the TTP,
the MEC and an empty UE, all running the devices' key agreement of ``--scheme`` (the paper's
scheme, or the public-key baseline [36], whose device ECQV identities it enrols first), and then
runs the paper's story: the operator issues enrolment codes, a
patient and a doctor register (phase 1, ECQV), the patient creates an analysis for N devices
readable by the doctor and provisions the devices through the UE (phase 2), and the UE runs key
agreement (phase 3); each device then streams readings (phase 4: it attaches, streams, and renews
its session by key agreement after N records or T seconds), optionally with a continuous
handshake load on top, and the MEC scores the analysis (NEWS2); once the MEC holds data, the
doctor reads the patient's results at the MEC, the TTP vouching for the request in the anonymous
key agreement (phase 5); the doctor also watches the
analysis, and after ``--sepsis-after`` seconds the patient develops a sepsis whose emergency
reaches the doctor (phase 6). With ``--mecs N`` (N >= 2) a MEC platform (MEC 011/021) and N MEC
nodes run, the UE discovers its MEC through the platform, and after ``--handover-after`` seconds
the patient moves from mec-1 to mec-2: the handover and its interruption are printed, and the
doctor reads the results at mec-2. It prints the endpoints and a live
summary line (handshakes, readings per second, the analyses' NEWS2 alert levels), and on Ctrl-C
(or after ``--duration``) stops every process, then checks that every device and MEC credential
still authenticates against its TTP record. A reused state directory keeps its users and
analysis and skips the story.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import grpc

from mec5g.core.credentials import RecordRule
from mec5g.core.profiles import AccessPolicy, DoctorAttributes, PatientAttributes, Role
from mec5g.core.readings import SensorKind
from mec5g.edge_platform import server as platform_server
from mec5g.mec import identity
from mec5g.mec import server as mec_server
from mec5g.mobility import move_patient
from mec5g.runtime.grpc_server import channel, wait_serving
from mec5g.runtime.holder_store import HolderStore
from mec5g.runtime.metrics import KEY_AGREEMENT
from mec5g.runtime.scheme import Scheme
from mec5g.runtime.scrape import scrape
from mec5g.runtime.wallet import Wallet
from mec5g.ttp import server as ttp_server
from mec5g.ttp.enrolment import enrol_device_analyses, enrol_identities, enrol_mec
from mec5g.ttp.keystore import KeyStore
from mec5g.ttp.registry import Registry
from mec5g.ue import server as ue_server
from mec5g.ue import user_app
from mec5g.ue.sensors import KIND_ORDER
from mec5g.v1 import (
    analysis_pb2,
    analysis_pb2_grpc,
    mec_alerts_pb2_grpc,
    mec_results_pb2_grpc,
    monitoring_pb2,
    monitoring_pb2_grpc,
    registration_pb2_grpc,
    ue_control_pb2,
    ue_control_pb2_grpc,
    ue_provisioning_pb2_grpc,
    vitals_pb2,
)

GRPC_PORTS = {"ttp": 50051, "mec": 50052, "ue": 50053}
METRICS_PORTS = {"ttp": 9151, "mec": 9152, "ue": 9153}
# With several MEC nodes: the platform's ports, then node k >= 2 on the k - 1 ports after them.
PLATFORM_PORTS = (50054, 9154)
MEC_NODE = "mec-1"
UE_NAME = "ue-1"
PATIENT = "alice"
DOCTOR = "bob"
# The MEC ends a session this much later than the device renews it, so that a record sent just
# before the device's limit is still accepted.
SESSION_GRACE_SECONDS = 30.0
# The identities of the story's devices under [36], for the UE to import.
IDENTITIES_FILE = "ue-identities.json"


def role_services(scheme: Scheme) -> dict[str, str]:
    """The service each kind of role serves once it is up, for the scheme it runs."""
    return {
        "ttp": ttp_server.SERVICE_NAMES[scheme],
        "mec": mec_server.SERVICE_NAMES[scheme],
        "ue": ue_server.SERVICE_NAME,
        "platform": platform_server.SERVICE_NAME,
    }


def mec_node(number: int) -> str:
    """The MEC host name of the testbed's ``number``-th MEC node: mec-1, mec-2, ..."""
    return f"mec-{number}"


def mec_role(number: int) -> str:
    """The role name of the ``number``-th MEC node: ``mec`` for the first, as always."""
    return "mec" if number == 1 else mec_node(number)


def add_up_parser(roles: Any) -> None:
    up = roles.add_parser("up", help="run the whole testbed locally (TTP, MEC, UE)")
    up.add_argument("--devices", type=int, default=20, help="emulated devices in the UE")
    up.add_argument("--mec-credentials", type=int, default=16, help="K credentials of the MEC")
    up.add_argument("--record-rule", type=RecordRule.from_label, default=RecordRule.COUNTER)
    up.add_argument(
        "--scheme",
        type=Scheme.from_label,
        default=Scheme.BRAEKEN2021,
        help="the devices' key agreement: braeken2021 (the paper's, default) or baseline36 (the "
        "public-key baseline [36])",
    )
    up.add_argument(
        "--duration",
        type=float,
        default=0.0,
        help="stop after S seconds and print a summary (default: until Ctrl-C)",
    )
    up.add_argument(
        "--load-concurrency",
        type=int,
        default=0,
        help="handshakes the UE keeps running continuously on top of the data streams",
    )
    up.add_argument(
        "--stream-interval",
        type=float,
        default=1.0,
        help="seconds between each device's readings, 0 for no streaming",
    )
    up.add_argument(
        "--session-records",
        type=int,
        default=60,
        help="records after which a device renews its session (the MEC's limit too)",
    )
    up.add_argument(
        "--session-seconds",
        type=float,
        default=120.0,
        help="seconds after which a device renews its session",
    )
    up.add_argument(
        "--load-pause",
        type=float,
        default=0.05,
        help="seconds each UE worker pauses between handshakes",
    )
    up.add_argument(
        "--state-dir",
        type=Path,
        default=None,
        help="where stores and logs go (default: a new temporary directory)",
    )
    up.add_argument(
        "--sepsis-after",
        type=float,
        default=30.0,
        help="seconds after which the story's patient develops a sepsis (0: never)",
    )
    up.add_argument(
        "--mecs",
        type=int,
        default=1,
        help="MEC nodes; 2 or more also run a MEC platform and move the patient between nodes",
    )
    up.add_argument(
        "--handover-after",
        type=float,
        default=45.0,
        help="with --mecs >= 2: seconds after which the patient moves from mec-1 to mec-2 "
        "(0: never)",
    )
    up.add_argument(
        "--port-offset",
        type=int,
        default=0,
        help="added to every default port, to run beside another testbed",
    )
    up.set_defaults(handler=run_up)


@dataclass(frozen=True)
class Endpoints:
    grpc: dict[str, str]
    metrics: dict[str, int]

    @classmethod
    def with_offset(cls, offset: int, mecs: int = 1) -> Endpoints:
        """The default ports plus ``offset``; with several MEC nodes, the platform on 50054
        and 9154, node k >= 2 on 50053 + k and 9153 + k."""
        grpc_ports = dict(GRPC_PORTS)
        metrics_ports = dict(METRICS_PORTS)
        if mecs > 1:
            grpc_ports["platform"], metrics_ports["platform"] = PLATFORM_PORTS
        for number in range(2, mecs + 1):
            grpc_ports[mec_role(number)] = PLATFORM_PORTS[0] + number - 1
            metrics_ports[mec_role(number)] = PLATFORM_PORTS[1] + number - 1
        return cls(
            {role: f"127.0.0.1:{port + offset}" for role, port in grpc_ports.items()},
            {role: port + offset for role, port in metrics_ports.items()},
        )


def mec_files(state_dir: Path, node: str = MEC_NODE) -> tuple[Path, Path]:
    """A MEC node's enrolment file and state database (mec-1's keep their first names)."""
    if node == MEC_NODE:
        return state_dir / "mec-enrolment.json", state_dir / "mec.db"
    return state_dir / f"{node}-enrolment.json", state_dir / f"{node}.db"


def enrol_mec_node(
    state_dir: Path, mec_credentials: int, rule: RecordRule, node: str = MEC_NODE
) -> None:
    """Enrol the node's MEC credentials and ECQV identity (its wallet answers user requests
    and transfers contexts) unless this state directory has them already."""
    enrolment, _ = mec_files(state_dir, node)
    if (state_dir / "ttp.db").exists() if node == MEC_NODE else enrolment.exists():
        return
    key = state_dir / f"{node}.key.json"
    request = identity.write_request(node, key, state_dir / f"{node}.request.json")
    enrol_mec(
        state_dir / "ttp.db",
        enrolment,
        node,
        mec_credentials,
        rule=rule,
        identity_request=request,
    )
    identity.install(key, json.loads(enrolment.read_text()), mec_wallet(state_dir, node))


def mec_wallet(state_dir: Path, node: str = MEC_NODE) -> Path:
    return state_dir / f"{node}.wallet.json"


def enrol_testbed(
    state_dir: Path,
    devices: int,
    mec_credentials: int,
    rule: RecordRule,
    per_patient: int | None = None,
) -> None:
    """Operator enrolment, without the patients' apps (the attacker's testbed, which needs
    devices under either record rule, and ``mec5g crash``): the MEC credentials, then the devices
    in analyses of ``per_patient`` (all in one by default), imported into the UE's state, unless
    this state directory has them already.

    The UE groups its devices into patients the same way (``ue.sensors.assign``: name order,
    ``per_patient`` each), so that the MEC combines exactly one patient's devices per analysis.
    Every analysis is enrolled in one batch and imported in one transaction, so that a swarm of
    10,000 devices is enrolled in seconds.
    """
    if (state_dir / "ttp.db").exists():
        return
    enrol_mec_node(state_dir, mec_credentials, rule)
    per_patient = per_patient or devices
    analyses = [
        (
            f"patient-{patient:03d}",
            min(per_patient, devices - first + 1),
            state_dir / f"ue-enrolment-{patient:03d}.json",
        )
        for patient, first in enumerate(range(1, devices + 1, per_patient), start=1)
    ]
    enrolments = (
        enrol_device_analyses(state_dir / "ttp.db", analyses, rule=rule) if analyses else []
    )
    holders = HolderStore(state_dir / "ue.db")
    try:
        holders.import_holders(
            {name: state for file in enrolments for name, state in file.holder_states().items()}
        )
    finally:
        holders.close()


def enrol_story_identities(state_dir: Path, devices: int) -> Path:
    """[36]'s ECQV identities for the story's devices (their labels are the patient's device
    names, which the patient's analysis will create), unless enrolled already: as a factory
    would give each device its identity before it joins a patient. Returns the UE's file."""
    out = state_dir / IDENTITIES_FILE
    if not out.exists():
        labels = [f"{PATIENT}/{name}" for name in device_names(devices)]
        enrol_identities(state_dir / "ttp.db", out, labels)
    return out


def device_names(count: int) -> list[str]:
    """The story's devices, numbered, named after the sensor the UE emulates for each (the UE
    gives one patient's devices the kinds of ``KIND_ORDER`` in name order)."""
    return [
        f"dev-{index + 1:02d}-{_kind_name(KIND_ORDER[index % len(KIND_ORDER)])}"
        for index in range(count)
    ]


def _kind_name(kind: SensorKind) -> str:
    return kind.name.lower().replace("_", "-")


async def run_story(state_dir: Path, endpoints: Endpoints, devices: int) -> str:
    """Phases 1 and 2 as a patient and a doctor would run them; returns the analysis identity.

    The operator issues the enrolment codes straight into the TTP's database (as ``mec5g ttp
    enrolment-code`` does); everything else goes over gRPC, as the apps would.
    """
    registry = Registry(state_dir / "ttp.db")
    async with channel(endpoints.grpc["ttp"]) as ttp, channel(endpoints.grpc["ue"]) as ue:
        registration = registration_pb2_grpc.RegistrationServiceStub(ttp)
        patient = await user_app.register(
            registration,
            PATIENT,
            Role.PATIENT,
            registry.issue_enrolment_code(PATIENT, Role.PATIENT, 600),
            PatientAttributes.checked(["penicillin"], "O+"),
        )
        patient.write(state_dir / f"{PATIENT}.wallet.json")
        print(f"  registered patient {PATIENT} (ECQV key {patient.pair.public.hex()[:16]}...)")
        doctor = await user_app.register(
            registration,
            DOCTOR,
            Role.DOCTOR,
            registry.issue_enrolment_code(DOCTOR, Role.DOCTOR, 600),
            DoctorAttributes.checked("endocrinology", "General Hospital"),
            patient.ca_public,
        )
        doctor.write(state_dir / f"{DOCTOR}.wallet.json")
        print(f"  registered doctor {DOCTOR} (ECQV key {doctor.pair.public.hex()[:16]}...)")
        analysis_id, credentials = await user_app.create_analysis(
            monitoring_pb2_grpc.MonitoringServiceStub(ttp),
            patient,
            device_names(devices),
            AccessPolicy.checked([DOCTOR], [], []),
        )
        print(f"  analysis {analysis_id} of {PATIENT} with {devices} devices, readable by {DOCTOR}")
        provisioned = await user_app.provision(
            ue_provisioning_pb2_grpc.UeProvisioningServiceStub(ue), credentials
        )
        print(f"  provisioned {provisioned.installed} devices into the UE", flush=True)
    return analysis_id


def role_commands(
    state_dir: Path, endpoints: Endpoints, args: argparse.Namespace
) -> dict[str, list[str]]:
    """Every role's command, in start order."""
    python = [sys.executable, "-m", "mec5g"]
    mecs = getattr(args, "mecs", 1)
    platform = ["--platform", endpoints.grpc["platform"]] if mecs > 1 else []
    scheme = ["--scheme", args.scheme.value]
    identities = []
    if args.scheme is Scheme.BASELINE36:
        identities = ["--mec-node", MEC_NODE, "--import", str(state_dir / IDENTITIES_FILE)]
    commands = {
        "ttp": [
            *python,
            "ttp",
            "serve",
            "--listen",
            endpoints.grpc["ttp"],
            "--store",
            str(state_dir / "ttp.db"),
            "--record-rule",
            args.record_rule.label,
            "--metrics-port",
            str(endpoints.metrics["ttp"]),
            *scheme,
        ],
    }
    if platform:
        commands["platform"] = [
            *python,
            "platform",
            "serve",
            "--listen",
            endpoints.grpc["platform"],
            "--metrics-port",
            str(endpoints.metrics["platform"]),
        ]
    for number in range(1, mecs + 1):
        role, node = mec_role(number), mec_node(number)
        enrolment, state = mec_files(state_dir, node)
        commands[role] = [
            *python,
            "mec",
            "serve",
            "--listen",
            endpoints.grpc[role],
            "--ttp",
            endpoints.grpc["ttp"],
            "--state",
            str(state),
            "--import",
            str(enrolment),
            "--identity",
            str(mec_wallet(state_dir, node)),
            "--metrics-port",
            str(endpoints.metrics[role]),
            "--session-max-records",
            str(args.session_records),
            "--session-max-seconds",
            str(args.session_seconds + SESSION_GRACE_SECONDS),
            *platform,
            *scheme,
        ]
    commands["ue"] = [
        *python,
        "ue",
        "serve",
        "--listen",
        endpoints.grpc["ue"],
        *(
            [*platform, "--mec-host", MEC_NODE, "--name", UE_NAME]
            if platform
            else ["--mec", endpoints.grpc["mec"]]
        ),
        "--state",
        str(state_dir / "ue.db"),
        "--metrics-port",
        str(endpoints.metrics["ue"]),
        "--load-concurrency",
        str(args.load_concurrency),
        "--load-pause",
        str(args.load_pause),
        "--stream-interval",
        str(args.stream_interval),
        "--session-records",
        str(args.session_records),
        "--session-seconds",
        str(args.session_seconds),
        # The story's analysis is one patient's: every device in one sensor group.
        "--devices-per-patient",
        str(args.devices),
        *scheme,
        *identities,
    ]
    return commands


def check_agreement(state_dir: Path, mecs: int = 1) -> list[str]:
    """Every holder whose credential its TTP record no longer holds (a lockout); empty is good."""
    store = KeyStore(state_dir / "ttp.db")
    try:
        records = {stored.label: stored.record for stored in store.records()}
    finally:
        store.close()
    problems = []
    holder_files = [
        state_dir / "ue.db",
        *(mec_files(state_dir, mec_node(number))[1] for number in range(1, mecs + 1)),
    ]
    for holder_file in holder_files:
        holders = HolderStore(holder_file)
        try:
            for name, state in holders.load().items():
                record = records.get(name)
                if record is None or not record.holds(state.credential):
                    problems.append(f"{name} is locked out")
        finally:
            holders.close()
    return problems


class Testbed:
    """The three role processes and their logs."""

    def __init__(self, state_dir: Path, endpoints: Endpoints, args: argparse.Namespace) -> None:
        self.state_dir = state_dir
        self.endpoints = endpoints
        self.commands = role_commands(state_dir, endpoints, args)
        self.services = role_services(args.scheme)
        self.processes: dict[str, subprocess.Popen[bytes]] = {}

    async def start(self) -> None:
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        for role in self.commands:
            log = (self.state_dir / f"{role}.log").open("ab")
            self.processes[role] = subprocess.Popen(
                self.commands[role],
                stdout=log,
                stderr=subprocess.STDOUT,
                env=env,
                start_new_session=True,
            )
            log.close()
            try:
                await wait_serving(
                    self.endpoints.grpc[role],
                    self.services[role.split("-")[0]],  # mec-2: a MEC
                    timeout=20.0,
                )
            except TimeoutError:
                raise RuntimeError(
                    f"{role} did not start; see {self.state_dir / (role + '.log')}"
                ) from None

    def stop(self) -> None:
        for role in reversed(self.commands):
            process = self.processes.get(role)
            if process is None or process.poll() is not None:
                continue
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()

    def crashed(self) -> list[str]:
        return [role for role, process in self.processes.items() if process.poll() is not None]


async def ue_status(target: str) -> ue_control_pb2.StatusResponse:
    async with grpc.aio.insecure_channel(target) as channel:
        status: ue_control_pb2.StatusResponse = await ue_control_pb2_grpc.UeControlServiceStub(
            channel
        ).Status(ue_control_pb2.StatusRequest(), timeout=5.0)
        return status


async def attach_latency(metrics_port: int) -> tuple[float, float]:
    """(sum of seconds, count) of the UE's successful attaches, scraped from its /metrics."""
    samples = await asyncio.to_thread(lambda: list(scrape(f"127.0.0.1:{metrics_port}")))
    totals = {"sum": 0.0, "count": 0.0}
    for sample in samples:
        family, _, kind = sample.name.rpartition("_")
        wanted = family == "mec5g_phase_duration_seconds" and kind in totals
        labels = sample.labels
        if wanted and labels.get("phase") == KEY_AGREEMENT and labels.get("outcome") == "success":
            totals[kind] += sample.value
    return totals["sum"], totals["count"]


async def inject_sepsis(target: str) -> None:
    """The story's deterioration: a sepsis in the UE's patient 1, developing over 20 seconds."""
    async with grpc.aio.insecure_channel(target) as channel:
        await ue_control_pb2_grpc.UeControlServiceStub(channel).InjectEvent(
            ue_control_pb2.InjectEventRequest(patient=1, event="sepsis", onset_seconds=20.0),
            timeout=5.0,
        )


async def alert_levels(target: str) -> str:
    """The MEC's analyses counted by NEWS2 alert level, most severe first, e.g.
    ``urgent 1, low 2``; ``no analyses yet`` before the first reading."""
    async with grpc.aio.insecure_channel(target) as channel:
        listed = await analysis_pb2_grpc.AnalysisServiceStub(channel).ListScores(
            analysis_pb2.ListScoresRequest(), timeout=5.0
        )
    levels = Counter(summary.news2.level for summary in listed.analyses)
    if not levels:
        return "no analyses yet"
    return ", ".join(
        f"{_level(level)} {count}" for level, count in sorted(levels.items(), reverse=True)
    )


async def _doctor_analysis(ttp: grpc.aio.Channel, doctor: Wallet) -> tuple[str, str] | None:
    """The first analysis the doctor may read (IDa, patient), as its app lists them."""
    listed = await user_app.call(
        monitoring_pb2_grpc.MonitoringServiceStub(ttp),
        doctor,
        "ListAnalyses",
        monitoring_pb2.ListAnalysesBody(),
    )
    if not listed.analyses:
        return None
    return listed.analyses[0].analysis_id, listed.analyses[0].patient_id


def _level(level: vitals_pb2.AlertLevel) -> str:
    """``urgent_ward`` for ALERT_LEVEL_URGENT_WARD."""
    name: str = vitals_pb2.AlertLevel.Name(level)
    return name.removeprefix("ALERT_LEVEL_").lower()


async def doctor_reads(state_dir: Path, endpoints: Endpoints, number: int = 1) -> str | None:
    """Phase 5 in the story: the doctor reads the first analysis it may read at MEC node
    ``number``, the TTP vouching for the request; the NEWS2 headline, or None while the node
    holds no data for it yet."""
    doctor = Wallet.read(state_dir / f"{DOCTOR}.wallet.json")
    node = mec_node(number)
    async with (
        channel(endpoints.grpc["ttp"]) as ttp,
        channel(endpoints.grpc[mec_role(number)]) as mec,
    ):
        found = await _doctor_analysis(ttp, doctor)
        if found is None:
            return None
        try:
            report = await user_app.read_results(
                mec_results_pb2_grpc.MecResultsServiceStub(mec),
                doctor,
                found[0],
                node,
            )
        except grpc.aio.AioRpcError as error:
            if error.code() == grpc.StatusCode.NOT_FOUND:
                return None
            return f"{DOCTOR} could not read {found[1]}'s results: {error.code().name}"
    return (
        f"{DOCTOR} read {found[1]}'s results at {node} (phase 5): NEWS2 "
        f"{report.news2.aggregate}, {_level(report.news2.level)}, "
        f"{len(report.vital_signs)} vital signs, {report.records} records"
    )


async def doctor_watches(state_dir: Path, endpoints: Endpoints) -> None:
    """Phase 6 in the story: the doctor watches its analysis and prints each verified alert
    with the TTP's context, until cancelled."""
    doctor = Wallet.read(state_dir / f"{DOCTOR}.wallet.json")
    async with channel(endpoints.grpc["ttp"]) as ttp, channel(endpoints.grpc["mec"]) as mec:
        found = await _doctor_analysis(ttp, doctor)
        if found is None:
            return
        alerts = user_app.watch_emergencies(
            mec_alerts_pb2_grpc.MecAlertsServiceStub(mec),
            doctor,
            found[0],
            MEC_NODE,
        )
        print(f"  {DOCTOR} watches {found[1]}'s analysis for emergencies (phase 6)", flush=True)
        try:
            async for alert in alerts:
                print(
                    f"  EMERGENCY for {DOCTOR}: {alert.context.patient_id} NEWS2 "
                    f"{alert.emergency.aggregate} ({_level(alert.emergency.level)}); "
                    f"allergies: {', '.join(alert.context.allergies) or 'none'}, "
                    f"blood group {alert.context.blood_group or 'unknown'}",
                    flush=True,
                )
        finally:
            await alerts.aclose()


def _mean_ms(seconds: float, count: float) -> str:
    return f"{1e3 * seconds / count:.1f} ms" if count else "-"


async def _hand_over(endpoints: Endpoints) -> bool:
    """The story's mobility event: the patient moves from mec-1 to mec-2; prints the handover.
    True when it completed."""
    try:
        outcome = await move_patient(
            endpoints.grpc["platform"], 1, mec_node(2), ue_name=UE_NAME, timeout=30.0
        )
    except (grpc.aio.AioRpcError, TimeoutError) as error:
        print(f"  handover of {PATIENT} to {mec_node(2)} failed: {error!r}", flush=True)
        return False
    print(f"  HANDOVER of {PATIENT}: {outcome.describe()}", flush=True)
    return outcome.completed


async def _run(args: argparse.Namespace, state_dir: Path) -> int:
    if args.mecs < 1:
        print("mec5g up: --mecs must be 1 or more", file=sys.stderr)
        return 2
    if args.mecs > 1 and args.scheme is Scheme.BASELINE36:
        print(
            "mec5g up: a handover needs the paper's scheme (--mecs 1 with baseline36)",
            file=sys.stderr,
        )
        return 2
    endpoints = Endpoints.with_offset(args.port_offset, args.mecs)
    for number in range(1, args.mecs + 1):
        enrol_mec_node(state_dir, args.mec_credentials, args.record_rule, mec_node(number))
    if args.scheme is Scheme.BASELINE36:
        enrol_story_identities(state_dir, args.devices)
    story = not (state_dir / f"{PATIENT}.wallet.json").exists()
    testbed = Testbed(state_dir, endpoints, args)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    try:
        await testbed.start()
        started = time.monotonic()  # --duration counts from when every process serves
        print(
            f"mec5g testbed up (scheme {args.scheme.value}, record rule "
            f"{args.record_rule.label}); state in {state_dir}"
        )
        for role in testbed.commands:
            print(
                f"  {role.upper():8} gRPC {endpoints.grpc[role]:18} "
                f"metrics http://127.0.0.1:{endpoints.metrics[role]}/metrics"
            )
        if story:
            await run_story(state_dir, endpoints, args.devices)
        print(
            f"  try: grpcurl -plaintext -d '{{}}' {endpoints.grpc['ue']} "
            "mec5g.v1.UeControlService/Status\n"
            f"       grpcurl -plaintext -d '{{}}' {endpoints.grpc['mec']} "
            "mec5g.v1.AnalysisService/ListScores"
        )
        print(
            "Ctrl-C stops everything."
            if not args.duration
            else f"Stopping after {args.duration:g} s.",
            flush=True,
        )
        doctor_has_read = False
        watching = asyncio.create_task(doctor_watches(state_dir, endpoints))
        sepsis_at = args.sepsis_after if story else 0.0
        handover_at = args.handover_after if args.mecs > 1 else 0.0
        serving = 1  # the MEC node serving the story's patient
        last_ok = last_records = 0
        last_time = time.monotonic()
        last_latency = (0.0, 0.0)
        while not stop.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), 2.0)
            if testbed.crashed():
                print(f"process ended unexpectedly: {', '.join(testbed.crashed())}")
                return 1
            status = await ue_status(endpoints.grpc["ue"])
            now = time.monotonic()
            rate = (status.attaches_succeeded - last_ok) / (now - last_time)
            readings = (status.records_acknowledged - last_records) / (now - last_time)
            latency = await attach_latency(endpoints.metrics["ue"])
            interval = _mean_ms(latency[0] - last_latency[0], latency[1] - last_latency[1])
            last_ok, last_time, last_latency = status.attaches_succeeded, now, latency
            last_records = status.records_acknowledged
            print(
                f"[{now - started:7.1f} s] handshakes ok {status.attaches_succeeded} "
                f"failed {status.attaches_failed} rate {rate:.0f}/s mean latency {interval}; "
                f"data records {readings:.0f}/s failed {status.records_failed}; "
                f"alerts: {await alert_levels(endpoints.grpc[mec_role(serving)])}",
                flush=True,
            )
            if handover_at and now - started >= handover_at:
                handover_at = 0.0
                if await _hand_over(endpoints):
                    serving, doctor_has_read = 2, False
            if sepsis_at and now - started >= sepsis_at:
                sepsis_at = 0.0
                await inject_sepsis(endpoints.grpc["ue"])
                print(f"  injected a sepsis into {PATIENT}'s sensors", flush=True)
            if not doctor_has_read:
                headline = await doctor_reads(state_dir, endpoints, serving)
                if headline is not None:
                    print(f"  {headline}", flush=True)
                    doctor_has_read = True
            if args.duration and now - started >= args.duration:
                stop.set()
        status = await ue_status(endpoints.grpc["ue"])
        overall = _mean_ms(*await attach_latency(endpoints.metrics["ue"]))
        alerts = await alert_levels(endpoints.grpc[mec_role(serving)])
        watching.cancel()
        with contextlib.suppress(asyncio.CancelledError, grpc.aio.AioRpcError):
            await watching
    finally:
        testbed.stop()
    elapsed = time.monotonic() - started
    problems = check_agreement(state_dir, args.mecs)
    print(
        f"summary: {status.attaches_succeeded} handshakes ok, {status.attaches_failed} failed "
        f"in {elapsed:.1f} s (mean latency {overall}); {len(status.devices)} devices; "
        f"{status.records_acknowledged} data records acknowledged, {status.records_failed} failed, "
        f"{status.sessions_renewed} sessions renewed; alerts: {alerts}; "
        f"records agree: {'yes' if not problems else 'NO'}"
    )
    for problem in problems:
        print(f"  {problem}")
    return 0 if not problems else 1


def run_up(args: argparse.Namespace) -> int:
    state_dir = args.state_dir or Path(tempfile.mkdtemp(prefix="mec5g-up-"))
    state_dir.mkdir(parents=True, exist_ok=True)
    return asyncio.run(_run(args, state_dir))
