"""Phases 5 and 6 over real gRPC on localhost: a patient and the doctors its access policy names
read an analysis's results at the MEC through the anonymous key agreement, the TTP vouching for
each request, and watch it for emergencies; everybody else is refused.

Covers: the patient and an authorised doctor read the MEC's sealed, signed report; a doctor the
policy does not name, one a device's own policy leaves out, and an unknown analysis get the same
PERMISSION_DENIED; a replayed, tampered, stale or misdirected request, and one from a user of
another TTP, UNAUTHENTICATED with one message; a request the TTP cannot read INVALID_ARGUMENT; a
MEC without its identity FAILED_PRECONDITION; results and watch agreements never pass for each
other; the phase's metrics and operation counts; and no user identity in what the MEC logs.
Phase 6: a sepsis injected through the UE's control service reaches the watching doctor and
patient as a verified alert with the TTP's context, once per level; a tampered alert is
rejected; a doctor the policy does not name cannot watch; what the MEC keeps of its watches
names nobody; the TTP involves only the node's watches of that pseudonym and refuses replayed,
forged, stale and unknown nodes' emergencies.
The ward runs on each backend of the TTP's store in turn (SQLite, PostgreSQL).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path

import grpc
import pytest
from grpc_stack import (
    MEC_NODE,
    Ue,
    enrol_mec_identity,
    start_mec,
    start_ttp,
    start_ue,
    stored_values,
)

from mec5g.core import anonymous_agreement, ecqv, user_crypto
from mec5g.core.anonymous_agreement import Identity, Purpose
from mec5g.core.errors import AuthenticationFailed
from mec5g.core.news2 import SpO2Scale
from mec5g.core.profiles import AccessPolicy, DoctorAttributes, PatientAttributes, Role
from mec5g.core.readings import Reading, SensorKind
from mec5g.core.user_access import open_report
from mec5g.mec.server import RunningMec
from mec5g.runtime.grpc_server import channel
from mec5g.runtime.status import AUTHENTICATION_FAILED
from mec5g.runtime.user_requests import CONTEXT_PURPOSE, emergency_method
from mec5g.runtime.wallet import Wallet
from mec5g.ttp.registry import Registry
from mec5g.ttp.stores import StoreLocation
from mec5g.ue import user_app
from mec5g.v1 import (
    anonymous_key_agreement_pb2,
    emergency_pb2,
    emergency_pb2_grpc,
    mec_alerts_pb2,
    mec_alerts_pb2_grpc,
    mec_results_pb2,
    mec_results_pb2_grpc,
    monitoring_pb2_grpc,
    registration_pb2_grpc,
    ue_control_pb2,
    ue_provisioning_pb2_grpc,
    vitals_pb2,
)

CARDIOLOGY = DoctorAttributes.checked("cardiology", "St Mary")
BOUND = 30.0  # seconds an alert may take at most; a bound against hanging, not a measurement


@dataclass
class Ward:
    """A TTP, a MEC with its identity, a UE, a patient with one analysis of seven devices (the
    UE's patient 1) and three doctors."""

    mec: RunningMec
    ue: Ue
    results: mec_results_pb2_grpc.MecResultsServiceStub
    users: dict[str, Wallet]
    analysis_id: str
    ttp_db: StoreLocation
    alerts: mec_alerts_pb2_grpc.MecAlertsServiceStub
    node: Wallet
    emergency: emergency_pb2_grpc.EmergencyServiceStub

    @property
    def pseudonym(self) -> bytes:
        """The name under which the MEC knows the analysis."""
        with Registry(self.ttp_db) as registry:
            return registry.pseudonym(self.analysis_id, MEC_NODE)

    async def ask(self, m1: bytes) -> mec_results_pb2.GetResultsResponse:
        request = mec_results_pb2.GetResultsRequest(m1=m1)
        response: mec_results_pb2.GetResultsResponse = await self.results.GetResults(request)
        return response

    async def read(
        self, user: str, analysis_id: str | None = None, node: str = MEC_NODE
    ) -> vitals_pb2.AlertLevel:
        report = await user_app.read_results(
            self.results, self.users[user], analysis_id or self.analysis_id, node
        )
        return report.news2.level


@pytest.fixture
async def ward(tmp_path: Path, store_location: StoreLocation) -> AsyncIterator[Ward]:
    """The ward on each backend of the TTP's store in turn."""
    ttp_db = store_location
    wallet = enrol_mec_identity(tmp_path, ttp_db, MEC_NODE, 2)
    async with contextlib.AsyncExitStack() as stack:
        registry = stack.enter_context(Registry(ttp_db))
        ttp = await start_ttp(stack, ttp_db)
        mec = await start_mec(
            stack, tmp_path / "mec.db", tmp_path / f"{MEC_NODE}.json", ttp.target, identity=wallet
        )
        ue = await start_ue(stack, tmp_path / "ue.db", None, mec.target)
        ttp_channel = channel(ttp.target)
        mec_channel = channel(mec.target)
        for opened in (ttp_channel, mec_channel):
            stack.push_async_callback(opened.close)
        registration = registration_pb2_grpc.RegistrationServiceStub(ttp_channel)
        users = {}
        for user, role, attributes in (
            ("alice", Role.PATIENT, PatientAttributes.checked(["penicillin"], "O-")),
            ("bob", Role.DOCTOR, DoctorAttributes.checked("endocrinology", "St Mary")),
            ("carol", Role.DOCTOR, DoctorAttributes.checked("endocrinology", "St Luke")),
            ("dave", Role.DOCTOR, CARDIOLOGY),
        ):
            code = registry.issue_enrolment_code(user, role, 600)
            users[user] = await user_app.register(registration, user, role, code, attributes)
        # bob by name; dave by expertise, but device d6's own policy names bob only.
        analysis_id, credentials = await user_app.create_analysis(
            monitoring_pb2_grpc.MonitoringServiceStub(ttp_channel),
            users["alice"],
            [f"d{index}" for index in range(1, 8)],
            AccessPolicy.checked(["bob"], [], ["cardiology"]),
            {"d6": AccessPolicy.checked(["bob"], [], [])},
        )
        ue_channel = channel(ue.target)
        stack.push_async_callback(ue_channel.close)
        await user_app.provision(
            ue_provisioning_pb2_grpc.UeProvisioningServiceStub(ue_channel), credentials
        )
        yield Ward(
            mec,
            ue,
            mec_results_pb2_grpc.MecResultsServiceStub(mec_channel),
            users,
            analysis_id,
            ttp_db,
            mec_alerts_pb2_grpc.MecAlertsServiceStub(mec_channel),
            Wallet.read(wallet),
            emergency_pb2_grpc.EmergencyServiceStub(ttp_channel),
        )


def _code(raised: pytest.ExceptionInfo[grpc.aio.AioRpcError]) -> grpc.StatusCode:
    code: grpc.StatusCode = raised.value.code()
    return code


def _sample(mec: RunningMec, outcome: str) -> float:
    labels = {"role": "mec", "phase": "user_request", "outcome": outcome}
    return mec.metrics.registry.get_sample_value("mec5g_phase_results_total", labels) or 0.0


def _operations(mec: RunningMec, operation: str, origin: str) -> float:
    labels = {"role": "mec", "phase": "user_request", "operation": operation, "origin": origin}
    return mec.metrics.registry.get_sample_value("mec5g_operations_total", labels) or 0.0


async def test_the_patient_and_the_named_doctor_read_the_results(
    ward: Ward, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await ward.read("alice")
    assert _code(raised) == grpc.StatusCode.NOT_FOUND, "no data at the MEC yet"

    ward.mec.analyses.record(
        ward.pseudonym, SpO2Scale.SCALE_1, Reading(SensorKind.SPO2, 0, (91.0,))
    )
    assert await ward.read("alice") == vitals_pb2.ALERT_LEVEL_URGENT_WARD
    assert await ward.read("bob") == vitals_pb2.ALERT_LEVEL_URGENT_WARD
    assert _sample(ward.mec, "accepted") == 2
    assert _sample(ward.mec, "not_found") == 1
    # The responder's part of three agreements ([36]'s, origin paper: Y, σ_R, the seal of k_R
    # (2), y·X), and signing the two reports (ours).
    assert _operations(ward.mec, "Tm", "paper") == 3 * 5
    assert _operations(ward.mec, "Tm", "ours") == 2
    assert _operations(ward.mec, "Ts", "ours") == 2
    mec_logs = [record.getMessage() for record in caplog.records if record.name == "mec5g.mec"]
    assert not [line for line in mec_logs for user in ward.users if user in line]


@pytest.mark.parametrize(
    ("user", "other_analysis"),
    [("carol", False), ("dave", False), ("bob", True)],
    ids=["not named", "left out by a device policy", "no such analysis"],
)
async def test_users_not_authorised_are_refused_alike(
    ward: Ward, user: str, other_analysis: bool
) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await ward.read(user, "no-such-analysis" if other_analysis else None)
    assert _code(raised) == grpc.StatusCode.PERMISSION_DENIED
    assert raised.value.details() == "not authorised for that analysis"
    assert _sample(ward.mec, "permission_denied") == 1


def _request(wallet: Wallet, analysis_id: str, issued_at_ms: int | None = None) -> bytes:
    body = anonymous_key_agreement_pb2.AnonymousRequestBody(analysis_id=analysis_id)
    body.header.nonce = secrets.token_bytes(16)
    body.header.issued_at_unix_ms = issued_at_ms or int(time.time() * 1000)
    return body.SerializeToString()


def _m1(wallet: Wallet, request: bytes, node: str = MEC_NODE, ca: bytes | None = None) -> bytes:
    identity = Identity(ecqv.Certificate.parse(wallet.certificate), wallet.pair)
    _, m1 = anonymous_agreement.initiator_start(
        identity, ca or wallet.ca_public, node, Purpose.RESULTS, request
    )
    return m1


async def test_replayed_tampered_stale_forged_and_misdirected_requests_fail_alike(
    ward: Ward,
) -> None:
    ward.mec.analyses.record(
        ward.pseudonym, SpO2Scale.SCALE_1, Reading(SensorKind.SPO2, 0, (97.0,))
    )
    alice = ward.users["alice"]
    genuine = _m1(alice, _request(alice, ward.analysis_id))
    answer = await ward.ask(genuine)
    assert len(answer.m4) == anonymous_agreement.M4_BYTES
    tampered = bytearray(genuine)
    tampered[100] ^= 1
    stale = _request(alice, ward.analysis_id, int(time.time() * 1000) - 600_000)
    private = ecqv.random_scalar()
    stranger = anonymous_agreement.issue_identity(private, "alice")  # another TTP's "alice"
    foreign = Wallet("alice", "patient", stranger.pair, stranger.certificate.encoded,
                     ecqv.public_key(private))  # fmt: skip
    attempts = {
        "replayed": genuine,
        "tampered": bytes(tampered),
        "stale": _m1(alice, stale),
        "for another node": _m1(alice, _request(alice, ward.analysis_id), node="mec-2"),
        "another TTP's user": _m1(foreign, _request(foreign, ward.analysis_id), ca=alice.ca_public),
    }
    for what, m1 in attempts.items():
        with pytest.raises(grpc.aio.AioRpcError) as raised:
            await ward.ask(m1)
        assert _code(raised) == grpc.StatusCode.UNAUTHENTICATED, what
        assert raised.value.details() == AUTHENTICATION_FAILED, what
    assert _sample(ward.mec, "refused_by_ttp") == len(attempts)
    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await ward.ask(b"short")
    assert _code(raised) == grpc.StatusCode.INVALID_ARGUMENT
    assert "m1" in str(raised.value.details())
    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await ward.ask(_m1(alice, b"\xff not a request"))
    assert _code(raised) == grpc.StatusCode.INVALID_ARGUMENT
    assert "request" in str(raised.value.details())


async def test_a_mec_without_its_identity_answers_no_user_request(tmp_path: Path) -> None:
    ttp_db = tmp_path / "ttp.db"
    enrol_mec_identity(tmp_path, ttp_db, MEC_NODE, 1)
    async with contextlib.AsyncExitStack() as stack:
        ttp = await start_ttp(stack, ttp_db)
        mec = await start_mec(stack, tmp_path / "mec.db", tmp_path / f"{MEC_NODE}.json", ttp.target)
        mec_channel = channel(mec.target)
        stack.push_async_callback(mec_channel.close)
        stub = mec_results_pb2_grpc.MecResultsServiceStub(mec_channel)
        with pytest.raises(grpc.aio.AioRpcError) as raised:
            await stub.GetResults(mec_results_pb2.GetResultsRequest())
        assert raised.value.code() == grpc.StatusCode.FAILED_PRECONDITION


async def _until(condition: Callable[[], bool]) -> None:
    """Yield to the servers until ``condition`` holds; bounded, never a timed assertion."""
    for _ in range(2000):
        if condition():
            return
        await asyncio.sleep(0.005)
    raise AssertionError("the condition never held")


async def _watch(
    ward: Ward, user: str, purpose: Purpose = Purpose.WATCH
) -> tuple[anonymous_agreement.Session, grpc.aio.UnaryStreamCall, mec_alerts_pb2.WatchResponse]:
    """A watch opened by hand, to see the messages as they travel: the session, the stream
    and its first message."""
    wallet = ward.users[user]
    state, m1 = user_app.start_request(wallet, purpose, ward.analysis_id, MEC_NODE)
    stream = ward.alerts.Watch(mec_alerts_pb2.WatchRequest(m1=m1))
    opened = await asyncio.wait_for(anext(aiter(stream)), BOUND)
    return anonymous_agreement.initiator_finish(state, opened.m4), stream, opened


async def test_a_sepsis_reaches_the_watching_doctor_and_patient_once(
    ward: Ward, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    # bob's watch by hand; alice's through her app.
    session, bob, opened = await _watch(ward, "bob")
    assert not opened.sealed_alert, "the first message finishes the agreement"
    assert opened.mec_certificate
    alice = user_app.watch_emergencies(ward.alerts, ward.users["alice"], ward.analysis_id, MEC_NODE)
    alice_alert = asyncio.ensure_future(anext(alice))
    await _until(lambda: ward.mec.alerts.watching() == 2)
    for doctor in ("carol", "dave"):
        _, m1 = user_app.start_request(
            ward.users[doctor], Purpose.WATCH, ward.analysis_id, MEC_NODE
        )
        with pytest.raises(grpc.aio.AioRpcError) as raised:
            await anext(aiter(ward.alerts.Watch(mec_alerts_pb2.WatchRequest(m1=m1))))
        assert _code(raised) == grpc.StatusCode.PERMISSION_DENIED

    streamer = ward.ue.running.streamer
    assert len(streamer.place()) == 7, "the provisioned devices are alice's sensors"
    for name in ward.ue.fleet.names:
        assert await streamer.read_and_send(name)
    assert ward.mec.alerts.raised == 0, "a healthy patient raises nothing"
    await ward.ue.stub.InjectEvent(ue_control_pb2.InjectEventRequest(patient=1, event="sepsis"))
    for _ in range(3):  # the emergency is raised once, however long it lasts
        for name in ward.ue.fleet.names:
            assert await streamer.read_and_send(name)

    message = await asyncio.wait_for(anext(aiter(bob)), BOUND)
    assert message.sequence == 1
    ca_public = ward.users["bob"].ca_public
    alert = mec_alerts_pb2.Emergency()
    alert.ParseFromString(
        open_report(
            session,
            ca_public,
            message.mec_certificate,
            message.sequence,
            message.sealed_alert,
            message.signature,
        )
    )
    assert alert.level == vitals_pb2.ALERT_LEVEL_EMERGENCY
    assert alert.aggregate >= 7
    assert alert.pseudonym == ward.pseudonym.hex()
    tampered = bytearray(message.sealed_alert)
    tampered[10] ^= 1
    with pytest.raises(AuthenticationFailed):
        open_report(
            session,
            ca_public,
            message.mec_certificate,
            message.sequence,
            bytes(tampered),
            message.signature,
        )
    # What the MEC keeps for phases 5 and 6 (open watches and their sessions, the emergency
    # raised, and the analyses and sessions) names no user, no analysis and no patient
    # attribute.
    alerts = ward.mec.alerts
    stored = [
        value.encode() if isinstance(value, str) else value
        for value in stored_values(
            [
                [
                    (pseudonym, watch_id, watch.session)  # the queues hold nothing yet
                    for pseudonym, watches in alerts._watches.items()
                    for watch_id, watch in watches.items()
                ],
                alerts._emergencies,
                list(ward.mec.analyses),
                ward.mec.sessions.sessions(),
            ]
        )
    ]
    assert len(stored) > 10, "the walk found the watches, sessions and analyses"
    names = [user.encode() for user in ward.users] + [ward.analysis_id.encode(), b"penicillin"]
    assert not [name for name in names for value in stored if name in value]
    received = await asyncio.wait_for(alice_alert, BOUND)
    assert received.emergency.level == vitals_pb2.ALERT_LEVEL_EMERGENCY
    assert received.context.patient_id == "alice"
    assert list(received.context.allergies) == ["penicillin"]
    assert received.context.blood_group == "O-"
    await alice.aclose()
    bob.cancel()

    await ward.mec.alerts.drain()
    assert ward.mec.alerts.raised == 1
    labels = {"role": "mec", "phase": "emergency", "outcome": "success"}
    assert ward.mec.metrics.registry.get_sample_value("mec5g_phase_results_total", labels) == 1
    await _until(lambda: ward.mec.alerts.watching() == 0)
    mec_logs = [record.getMessage() for record in caplog.records if record.name == "mec5g.mec"]
    assert not [line for line in mec_logs for user in ward.users if user in line]


async def test_results_and_watch_agreements_do_not_pass_for_each_other(ward: Ward) -> None:
    bob = ward.users["bob"]
    _, results = user_app.start_request(bob, Purpose.RESULTS, ward.analysis_id, MEC_NODE)
    stream = ward.alerts.Watch(mec_alerts_pb2.WatchRequest(m1=results))
    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await anext(aiter(stream))
    assert _code(raised) == grpc.StatusCode.UNAUTHENTICATED
    assert raised.value.details() == AUTHENTICATION_FAILED
    _, watch = user_app.start_request(bob, Purpose.WATCH, ward.analysis_id, MEC_NODE)
    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await ward.ask(watch)
    assert _code(raised) == grpc.StatusCode.UNAUTHENTICATED


async def test_the_ttp_involves_only_watches_of_the_node_and_pseudonym_and_refuses_forgeries(
    ward: Ward,
) -> None:
    session, stream, _ = await _watch(ward, "bob")
    await _until(lambda: ward.mec.alerts.watching() == 1)
    [watch_id] = ward.mec.alerts._watches[ward.pseudonym]
    now_ms = int(time.time() * 1000)

    def raised(
        *,
        pseudonym: bytes = ward.pseudonym,
        signer: ecqv.KeyPair | None = None,
        node: str = MEC_NODE,
        at: int = now_ms,
        nonce: bytes | None = None,
    ) -> emergency_pb2.RaiseEmergencyRequest:
        body = emergency_pb2.EmergencyBody(
            nonce=nonce if nonce is not None else secrets.token_bytes(16),
            raised_at_unix_ms=at,
            pseudonym=pseudonym,
            level=vitals_pb2.ALERT_LEVEL_EMERGENCY,
            aggregate=9,
            watch_ids=[watch_id, bytes(16)],
        ).SerializeToString()
        pair = signer or ward.node.pair
        signature = user_crypto.sign(pair, emergency_method(), node, body)
        return emergency_pb2.RaiseEmergencyRequest(node=node, body=body, signature=signature)

    genuine = raised()
    answer = await ward.emergency.RaiseEmergency(genuine)
    assert [involved.watch_id for involved in answer.involved] == [watch_id]
    context = emergency_pb2.EmergencyContext()
    context.ParseFromString(
        user_crypto.open_sealed(
            ward.users["bob"].pair,
            answer.involved[0].sealed_context,
            purpose=CONTEXT_PURPOSE,
            associated_data=session.initiator_point,
        )
    )
    assert (context.patient_id, context.analysis_id) == ("alice", ward.analysis_id)
    other = await ward.emergency.RaiseEmergency(raised(pseudonym=bytes(32)))
    assert not other.involved, "a watch of another analysis is not involved"
    forgeries = {
        "replayed": genuine,
        "signed by a user": raised(signer=ward.users["bob"].pair),
        "unknown node": raised(node="mec-9"),
        "stale": raised(at=now_ms - 600_000),
    }
    for what, request in forgeries.items():
        with pytest.raises(grpc.aio.AioRpcError) as refused:
            await ward.emergency.RaiseEmergency(request)
        assert _code(refused) == grpc.StatusCode.UNAUTHENTICATED, what
        assert refused.value.details() == AUTHENTICATION_FAILED, what
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await ward.emergency.RaiseEmergency(raised(nonce=b"short"))
    assert _code(refused) == grpc.StatusCode.INVALID_ARGUMENT
    assert "body.nonce" in str(refused.value.details())
    stream.cancel()
