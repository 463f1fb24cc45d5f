"""Both device key agreements live over real gRPC (``--scheme braeken2021|baseline36``): TTP,
MEC and UE on localhost, as ``mec5g up`` runs them.

Covers, for each scheme: devices attach through the UE's control service, stream readings that
the MEC analyses under the analysis's pseudonym, and every entity's Prometheus operation counts
per handshake equal the instrumented core's (the paper's Table 1 units; [36] as reconstructed,
docs/evaluation.md), with the messages' bytes as the core makes them. For [36]: a forged M1 (a
flipped byte, an identity from another CA, a device whose record was revoked) is refused with
one fixed message and counted by reason at the TTP only; an M1 of impossible size is named; a
MEC and TTP that run different schemes say so; a device's identity is enrolled once.
"""

from __future__ import annotations

import contextlib
import sqlite3
import stat
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import grpc
import pytest
from grpc_stack import MEC_NODE, Ue, enrol_mec_identity, start_mec, start_ttp, start_ue

from mec5g.bench import paper
from mec5g.core import anonymous_agreement
from mec5g.core.anonymous_agreement import Purpose
from mec5g.mec.server import RunningMec
from mec5g.runtime.device_identities import DeviceIdentities, IdentityStore
from mec5g.runtime.grpc_server import channel
from mec5g.runtime.holder_store import EnrolmentFile
from mec5g.runtime.scheme import Scheme
from mec5g.runtime.status import AUTHENTICATION_FAILED
from mec5g.ttp.enrolment import enrol_devices, enrol_identities
from mec5g.ttp.keystore import EnrolmentRefused
from mec5g.ttp.registry import Registry
from mec5g.ttp.server import RunningTtp
from mec5g.ttp.stores import StoreLocation
from mec5g.ue.fleet import Outcome
from mec5g.v1 import (
    anonymous_key_agreement_pb2,
    anonymous_key_agreement_pb2_grpc,
    ue_control_pb2,
)

ANALYSIS = "patient-001"
DEVICES = 3
# Per handshake and entity, origin paper (Table 1's units): the paper's scheme's, and [36]'s as
# reconstructed (tests/test_anonymous_agreement.py asserts them against the core directly).
EXPECTED = {
    Scheme.BRAEKEN2021: {"ue": {"Th": 2.0}, "mec": {"Th": 2.0}, "ttp": {"Th": 3.0}},
    Scheme.BASELINE36: {
        "ue": {"Tm": 5.0, "Ts": 2.0, "Th": 7.0},
        "mec": {"Tm": 5.0, "Ts": 2.0, "Th": 7.0},
        "ttp": {"Tm": 8.0, "Ta": 4.0, "Ts": 4.0, "Th": 8.0},
    },
}


@dataclass
class Bed:
    scheme: Scheme
    ttp: RunningTtp
    mec: RunningMec
    ue: Ue
    ttp_db: StoreLocation
    enrolment: EnrolmentFile


@contextlib.asynccontextmanager
async def running(
    directory: Path, scheme: Scheme, store: StoreLocation | None = None
) -> AsyncIterator[Bed]:
    """Three devices of one analysis (with ECQV identities), a MEC node with its identity; the
    TTP's store a SQLite file unless ``store`` names another (a PostgreSQL URL)."""
    ttp_db = store or directory / "ttp.db"
    ue_file = directory / "ue.json"
    enrolment = enrol_devices(ttp_db, ue_file, DEVICES, analysis=ANALYSIS, identities=True)
    wallet = enrol_mec_identity(directory, ttp_db, MEC_NODE, 2)
    async with contextlib.AsyncExitStack() as stack:
        ttp = await start_ttp(stack, ttp_db, scheme=scheme)
        mec = await start_mec(
            stack,
            directory / "mec.db",
            directory / f"{MEC_NODE}.json",
            ttp.target,
            identity=wallet,
            scheme=scheme,
        )
        ue = await start_ue(stack, directory / "ue.db", ue_file, mec.target, scheme=scheme)
        yield Bed(scheme, ttp, mec, ue, ttp_db, enrolment)


def _per_handshake(registry: object, role: str, handshakes: float) -> dict[str, float]:
    counted = {}
    for unit in paper.UNITS:
        labels = {"role": role, "phase": "key_agreement", "operation": unit, "origin": "paper"}
        value = registry.get_sample_value("mec5g_operations_total", labels)  # type: ignore[attr-defined]
        if value:
            counted[unit] = value / handshakes
    return counted


def _results(registry: object, role: str, outcome: str) -> float:
    labels = {"role": role, "phase": "key_agreement", "outcome": outcome}
    value = registry.get_sample_value("mec5g_phase_results_total", labels)  # type: ignore[attr-defined]
    return float(value or 0.0)


@pytest.mark.parametrize("scheme", list(Scheme), ids=[scheme.value for scheme in Scheme])
async def test_devices_attach_and_stream_under_each_scheme(tmp_path: Path, scheme: Scheme) -> None:
    async with running(tmp_path, scheme) as bed:
        for name in bed.ue.fleet.names:
            answer = await bed.ue.stub.Attach(ue_control_pb2.AttachRequest(device=name))
            assert answer.outcome == Outcome.SUCCESS, name
        streamer = bed.ue.running.streamer
        for name in bed.ue.fleet.names:
            assert await streamer.read_and_send(name)
        # The MEC analyses the three under the analysis's pseudonym, which the TTP vouched.
        with Registry(bed.ttp_db) as registry:
            pseudonym = registry.pseudonym(ANALYSIS, MEC_NODE)
        assert bed.mec.analyses.get(pseudonym) is not None
        assert [info.samples[0].value for info in bed.mec.metrics.scheme.collect()] == [1.0]
        assert bed.mec.metrics.registry.get_sample_value(
            "mec5g_scheme_info", {"role": "mec", "scheme": scheme.value}
        )
        registries = {
            "ue": bed.ue.running.metrics.registry,
            "mec": bed.mec.metrics.registry,
            "ttp": bed.ttp.metrics.registry,
        }
        assert _results(registries["ue"], "ue", "success") == DEVICES
        assert _results(registries["mec"], "mec", "accepted") == DEVICES
        assert _results(registries["ttp"], "ttp", "accepted") == DEVICES
        for role, expected in EXPECTED[scheme].items():
            assert _per_handshake(registries[role], role, DEVICES) == expected, role
        if scheme is Scheme.BASELINE36:
            m1 = anonymous_agreement.m1_bytes(len("dev-0001"), 0)
            sizes = {
                ("ue", "M1"): m1,
                ("mec", "M2"): anonymous_agreement.m2_bytes(m1, len(MEC_NODE)),
                ("ttp", "M3"): anonymous_agreement.M3_TAG_BYTES,
                ("mec", "M4"): anonymous_agreement.M4_BYTES,
            }
            for (role, message), size in sizes.items():
                sent = registries[role].get_sample_value(
                    "mec5g_message_bytes_total",
                    {"role": role, "message": message, "origin": "paper"},
                )
                assert sent == DEVICES * size, message


def _flip(message: bytes, index: int) -> bytes:
    return message[:index] + bytes([message[index] ^ 1]) + message[index + 1 :]


async def test_baseline36_runs_on_the_postgresql_store(tmp_path: Path, postgres_url: str) -> None:
    """[36]'s device identities live beside the records on either backend."""
    async with running(tmp_path, Scheme.BASELINE36, postgres_url) as bed:
        for name in bed.ue.fleet.names:
            answer = await bed.ue.stub.Attach(ue_control_pb2.AttachRequest(device=name))
            assert answer.outcome == Outcome.SUCCESS, name
            assert await bed.ue.running.streamer.read_and_send(name)
        with Registry(postgres_url) as registry:
            pseudonym = registry.pseudonym(ANALYSIS, MEC_NODE)
        assert bed.mec.analyses.get(pseudonym) is not None


async def test_forged_baseline36_messages_are_refused(tmp_path: Path) -> None:
    async with running(tmp_path, Scheme.BASELINE36) as bed, channel(bed.mec.target) as mec:
        stub = anonymous_key_agreement_pb2_grpc.MecAnonymousKeyAgreementServiceStub(mec)
        held = bed.ue.fleet._baseline36
        assert held is not None
        identity, ca_public = held.identities["dev-0001"]

        def m1_of(who: anonymous_agreement.Identity, ca: bytes = ca_public) -> bytes:
            _, m1 = anonymous_agreement.initiator_start(who, ca, MEC_NODE, Purpose.DEVICE_SESSION)
            return m1

        genuine = m1_of(identity)
        stranger = anonymous_agreement.issue_identity(7, "dev-0001")  # another CA's dev-0001
        connection = sqlite3.connect(bed.ttp_db)
        try:
            with connection:  # revoked: the device's record is gone, its identity stays
                connection.execute("DELETE FROM credential_records WHERE label = 'dev-0002'")
        finally:
            connection.close()
        forged = {
            "a flipped byte": _flip(genuine, 120),
            "another CA's identity": m1_of(stranger),
            "a revoked device": m1_of(held.identities["dev-0002"][0]),
        }
        for what, m1 in forged.items():
            request = anonymous_key_agreement_pb2.AgreeAnonymouslyRequest(m1=m1)
            with pytest.raises(grpc.aio.AioRpcError) as refused:
                await stub.AgreeAnonymously(request)
            assert refused.value.code() == grpc.StatusCode.UNAUTHENTICATED, what
            assert refused.value.details() == AUTHENTICATION_FAILED, what
        reasons = {
            sample.labels["reason"]: sample.value
            for family in bed.ttp.metrics.refusals.collect()
            for sample in family.samples
            if sample.name.endswith("_total")
        }
        assert reasons == {
            "bad_initiator_seal": 1.0,
            "bad_initiator_signature": 1.0,
            "unknown_device": 1.0,
        }
        with pytest.raises(grpc.aio.AioRpcError) as refused:
            await stub.AgreeAnonymously(
                anonymous_key_agreement_pb2.AgreeAnonymouslyRequest(m1=b"\x02" * 50)
            )
        assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert "m1" in str(refused.value.details())
        # The genuine device still attaches: nothing it holds was changed by the forgeries.
        answer = await bed.ue.stub.Attach(ue_control_pb2.AttachRequest(device="dev-0001"))
        assert answer.outcome == Outcome.SUCCESS


async def test_a_mec_and_a_ttp_of_different_schemes_say_so(tmp_path: Path) -> None:
    ttp_db = tmp_path / "ttp.db"
    ue_file = tmp_path / "ue.json"
    enrol_devices(ttp_db, ue_file, 1, identities=True)
    wallet = enrol_mec_identity(tmp_path, ttp_db, MEC_NODE, 1)
    async with contextlib.AsyncExitStack() as stack:
        ttp = await start_ttp(stack, ttp_db)  # the paper's scheme for devices
        mec = await start_mec(
            stack, tmp_path / "mec.db", None, ttp.target, identity=wallet, scheme=Scheme.BASELINE36
        )
        ue = await start_ue(
            stack, tmp_path / "ue.db", ue_file, mec.target, scheme=Scheme.BASELINE36
        )
        held = ue.fleet._baseline36
        assert held is not None
        identity, ca_public = held.identities["dev-0001"]
        _, m1 = anonymous_agreement.initiator_start(
            identity, ca_public, MEC_NODE, Purpose.DEVICE_SESSION
        )
        async with channel(mec.target) as opened:
            stub = anonymous_key_agreement_pb2_grpc.MecAnonymousKeyAgreementServiceStub(opened)
            with pytest.raises(grpc.aio.AioRpcError) as refused:
                await stub.AgreeAnonymously(
                    anonymous_key_agreement_pb2.AgreeAnonymouslyRequest(m1=m1)
                )
        assert refused.value.code() == grpc.StatusCode.FAILED_PRECONDITION
        assert "braeken2021" in str(refused.value.details())


def test_a_device_identity_is_enrolled_once(tmp_path: Path) -> None:
    ttp_db = tmp_path / "ttp.db"
    enrolled = enrol_identities(ttp_db, tmp_path / "first.json", ["alice/dev-01"])
    assert list(enrolled.identities) == ["alice/dev-01"]
    document = EnrolmentFile.read(tmp_path / "first.json")
    assert document.credentials == {}, "identities alone, no credentials"
    with pytest.raises(EnrolmentRefused, match="identity already"):
        enrol_identities(ttp_db, tmp_path / "second.json", ["alice/dev-01"])
    assert not (tmp_path / "second.json").exists(), "no file for a refused enrolment"
    assert (tmp_path / "first.json").stat().st_mode & 0o777 == 0o600


def test_the_ue_keeps_the_identities_it_imports_and_refuses_a_mixed_up_file(tmp_path: Path) -> None:
    enrolled = enrol_identities(tmp_path / "ttp.db", tmp_path / "ids.json", ["a/d1", "a/d2"])
    store = IdentityStore(tmp_path / "ue.db")
    assert store.import_identities(enrolled) == 2
    assert store.import_identities(enrolled) == 0, "importing again changes nothing"
    held = store.load()
    assert {name: identity.pair for name, (identity, _) in held.items()} == {
        name: identity.pair for name, identity in enrolled.identities.items()
    }
    assert {ca for _, ca in held.values()} == {enrolled.ca_public}
    assert stat.S_IMODE((tmp_path / "ue.db").stat().st_mode) == 0o600
    document = enrolled.document()
    document["devices"][0]["private"] = document["devices"][1]["private"]
    with pytest.raises(ValueError, match="does not match"):
        DeviceIdentities.from_document(document)
