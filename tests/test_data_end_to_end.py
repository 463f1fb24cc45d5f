"""Phase 4 over real gRPC on localhost: devices stream sealed readings to the MEC, which combines
each patient's devices into one analysis, scores NEWS2, and never learns who the patient is.

Covers the issue's phase-4 list through the services: end to end; replay, reordering and tampering
of data records refused and counted; session lifetime renewal (records and seconds, at the device
and at the MEC); the SpO2 scale chosen at the TTP reaching the MEC sealed; a MEC session
unconfirmed until the first valid record; and what the MEC stores holding no identity.
"""

from __future__ import annotations

import contextlib
import dataclasses
from pathlib import Path

import grpc
import pytest
from grpc_stack import MEC_NODE, start_mec, start_ttp, start_ue, stored_values

from mec5g.core.data_channel import Purpose
from mec5g.core.handle import AnalysisSettings
from mec5g.core.news2 import AlertLevel, Consciousness, SpO2Scale
from mec5g.core.readings import Reading, SensorKind
from mec5g.mec.server import RunningMec
from mec5g.mec.sessions import SessionLimits, SessionState
from mec5g.runtime.holder_store import EnrolmentFile, HolderStore
from mec5g.ttp.enrolment import enrol_devices, enrol_mec
from mec5g.ttp.keystore import KeyStore
from mec5g.ue.fleet import Outcome
from mec5g.ue.streaming import StreamPolicy
from mec5g.v1 import (
    analysis_pb2,
    analysis_pb2_grpc,
    mec_data_pb2,
    mec_data_pb2_grpc,
    ue_control_pb2,
    vitals_pb2,
)

PATIENTS = ("patient-a", "patient-b")
DEVICES_PER_PATIENT = 7


@dataclasses.dataclass
class Bed:
    directory: Path
    ttp_db: Path
    mec_file: Path
    ue_db: Path
    enrolments: list[EnrolmentFile]


def _enrol(directory: Path) -> Bed:
    """Two patients of seven devices each, one analysis each; patient-b on SpO2 scale 2."""
    ttp_db = directory / "ttp.db"
    enrolments = [
        enrol_devices(
            ttp_db,
            directory / f"{analysis}.json",
            DEVICES_PER_PATIENT,
            analysis=analysis,
            first=1 + index * DEVICES_PER_PATIENT,
        )
        for index, analysis in enumerate(PATIENTS)
    ]
    enrol_mec(ttp_db, directory / "mec.json", MEC_NODE, 4)
    store = KeyStore(ttp_db)
    try:
        store.set_analysis_settings("patient-b", AnalysisSettings(SpO2Scale.SCALE_2))
    finally:
        store.close()
    ue_db = directory / "ue.db"
    holders = HolderStore(ue_db)
    try:
        for enrolment in enrolments:
            holders.import_holders(enrolment.holder_states())
    finally:
        holders.close()
    return Bed(directory, ttp_db, directory / "mec.json", ue_db, enrolments)


def _sample(mec: RunningMec, name: str, labels: dict[str, str]) -> float:
    value = mec.metrics.registry.get_sample_value(name, {"role": "mec", **labels})
    return 0.0 if value is None else value


async def test_patients_stream_and_the_mec_scores_them_without_knowing_them(
    tmp_path: Path,
) -> None:
    bed = _enrol(tmp_path)
    async with contextlib.AsyncExitStack() as stack:
        ttp = await start_ttp(stack, bed.ttp_db)
        mec = await start_mec(stack, tmp_path / "mec.db", bed.mec_file, ttp.target)
        ue = await start_ue(stack, bed.ue_db, None, mec.target)
        streamer = ue.running.streamer
        assert sorted({p.patient for p in streamer.placements.values()}) == [1, 2]

        for name in ue.fleet.names:
            assert await streamer.read_and_send(name), name
        assert mec.sessions.counts()[SessionState.CONFIRMED] == 14
        for patient in (1, 2):
            carrier, acknowledged = await streamer.check_in(patient, Consciousness.ALERT, False)
            assert acknowledged
            assert streamer.placements[carrier].kind is SensorKind.SPO2
        # The carriers' first readings also carried their patients' check-ins.
        assert streamer.acknowledged == 14 + 2 + 2
        assert streamer.failed == 0

        ue_metrics = ue.running.metrics.registry

        def at_ue(name: str, labels: dict[str, str]) -> float:
            return ue_metrics.get_sample_value(name, {"role": "ue", **labels}) or 0.0

        assert at_ue("mec5g_data_sessions", {"state": "active"}) == 14
        assert _sample(mec, "mec5g_data_sessions", {"state": "confirmed"}) == 14
        assert _sample(mec, "mec5g_data_sessions", {"state": "unconfirmed"}) == 0
        records = 14 + 2 + 2
        acknowledged = sum(
            at_ue("mec5g_data_records_total", {"purpose": purpose, "outcome": "acknowledged"})
            for purpose in ("reading", "check_in")
        )
        assert acknowledged == records
        evaluations = sum(
            _sample(mec, "mec5g_news2_score_count", {"complete": complete})
            for complete in ("true", "false")
        )
        assert evaluations == records
        # Successful runs carry the outcomes the recording rules count as success.
        analysed = {"phase": "analysis", "outcome": "accepted"}
        assert _sample(mec, "mec5g_phase_results_total", analysed) == records
        received = {"phase": "data", "outcome": "accepted"}
        assert _sample(mec, "mec5g_phase_results_total", received) == records
        assert (
            at_ue("mec5g_phase_results_total", {"phase": "data", "outcome": "success"}) == records
        )
        data_ops = {"phase": "data", "operation": "Ts", "origin": "data_aead"}
        assert _sample(mec, "mec5g_operations_total", data_ops) == 2 * records, "open, ack"
        assert at_ue("mec5g_operations_total", data_ops) == 2 * records, "seal, check the ack"
        assert at_ue("mec5g_message_bytes_total", {"message": "record", "origin": "ours"}) > 0
        assert _sample(mec, "mec5g_message_bytes_total", {"message": "ack", "origin": "ours"}) > 0
        await streamer.check_in(1, Consciousness.VOICE, False)
        alerts = sum(
            _sample(mec, "mec5g_news2_alerts_total", {"level": level})
            for level in ("urgent_ward", "urgent", "emergency")
        )
        assert alerts == 1, "patient 1 is no longer alert: a 3 in one parameter at least"

        channel = grpc.aio.insecure_channel(mec.target)
        stack.push_async_callback(channel.close)
        analyses = analysis_pb2_grpc.AnalysisServiceStub(channel)
        listed = await analyses.ListScores(analysis_pb2.ListScoresRequest())
        assert len(listed.analyses) == 2
        scales, levels, counts = [], [], []
        for summary in listed.analyses:
            counts.append(summary.records)
            full = await analyses.GetAnalysis(
                analysis_pb2.GetAnalysisRequest(pseudonym=summary.pseudonym)
            )
            assert full.news2.complete, full.news2
            assert full.news2.level != vitals_pb2.ALERT_LEVEL_UNSPECIFIED
            assert len(full.vital_signs) == 7
            levels.append(full.check_in.consciousness)
            scales.append(full.spo2_scale)
        assert sorted(scales) == [vitals_pb2.SP_O2_SCALE_1, vitals_pb2.SP_O2_SCALE_2]
        assert sorted(levels) == [vitals_pb2.CONSCIOUSNESS_ALERT, vitals_pb2.CONSCIOUSNESS_VOICE]
        assert sorted(counts) == [9, 10], "seven readings and two or three check-ins each"

        with pytest.raises(grpc.aio.AioRpcError) as raised:
            await analyses.GetAnalysis(analysis_pb2.GetAnalysisRequest(pseudonym="abc"))
        assert raised.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert "64 hexadecimal digits" in str(raised.value.details())
        with pytest.raises(grpc.aio.AioRpcError) as raised:
            await analyses.GetAnalysis(analysis_pb2.GetAnalysisRequest(pseudonym="00" * 32))
        assert raised.value.code() == grpc.StatusCode.NOT_FOUND

        # What the MEC stores names no analysis, device or credential of the patients, neither
        # in confirmed sessions nor in one still waiting for its first record.
        assert (await ue.fleet.attach(ue.fleet.names[0])).outcome is Outcome.SUCCESS
        assert mec.sessions.counts()[SessionState.UNCONFIRMED] == 1
        identities = {analysis.encode() for analysis in PATIENTS}
        for enrolment in bed.enrolments:
            for label, credential in enrolment.credentials.items():
                identities |= {label.encode(), credential.did, credential.dk}
        for state in ue.store.load().values():
            identities |= {state.credential.did, state.credential.dk}
        stored = [
            value.encode() if isinstance(value, str) else value
            for value in stored_values([mec.sessions.sessions(), list(mec.analyses)])
        ]
        assert stored, "the walk found what the MEC stores"
        assert not [identity for identity in identities for value in stored if identity in value]
        mec_db = (tmp_path / "mec.db").read_bytes()
        assert not [identity for identity in identities if identity in mec_db]


async def test_replay_reorder_and_tamper_are_refused_and_counted(tmp_path: Path) -> None:
    bed = _enrol(tmp_path)
    async with contextlib.AsyncExitStack() as stack:
        ttp = await start_ttp(stack, bed.ttp_db)
        mec = await start_mec(
            stack, tmp_path / "mec.db", bed.mec_file, ttp.target, sessions=SessionLimits(window=4)
        )
        ue = await start_ue(stack, bed.ue_db, None, mec.target)
        name = ue.fleet.names[0]
        assert (await ue.fleet.attach(name)).outcome is Outcome.SUCCESS
        assert mec.sessions.counts() == {SessionState.UNCONFIRMED: 1, SessionState.CONFIRMED: 0}
        session = ue.fleet.view(name).session
        assert session is not None
        reading = Reading(SensorKind.SPO2, 0.0, (97.0,)).to_bytes()
        records = [session.end.seal(Purpose.READING, reading)[1] for _ in range(8)]
        stub = mec_data_pb2_grpc.MecDataServiceStub(ue.mec_channel)

        async def submit(record: bytes) -> grpc.StatusCode:
            try:
                await stub.Submit(mec_data_pb2.SubmitRequest(record=record))
            except grpc.aio.AioRpcError as error:
                code: grpc.StatusCode = error.code()
                details = error.details()
            else:
                return grpc.StatusCode.OK
            if code == grpc.StatusCode.UNAUTHENTICATED:
                assert details == "authentication failed", "never says why"
            return code

        tampered = bytearray(records[0])
        tampered[-1] ^= 1
        assert await submit(bytes(tampered)) == grpc.StatusCode.UNAUTHENTICATED
        assert mec.sessions.counts()[SessionState.UNCONFIRMED] == 1, "a forgery confirms nothing"
        assert await submit(records[5]) == grpc.StatusCode.OK  # sequence 6 first
        assert mec.sessions.counts()[SessionState.CONFIRMED] == 1
        assert await submit(records[3]) == grpc.StatusCode.OK  # 4: reordered, inside the window
        assert await submit(records[1]) == grpc.StatusCode.UNAUTHENTICATED  # 2: beyond it
        assert await submit(records[5]) == grpc.StatusCode.UNAUTHENTICATED  # replayed
        assert await submit(records[0][:30]) == grpc.StatusCode.INVALID_ARGUMENT
        for outcome, times in (
            ("tampered", 1),
            ("too_old", 1),
            ("replay", 1),
            ("accepted", 2),
        ):
            labels = {"purpose": "reading", "outcome": outcome}
            assert _sample(mec, "mec5g_data_records_total", labels) == times, outcome
        malformed = {"purpose": "unknown", "outcome": "malformed"}
        assert _sample(mec, "mec5g_data_records_total", malformed) == 1


async def test_sessions_are_renewed_after_n_records_and_after_t_seconds(tmp_path: Path) -> None:
    bed = _enrol(tmp_path)
    async with contextlib.AsyncExitStack() as stack:
        ttp = await start_ttp(stack, bed.ttp_db)
        mec = await start_mec(stack, tmp_path / "mec.db", bed.mec_file, ttp.target)
        ue = await start_ue(
            stack,
            bed.ue_db,
            None,
            mec.target,
            stream=StreamPolicy(session_records=3, session_seconds=60.0),
        )
        now = [0.0]
        ue.fleet.clock = lambda: now[0]
        streamer = ue.running.streamer
        name = ue.fleet.names[1]
        for _ in range(7):
            assert await streamer.read_and_send(name)
        # Records 1-3, 4-6 and 7 went in three sessions: two renewals by record count.
        assert streamer.renewed == 2
        assert ue.fleet.view(name).state.epoch == 3
        now[0] += 59.0
        assert await streamer.read_and_send(name)
        assert ue.fleet.view(name).state.epoch == 3, "59 s: still the same session"
        now[0] += 1.0
        assert await streamer.read_and_send(name)
        assert ue.fleet.view(name).state.epoch == 4, "60 s: renewed by age"
        assert streamer.renewed == 3


async def test_the_mec_refuses_a_session_past_its_lifetime_and_the_device_renews(
    tmp_path: Path,
) -> None:
    bed = _enrol(tmp_path)
    async with contextlib.AsyncExitStack() as stack:
        ttp = await start_ttp(stack, bed.ttp_db)
        mec = await start_mec(
            stack,
            tmp_path / "mec.db",
            bed.mec_file,
            ttp.target,
            sessions=SessionLimits(max_records=2),
        )
        ue = await start_ue(stack, bed.ue_db, None, mec.target)
        streamer = ue.running.streamer
        name = ue.fleet.names[2]
        assert [await streamer.read_and_send(name) for _ in range(4)] == [True, True, False, True]
        expired = {"purpose": "reading", "outcome": "expired"}
        assert _sample(mec, "mec5g_data_records_total", expired) == 1
        assert ue.fleet.view(name).state.epoch == 2


async def test_an_injected_sepsis_raises_an_emergency_at_the_mec(tmp_path: Path) -> None:
    """A scenario injects sepsis into patient 2 through the UE control service; the MEC, which
    knows the patient only by pseudonym, scores an emergency for that analysis alone."""
    bed = _enrol(tmp_path)
    async with contextlib.AsyncExitStack() as stack:
        ttp = await start_ttp(stack, bed.ttp_db)
        mec = await start_mec(stack, tmp_path / "mec.db", bed.mec_file, ttp.target)
        ue = await start_ue(stack, bed.ue_db, None, mec.target)
        await ue.stub.InjectEvent(ue_control_pb2.InjectEventRequest(patient=2, event="sepsis"))
        with pytest.raises(grpc.aio.AioRpcError) as raised:
            await ue.stub.InjectEvent(ue_control_pb2.InjectEventRequest(patient=3, event="fever"))
        assert raised.value.code() == grpc.StatusCode.NOT_FOUND
        for name in ue.fleet.names:
            assert await ue.running.streamer.read_and_send(name)
        await ue.stub.CheckIn(
            ue_control_pb2.CheckInRequest(
                patient=2, consciousness=vitals_pb2.CONSCIOUSNESS_CONFUSION
            )
        )

        levels = sorted(
            (analysis.current.score.level, analysis.current.score.aggregate)
            for analysis in mec.analyses
            if analysis.current is not None
        )
        assert [level for level, _ in levels] == [AlertLevel.NONE, AlertLevel.EMERGENCY], levels
        assert _sample(mec, "mec5g_news2_alerts_total", {"level": "emergency"}) == 1

        status = await ue.stub.Status(ue_control_pb2.StatusRequest())
        assert status.records_acknowledged == 14 + 2 + 1
        assert {device.patient for device in status.devices} == {1, 2}
        assert all(device.session_active and device.session_confirmed for device in status.devices)
        assert sorted(device.sensor for device in status.devices if device.patient == 1) == list(
            range(1, 8)
        )


async def test_the_carrier_repeats_the_check_in_every_n_readings(tmp_path: Path) -> None:
    bed = _enrol(tmp_path)
    async with contextlib.AsyncExitStack() as stack:
        ttp = await start_ttp(stack, bed.ttp_db)
        mec = await start_mec(stack, tmp_path / "mec.db", bed.mec_file, ttp.target)
        ue = await start_ue(
            stack, bed.ue_db, None, mec.target, stream=StreamPolicy(check_in_every=3)
        )
        streamer = ue.running.streamer
        carrier = min(ue.fleet.names)
        for _ in range(7):
            assert await streamer.read_and_send(carrier)
        # Check-ins after readings 1, 4 and 7.
        check_ins = {"purpose": "check_in", "outcome": "accepted"}
        assert _sample(mec, "mec5g_data_records_total", check_ins) == 3
        assert await streamer.read_and_send(ue.fleet.names[1]), "not a carrier"
        assert _sample(mec, "mec5g_data_records_total", check_ins) == 3
