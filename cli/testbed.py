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
doctor reads the results at mec-2. With a scenario file (``mec5g up SCENARIO``,
``scenario/runner.py``) it runs that topology instead, from the parts here. It prints the
endpoints and a live
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
from mec5g.ue.sensors import KIND_ORDER, kind_name
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
# The default story's own settings: a scenario file sets them for itself (per node or patient),
# and runs the paper's scheme.
STORY_ONLY = {
    "devices": 20,
    "mec_credentials": 16,
    "record_rule": RecordRule.COUNTER,
    "scheme": Scheme.BRAEKEN2021,
    "stream_interval": 1.0,
    "sepsis_after": 30.0,
    "mecs": 1,
    "handover_after": 45.0,
}


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
    up = roles.add_parser(
        "up",
        help="run the whole testbed locally (TTP, MEC, UE), or a scenario (docs/scenarios.md)",
    )
    up.add_argument(
        "scenario",
        nargs="?",
        help="a scenario file, or the name of a shipped one (mec5g scenario list); "
        "without it, the default story",
    )
    up.add_argument(
        "--links",
        choices=("auto", "emulator", "netem"),
        default="auto",
        help="a scenario's links: the kernel's netem in network namespaces (root), the "
        "in-process emulator, or netem where the kernel has it (default)",
    )
    up.add_argument(
        "--devices", type=int, default=STORY_ONLY["devices"], help="emulated devices in the UE"
    )
    up.add_argument(
        "--mec-credentials",
        type=int,
        default=STORY_ONLY["mec_credentials"],
        help="K credentials of the MEC",
    )
    up.add_argument("--record-rule", type=RecordRule.from_label, default=STORY_ONLY["record_rule"])
    up.add_argument(
        "--scheme",
        type=Scheme.from_label,
        default=STORY_ONLY["scheme"],
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
        default=STORY_ONLY["stream_interval"],
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
        default=STORY_ONLY["sepsis_after"],
        help="seconds after which the story's patient develops a sepsis (0: never)",
    )
    up.add_argument(
        "--mecs",
        type=int,
        default=STORY_ONLY["mecs"],
        help="MEC nodes; 2 or more also run a MEC platform and move the patient between nodes",
    )
    up.add_argument(
        "--handover-after",
        type=float,
        default=STORY_ONLY["handover_after"],
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
    state_dir: Path,
    mec_credentials: int,
    rule: RecordRule,
    node: str = MEC_NODE,
    directory: Path | None = None,
) -> None:
    """Enrol the node's MEC credentials and ECQV identity (its wallet answers user requests
    and transfers contexts) at the key store in ``state_dir``, unless it has them already. The
    node's files go beside the key store (``mec_files``), or into ``directory`` when given (a
    scenario's folder for the node: ``mec-enrolment.json``, its key request and its wallet)."""
    if directory is None:
        enrolment, _ = mec_files(state_dir, node)
        wallet = mec_wallet(state_dir, node)
        if (state_dir / "ttp.db").exists() if node == MEC_NODE else enrolment.exists():
            return
    else:
        enrolment, wallet = directory / "mec-enrolment.json", directory / f"{node}.wallet.json"
        if wallet.exists():
            return
    files = directory or state_dir
    key = files / f"{node}.key.json"
    request = identity.write_request(node, key, files / f"{node}.request.json")
    enrol_mec(
        state_dir / "ttp.db",
        enrolment,
        node,
        mec_credentials,
        rule=rule,
        identity_request=request,
    )
    identity.install(key, json.loads(enrolment.read_text()), wallet)


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
        f"dev-{index + 1:02d}-{kind_name(KIND_ORDER[index % len(KIND_ORDER)])}"
        for index in range(count)
    ]


async def register_user(
    registration: registration_pb2_grpc.RegistrationServiceStub,
    registry: Registry,
    wallet: Path,
    name: str,
    attributes: PatientAttributes | DoctorAttributes,
    ca_public: bytes | None = None,
) -> Wallet:
    """Phase 1 for one user: the operator's enrolment code (straight into the TTP's database,
    as ``mec5g ttp enrolment-code`` does), then registration over gRPC as the app would; the
    wallet is written to ``wallet``."""
    role = Role.PATIENT if isinstance(attributes, PatientAttributes) else Role.DOCTOR
    registered = await user_app.register(
        registration, name, role, registry.issue_enrolment_code(name, role, 600), attributes,
        ca_public,
    )  # fmt: skip
    registered.write(wallet)
    print(f"  registered {role.label} {name} (ECQV key {registered.pair.public.hex()[:16]}...)")
    return registered


async def provision_analysis(
    ttp: grpc.aio.Channel,
    ue: grpc.aio.Channel,
    patient: Wallet,
    devices: list[str],
    readers: list[str],
    ue_name: str = "the UE",
) -> str:
    """Phase 2 for one patient: a new analysis of ``devices`` readable by ``readers``,
    provisioned into the patient's UE; returns its identity."""
    analysis_id, credentials = await user_app.create_analysis(
        monitoring_pb2_grpc.MonitoringServiceStub(ttp),
        patient,
        devices,
        AccessPolicy.checked(readers, [], []),
    )
    print(
        f"  analysis {analysis_id} of {patient.identity} with {len(devices)} devices, readable "
        f"by {', '.join(readers) or 'its patient only'}"
    )
    provisioned = await user_app.provision(
        ue_provisioning_pb2_grpc.UeProvisioningServiceStub(ue), credentials
    )
    print(f"  provisioned {provisioned.installed} devices into {ue_name}", flush=True)
    return analysis_id


async def run_story(state_dir: Path, endpoints: Endpoints, devices: int) -> str:
    """Phases 1 and 2 as a patient and a doctor would run them; returns the analysis identity."""
    registry = Registry(state_dir / "ttp.db")
    async with channel(endpoints.grpc["ttp"]) as ttp, channel(endpoints.grpc["ue"]) as ue:
        registration = registration_pb2_grpc.RegistrationServiceStub(ttp)
        patient = await register_user(
            registration,
            registry,
            state_dir / f"{PATIENT}.wallet.json",
            PATIENT,
            PatientAttributes.checked(["penicillin"], "O+"),
        )
        await register_user(
            registration,
            registry,
            state_dir / f"{DOCTOR}.wallet.json",
            DOCTOR,
            DoctorAttributes.checked("endocrinology", "General Hospital"),
            patient.ca_public,
        )
        return await provision_analysis(ttp, ue, patient, device_names(devices), [DOCTOR])


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


def check_agreement(
    state_dir: Path, mecs: int = 1, holder_files: tuple[Path | str, ...] = ()
) -> list[str]:
    """Every holder whose credential its TTP record no longer holds (a lockout); empty is good.
    The holders are the story's UE and ``mecs`` MEC nodes, or those of ``holder_files``
    (relative to ``state_dir``) when given."""
    store = KeyStore(state_dir / "ttp.db")
    try:
        records = {stored.label: stored.record for stored in store.records()}
    finally:
        store.close()
    problems = []
    files = [state_dir / file for file in holder_files] or [
        state_dir / "ue.db",
        *(mec_files(state_dir, mec_node(number))[1] for number in range(1, mecs + 1)),
    ]
    for holder_file in files:
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


async def attach_latency(metrics_port: int, host: str = "127.0.0.1") -> tuple[float, float]:
    """(sum of seconds, count) of the UE's successful attaches, scraped from its /metrics."""
    samples = await asyncio.to_thread(lambda: list(scrape(f"{host}:{metrics_port}")))
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


async def doctor_analyses(ttp: grpc.aio.Channel, doctor: Wallet) -> list[tuple[str, str]]:
    """The analyses the doctor may read (IDa, patient), as its app lists them."""
    listed = await user_app.call(
        monitoring_pb2_grpc.MonitoringServiceStub(ttp),
        doctor,
        "ListAnalyses",
        monitoring_pb2.ListAnalysesBody(),
    )
    return [(analysis.analysis_id, analysis.patient_id) for analysis in listed.analyses]


def _level(level: vitals_pb2.AlertLevel) -> str:
    """``urgent_ward`` for ALERT_LEVEL_URGENT_WARD."""
    name: str = vitals_pb2.AlertLevel.Name(level)
    return name.removeprefix("ALERT_LEVEL_").lower()


async def read_results(
    doctor: Wallet, mec_target: str, node: str, analysis: tuple[str, str]
) -> str | None:
    """Phase 5: the doctor reads ``analysis`` (IDa, patient) at MEC ``node``, the TTP vouching
    for the request; the NEWS2 headline, or None while the node holds no data for it yet."""
    async with channel(mec_target) as mec:
        try:
            report = await user_app.read_results(
                mec_results_pb2_grpc.MecResultsServiceStub(mec),
                doctor,
                analysis[0],
                node,
            )
        except grpc.aio.AioRpcError as error:
            if error.code() == grpc.StatusCode.NOT_FOUND:
                return None
            return f"{doctor.identity} could not read {analysis[1]}'s results: {error.code().name}"
    return (
        f"{doctor.identity} read {analysis[1]}'s results at {node} (phase 5): NEWS2 "
        f"{report.news2.aggregate}, {_level(report.news2.level)}, "
        f"{len(report.vital_signs)} vital signs, {report.records} records"
    )


async def watch(doctor: Wallet, mec_target: str, node: str, analysis: tuple[str, str]) -> None:
    """Phase 6: the doctor watches ``analysis`` (IDa, patient) at MEC ``node`` and prints each
    verified alert with the TTP's context, until cancelled or the node ends the watch."""
    async with channel(mec_target) as mec:
        alerts = user_app.watch_emergencies(
            mec_alerts_pb2_grpc.MecAlertsServiceStub(mec),
            doctor,
            analysis[0],
            node,
        )
        print(
            f"  {doctor.identity} watches {analysis[1]}'s analysis for emergencies (phase 6)",
            flush=True,
        )
        try:
            async for alert in alerts:
                print(
                    f"  EMERGENCY for {doctor.identity}: {alert.context.patient_id} NEWS2 "
                    f"{alert.emergency.aggregate} ({_level(alert.emergency.level)}); "
                    f"allergies: {', '.join(alert.context.allergies) or 'none'}, "
                    f"blood group {alert.context.blood_group or 'unknown'}",
                    flush=True,
                )
        finally:
            await alerts.aclose()


async def _story_analysis(
    state_dir: Path, endpoints: Endpoints
) -> tuple[Wallet, tuple[str, str]] | None:
    """The story's doctor and the first analysis it may read, if any yet."""
    doctor = Wallet.read(state_dir / f"{DOCTOR}.wallet.json")
    async with channel(endpoints.grpc["ttp"]) as ttp:
        analyses = await doctor_analyses(ttp, doctor)
    return (doctor, analyses[0]) if analyses else None


async def doctor_reads(state_dir: Path, endpoints: Endpoints, number: int = 1) -> str | None:
    """Phase 5 in the story: the doctor reads the first analysis it may read at MEC node
    ``number``."""
    found = await _story_analysis(state_dir, endpoints)
    if found is None:
        return None
    return await read_results(
        found[0], endpoints.grpc[mec_role(number)], mec_node(number), found[1]
    )


async def doctor_watches(state_dir: Path, endpoints: Endpoints) -> None:
    """Phase 6 in the story: the doctor watches its analysis, until cancelled."""
    found = await _story_analysis(state_dir, endpoints)
    if found is not None:
        await watch(found[0], endpoints.grpc["mec"], MEC_NODE, found[1])


def _mean_ms(seconds: float, count: float) -> str:
    return f"{1e3 * seconds / count:.1f} ms" if count else "-"


@dataclass(frozen=True)
class Totals:
    """What UEs report (their Status and their attach latency), summed over UEs."""

    succeeded: int = 0
    failed: int = 0
    records: int = 0
    records_failed: int = 0
    renewed: int = 0
    devices: int = 0
    latency: tuple[float, float] = (0.0, 0.0)  # seconds, attaches

    @classmethod
    async def of(cls, ue_target: str, metrics_port: int, host: str = "127.0.0.1") -> Totals:
        status = await ue_status(ue_target)
        return cls(
            status.attaches_succeeded,
            status.attaches_failed,
            status.records_acknowledged,
            status.records_failed,
            status.sessions_renewed,
            len(status.devices),
            await attach_latency(metrics_port, host),
        )

    def __add__(self, other: Totals) -> Totals:
        return Totals(
            self.succeeded + other.succeeded,
            self.failed + other.failed,
            self.records + other.records,
            self.records_failed + other.records_failed,
            self.renewed + other.renewed,
            self.devices + other.devices,
            (self.latency[0] + other.latency[0], self.latency[1] + other.latency[1]),
        )


def progress_line(elapsed: float, now: Totals, last: Totals, seconds: float, alerts: str) -> str:
    """One line of the live summary: ``now`` against ``last``, ``seconds`` before."""
    rate = (now.succeeded - last.succeeded) / seconds
    readings = (now.records - last.records) / seconds
    interval = _mean_ms(now.latency[0] - last.latency[0], now.latency[1] - last.latency[1])
    return (
        f"[{elapsed:7.1f} s] handshakes ok {now.succeeded} "
        f"failed {now.failed} rate {rate:.0f}/s mean latency {interval}; "
        f"data records {readings:.0f}/s failed {now.records_failed}; alerts: {alerts}"
    )


def summary_line(totals: Totals, elapsed: float, alerts: str, problems: list[str]) -> str:
    return (
        f"summary: {totals.succeeded} handshakes ok, {totals.failed} failed "
        f"in {elapsed:.1f} s (mean latency {_mean_ms(*totals.latency)}); {totals.devices} "
        f"devices; {totals.records} data records acknowledged, {totals.records_failed} failed, "
        f"{totals.renewed} sessions renewed; alerts: {alerts}; "
        f"records agree: {'yes' if not problems else 'NO'}"
    )


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
        last, last_time = Totals(), time.monotonic()
        while not stop.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), 2.0)
            if testbed.crashed():
                print(f"process ended unexpectedly: {', '.join(testbed.crashed())}")
                return 1
            totals = await Totals.of(endpoints.grpc["ue"], endpoints.metrics["ue"])
            now = time.monotonic()
            alerts = await alert_levels(endpoints.grpc[mec_role(serving)])
            print(progress_line(now - started, totals, last, now - last_time, alerts), flush=True)
            last, last_time = totals, now
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
        totals = await Totals.of(endpoints.grpc["ue"], endpoints.metrics["ue"])
        alerts = await alert_levels(endpoints.grpc[mec_role(serving)])
        watching.cancel()
        with contextlib.suppress(asyncio.CancelledError, grpc.aio.AioRpcError):
            await watching
    finally:
        testbed.stop()
    elapsed = time.monotonic() - started
    problems = check_agreement(state_dir, args.mecs)
    print(summary_line(totals, elapsed, alerts, problems))
    for problem in problems:
        print(f"  {problem}")
    return 0 if not problems else 1


def run_up(args: argparse.Namespace) -> int:
    scenario = None
    if args.scenario is not None:
        from mec5g.scenario import loader

        story_only = [flag for flag, value in STORY_ONLY.items() if getattr(args, flag) != value]
        if story_only:
            flags = ", ".join("--" + flag.replace("_", "-") for flag in story_only)
            print(f"mec5g up: {flags}: a scenario file sets these itself", file=sys.stderr)
            return 2
        from mec5g.scenario import runner

        try:
            scenario = loader.load(args.scenario)
        except loader.ScenarioError as error:
            print(error, file=sys.stderr)
            return 2
        if (refused := runner.refusal(scenario)) is not None:
            print(f"mec5g up: {refused}", file=sys.stderr)
            return 2
    state_dir = args.state_dir or Path(tempfile.mkdtemp(prefix="mec5g-up-"))
    state_dir.mkdir(parents=True, exist_ok=True)
    if scenario is not None:
        return asyncio.run(runner.run(scenario, args, state_dir))
    return asyncio.run(_run(args, state_dir))
