"""The registry on one PostgreSQL database shared by several TTP replicas, over real gRPC.

Each race sends its requests to two replicas at the same moment, several rounds over: an
enrolment code registers its user once and is refused as used on the other replica
(UNAUTHENTICATED); one signed request (one nonce) is accepted once; two requests adding the same
device to an analysis add it once (the other ALREADY_EXISTS), and to two open analyses of one
patient once (FAILED_PRECONDITION); watches both replicas' registries authorise at once are all
recorded, and one request (one nonce) is authorised once. Whatever the interleaving, the outcome
is the one serial execution gives: without the registry's serialisation across replicas the
second writer would meet a unique index instead (UNAVAILABLE). Replicas opening an empty store at
once agree on one CA key.
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
import threading
import time
from collections.abc import AsyncIterator, Awaitable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import grpc
import pytest
from grpc_stack import MEC_NODE, enrol_mec_identity, start_ttp

from mec5g.core import ecqv
from mec5g.core.anonymous_agreement import Purpose
from mec5g.core.profiles import AccessPolicy, DoctorAttributes, PatientAttributes, Role
from mec5g.runtime.grpc_server import channel
from mec5g.runtime.wallet import Wallet
from mec5g.ttp.registry import Refused, Registry, SignedRequest
from mec5g.ue import user_app
from mec5g.v1 import (
    monitoring_pb2,
    monitoring_pb2_grpc,
    registration_pb2_grpc,
)

ROUNDS = 4
PATIENT = PatientAttributes.checked(["latex"], "A+")
DOCTOR = DoctorAttributes.checked("cardiology", "North")


@dataclass
class Replica:
    registration: registration_pb2_grpc.RegistrationServiceStub
    monitoring: monitoring_pb2_grpc.MonitoringServiceStub
    registry: Registry  # the replica's own, as its anonymous key-agreement service uses it


@dataclass
class Pair:
    """Two TTP replicas on one database, and a registry of the operator's on it too."""

    replicas: tuple[Replica, Replica]
    registry: Registry

    def code(self, user: str, role: Role) -> str:
        return self.registry.issue_enrolment_code(user, role, 600)

    def rows(self, query: str, *parameters: object) -> list[tuple[Any, ...]]:
        with self.registry.database.reading() as connection:
            return [tuple(row) for row in connection.execute(query, parameters)]


@pytest.fixture
async def pair(tmp_path: Path, postgres_url: str) -> AsyncIterator[Pair]:
    enrol_mec_identity(tmp_path, postgres_url, MEC_NODE, 1)
    async with contextlib.AsyncExitStack() as stack:
        replicas = []
        for _ in range(2):
            ttp = await start_ttp(stack, postgres_url)
            opened = channel(ttp.target)
            stack.push_async_callback(opened.close)
            replicas.append(
                Replica(
                    registration_pb2_grpc.RegistrationServiceStub(opened),
                    monitoring_pb2_grpc.MonitoringServiceStub(opened),
                    ttp.registry,
                )
            )
        registry = stack.enter_context(Registry(postgres_url))
        yield Pair((replicas[0], replicas[1]), registry)


async def _both(first: Awaitable[Any], second: Awaitable[Any]) -> list[Any]:
    """Both calls at once; their answers or their gRPC errors."""
    return list(await asyncio.gather(first, second, return_exceptions=True))


def _codes(outcomes: list[Any]) -> list[str]:
    """Each outcome as OK or its status (or the registry's refusal) name, sorted."""
    return sorted(
        outcome.code().name
        if isinstance(outcome, grpc.aio.AioRpcError)
        else outcome.kind.name
        if isinstance(outcome, Refused)
        else "OK"
        for outcome in outcomes
    )


async def test_an_enrolment_code_registers_once_across_replicas(pair: Pair) -> None:
    for number in range(ROUNDS):
        user = f"p{number}"
        code = pair.code(user, Role.PATIENT)
        outcomes = await _both(
            *(
                user_app.register(replica.registration, user, Role.PATIENT, code, PATIENT)
                for replica in pair.replicas
            )
        )
        assert _codes(outcomes) == ["OK", "UNAUTHENTICATED"], outcomes
        (wallet,) = [outcome for outcome in outcomes if isinstance(outcome, Wallet)]
        assert pair.rows("SELECT public_key FROM users WHERE user_id = ?", user) == [
            (wallet.pair.public,)
        ]


async def test_one_signed_request_is_accepted_once_across_replicas(pair: Pair) -> None:
    patient = await user_app.register(
        pair.replicas[0].registration, "una", Role.PATIENT, pair.code("una", Role.PATIENT), PATIENT
    )
    for number in range(ROUNDS):
        body = monitoring_pb2.CreateAnalysisBody(
            devices=[monitoring_pb2.DeviceSpec(device=f"ecg-{number}")]
        )
        request = monitoring_pb2.CreateAnalysisRequest(
            signed=user_app.signed(patient, "CreateAnalysis", body)
        )
        outcomes = await _both(
            *(replica.monitoring.CreateAnalysis(request) for replica in pair.replicas)
        )
        assert _codes(outcomes) == ["OK", "UNAUTHENTICATED"], outcomes
    assert len(pair.rows("SELECT analysis_id FROM analyses")) == ROUNDS
    assert len(pair.rows("SELECT 1 FROM credential_records WHERE kind = 'device'")) == ROUNDS


async def test_a_device_joins_one_analysis_once_across_replicas(pair: Pair) -> None:
    patient = await user_app.register(
        pair.replicas[0].registration, "vic", Role.PATIENT, pair.code("vic", Role.PATIENT), PATIENT
    )
    monitoring = [replica.monitoring for replica in pair.replicas]
    first, _ = await user_app.create_analysis(monitoring[0], patient, ["spo2"], AccessPolicy())
    second, _ = await user_app.create_analysis(monitoring[1], patient, ["hr"], AccessPolicy())

    def add(stub: monitoring_pb2_grpc.MonitoringServiceStub, analysis: str, name: str) -> Any:
        body = monitoring_pb2.AddDevicesBody(
            analysis_id=analysis, devices=[monitoring_pb2.DeviceSpec(device=name)]
        )
        return user_app.call(stub, patient, "AddDevices", body)

    for number in range(ROUNDS):
        same = f"same-{number}"
        outcomes = await _both(add(monitoring[0], first, same), add(monitoring[1], first, same))
        assert _codes(outcomes) == ["ALREADY_EXISTS", "OK"], outcomes
        other = f"other-{number}"
        outcomes = await _both(add(monitoring[0], first, other), add(monitoring[1], second, other))
        assert _codes(outcomes) == ["FAILED_PRECONDITION", "OK"], outcomes
    devices = pair.rows("SELECT device FROM analysis_devices WHERE patient_id = 'vic'")
    assert len(devices) == len(set(devices)) == 2 + 2 * ROUNDS
    records = pair.rows("SELECT label FROM credential_records WHERE label LIKE 'vic/%'")
    assert sorted(records) == sorted((f"vic/{name}",) for (name,) in devices)


async def test_grants_asked_of_both_replicas_at_once_are_all_issued(pair: Pair) -> None:
    patient = await user_app.register(
        pair.replicas[0].registration, "wes", Role.PATIENT, pair.code("wes", Role.PATIENT), PATIENT
    )
    doctor = await user_app.register(
        pair.replicas[1].registration, "xia", Role.DOCTOR, pair.code("xia", Role.DOCTOR), DOCTOR
    )
    analysis, _ = await user_app.create_analysis(
        pair.replicas[0].monitoring, patient, ["temp"], AccessPolicy.checked(["xia"], [], [])
    )

    def watch(replica: Replica, wallet: Wallet, nonce: bytes | None = None) -> Awaitable[Any]:
        """What a replica's Vouch asks of its registry for a watch, once the user's signature
        inside M2 is verified: a fresh request, then the authorisation (nonce consumed)."""
        user = replica.registry.user(wallet.identity)
        assert user is not None
        request = SignedRequest(user, nonce or secrets.token_bytes(16), time.time())
        requester = ecqv.public_key(ecqv.random_scalar())
        return asyncio.to_thread(
            replica.registry.authorise, request, Purpose.WATCH, analysis, MEC_NODE, requester
        )

    first, second = pair.replicas
    for _ in range(ROUNDS):
        outcomes = await _both(watch(first, doctor), watch(second, patient))
        assert _codes(outcomes) == ["OK", "OK"], outcomes
        replayed = secrets.token_bytes(16)
        outcomes = await _both(watch(first, doctor, replayed), watch(second, doctor, replayed))
        assert _codes(outcomes) == ["OK", "UNAUTHENTICATED"], outcomes
    watchers = pair.rows("SELECT user_id FROM watch_grants ORDER BY user_id")
    assert watchers == [("wes",)] * ROUNDS + [("xia",)] * 2 * ROUNDS


def test_replicas_opening_an_empty_store_at_once_share_one_ca_key(postgres_url: str) -> None:
    """The first registry to open a PostgreSQL store makes its CA key; the others read it."""
    opened: list[Registry] = []
    start = threading.Barrier(3)

    def open_one() -> None:
        start.wait()
        opened.append(Registry(postgres_url))

    threads = [threading.Thread(target=open_one) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    try:
        assert len(opened) == 3
        assert len({registry.ca_public for registry in opened}) == 1
    finally:
        for registry in opened:
            registry.close()
