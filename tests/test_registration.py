"""Phases 1 and 2 over real gRPC: registration with enrolment codes, monitoring initialisation
with sealed credentials provisioned into a UE, key agreement with them, and the life cycle.

Every refusal is checked for its status and for writing nothing (one transaction per operation).
The TTP runs on each backend in turn: a SQLite file, then a PostgreSQL database.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import sqlite3
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import grpc
import pytest
from grpc_stack import MEC_NODE, start_mec, start_ttp, start_ue
from store_backends import dump

from mec5g.core import ecqv
from mec5g.core.profiles import AccessPolicy, DoctorAttributes, PatientAttributes, Role
from mec5g.runtime.grpc_server import channel
from mec5g.runtime.wallet import Wallet
from mec5g.ttp.enrolment import enrol_mec
from mec5g.ttp.registry import Refused, Registry
from mec5g.ttp.server import RunningTtp
from mec5g.ttp.stores import StoreLocation, store_flags
from mec5g.ue import user_app
from mec5g.ue.fleet import Outcome
from mec5g.v1 import (
    monitoring_pb2,
    monitoring_pb2_grpc,
    registration_pb2,
    registration_pb2_grpc,
    ue_control_pb2,
    ue_provisioning_pb2,
    ue_provisioning_pb2_grpc,
)

PATIENT = PatientAttributes.checked(["penicillin"], "O-")
DOCTOR = DoctorAttributes.checked("endocrinology", "St Mary")


@dataclass
class Stack:
    directory: Path
    registry: Registry
    registration: registration_pb2_grpc.RegistrationServiceStub
    monitoring: monitoring_pb2_grpc.MonitoringServiceStub
    ttp_target: str
    ttp: RunningTtp

    def code(self, user_id: str, role: Role, ttl: float = 600) -> str:
        return self.registry.issue_enrolment_code(user_id, role, ttl)

    async def register(
        self, user_id: str, role: Role = Role.PATIENT, attributes: object = None
    ) -> Wallet:
        chosen = attributes or (PATIENT if role is Role.PATIENT else DOCTOR)
        assert isinstance(chosen, PatientAttributes | DoctorAttributes)
        return await user_app.register(
            self.registration, user_id, role, self.code(user_id, role), chosen
        )


@pytest.fixture
async def stack(tmp_path: Path, store_location: StoreLocation) -> AsyncIterator[Stack]:
    async with contextlib.AsyncExitStack() as exits:
        ttp = await start_ttp(exits, store_location)
        ttp_channel = channel(ttp.target)
        exits.push_async_callback(ttp_channel.close)
        registry = exits.enter_context(Registry(store_location))
        yield Stack(
            tmp_path,
            registry,
            registration_pb2_grpc.RegistrationServiceStub(ttp_channel),
            monitoring_pb2_grpc.MonitoringServiceStub(ttp_channel),
            ttp.target,
            ttp,
        )


def _rows(stack: Stack) -> dict[str, list[tuple[object, ...]]]:
    """Everything phases 1 and 2 write, to show that a refusal wrote nothing."""
    with stack.registry.database.reading() as connection:
        return {
            table: sorted(
                (tuple(row) for row in connection.execute(f"SELECT * FROM {table}")),  # noqa: S608
                key=repr,
            )
            for table in (
                "users",
                "enrolment_codes",
                "analyses",
                "analysis_devices",
                "credential_records",
                "analysis_settings",
            )
        }


async def _refused(call: object, code: grpc.StatusCode, stack: Stack, text: str = "") -> str:
    before = _rows(stack)
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await call  # type: ignore[misc]
    assert caught.value.code() == code, caught.value.details()
    assert text in (caught.value.details() or "")
    assert _rows(stack) == before
    return caught.value.details() or ""


async def test_registration_gives_the_user_alone_its_key(stack: Stack) -> None:
    wallet = await stack.register("alice")
    authority = await stack.registration.GetAuthority(registration_pb2.GetAuthorityRequest())
    assert wallet.ca_public == authority.ca_public_key == stack.registry.ca_public
    stored = stack.registry.user("alice")
    assert stored is not None
    assert stored.public_key == wallet.pair.public
    assert stored.certificate == wallet.certificate
    assert ecqv.reconstruct_public(
        ecqv.Certificate.parse(stored.certificate), wallet.ca_public
    ) == (wallet.pair.public)
    # The TTP holds no private scalar of the user anywhere in its database.
    raw = dump(stack.registry.location)
    private = ecqv.scalar_bytes(wallet.pair.private)
    assert private not in raw
    assert private.hex().encode() not in raw.lower()
    wallet.write(stack.directory / "alice.json")
    assert Wallet.read(stack.directory / "alice.json") == wallet


async def test_enrolment_codes_are_single_use_bound_and_expiring(stack: Stack) -> None:
    _, point = ecqv.request("bob")

    def register(code: str, user_id: str = "bob", role: Role = Role.PATIENT) -> object:
        request = registration_pb2.RegisterRequest(
            enrolment_code=code, user_id=user_id, role=int(role), request_point=point
        )
        if role is Role.PATIENT:
            request.patient.blood_group = "A+"
        else:
            request.doctor.CopyFrom(registration_pb2.DoctorAttributes(expertise="x", hospital="y"))
        return stack.registration.Register(request)

    code = stack.code("bob", Role.PATIENT)
    unauthenticated = grpc.StatusCode.UNAUTHENTICATED
    details = {
        await _refused(register("not-a-code"), unauthenticated, stack),
        await _refused(register(code, user_id="mallory"), unauthenticated, stack),
        await _refused(register(code, role=Role.DOCTOR), unauthenticated, stack),
    }
    assert details == {"authentication failed"}  # never says why
    await register(code)
    await _refused(register(code), unauthenticated, stack, "authentication failed")
    # An expired code: the registry's clock moved past it.
    old = stack.code("carol", Role.PATIENT, ttl=60)
    with (
        Registry(stack.registry.location, clock=lambda: 4e9) as late,
        pytest.raises(Refused, match="expired_enrolment_code"),
    ):
        late.register(old, "carol", Role.PATIENT, point, PatientAttributes())


async def test_double_registration_and_bad_fields(stack: Stack) -> None:
    await stack.register("dave")
    # A second code for a registered identity is refused at issue time...
    with pytest.raises(Refused, match="registered already"):
        stack.code("dave", Role.PATIENT)
    # ...and a code issued before the first registration cannot register it twice.
    first, second = stack.code("erin", Role.DOCTOR), stack.code("erin", Role.DOCTOR)
    await user_app.register(stack.registration, "erin", Role.DOCTOR, first, DOCTOR)
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await user_app.register(stack.registration, "erin", Role.DOCTOR, second, DOCTOR)
    assert caught.value.code() == grpc.StatusCode.ALREADY_EXISTS
    code = stack.code("frank", Role.PATIENT)
    bad_point = registration_pb2.RegisterRequest(
        enrolment_code=code, user_id="frank", role=Role.PATIENT, request_point=b"\x02" * 32
    )
    bad_point.patient.SetInParent()
    await _refused(
        stack.registration.Register(bad_point),
        grpc.StatusCode.INVALID_ARGUMENT,
        stack,
        "request_point must be exactly 33 bytes",
    )
    wrong_attributes = registration_pb2.RegisterRequest(
        enrolment_code=code,
        user_id="frank",
        role=Role.PATIENT,
        request_point=ecqv.request("frank")[1],
        doctor=registration_pb2.DoctorAttributes(expertise="x", hospital="y"),
    )
    await _refused(
        stack.registration.Register(wrong_attributes),
        grpc.StatusCode.INVALID_ARGUMENT,
        stack,
        "attributes",
    )


async def test_monitoring_initialisation_provisions_devices_that_then_agree_keys(
    stack: Stack,
) -> None:
    patient = await stack.register("paula")
    analysis_id, credentials = await user_app.create_analysis(
        stack.monitoring, patient, ["glucose", "blood-pressure"], AccessPolicy()
    )
    assert set(credentials) == {"paula/glucose", "paula/blood-pressure"}
    async with contextlib.AsyncExitStack() as exits:
        enrol_mec(stack.registry.location, stack.directory / "mec.json", MEC_NODE, 2)
        mec = await start_mec(
            exits, stack.directory / "mec.db", stack.directory / "mec.json", stack.ttp_target
        )
        ue = await start_ue(exits, stack.directory / "ue.db", None, mec.target)
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await ue.stub.Attach(ue_control_pb2.AttachRequest())
        assert caught.value.code() == grpc.StatusCode.FAILED_PRECONDITION
        ue_channel = channel(ue.target)
        exits.push_async_callback(ue_channel.close)
        provisioning = ue_provisioning_pb2_grpc.UeProvisioningServiceStub(ue_channel)
        installed = await user_app.provision(provisioning, credentials)
        assert (installed.installed, installed.replaced) == (2, 0)
        for name in credentials:
            report = await ue.stub.Attach(ue_control_pb2.AttachRequest(device=name))
            assert report.outcome == Outcome.SUCCESS, name
        # Revoke one device: its next key agreement fails; the other goes on.
        body = monitoring_pb2.DevicesBody(analysis_id=analysis_id, devices=["glucose"])
        await stack.monitoring.RevokeDevice(
            monitoring_pb2.RevokeDeviceRequest(
                signed=user_app.signed(patient, "RevokeDevice", body)
            )
        )
        revoked = await ue.stub.Attach(ue_control_pb2.AttachRequest(device="paula/glucose"))
        assert revoked.outcome == Outcome.REFUSED
        still = await ue.stub.Attach(ue_control_pb2.AttachRequest(device="paula/blood-pressure"))
        assert still.outcome == Outcome.SUCCESS
        # The patient asks for a fresh credential, installs it, and the device agrees again.
        body = monitoring_pb2.DevicesBody(analysis_id=analysis_id, devices=["glucose"])
        answer = await stack.monitoring.ReprovisionDevice(
            monitoring_pb2.ReprovisionDeviceRequest(
                signed=user_app.signed(patient, "ReprovisionDevice", body)
            )
        )
        fresh = user_app.open_credentials(
            patient, "ReprovisionDevice", analysis_id, answer.sealed_credentials
        )
        assert fresh["paula/glucose"] != credentials["paula/glucose"]
        installed = await user_app.provision(provisioning, fresh)
        assert (installed.installed, installed.replaced) == (0, 1)
        again = await ue.stub.Attach(ue_control_pb2.AttachRequest(device="paula/glucose"))
        assert again.outcome == Outcome.SUCCESS


async def test_signed_requests_refuse_forgery_replay_and_wrong_roles(stack: Stack) -> None:
    patient = await stack.register("quinn")
    doctor = await stack.register("rita", Role.DOCTOR)
    body = monitoring_pb2.CreateAnalysisBody(devices=[monitoring_pb2.DeviceSpec(device="ecg")])
    signed = user_app.signed(patient, "CreateAnalysis", body)
    unauthenticated = grpc.StatusCode.UNAUTHENTICATED
    forged = monitoring_pb2.SignedBody()
    forged.CopyFrom(signed)
    forged.signature = bytes([signed.signature[0] ^ 1]) + signed.signature[1:]
    impostor = monitoring_pb2.SignedBody()
    impostor.CopyFrom(signed)
    impostor.user_id = "rita"
    unknown = monitoring_pb2.SignedBody()
    unknown.CopyFrom(signed)
    unknown.user_id = "nobody"
    # A signature for one method does not pass for another.
    as_list = monitoring_pb2.SignedBody()
    as_list.CopyFrom(signed)
    for bad in (forged, impostor, unknown):
        await _refused(
            stack.monitoring.CreateAnalysis(monitoring_pb2.CreateAnalysisRequest(signed=bad)),
            unauthenticated,
            stack,
            "authentication failed",
        )
    await _refused(
        stack.monitoring.ListAnalyses(monitoring_pb2.ListAnalysesRequest(signed=as_list)),
        unauthenticated,
        stack,
    )
    await stack.monitoring.CreateAnalysis(monitoring_pb2.CreateAnalysisRequest(signed=signed))
    await _refused(
        stack.monitoring.CreateAnalysis(monitoring_pb2.CreateAnalysisRequest(signed=signed)),
        unauthenticated,
        stack,
    )
    by_doctor = user_app.signed(doctor, "CreateAnalysis", body)
    await _refused(
        stack.monitoring.CreateAnalysis(monitoring_pb2.CreateAnalysisRequest(signed=by_doctor)),
        grpc.StatusCode.PERMISSION_DENIED,
        stack,
    )
    short = monitoring_pb2.SignedBody(user_id="quinn", body=signed.body, signature=b"\x00" * 63)
    await _refused(
        stack.monitoring.CreateAnalysis(monitoring_pb2.CreateAnalysisRequest(signed=short)),
        grpc.StatusCode.INVALID_ARGUMENT,
        stack,
        "signed.signature must be exactly 64 bytes",
    )


async def test_device_rules_and_tampered_credentials(stack: Stack) -> None:
    patient = await stack.register("sam")
    first, credentials = await user_app.create_analysis(
        stack.monitoring, patient, ["spo2", "ecg"], AccessPolicy()
    )
    body = monitoring_pb2.CreateAnalysisBody(devices=[monitoring_pb2.DeviceSpec(device="spo2")])
    await _refused(
        stack.monitoring.CreateAnalysis(
            monitoring_pb2.CreateAnalysisRequest(
                signed=user_app.signed(patient, "CreateAnalysis", body)
            )
        ),
        grpc.StatusCode.FAILED_PRECONDITION,
        stack,
        "another open analysis",
    )
    add = monitoring_pb2.AddDevicesBody(
        analysis_id=first,
        devices=[monitoring_pb2.DeviceSpec(device="hr"), monitoring_pb2.DeviceSpec(device="ecg")],
    )
    await _refused(
        stack.monitoring.AddDevices(
            monitoring_pb2.AddDevicesRequest(signed=user_app.signed(patient, "AddDevices", add))
        ),
        grpc.StatusCode.ALREADY_EXISTS,
        stack,
        "'ecg'",
    )
    twice = monitoring_pb2.CreateAnalysisBody(
        devices=[monitoring_pb2.DeviceSpec(device="x"), monitoring_pb2.DeviceSpec(device="x")]
    )
    await _refused(
        stack.monitoring.CreateAnalysis(
            monitoring_pb2.CreateAnalysisRequest(
                signed=user_app.signed(patient, "CreateAnalysis", twice)
            )
        ),
        grpc.StatusCode.INVALID_ARGUMENT,
        stack,
        "named twice",
    )
    # Tampered sealed credentials do not open; another patient cannot open them either.
    add = monitoring_pb2.AddDevicesBody(
        analysis_id=first, devices=[monitoring_pb2.DeviceSpec(device="hr")]
    )
    answer = await stack.monitoring.AddDevices(
        monitoring_pb2.AddDevicesRequest(signed=user_app.signed(patient, "AddDevices", add))
    )
    sealed = bytearray(answer.sealed_credentials)
    sealed[-1] ^= 1
    from mec5g.core.errors import AuthenticationFailed

    with pytest.raises(AuthenticationFailed):
        user_app.open_credentials(patient, "AddDevices", first, bytes(sealed))
    other = await stack.register("tom")
    with pytest.raises(AuthenticationFailed):
        user_app.open_credentials(other, "AddDevices", first, answer.sealed_credentials)
    assert set(
        user_app.open_credentials(patient, "AddDevices", first, answer.sealed_credentials)
    ) == {"sam/hr"}
    # Another patient's analysis does not exist for tom; closing frees the devices.
    close = monitoring_pb2.AnalysisBody(analysis_id=first)
    await _refused(
        stack.monitoring.CloseAnalysis(
            monitoring_pb2.CloseAnalysisRequest(
                signed=user_app.signed(other, "CloseAnalysis", close)
            )
        ),
        grpc.StatusCode.NOT_FOUND,
        stack,
    )
    await stack.monitoring.CloseAnalysis(
        monitoring_pb2.CloseAnalysisRequest(signed=user_app.signed(patient, "CloseAnalysis", close))
    )
    assert not [row for row in _rows(stack)["credential_records"] if str(row[2]).startswith("sam/")]
    await _refused(
        stack.monitoring.AddDevices(
            monitoring_pb2.AddDevicesRequest(signed=user_app.signed(patient, "AddDevices", add))
        ),
        grpc.StatusCode.FAILED_PRECONDITION,
        stack,
        "closed",
    )
    second, _ = await user_app.create_analysis(stack.monitoring, patient, ["spo2"], AccessPolicy())
    assert second != first
    assert credentials


async def test_listing_follows_access_attributes(stack: Stack) -> None:
    patient = await stack.register("uma")
    by_name = await stack.register(
        "vera", Role.DOCTOR, DoctorAttributes.checked("cardiology", "North")
    )
    by_hospital = await stack.register(
        "will", Role.DOCTOR, DoctorAttributes.checked("surgery", "South")
    )
    outsider = await stack.register(
        "xena", Role.DOCTOR, DoctorAttributes.checked("surgery", "East")
    )
    analysis_id, _ = await user_app.create_analysis(
        stack.monitoring,
        patient,
        ["glucose", "ecg"],
        AccessPolicy.checked(["vera"], [], []),
        {"ecg": AccessPolicy.checked([], ["South"], [])},
    )

    async def listed(wallet: Wallet) -> dict[str, list[str]]:
        body = monitoring_pb2.ListAnalysesBody()
        answer = await stack.monitoring.ListAnalyses(
            monitoring_pb2.ListAnalysesRequest(signed=user_app.signed(wallet, "ListAnalyses", body))
        )
        return {a.analysis_id: [d.device for d in a.devices] for a in answer.analyses}

    assert await listed(patient) == {analysis_id: ["ecg", "glucose"]}
    assert await listed(by_name) == {analysis_id: ["glucose"]}  # ecg has its own policy
    assert await listed(by_hospital) == {analysis_id: ["ecg"]}
    assert await listed(outsider) == {}


async def test_a_doctor_allowed_to_read_an_analysis_sets_its_spo2_scale(stack: Stack) -> None:
    """Paper 4.1 step 4: the doctor chooses the analysis's parameters, through the TTP; the key
    store then seals the scale to the MEC at the next key agreement."""
    patient = await stack.register("yves")
    doctor = await stack.register(
        "zoe", Role.DOCTOR, DoctorAttributes.checked("respiratory", "North")
    )
    outsider = await stack.register(
        "abel", Role.DOCTOR, DoctorAttributes.checked("surgery", "East")
    )
    analysis_id, _ = await user_app.create_analysis(
        stack.monitoring, patient, ["spo2"], AccessPolicy.checked(["zoe"], [], [])
    )

    def request(wallet: Wallet, scale: int, analysis: str = analysis_id) -> object:
        body = monitoring_pb2.AnalysisSettingsBody(analysis_id=analysis, spo2_scale=scale)
        signed = user_app.signed(wallet, "SetAnalysisSettings", body)
        return stack.monitoring.SetAnalysisSettings(
            monitoring_pb2.SetAnalysisSettingsRequest(signed=signed)
        )

    for wallet in (outsider, patient):
        await _refused(request(wallet, 2), grpc.StatusCode.PERMISSION_DENIED, stack)
    unknown = await _refused(request(outsider, 2, "a-0"), grpc.StatusCode.PERMISSION_DENIED, stack)
    assert unknown == await _refused(request(outsider, 2), grpc.StatusCode.PERMISSION_DENIED, stack)
    await _refused(request(doctor, 3), grpc.StatusCode.INVALID_ARGUMENT, stack, "spo2_scale")

    answer = await request(doctor, 2)  # type: ignore[misc]
    assert answer.spo2_scale == 2
    assert _rows(stack)["analysis_settings"] == [(analysis_id, 2)]


def test_schema_migrates_a_version_1_store_and_refuses_a_newer_one(tmp_path: Path) -> None:
    from mec5g.ttp import schema

    path = tmp_path / "old.db"
    connection = sqlite3.connect(path)
    schema.current_version(connection)
    schema.MIGRATIONS[0](connection)
    connection.execute("INSERT INTO schema_version VALUES (1)")
    connection.execute(
        "INSERT INTO credential_records (kind, label, owner, rule, confirmed_did, confirmed_dk, "
        "last_counter, enrolled_at) VALUES ('device', 'dev-1', 'a', 1, ?, ?, ?, 0)",
        (b"\x01" * 16, b"\x02" * 16, bytes(16)),
    )
    connection.commit()
    connection.close()
    assert schema.migrate(path) == 1
    assert schema.migrate(path) == schema.SCHEMA_VERSION  # again: nothing to do
    registry = Registry(path)
    assert len(registry.ca_public) == 33
    connection = sqlite3.connect(path)
    assert connection.execute("SELECT label FROM credential_records").fetchall() == [("dev-1",)]
    assert connection.execute("SELECT version FROM schema_version").fetchall() == [
        (schema.SCHEMA_VERSION,)
    ]
    connection.execute("UPDATE schema_version SET version = 99")
    connection.commit()
    connection.close()
    with pytest.raises(schema.SchemaTooNew, match="schema version 99"):
        schema.migrate(path)


async def _cli(*args: str) -> tuple[int, str, str]:
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "mec5g", "--log-level", "WARNING", *args,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    out, err = await asyncio.wait_for(process.communicate(), timeout=60)
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()


async def test_the_patient_app_from_the_command_line(stack: Stack) -> None:
    ttp = ("--ttp", stack.ttp_target)
    wallet = stack.directory / "yara.json"
    code, out, err = await _cli(
        "ttp", "enrolment-code", *store_flags(stack.registry.location), "--user", "yara",
        "--role", "patient", "--ttl", "60",
    )  # fmt: skip
    assert code == 0, err
    enrolment_code = out.strip()
    register = ("user", "register", *ttp, "--user", "yara", "--role", "patient")
    code, out, err = await _cli(
        *register, "--wallet", str(wallet), "--code", enrolment_code, "--blood-group", "AB-"
    )
    assert code == 0, err
    assert Wallet.read(wallet).pair.public.hex() in out
    code, _, err = await _cli(
        *register, "--wallet", str(stack.directory / "again.json"), "--code", enrolment_code
    )
    assert (code, err.strip()) == (1, "UNAUTHENTICATED: authentication failed")
    out_file = stack.directory / "devices.json"
    code, out, err = await _cli(
        "analysis", "create", *ttp, "--wallet", str(wallet), "--device", "glucose",
        "--device", "blood-pressure", "--hospital", "North", "--out", str(out_file),
    )  # fmt: skip
    assert code == 0, err
    analysis_id = out.split()[1].rstrip(":")
    assert set(json.loads(out_file.read_text())["holders"][0]) == {"name", "did", "dk"}
    same = ("--wallet", str(wallet), "--analysis", analysis_id)
    for command, expected in (
        (("revoke", "--device", "glucose"), "revoked 1 devices"),
        (("remove-devices", "--device", "blood-pressure"), "removed 1 devices"),
        (("close",), f"closed {analysis_id}"),
    ):
        code, out, err = await _cli("analysis", command[0], *ttp, *same, *command[1:])
        assert (code, out.strip()) == (0, expected), err
    code, out, err = await _cli("analysis", "list", *ttp, "--wallet", str(wallet))
    assert code == 0, err
    [listed] = json.loads(out)["analyses"]
    assert listed["access"] == {"hospitals": ["North"]}
    assert [device["device"] for device in listed["devices"]] == ["glucose"]
    assert listed["devices"][0]["revoked"] is True
    code, _, err = await _cli("analysis", "close", *ttp, *same)
    assert code == 1
    assert "FAILED_PRECONDITION" in err
    # Anyone checks every registered key against its certificate and the CA key.
    certificates = stack.directory / "certificates.json"
    code, out, err = await _cli("ttp", "certificates", *store_flags(stack.registry.location))
    assert code == 0, err
    certificates.write_text(out)
    assert [entry["identity"] for entry in json.loads(out)["certs"]] == ["yara"]
    code, out, err = await _cli("ecqv", "verify", str(certificates))
    assert (code, out.strip()) == (0, "all 1 certificates match"), err
    tampered = json.loads(certificates.read_text())
    tampered["ca_public"] = ecqv.public_key(2).hex()
    certificates.write_text(json.dumps(tampered))
    code, out, err = await _cli("ecqv", "verify", str(certificates))
    assert code == 1
    assert out.startswith("certs[0]: public key")


async def test_health_attributes_reach_no_log_and_no_metric(
    stack: Stack, caplog: pytest.LogCaptureFixture
) -> None:
    from prometheus_client import generate_latest

    caplog.set_level(logging.DEBUG)
    allergy = "distinctive-allergy-7731"
    patient = await stack.register("zoe", attributes=PatientAttributes.checked([allergy], "B-"))
    doctor = await stack.register("yann", Role.DOCTOR)
    await user_app.create_analysis(stack.monitoring, patient, ["ecg"], AccessPolicy())
    await user_app.call(stack.monitoring, doctor, "ListAnalyses", monitoring_pb2.ListAnalysesBody())
    exposed = generate_latest(stack.ttp.metrics.registry).decode() + caplog.text
    for secret in (allergy, "B-", "zoe", "yann", ecqv.scalar_bytes(patient.pair.private).hex()):
        assert secret not in exposed
    assert 'phase="registration"' in exposed
    assert 'phase="initialisation"' in exposed
    assert repr(PATIENT) == "PatientAttributes()"


async def test_reprovisioning_forgets_the_old_credential_at_once(stack: Stack) -> None:
    patient = await stack.register("abe")
    analysis_id, credentials = await user_app.create_analysis(
        stack.monitoring, patient, ["glucose"], AccessPolicy()
    )
    async with contextlib.AsyncExitStack() as exits:
        enrol_mec(stack.registry.location, stack.directory / "mec.json", MEC_NODE, 1)
        mec = await start_mec(
            exits, stack.directory / "mec.db", stack.directory / "mec.json", stack.ttp_target
        )
        ue = await start_ue(exits, stack.directory / "ue.db", None, mec.target)
        ue_channel = channel(ue.target)
        exits.push_async_callback(ue_channel.close)
        provisioning = ue_provisioning_pb2_grpc.UeProvisioningServiceStub(ue_channel)
        await user_app.provision(provisioning, credentials)
        body = monitoring_pb2.DevicesBody(analysis_id=analysis_id, devices=["glucose"])
        answer = await user_app.call(stack.monitoring, patient, "ReprovisionDevice", body)
        old = await ue.stub.Attach(ue_control_pb2.AttachRequest(device="abe/glucose"))
        assert old.outcome == Outcome.REFUSED
        fresh = user_app.open_credentials(
            patient, "ReprovisionDevice", analysis_id, answer.sealed_credentials
        )
        await user_app.provision(provisioning, fresh)
        new = await ue.stub.Attach(ue_control_pb2.AttachRequest(device="abe/glucose"))
        assert new.outcome == Outcome.SUCCESS
        for name, did, version, field in (
            ("no-slash", bytes(16), 1, "device"),
            ("abe/x", bytes(15), 1, "did must be exactly 16 bytes"),
            ("abe/x", bytes(16), 0, "version must be one of"),
        ):
            bad = ue_provisioning_pb2.ProvisionedDevice(
                device=name, did=did, dk=bytes(16), version=version
            )
            with pytest.raises(grpc.aio.AioRpcError) as caught:
                await provisioning.Provision(ue_provisioning_pb2.ProvisionRequest(devices=[bad]))
            assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
            assert field in (caught.value.details() or "")


async def test_a_store_that_cannot_commit_is_unavailable_and_writes_nothing(
    stack: Stack, monkeypatch: pytest.MonkeyPatch
) -> None:
    patient = await stack.register("bea")

    def broken(*args: object, **kwargs: object) -> None:
        raise sqlite3.OperationalError("disk I/O error")

    monkeypatch.setattr(Registry, "create_analysis", broken)
    body = monitoring_pb2.CreateAnalysisBody(devices=[monitoring_pb2.DeviceSpec(device="ecg")])
    await _refused(
        stack.monitoring.CreateAnalysis(
            monitoring_pb2.CreateAnalysisRequest(
                signed=user_app.signed(patient, "CreateAnalysis", body)
            )
        ),
        grpc.StatusCode.UNAVAILABLE,
        stack,
        "store unavailable",
    )
