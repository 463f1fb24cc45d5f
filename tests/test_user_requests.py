"""Phases 5 and 6 over real gRPC on localhost: a patient and the doctors its access policy names
read an analysis's results at the MEC through TTP grants, and watch it for emergencies; everybody
else is refused.

Covers: the patient and an authorised doctor read the MEC's sealed, signed report; a doctor the
policy does not name, one a device's own policy leaves out, and an unknown analysis get the same
PERMISSION_DENIED; an unknown node NOT_FOUND; a replayed, tampered, forged, expired or misdirected
grant UNAUTHENTICATED with one message; a MEC without its identity FAILED_PRECONDITION; the
phase's metrics; and no user identity in what the MEC logs. Phase 6: a sepsis injected through
the UE's control service reaches the watching doctor and patient as a verified alert with the
TTP's context, once per level; a tampered alert is rejected; a doctor the policy does not name
cannot watch; what the MEC keeps of its watches names nobody; the TTP involves only the node's
watches of that pseudonym and refuses replayed, forged, stale and unknown nodes' emergencies.
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

from mec5g.core import ecqv, user_crypto
from mec5g.core.errors import AuthenticationFailed
from mec5g.core.news2 import SpO2Scale
from mec5g.core.profiles import AccessPolicy, DoctorAttributes, PatientAttributes, Role
from mec5g.core.readings import Reading, SensorKind
from mec5g.core.user_access import Grant, GrantPurpose, ephemeral_key, issue_grant, open_report
from mec5g.mec.server import RunningMec
from mec5g.runtime.grpc_server import channel
from mec5g.runtime.status import AUTHENTICATION_FAILED
from mec5g.runtime.user_requests import CONTEXT_PURPOSE, emergency_method
from mec5g.runtime.wallet import Wallet
from mec5g.ttp import schema
from mec5g.ttp.at_rest import Sealer, read_secret
from mec5g.ttp.registry import Registry
from mec5g.ttp.stores import StoreLocation, open_database
from mec5g.ue import user_app
from mec5g.v1 import (
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
    user_access_pb2,
    user_access_pb2_grpc,
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
    access: user_access_pb2_grpc.UserAccessServiceStub
    results: mec_results_pb2_grpc.MecResultsServiceStub
    users: dict[str, Wallet]
    analysis_id: str
    ttp_db: StoreLocation
    alerts: mec_alerts_pb2_grpc.MecAlertsServiceStub
    node: Wallet
    emergency: emergency_pb2_grpc.EmergencyServiceStub

    async def grant(
        self,
        user: str,
        analysis_id: str | None = None,
        node: str = MEC_NODE,
        purpose: GrantPurpose = GrantPurpose.RESULTS,
    ) -> tuple[ecqv.KeyPair, user_access_pb2.GrantAccessResponse]:
        key = ephemeral_key()
        body = user_access_pb2.GrantAccessBody(
            analysis_id=analysis_id or self.analysis_id,
            mec_node=node,
            requester_key=key.public,
            purpose=int(purpose),  # type: ignore[arg-type]
        )
        request = user_access_pb2.GrantAccessRequest(
            signed=user_app.signed(self.users[user], "GrantAccess", body)
        )
        return key, await self.access.GrantAccess(request)

    async def present(self, grant: bytes, signature: bytes) -> mec_results_pb2.GetResultsResponse:
        request = mec_results_pb2.GetResultsRequest(grant=grant, grant_signature=signature)
        response: mec_results_pb2.GetResultsResponse = await self.results.GetResults(request)
        return response

    async def read(self, user: str) -> vitals_pb2.AlertLevel:
        report = await user_app.read_results(
            self.access, self.results, self.users[user], self.analysis_id, MEC_NODE
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
            user_access_pb2_grpc.UserAccessServiceStub(ttp_channel),
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


async def test_the_patient_and_the_named_doctor_read_the_results(
    ward: Ward, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    _, granted = await ward.grant("alice")
    pseudonym = Grant.decode(granted.grant).pseudonym
    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await ward.present(granted.grant, granted.signature)
    assert _code(raised) == grpc.StatusCode.NOT_FOUND, "no data at the MEC yet"

    ward.mec.analyses.record(pseudonym, SpO2Scale.SCALE_1, Reading(SensorKind.SPO2, 0, (91.0,)))
    assert await ward.read("alice") == vitals_pb2.ALERT_LEVEL_URGENT_WARD
    assert await ward.read("bob") == vitals_pb2.ALERT_LEVEL_URGENT_WARD
    assert _sample(ward.mec, "accepted") == 2
    assert _sample(ward.mec, "not_found") == 1
    operations = ward.mec.metrics.registry.get_sample_value(
        "mec5g_operations_total",
        {"role": "mec", "phase": "user_request", "operation": "Tm", "origin": "ours"},
    )
    # Verifying the grant (2 Tm), sealing (2) and signing (1) twice; the unknown one verified only.
    assert operations == 2 * 5 + 2
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
        await ward.grant(user, "no-such-analysis" if other_analysis else None)
    assert _code(raised) == grpc.StatusCode.PERMISSION_DENIED
    assert raised.value.details() == "not authorised for that analysis"


async def test_an_unknown_node_is_not_found_and_a_bad_key_is_named(ward: Ward) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await ward.grant("alice", node="mec-elsewhere")
    assert _code(raised) == grpc.StatusCode.NOT_FOUND
    for purpose, key, field in ((1, b"\x02" * 5, "requester_key"), (0, key_of(), "purpose")):
        body = user_access_pb2.GrantAccessBody(
            analysis_id=ward.analysis_id,
            mec_node=MEC_NODE,
            requester_key=key,
            purpose=purpose,  # type: ignore[arg-type]
        )
        request = user_access_pb2.GrantAccessRequest(
            signed=user_app.signed(ward.users["alice"], "GrantAccess", body)
        )
        with pytest.raises(grpc.aio.AioRpcError) as raised:
            await ward.access.GrantAccess(request)
        assert _code(raised) == grpc.StatusCode.INVALID_ARGUMENT
        assert field in str(raised.value.details())


def key_of() -> bytes:
    return ephemeral_key().public


def _ca(ttp_db: StoreLocation) -> ecqv.KeyPair:
    database = open_database(ttp_db)
    try:
        with database.reading() as connection:
            raw = read_secret(connection.execute, "?", Sealer(None), schema.CA_SECRET)
    finally:
        database.close()
    assert raw is not None
    private = int.from_bytes(raw, "big")
    return ecqv.KeyPair(private, ecqv.public_key(private))


async def test_replayed_tampered_forged_expired_and_misdirected_grants_fail_alike(
    ward: Ward,
) -> None:
    _, granted = await ward.grant("alice")
    pseudonym = Grant.decode(granted.grant).pseudonym
    ward.mec.analyses.record(pseudonym, SpO2Scale.SCALE_1, Reading(SensorKind.SPO2, 0, (97.0,)))
    await ward.present(granted.grant, granted.signature)
    tampered = bytearray(granted.grant)
    tampered[40] ^= 1
    ca = _ca(ward.ttp_db)
    stranger = ephemeral_key()
    key = ephemeral_key().public
    now = time.time()

    def signed_by(authority: ecqv.KeyPair, node: str, expires: float) -> tuple[bytes, bytes]:
        return issue_grant(authority, GrantPurpose.RESULTS, pseudonym, key, node, expires)

    attempts = {
        "replayed": (granted.grant, granted.signature),
        "tampered": (bytes(tampered), granted.signature),
        "forged": signed_by(stranger, MEC_NODE, now + 60),
        "expired": signed_by(ca, MEC_NODE, now - 1),
        "another node's": signed_by(ca, "mec-2", now + 60),
    }
    for what, (grant, signature) in attempts.items():
        with pytest.raises(grpc.aio.AioRpcError) as raised:
            await ward.present(grant, signature)
        assert _code(raised) == grpc.StatusCode.UNAUTHENTICATED, what
        assert raised.value.details() == AUTHENTICATION_FAILED, what
    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await ward.present(granted.grant, b"short")
    assert _code(raised) == grpc.StatusCode.INVALID_ARGUMENT
    for reason in ("replayed_grant", "bad_signature", "expired_grant", "grant_for_another_node"):
        assert _sample(ward.mec, reason) >= 1, reason


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


async def test_a_sepsis_reaches_the_watching_doctor_and_patient_once(
    ward: Ward, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    # bob's watch by hand, to see the messages as they travel; alice's through her app.
    key, granted = await ward.grant("bob", purpose=GrantPurpose.WATCH)
    bob = ward.alerts.Watch(
        mec_alerts_pb2.WatchRequest(grant=granted.grant, grant_signature=granted.signature)
    )
    opened = await asyncio.wait_for(anext(aiter(bob)), BOUND)
    assert not opened.sealed_alert, "the first message says the watch is open"
    assert opened.mec_certificate
    alice = user_app.watch_emergencies(
        ward.access, ward.alerts, ward.users["alice"], ward.analysis_id, MEC_NODE
    )
    alice_alert = asyncio.ensure_future(anext(alice))
    await _until(lambda: ward.mec.alerts.watching() == 2)
    for doctor in ("carol", "dave"):
        with pytest.raises(grpc.aio.AioRpcError) as raised:
            await ward.grant(doctor, purpose=GrantPurpose.WATCH)
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
    alert = mec_alerts_pb2.Emergency()
    alert.ParseFromString(
        open_report(
            key,
            ward.users["bob"].ca_public,
            granted.grant,
            message.mec_certificate,
            message.sealed_alert,
            message.signature,
        )
    )
    assert alert.level == vitals_pb2.ALERT_LEVEL_EMERGENCY
    assert alert.aggregate >= 7
    assert alert.pseudonym == Grant.decode(granted.grant).pseudonym.hex()
    tampered = bytearray(message.sealed_alert)
    tampered[40] ^= 1
    with pytest.raises(AuthenticationFailed):
        open_report(
            key,
            ward.users["bob"].ca_public,
            granted.grant,
            message.mec_certificate,
            bytes(tampered),
            message.signature,
        )
    # What the MEC keeps for phases 5 and 6 (open watches, spent grants, the emergency raised,
    # and the analyses and sessions) names no user, no analysis and no patient attribute.
    alerts = ward.mec.alerts
    stored = [
        value.encode() if isinstance(value, str) else value
        for value in stored_values(
            [
                [
                    (pseudonym, nonce, watch.grant)  # the queues hold nothing yet
                    for pseudonym, watches in alerts._watches.items()
                    for nonce, watch in watches.items()
                ],
                alerts._emergencies,
                alerts._gate,
                list(ward.mec.analyses),
                ward.mec.sessions.sessions(),
            ]
        )
    ]
    assert len(stored) > 10, "the walk found the watches, grants and analyses"
    secrets = [user.encode() for user in ward.users] + [ward.analysis_id.encode(), b"penicillin"]
    assert not [secret for secret in secrets for value in stored if secret in value]
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


async def test_watch_grants_are_refused_like_results_grants(ward: Ward) -> None:
    _, results = await ward.grant("bob")
    _, watch = await ward.grant("bob", purpose=GrantPurpose.WATCH)
    for grant, signature in (
        (results.grant, results.signature),  # a results grant opens no watch
        (watch.grant, b"\x00" * 64),
    ):
        stream = ward.alerts.Watch(
            mec_alerts_pb2.WatchRequest(grant=grant, grant_signature=signature)
        )
        with pytest.raises(grpc.aio.AioRpcError) as raised:
            await anext(aiter(stream))
        assert _code(raised) == grpc.StatusCode.UNAUTHENTICATED
        assert raised.value.details() == AUTHENTICATION_FAILED
    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await ward.present(watch.grant, watch.signature)  # nor a watch grant results
    assert _code(raised) == grpc.StatusCode.UNAUTHENTICATED


async def test_the_ttp_involves_only_watches_of_the_node_and_pseudonym_and_refuses_forgeries(
    ward: Ward,
) -> None:
    key, watch = await ward.grant("bob", purpose=GrantPurpose.WATCH)
    watched = Grant.decode(watch.grant)
    now_ms = int(time.time() * 1000)

    def raised(
        *,
        pseudonym: bytes = watched.pseudonym,
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
            watch_grants=[watched.nonce, bytes(16)],
        ).SerializeToString()
        pair = signer or ward.node.pair
        signature = user_crypto.sign(pair, emergency_method(), node, body)
        return emergency_pb2.RaiseEmergencyRequest(node=node, body=body, signature=signature)

    genuine = raised()
    answer = await ward.emergency.RaiseEmergency(genuine)
    assert [involved.watch_grant for involved in answer.involved] == [watched.nonce]
    context = emergency_pb2.EmergencyContext()
    context.ParseFromString(
        user_crypto.open_sealed(
            key,
            answer.involved[0].sealed_context,
            purpose=CONTEXT_PURPOSE,
            associated_data=watched.nonce,
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
