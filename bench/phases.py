"""``mec5g bench phases``: phases 4, 5 and 6 in the paper's units (issue 4): operations per
entity, bytes per message, latency.

- **Phase 4, a data record.** In the pure core, timed per step and entity over ``rounds`` (the
  median): the device seals a reading; the MEC opens it and seals the acknowledgement; the device
  checks the acknowledgement; the MEC adds the reading to its analysis and re-scores NEWS2. The
  bytes of the reading, the sealed record and the acknowledgement, bare and in their gRPC
  messages. Over gRPC: a device's record to the MEC's acknowledgement (``Streamer.send``), the
  session agreed beforehand.
- **Phase 5, a user request.** The patient app reads its analysis's results
  (``user_app.read_results``: whatever the app exchanges with the TTP and the MEC), end to end.
- **Phase 6, an emergency.** The patient app watches its analysis
  (``user_app.watch_emergencies``); the SpO2 device sends the reading that crosses the threshold
  (80 %: 3 points on either SpO2 scale, a single-parameter emergency); the MEC raises it to the
  TTP, the TTP finds the watch involved, the MEC delivers the alert, and the app verifies and
  opens it. The latency runs from sending that reading to the verified alert; a normal reading
  then ends the episode. The first round also opens the watch: a warm-up, not counted.

Operations: the app's are counted in its own context (``core.operations``), the TTP's and the
MEC's read back from their metrics (``mec5g_operations_total`` of the phase). Bytes: every message
the app and the device send or receive, serialized, per gRPC method (an interceptor on their
channels), and what the MEC and the TTP send each other from their ``mec5g_message_bytes_total``.
The TTP, the MEC and the UE run in this process on loopback sockets, as the gRPC tests start
them: one event loop serves every party in turn, so a latency is the parties' work one after the
other plus the sockets, as on one core.
"""

from __future__ import annotations

import asyncio
import contextlib
import statistics
import tempfile
import time
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import grpc

from mec5g.bench.progress import Progress
from mec5g.bench.registration_bench import measure
from mec5g.bench.results import PartResult, Table, microseconds
from mec5g.core.credentials import RecordRule
from mec5g.core.data_channel import Direction, Purpose, Receiver, Sender, derive
from mec5g.core.news2 import SpO2Scale
from mec5g.core.operations import OUR_ADDITIONS, Ledger, Operation, Origin, counting
from mec5g.core.operations import table_notation as notation
from mec5g.core.primitives import random_bytes
from mec5g.core.profiles import AccessPolicy, PatientAttributes, Role
from mec5g.core.readings import Reading, SensorKind
from mec5g.mec import server as mec_server
from mec5g.mec.analysis import Analyses, AnalysisLimits
from mec5g.mec.sessions import SessionLimits
from mec5g.runtime.grpc_server import channel
from mec5g.runtime.metrics import EMERGENCY, USER_REQUEST, Metrics
from mec5g.runtime.wallet import Wallet
from mec5g.testbed import MEC_NODE, enrol_mec_node, mec_wallet
from mec5g.ttp import server as ttp_server
from mec5g.ttp.registry import Registry
from mec5g.ue import server as ue_server
from mec5g.ue import user_app
from mec5g.ue.streaming import StreamPolicy
from mec5g.v1 import (
    mec_alerts_pb2_grpc,
    mec_data_pb2,
    mec_results_pb2_grpc,
    monitoring_pb2_grpc,
    registration_pb2_grpc,
    ue_provisioning_pb2_grpc,
)

PATIENT = "alice"
CROSSING = 80.0  # SpO2 %: 3 points on either scale, a single-parameter emergency
NORMAL = 98.0  # SpO2 %: 0 points, the episode ends
FOREVER = 10.0**9  # a session lifetime no run reaches: no measured record waits for a handshake
ALERT_BOUND = 60.0  # seconds an alert may take before the run is abandoned (never a figure)


# -- what is measured ----------------------------------------------------------------------------


@dataclass
class Entity:
    """One entity's part of a phase: its operations in Table 1's units (the compared scheme's,
    ``paper``, and our additions, ``ours``), and its computation time where measured alone."""

    entity: str
    step: str
    paper: str
    ours: str
    microseconds: float | None = None

    @classmethod
    def of(
        cls, entity: str, step: str, ledger: Ledger, microseconds: float | None = None
    ) -> Entity:
        return cls(
            entity,
            step,
            notation(ledger, Origin.PAPER),
            notation(ledger, OUR_ADDITIONS),
            microseconds,
        )


@dataclass
class Latency:
    rounds: int
    p50_ms: float
    p95_ms: float
    mean_ms: float

    @classmethod
    def of(cls, seconds: list[float]) -> Latency:
        ordered = sorted(seconds)
        return cls(
            len(ordered),
            1e3 * statistics.median(ordered),
            1e3 * ordered[round(0.95 * (len(ordered) - 1))],
            1e3 * statistics.fmean(ordered),
        )


@dataclass
class Phase:
    name: str
    entities: list[Entity] = field(default_factory=list)
    bytes: dict[str, float] = field(default_factory=dict)  # message -> bytes (mean)
    latency: Latency | None = None
    latency_span: tuple[str, str] = ("", "")  # from, to


# -- bytes on the wire, operations from the metrics ---------------------------------------------


class WireBytes:
    """Serialized bytes of every message a channel's calls send and receive, per gRPC method and
    direction (gRPC's and HTTP/2's own framing aside)."""

    def __init__(self) -> None:
        self.bytes: Counter[str] = Counter()
        self.messages: Counter[str] = Counter()

    def add(self, method: str | bytes, direction: str, message: Any) -> None:
        name = (method.decode() if isinstance(method, bytes) else method).rsplit("/", 1)[-1]
        self.bytes[f"{name} {direction}"] += message.ByteSize()
        self.messages[f"{name} {direction}"] += 1

    def interceptors(self) -> list[grpc.aio.ClientInterceptor]:
        return [_UnaryBytes(self), _StreamBytes(self)]

    def snapshot(self) -> tuple[Counter[str], Counter[str]]:
        return Counter(self.bytes), Counter(self.messages)

    def since(self, snapshot: tuple[Counter[str], Counter[str]]) -> dict[str, float]:
        """Mean bytes per message of each method and direction since ``snapshot``."""
        sizes, counts = self.bytes - snapshot[0], self.messages - snapshot[1]
        return {message: sizes[message] / count for message, count in counts.items()}


class _UnaryBytes(grpc.aio.UnaryUnaryClientInterceptor):  # type: ignore[misc]
    def __init__(self, wire: WireBytes) -> None:
        self._wire = wire

    async def intercept_unary_unary(
        self,
        continuation: Callable[[grpc.aio.ClientCallDetails, Any], Awaitable[Any]],
        client_call_details: grpc.aio.ClientCallDetails,
        request: Any,
    ) -> Any:
        self._wire.add(client_call_details.method, "request", request)
        response = await (await continuation(client_call_details, request))
        self._wire.add(client_call_details.method, "response", response)
        return response


class _StreamBytes(grpc.aio.UnaryStreamClientInterceptor):  # type: ignore[misc]
    def __init__(self, wire: WireBytes) -> None:
        self._wire = wire

    async def intercept_unary_stream(
        self,
        continuation: Callable[[grpc.aio.ClientCallDetails, Any], Awaitable[Any]],
        client_call_details: grpc.aio.ClientCallDetails,
        request: Any,
    ) -> Any:
        method = client_call_details.method
        self._wire.add(method, "request", request)
        call = await continuation(client_call_details, request)

        async def responses() -> AsyncIterator[Any]:
            async for response in call:
                self._wire.add(method, "response", response)
                yield response

        return responses()


def role_ledger(metrics: Metrics, phase: str) -> Ledger:
    """The operations a role's metrics counted so far in ``phase``."""
    ledger = Ledger()
    for family in metrics.operations.collect():
        for sample in family.samples:
            if sample.name.endswith("_total") and sample.labels["phase"] == phase:
                operation = Operation(sample.labels["operation"])
                ledger[(operation, Origin(sample.labels["origin"]))] += int(sample.value)
    return ledger


def sent_bytes(metrics: Metrics, message: str) -> float:
    """Bytes of ``message`` a role sent so far (``mec5g_message_bytes_total``, both origins)."""
    return sum(
        sample.value
        for family in metrics.message_bytes.collect()
        for sample in family.samples
        if sample.name.endswith("_total") and sample.labels["message"] == message
    )


def one_round(after: Ledger, before: Ledger, rounds: int) -> Ledger:
    """The operations of one round, from the counts ``before`` and ``after`` ``rounds`` alike."""
    one = Ledger()
    for key, times in after.items():
        if times > before[key]:
            one[key] = round((times - before[key]) / rounds)
    return one


# -- phase 4 in the pure core --------------------------------------------------------------------


def record_computation(rounds: int) -> Phase:
    """Phase 4's steps per entity in the core, and the bytes of a record and its ack."""
    keys = derive(random_bytes(16), random_bytes(64), random_bytes(48), 1)
    device, mec_in = Sender(keys, Direction.UPLINK), Receiver(keys, Direction.UPLINK)
    mec_out, device_in = Sender(keys, Direction.DOWNLINK), Receiver(keys, Direction.DOWNLINK)
    payload = Reading(SensorKind.SPO2, time.time(), (97.0,)).to_bytes()
    phase = Phase("4: a data record")

    ledger, us, record = measure(rounds, lambda: device.seal(Purpose.READING, payload))
    phase.entities.append(Entity.of("device", "seal a reading", ledger, us))
    records = iter([device.seal(Purpose.READING, payload) for _ in range(rounds)])

    def mec_step() -> bytes:
        opened = mec_in.open(next(records))
        Reading.parse(opened.payload)
        return mec_out.seal(Purpose.ACK, opened.sequence.to_bytes(8, "big"))

    ledger, us, ack = measure(rounds, mec_step)
    phase.entities.append(Entity.of("MEC", "open it, seal the acknowledgement", ledger, us))
    acks = iter([mec_out.seal(Purpose.ACK, bytes(8)) for _ in range(rounds)])
    ledger, us, _ = measure(rounds, lambda: device_in.open(next(acks)))
    phase.entities.append(Entity.of("device", "check the acknowledgement", ledger, us))

    analyses = Analyses(AnalysisLimits(), time.monotonic)
    pseudonym = random_bytes(32)
    for other in (
        Reading(SensorKind.HEART_RATE, 0.0, (72.0,)),
        Reading(SensorKind.RESPIRATION_RATE, 0.0, (15.0,)),
        Reading(SensorKind.BLOOD_PRESSURE, 0.0, (120.0, 80.0)),
        Reading(SensorKind.BODY_TEMPERATURE, 0.0, (36.8,)),
    ):
        analyses.record(pseudonym, SpO2Scale.SCALE_1, other)
    reading = Reading.parse(payload)
    ledger, us, _ = measure(rounds, lambda: analyses.record(pseudonym, SpO2Scale.SCALE_1, reading))
    phase.entities.append(Entity.of("MEC", "analyse it (NEWS2, trends)", ledger, us))
    phase.bytes = {
        "reading (SpO2)": len(payload),
        "sealed record": len(record),
        "SubmitRequest (the record)": mec_data_pb2.SubmitRequest(record=record).ByteSize(),
        "acknowledgement": len(ack),
        "SubmitResponse (the acknowledgement)": mec_data_pb2.SubmitResponse(ack=ack).ByteSize(),
    }
    return phase


# -- phases 4, 5 and 6 over gRPC -----------------------------------------------------------------


@dataclass
class Ward:
    """The running parties, the patient's wallet and stubs, and its analysis."""

    ttp: ttp_server.RunningTtp
    mec: mec_server.RunningMec
    ue: ue_server.RunningUe
    wallet: Wallet
    analysis_id: str
    results: mec_results_pb2_grpc.MecResultsServiceStub
    alerts: mec_alerts_pb2_grpc.MecAlertsServiceStub
    wire: WireBytes
    spo2_device: str

    async def send_spo2(self, spo2: float) -> None:
        """One SpO2 reading from the patient's SpO2 device, acknowledged by the MEC."""
        reading = Reading(SensorKind.SPO2, time.time(), (spo2,)).to_bytes()
        if not await self.ue.streamer.send(self.spo2_device, Purpose.READING, reading):
            raise RuntimeError("the MEC did not acknowledge a reading; see the MEC's log")


@contextlib.asynccontextmanager
async def ward(state_dir: Path) -> AsyncIterator[Ward]:
    """A TTP, a MEC with its ECQV identity and a UE on loopback; a registered patient whose
    analysis of seven devices is provisioned into the UE."""
    enrol_mec_node(state_dir, 4, RecordRule.COUNTER)
    code = Registry(state_dir / "ttp.db").issue_enrolment_code(PATIENT, Role.PATIENT, 600)
    wire = WireBytes()
    async with contextlib.AsyncExitStack() as stack:
        ttp = await ttp_server.start(ttp_server.TtpConfig("127.0.0.1:0", state_dir / "ttp.db"))
        stack.push_async_callback(ttp.close)
        mec = await mec_server.start(
            mec_server.MecConfig(
                "127.0.0.1:0",
                ttp.target,
                state_dir / "mec.db",
                state_dir / "mec-enrolment.json",
                identity=mec_wallet(state_dir),
                sessions=SessionLimits(max_records=2**62, max_age=FOREVER),
            )
        )
        stack.push_async_callback(mec.close)
        ue = await ue_server.start(
            ue_server.UeConfig(
                "127.0.0.1:0",
                mec.target,
                state_dir / "ue.db",
                seed=1,
                stream=StreamPolicy(session_records=2**62, session_seconds=FOREVER),
            )
        )
        stack.push_async_callback(ue.close)
        to_ttp = channel(ttp.target, interceptors=wire.interceptors())
        to_mec = channel(mec.target, interceptors=wire.interceptors())
        to_ue = channel(ue.target)
        for opened in (to_ttp, to_mec, to_ue):
            stack.push_async_callback(opened.close)
        wallet = await user_app.register(
            registration_pb2_grpc.RegistrationServiceStub(to_ttp),
            PATIENT,
            Role.PATIENT,
            code,
            PatientAttributes.checked(["penicillin"], "O+"),
        )
        analysis_id, credentials = await user_app.create_analysis(
            monitoring_pb2_grpc.MonitoringServiceStub(to_ttp),
            wallet,
            [f"sensor-{index}" for index in range(1, 8)],
            AccessPolicy.checked([], [], []),
        )
        await user_app.provision(
            ue_provisioning_pb2_grpc.UeProvisioningServiceStub(to_ue), credentials
        )
        ue.streamer.place()
        spo2 = next(
            name
            for name, placement in ue.streamer.placements.items()
            if placement.kind is SensorKind.SPO2
        )
        yield Ward(
            ttp,
            mec,
            ue,
            wallet,
            analysis_id,
            mec_results_pb2_grpc.MecResultsServiceStub(to_mec),
            mec_alerts_pb2_grpc.MecAlertsServiceStub(to_mec),
            wire,
            spo2,
        )


async def records_over_grpc(ward: Ward, rounds: int, progress: Progress) -> Latency:
    """Phase 4 over gRPC: a record to its acknowledgement."""
    await ward.send_spo2(NORMAL)  # attaches first: key agreement is phase 3, not measured here
    times = []
    for _ in range(rounds):
        started = time.perf_counter()
        await ward.send_spo2(NORMAL)
        times.append(time.perf_counter() - started)
        progress.advance()
    return Latency.of(times)


async def user_requests(ward: Ward, rounds: int, progress: Progress) -> Phase:
    """Phase 5: the patient app reads its analysis's results, ``rounds`` times."""
    wire = ward.wire.snapshot()
    ttp_before = role_ledger(ward.ttp.metrics, USER_REQUEST)
    mec_before = role_ledger(ward.mec.metrics, USER_REQUEST)
    app = Ledger()
    times = []
    for _ in range(rounds):
        started = time.perf_counter()
        with counting() as ledger:
            await user_app.read_results(ward.results, ward.wallet, ward.analysis_id, MEC_NODE)
        times.append(time.perf_counter() - started)
        app.update(ledger)
        progress.advance()
    ttp = one_round(role_ledger(ward.ttp.metrics, USER_REQUEST), ttp_before, rounds)
    mec = one_round(role_ledger(ward.mec.metrics, USER_REQUEST), mec_before, rounds)
    return Phase(
        "5: a user request for an analysis's results",
        [
            Entity.of("user app", "ask, verify and open", one_round(app, Ledger(), rounds)),
            Entity.of("TTP", "open M2, check the access, vouch in M3", ttp),
            Entity.of("MEC", "agree anonymously, seal and sign the results", mec),
        ],
        ward.wire.since(wire),
        Latency.of(times),
        ("the app asks", "the results are opened"),
    )


async def _next_alert(alerts: AsyncIterator[user_app.ReceivedAlert]) -> tuple[Ledger, float]:
    """The app's next verified alert: the operations the app spent on it, and when it had it."""
    with counting() as ledger:
        await anext(alerts)
    return ledger, time.perf_counter()


async def emergencies(ward: Ward, rounds: int, progress: Progress) -> Phase:
    """Phase 6: ``rounds`` emergencies, each from the crossing reading to the app's alert."""
    alerts = user_app.watch_emergencies(ward.alerts, ward.wallet, ward.analysis_id, MEC_NODE)
    try:
        await ward.send_spo2(NORMAL)  # the device attaches; the analysis starts out normal
        watch = ward.wire.snapshot()
        warm_up = asyncio.create_task(_next_alert(alerts))
        while not ward.mec.alerts.watching() and not warm_up.done():
            await asyncio.sleep(0.001)
        await ward.send_spo2(CROSSING)
        await asyncio.wait_for(warm_up, ALERT_BOUND)
        await ward.send_spo2(NORMAL)
        watch_bytes = ward.wire.since(watch)
        wire = ward.wire.snapshot()
        ttp_before = role_ledger(ward.ttp.metrics, EMERGENCY)
        mec_before = role_ledger(ward.mec.metrics, EMERGENCY)
        raised_before = sent_bytes(ward.mec.metrics, "emergency")
        answered_before = sent_bytes(ward.ttp.metrics, "emergency_answer")
        app = Ledger()
        times = []
        for _ in range(rounds):
            alert = asyncio.create_task(_next_alert(alerts))
            started = time.perf_counter()
            await ward.send_spo2(CROSSING)
            ledger, alerted = await asyncio.wait_for(alert, ALERT_BOUND)
            times.append(alerted - started)
            app.update(ledger)
            await ward.send_spo2(NORMAL)
            progress.advance()
    finally:
        await alerts.aclose()
    ttp = one_round(role_ledger(ward.ttp.metrics, EMERGENCY), ttp_before, rounds)
    mec = one_round(role_ledger(ward.mec.metrics, EMERGENCY), mec_before, rounds)
    per_alert = {
        message: size
        for message, size in ward.wire.since(wire).items()
        if message.startswith("Watch ")
    }
    return Phase(
        "6: an emergency",
        [
            Entity.of("MEC", "sign the emergency; seal and sign the alert", mec),
            Entity.of("TTP", "verify, find the watchers, seal the context", ttp),
            Entity.of("user app", "verify and open the alert", one_round(app, Ledger(), rounds)),
        ],
        {
            **{f"{name} (opening the watch)": size for name, size in watch_bytes.items()},
            "RaiseEmergency request (MEC to TTP)": (
                sent_bytes(ward.mec.metrics, "emergency") - raised_before
            )
            / rounds,
            "RaiseEmergency response (TTP to MEC)": (
                sent_bytes(ward.ttp.metrics, "emergency_answer") - answered_before
            )
            / rounds,
            **{f"{name} (the alert)": size for name, size in per_alert.items()},
        },
        Latency.of(times),
        ("the device sends the crossing reading", "the app has the verified alert"),
    )


async def _over_grpc(rounds: int, progress: Progress) -> tuple[Latency, Phase, Phase]:
    with tempfile.TemporaryDirectory(prefix="mec5g-phases-") as scratch:
        async with ward(Path(scratch)) as running:
            records = await records_over_grpc(running, rounds, progress)
            requests = await user_requests(running, rounds, progress)
            alerts = await emergencies(running, rounds, progress)
    return records, requests, alerts


# -- the part -----------------------------------------------------------------------------------


def run(rounds: int = 100, *, show_progress: bool = False) -> PartResult:
    """Phases 4, 5 and 6: each step's operations and time, the bytes, the latencies."""
    if rounds < 1:
        raise ValueError("rounds must be at least 1")
    data_phase = record_computation(max(rounds, 200))
    progress = Progress("phases 4-6 over gRPC", 3 * rounds, enabled=show_progress)
    data_phase.latency, requests, alerts = asyncio.run(_over_grpc(rounds, progress))
    data_phase.latency_span = ("the device sends a record", "it has the acknowledgement")
    progress.close()
    phases = [data_phase, requests, alerts]
    return PartResult(
        "phases",
        "Phases 4, 5 and 6: operations per entity, bytes per message, latency",
        {"rounds": rounds, "phases": [asdict(phase) for phase in phases]},
        [table for phase in phases for table in _tables(phase)],
    )


def _tables(phase: Phase) -> list[Table]:
    timed = any(entity.microseconds is not None for entity in phase.entities)
    tables = [
        Table(
            f"Phase {phase.name}: operations per entity",
            ["entity", "step", "paper", "ours", *(["µs (median)"] if timed else [])],
            [
                [
                    entity.entity,
                    entity.step,
                    entity.paper,
                    entity.ours,
                    *(
                        [microseconds(entity.microseconds / 1e6)]
                        if entity.microseconds is not None
                        else []
                    ),
                ]
                for entity in phase.entities
            ],
            note="paper: Table 1's units in the compared scheme's own operations; ours: our "
            "additions (the paper specifies no cryptography for this phase). "
            + ("Pure core, one core." if timed else "Counted over gRPC, per round."),
        ),
        Table(
            f"Phase {phase.name}: bytes per message",
            ["message", "bytes"],
            [[message, f"{size:,.0f}"] for message, size in phase.bytes.items()],
            note="Serialized protobuf messages (gRPC and HTTP/2 framing aside).",
        ),
    ]
    if phase.latency is not None:
        latency = phase.latency
        tables.append(
            Table(
                f"Phase {phase.name}: latency over gRPC on loopback",
                ["from", "to", "rounds", "p50 ms", "p95 ms", "mean ms"],
                [
                    [
                        *phase.latency_span,
                        str(latency.rounds),
                        f"{latency.p50_ms:.2f}",
                        f"{latency.p95_ms:.2f}",
                        f"{latency.mean_ms:.2f}",
                    ]
                ],
                note="The TTP, the MEC and the UE in one process, one event loop.",
            )
        )
    return tables
