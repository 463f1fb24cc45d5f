"""Errors are part of the interface: statuses, messages and the state left behind, over real gRPC.

Covers DESIGN.md decision 4 and SPEC.md "Uniform failure" (INVALID_ARGUMENT naming the field and
size; one UNAUTHENTICATED status and message for unknown identity, wrong hash, replay, stale
counter and version mismatch; "a refused request changes nothing"), SPEC.md "Namespaces", "MEC
credentials" and "Attempts" (a refusal, a timeout or UNAVAILABLE ends the attempt, the holder
keeps its credential and retries with the next counter), the statuses documented in
``protos/mec5g/v1/*.proto`` (UNAVAILABLE within a bounded time when the TTP is unreachable or
silent, RESOURCE_EXHAUSTED when every MEC credential stays busy), the UE's attach outcomes, and a
tampered M4 (SPEC.md step 5: the device adopts only an answer whose d3 checks out).
"""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
import time
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import grpc
import pytest
from grpc_stack import (
    Enrolled,
    closed_port,
    enrol,
    holder_inconsistencies,
    records_by_label,
    start_mec,
    start_ttp,
    start_ue,
    stop_server,
)

from mec5g.core import device_role, mec_role
from mec5g.core.credentials import Credential, HolderState, RecordRule
from mec5g.core.primitives import random_bytes
from mec5g.runtime.grpc_server import channel, start_server
from mec5g.runtime.metrics import Metrics
from mec5g.runtime.status import AUTHENTICATION_FAILED, wire_version
from mec5g.ttp.keystore import KeyStore
from mec5g.ue.fleet import DeviceFleet, Outcome, RetryPolicy
from mec5g.ue.serving import MecLinks
from mec5g.v1 import (
    mec_key_agreement_pb2,
    mec_key_agreement_pb2_grpc,
    ttp_key_agreement_pb2,
    ttp_key_agreement_pb2_grpc,
    ue_control_pb2,
)

COUNTER = int(RecordRule.COUNTER)
PAPER = int(RecordRule.PAPER)


async def _status_of(call: Awaitable[Any]) -> grpc.aio.AioRpcError:
    with pytest.raises(grpc.aio.AioRpcError) as failed:
        await call
    return failed.value


def _flip(data: bytes, index: int) -> bytes:
    changed = bytearray(data)
    changed[index] ^= 0x01
    return bytes(changed)


class Holders:
    """In-memory holder states taken from the enrolment files, to craft M1 and M2 by hand."""

    def __init__(self, enrolled: Enrolled) -> None:
        self.states: dict[str, HolderState] = {
            **enrolled.devices.holder_states(),
            **enrolled.mec.holder_states(),
        }

    def m1(self, device: str) -> tuple[device_role.DeviceSession, bytes]:
        self.states[device], attempt = self.states[device].begin_attempt()
        session = device_role.start(attempt)
        return session, session.m1.to_bytes()

    def m2(self, device: str, mec: str) -> bytes:
        _, m1 = self.m1(device)
        self.states[mec], attempt = self.states[mec].begin_attempt()
        return mec_role.forward(attempt, m1).m2.to_bytes()


# -- TTP Verify --------------------------------------------------------------------------------


@pytest.fixture
async def ttp_only(tmp_path: Path) -> Any:
    enrolled = enrol(tmp_path, 3, 2)
    async with contextlib.AsyncExitStack() as stack:
        ttp = await start_ttp(stack, enrolled.ttp_db)
        ttp_channel = channel(ttp.target)
        stack.push_async_callback(ttp_channel.close)
        yield enrolled, ttp, ttp_key_agreement_pb2_grpc.TtpKeyAgreementServiceStub(ttp_channel)


def _verify(stub: Any, m2: bytes, version: int = COUNTER) -> Any:
    request = ttp_key_agreement_pb2.VerifyRequest(version=wire_version(version), m2=m2)
    return stub.Verify(request, timeout=10)


@pytest.mark.parametrize("length", [0, 64, 127, 129])
async def test_ttp_malformed_m2_names_the_field_and_its_size(ttp_only: Any, length: int) -> None:
    _, ttp, stub = ttp_only
    before = ttp.store.records()
    error = await _status_of(_verify(stub, random_bytes(length)))
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    details = error.details() or ""
    assert "m2" in details
    assert "128" in details
    assert str(length) in details
    assert ttp.store.records() == before


@pytest.mark.parametrize("version", [0, 7])
async def test_ttp_missing_or_unknown_version_is_invalid(ttp_only: Any, version: int) -> None:
    enrolled, ttp, stub = ttp_only
    holders = Holders(enrolled)
    before = ttp.store.records()
    m2 = holders.m2("dev-0001", "mec-test/cred-001")
    error = await _status_of(_verify(stub, m2, version))
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "version" in (error.details() or "")
    assert ttp.store.records() == before
    # The request was malformed, not refused: the same M2 with its version goes through.
    reply = await _verify(stub, m2)
    assert len(reply.m3) == 64


async def test_ttp_refusals_are_uniform_and_change_nothing(ttp_only: Any) -> None:
    enrolled, ttp, stub = ttp_only
    holders = Holders(enrolled)
    device, other_device, mec = "dev-0001", "dev-0002", "mec-test/cred-001"

    # One accepted handshake first, so that replayed and stale requests exist.
    first_try = holders.m2(device, mec)  # counters 1: kept back, delivered late below
    accepted_m2 = holders.m2(device, mec)  # counters 2
    reply = await _verify(stub, accepted_m2)
    assert reply.version == COUNTER
    assert len(reply.m3) == 64
    assert len(reply.analysis_handle) == 48

    def unknown_device() -> bytes:
        stranger = HolderState(Credential.generate(), RecordRule.COUNTER)
        _, attempt = stranger.begin_attempt()
        m1 = device_role.start(attempt).m1.to_bytes()
        holders.states[mec], mec_attempt = holders.states[mec].begin_attempt()
        return mec_role.forward(mec_attempt, m1).m2.to_bytes()

    def swapped_namespaces() -> bytes:
        # The MEC credential presented as a device and a device as the MEC: neither resolves.
        holders.states[mec], as_device = holders.states[mec].begin_attempt()
        m1 = device_role.start(as_device).m1.to_bytes()
        holders.states[other_device], as_mec = holders.states[other_device].begin_attempt()
        return mec_role.forward(as_mec, m1).m2.to_bytes()

    refusals: dict[str, Callable[[], tuple[bytes, int]]] = {
        "garbage": lambda: (random_bytes(128), COUNTER),
        "unknown device DID": lambda: (unknown_device(), COUNTER),
        "unknown MEC DID": lambda: (holders.m2(device, mec)[:64] + random_bytes(64), COUNTER),
        "wrong c1": lambda: (_flip(holders.m2(device, mec), 40), COUNTER),
        "wrong cm1": lambda: (_flip(holders.m2(device, mec), 100), COUNTER),
        "replayed M2": lambda: (accepted_m2, COUNTER),
        "stale counter": lambda: (first_try, COUNTER),
        "version mismatch": lambda: (holders.m2(device, mec), PAPER),
        "swapped namespaces": lambda: (swapped_namespaces(), COUNTER),
    }
    seen: dict[str, tuple[grpc.StatusCode, str | None, Any]] = {}
    for case, make in refusals.items():
        m2, version = make()
        before = ttp.store.records()
        error = await _status_of(_verify(stub, m2, version))
        seen[case] = (error.code(), error.details(), tuple(error.trailing_metadata() or ()))
        assert ttp.store.records() == before, f"{case} changed a record"
    assert set(seen.values()) == {(grpc.StatusCode.UNAUTHENTICATED, AUTHENTICATION_FAILED, ())}

    # The replay and the late request are counted against the device's record, by its number.
    record_id = next(r.record_id for r in ttp.store.records() if r.label == device)
    stale = ttp.metrics.registry.get_sample_value(
        "mec5g_ttp_stale_counters_total",
        {"role": "ttp", "kind": "device", "credential": f"device-{record_id}"},
    )
    assert stale == 2

    # Refusals never disable a credential: the holders' next attempt is accepted.
    reply = await _verify(stub, holders.m2(device, mec))
    assert len(reply.m3) == 64


# -- MEC Agree ---------------------------------------------------------------------------------


def _agree(stub: Any, m1: bytes, version: int = COUNTER, timeout: float = 20) -> Any:
    request = mec_key_agreement_pb2.AgreeRequest(version=wire_version(version), m1=m1)
    return stub.Agree(request, timeout=timeout)


@contextlib.asynccontextmanager
async def _mec_client(target: str) -> Any:
    async with channel(target) as mec_channel:
        yield mec_key_agreement_pb2_grpc.MecKeyAgreementServiceStub(mec_channel)


async def test_mec_malformed_and_forged_m1(tmp_path: Path) -> None:
    enrolled = enrol(tmp_path, 2, 2)
    holders = Holders(enrolled)
    async with contextlib.AsyncExitStack() as stack:
        ttp = await start_ttp(stack, enrolled.ttp_db)
        mec = await start_mec(stack, tmp_path / "mec.db", enrolled.mec_file, ttp.target)
        stub = await stack.enter_async_context(_mec_client(mec.target))
        stored = mec.store.load()

        error = await _status_of(_agree(stub, random_bytes(63)))
        assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert "m1" in (error.details() or "")
        assert "64" in (error.details() or "")
        error = await _status_of(_agree(stub, random_bytes(64), version=0))
        assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert "version" in (error.details() or "")
        assert mec.store.load() == stored, "malformed input takes no credential attempt"

        records = ttp.store.records()
        _, real = holders.m1("dev-0001")
        for forged in (random_bytes(64), _flip(real, 50)):
            error = await _status_of(_agree(stub, forged))
            assert error.code() == grpc.StatusCode.UNAUTHENTICATED
            assert error.details() == AUTHENTICATION_FAILED
        assert ttp.store.records() == records
        await mec.pool.drain()
        assert holder_inconsistencies(ttp.store, mec.store) == []
        assert mec.pool.free == 2

        # The device itself was never harmed: its next attempt succeeds.
        session, m1 = holders.m1("dev-0001")
        reply = await _agree(stub, m1)
        device_role.finish(session, reply.m4)


async def test_mec_with_unreachable_ttp_is_unavailable_in_bounded_time(tmp_path: Path) -> None:
    enrolled = enrol(tmp_path, 2, 2)
    holders = Holders(enrolled)
    timeout = 0.5
    async with contextlib.AsyncExitStack() as stack:
        down = closed_port(stack)
        ttp_store = KeyStore(enrolled.ttp_db)
        stack.callback(ttp_store.close)
        mec = await start_mec(
            stack, tmp_path / "mec.db", enrolled.mec_file, down.target, ttp_timeout=timeout
        )
        stub = await stack.enter_async_context(_mec_client(mec.target))
        stored = mec.store.load()

        for _ in range(2):
            _, m1 = holders.m1("dev-0001")
            started = time.monotonic()
            error = await _status_of(_agree(stub, m1))
            assert time.monotonic() - started < timeout + 1.0
            assert error.code() == grpc.StatusCode.UNAVAILABLE

        await mec.pool.drain()
        after = mec.store.load()
        assert {name: state.credential for name, state in after.items()} == {
            name: state.credential for name, state in stored.items()
        }, "a failed attempt keeps the credential"
        assert sum(state.counter for state in after.values()) >= 2, "each attempt persisted"
        assert mec.pool.free == 2, "every lease came back"
        assert holder_inconsistencies(ttp_store, mec.store) == []

        # The TTP comes up where the MEC expects it; the MEC heals without a restart.
        down.release()
        await start_ttp(stack, enrolled.ttp_db, listen=down.target)
        await asyncio.wait_for(mec.ttp_channel.channel_ready(), timeout=20)
        session, m1 = holders.m1("dev-0001")
        reply = await _agree(stub, m1)
        device_role.finish(session, reply.m4)
        await mec.pool.drain()
        assert holder_inconsistencies(ttp_store, mec.store) == []


class _SilentTtp(ttp_key_agreement_pb2_grpc.TtpKeyAgreementServiceServicer):
    """A TTP that accepts the call and never answers."""

    def __init__(self) -> None:
        self.called = asyncio.Event()

    async def Verify(self, request: Any, context: Any) -> Any:  # noqa: N802 - gRPC name
        self.called.set()
        await asyncio.Event().wait()


async def test_mec_with_silent_ttp_is_unavailable_in_bounded_time(tmp_path: Path) -> None:
    enrolled = enrol(tmp_path, 1, 1)
    holders = Holders(enrolled)
    timeout = 0.5
    silent = _SilentTtp()
    async with contextlib.AsyncExitStack() as stack:
        server, port = await start_server(
            "127.0.0.1:0",
            [
                lambda s: ttp_key_agreement_pb2_grpc.add_TtpKeyAgreementServiceServicer_to_server(
                    silent, s
                )
            ],
            [],
        )
        stack.push_async_callback(stop_server, server)
        mec = await start_mec(
            stack, tmp_path / "mec.db", enrolled.mec_file, f"127.0.0.1:{port}", ttp_timeout=timeout
        )
        stub = await stack.enter_async_context(_mec_client(mec.target))
        stored = mec.store.load()
        _, m1 = holders.m1("dev-0001")
        started = time.monotonic()
        error = await _status_of(_agree(stub, m1))
        assert time.monotonic() - started < timeout + 1.0
        assert error.code() == grpc.StatusCode.UNAVAILABLE
        assert silent.called.is_set()
        await mec.pool.drain()
        (name,) = stored
        assert mec.store.load()[name].credential == stored[name].credential
        assert mec.store.load()[name].counter >= 1, "the attempt's counter was persisted"
        assert mec.pool.free == 1, "the lease came back"


class _GatedTtp(ttp_key_agreement_pb2_grpc.TtpKeyAgreementServiceServicer):
    """A slow TTP: holds every Verify until the gate opens, then forwards it to the real TTP."""

    def __init__(self, upstream: ttp_key_agreement_pb2_grpc.TtpKeyAgreementServiceStub) -> None:
        self._upstream = upstream
        self.entered = asyncio.Event()
        self.gate = asyncio.Event()

    async def Verify(self, request: Any, context: Any) -> Any:  # noqa: N802 - gRPC name
        self.entered.set()
        await self.gate.wait()
        try:
            return await self._upstream.Verify(request, timeout=10)
        except grpc.aio.AioRpcError as error:
            await context.abort(error.code(), error.details() or "")


async def test_mec_with_every_credential_busy_is_resource_exhausted(tmp_path: Path) -> None:
    enrolled = enrol(tmp_path, 3, 1)
    holders = Holders(enrolled)
    lease_wait = 0.3
    async with contextlib.AsyncExitStack() as stack:
        ttp = await start_ttp(stack, enrolled.ttp_db)
        ttp_channel = channel(ttp.target)
        stack.push_async_callback(ttp_channel.close)
        gated = _GatedTtp(ttp_key_agreement_pb2_grpc.TtpKeyAgreementServiceStub(ttp_channel))
        server, port = await start_server(
            "127.0.0.1:0",
            [
                lambda s: ttp_key_agreement_pb2_grpc.add_TtpKeyAgreementServiceServicer_to_server(
                    gated, s
                )
            ],
            [],
        )
        stack.push_async_callback(stop_server, server)
        mec = await start_mec(
            stack,
            tmp_path / "mec.db",
            enrolled.mec_file,
            f"127.0.0.1:{port}",
            lease_wait=lease_wait,
            ttp_timeout=30.0,
        )
        stub = await stack.enter_async_context(_mec_client(mec.target))
        ue = await start_ue(
            stack,
            tmp_path / "ue.db",
            enrolled.ue_file,
            mec.target,
            policy=RetryPolicy(max_attempts=2, backoff_base=0.01),
        )

        # The one credential is leased by a handshake that waits for the slow TTP.
        slow_session, slow_m1 = holders.m1("dev-0001")
        slow = asyncio.ensure_future(_agree(stub, slow_m1, timeout=30))
        try:
            await asyncio.wait_for(gated.entered.wait(), timeout=10)
            _, m1 = holders.m1("dev-0002")
            started = time.monotonic()
            error = await _status_of(_agree(stub, m1))
            assert time.monotonic() - started < lease_wait + 1.0
            assert error.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
            report = await ue.fleet.attach("dev-0003")
            assert report.outcome is Outcome.BUSY
            assert report.attempts == 2
        finally:
            gated.gate.set()
        device_role.finish(slow_session, (await slow).m4)
        assert (await ue.fleet.attach("dev-0003")).outcome is Outcome.SUCCESS
        session, m1 = holders.m1("dev-0002")
        device_role.finish(session, (await _agree(stub, m1)).m4)
        await mec.pool.drain()
        assert holder_inconsistencies(ttp.store, ue.store, mec.store) == []


# -- UE ----------------------------------------------------------------------------------------


async def test_ue_with_mec_down_keeps_its_credential_and_heals(tmp_path: Path) -> None:
    enrolled = enrol(tmp_path, 2, 2)
    max_attempts = 3
    async with contextlib.AsyncExitStack() as stack:
        ttp = await start_ttp(stack, enrolled.ttp_db)
        down = closed_port(stack)
        ue = await start_ue(
            stack,
            tmp_path / "ue.db",
            enrolled.ue_file,
            down.target,
            policy=RetryPolicy(max_attempts=max_attempts, backoff_base=0.01, rpc_timeout=2.0),
        )
        before = ue.store.load()["dev-0001"]
        reply = await ue.stub.Attach(ue_control_pb2.AttachRequest(device="dev-0001"), timeout=20)
        assert reply.outcome == ue_control_pb2.ATTACH_OUTCOME_UNAVAILABLE
        assert reply.attempts == max_attempts
        assert reply.sk_fingerprint == ""
        after = ue.store.load()["dev-0001"]
        assert after.credential == before.credential
        assert after.epoch == before.epoch == 0
        assert after.counter == before.counter + max_attempts
        assert holder_inconsistencies(ttp.store, ue.store) == []

        down.release()
        mec = await start_mec(
            stack, tmp_path / "mec.db", enrolled.mec_file, ttp.target, listen=down.target
        )
        await asyncio.wait_for(ue.mec_channel.channel_ready(), timeout=20)
        reply = await ue.stub.Attach(ue_control_pb2.AttachRequest(device="dev-0001"), timeout=20)
        assert reply.outcome == ue_control_pb2.ATTACH_OUTCOME_SUCCESS
        assert reply.credential_epoch == 1
        await mec.pool.drain()
        assert holder_inconsistencies(ttp.store, ue.store, mec.store) == []
        assert (
            records_by_label(ttp.store)["dev-0001"].pending
            == ue.store.load()["dev-0001"].credential
        )


class _TamperingMec(mec_key_agreement_pb2_grpc.MecKeyAgreementServiceServicer):
    """A man in the middle on the radio link: forwards M1 to the real MEC, flips one bit of M4."""

    def __init__(self, upstream: mec_key_agreement_pb2_grpc.MecKeyAgreementServiceStub) -> None:
        self._upstream = upstream
        self.forwarded = 0

    async def Agree(self, request: Any, context: Any) -> Any:  # noqa: N802 - gRPC name
        reply = await self._upstream.Agree(request, timeout=10)
        self.forwarded += 1
        return mec_key_agreement_pb2.AgreeResponse(version=reply.version, m4=_flip(reply.m4, 20))


async def test_tampered_m4_is_a_bad_answer_and_the_device_heals(tmp_path: Path) -> None:
    enrolled = enrol(tmp_path, 1, 2)
    async with contextlib.AsyncExitStack() as stack:
        ttp = await start_ttp(stack, enrolled.ttp_db)
        mec = await start_mec(stack, tmp_path / "mec.db", enrolled.mec_file, ttp.target)
        upstream = await stack.enter_async_context(_mec_client(mec.target))
        tampering = _TamperingMec(upstream)
        server, port = await start_server(
            "127.0.0.1:0",
            [
                lambda s: mec_key_agreement_pb2_grpc.add_MecKeyAgreementServiceServicer_to_server(
                    tampering, s
                )
            ],
            [],
        )
        stack.push_async_callback(stop_server, server)
        ue = await start_ue(
            stack,
            tmp_path / "ue.db",
            enrolled.ue_file,
            f"127.0.0.1:{port}",
            policy=RetryPolicy(max_attempts=2, backoff_base=0.01),
        )
        before = ue.store.load()["dev-0001"]
        reply = await ue.stub.Attach(ue_control_pb2.AttachRequest(device="dev-0001"), timeout=20)
        assert reply.outcome == ue_control_pb2.ATTACH_OUTCOME_BAD_ANSWER
        assert reply.attempts == 2
        assert tampering.forwarded == 2
        after = ue.store.load()["dev-0001"]
        assert after.credential == before.credential
        assert after.epoch == 0
        await mec.pool.drain()
        assert holder_inconsistencies(ttp.store, ue.store, mec.store) == []
        assert sum(state.epoch for state in mec.store.load().values()) == 2, "the MEC completed"

        # The same device, now talking to the real MEC, heals with its kept credential.
        links = MecLinks()
        stack.push_async_callback(links.close)
        links.default = links.link(mec.target)
        healed = DeviceFleet(ue.store, links, Metrics("ue"), RetryPolicy(max_attempts=1))
        report = await healed.attach("dev-0001")
        assert report.outcome is Outcome.SUCCESS
        assert report.credential_epoch == 1
        await mec.pool.drain()
        assert holder_inconsistencies(ttp.store, ue.store, mec.store) == []


# -- cancelled requests (a device that gives up or disconnects mid-handshake) ------------------


@contextlib.contextmanager
def _write_locked(database: Path) -> Iterator[None]:
    """Hold SQLite's write lock on ``database`` from another connection (as a backup tool might)."""
    connection = sqlite3.connect(database, isolation_level=None, timeout=5)
    try:
        connection.execute("BEGIN IMMEDIATE")
        yield
        connection.execute("ROLLBACK")
    finally:
        connection.close()


async def test_mec_keeps_serving_after_a_request_cancelled_while_its_counter_is_written(
    tmp_path: Path,
) -> None:
    """A device's deadline expires while the MEC persists the leased credential's counter.

    The gRPC server cancels the handler; the queued counter write still lands. The MEC must go
    on using that credential (SPEC.md "MEC credentials": a lease that timed out ends its attempt).
    """
    enrolled = enrol(tmp_path, 2, 1)
    holders = Holders(enrolled)
    async with contextlib.AsyncExitStack() as stack:
        ttp = await start_ttp(stack, enrolled.ttp_db)
        mec = await start_mec(
            stack, tmp_path / "mec.db", enrolled.mec_file, ttp.target, lease_wait=2.0
        )
        stub = await stack.enter_async_context(_mec_client(mec.target))
        finished = asyncio.Event()
        observe = mec.metrics.observe

        def spy_observe(phase: str, outcome: str, seconds: float) -> None:
            observe(phase, outcome, seconds)
            finished.set()

        mec.metrics.observe = spy_observe  # type: ignore[method-assign]
        with _write_locked(tmp_path / "mec.db"):
            _, m1 = holders.m1("dev-0001")
            error = await _status_of(_agree(stub, m1, timeout=0.3))
            assert error.code() == grpc.StatusCode.DEADLINE_EXCEEDED
            # Let the server cancel the handler while the write still waits (the handler records
            # every Agree's end, even a cancelled one). A handler that waits for its write to
            # land before ending never signals here: then the bounded wait ends it.
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(finished.wait(), timeout=1.0)
        session, m1 = holders.m1("dev-0002")
        reply = await _agree(stub, m1)
        device_role.finish(session, reply.m4)
        await mec.pool.drain()
        assert holder_inconsistencies(ttp.store, mec.store) == []


@pytest.mark.parametrize("write", ["record_attempt", "adopt"])
async def test_ue_device_keeps_attaching_after_an_attach_cancelled_during_a_store_write(
    tmp_path: Path, write: str
) -> None:
    """An operator's Attach is cancelled (grpcurl -max-time, Ctrl-C) while one of the device's
    store writes (the attempt's counter, or the adopted successor) is queued; the write still
    lands. The device must go on attaching (SPEC.md "Attempts", "Adopting")."""
    enrolled = enrol(tmp_path, 1, 1)
    async with contextlib.AsyncExitStack() as stack:
        ttp = await start_ttp(stack, enrolled.ttp_db)
        mec = await start_mec(stack, tmp_path / "mec.db", enrolled.mec_file, ttp.target)
        ue = await start_ue(
            stack,
            tmp_path / "ue.db",
            enrolled.ue_file,
            mec.target,
            policy=RetryPolicy(max_attempts=1),
        )
        submitted = asyncio.Event()
        original = getattr(ue.store, write)
        locks = contextlib.ExitStack()
        stack.callback(locks.close)

        async def spy(*args: Any) -> Any:
            # Hold the file's write lock so that the write waits in the writer thread.
            locks.enter_context(_write_locked(tmp_path / "ue.db"))
            submitted.set()
            return await original(*args)

        setattr(ue.store, write, spy)
        attach = asyncio.create_task(ue.fleet.attach("dev-0001"))
        await asyncio.wait_for(submitted.wait(), timeout=10)
        attach.cancel()  # the cancellation is queued on the loop before the write can land
        locks.close()
        with pytest.raises(asyncio.CancelledError):
            await attach
        setattr(ue.store, write, original)

        report = await ue.fleet.attach("dev-0001")
        assert report.outcome is Outcome.SUCCESS
        await mec.pool.drain()
        assert holder_inconsistencies(ttp.store, ue.store, mec.store) == []


async def test_ue_store_conflict_is_an_outcome_and_the_device_recovers(tmp_path: Path) -> None:
    """A device whose stored state moved under the UE (a second holder, a restored file) gets a
    clear outcome instead of an UNKNOWN status, and goes on from the stored state."""
    enrolled = enrol(tmp_path, 1, 1)
    async with contextlib.AsyncExitStack() as stack:
        ttp = await start_ttp(stack, enrolled.ttp_db)
        mec = await start_mec(stack, tmp_path / "mec.db", enrolled.mec_file, ttp.target)
        ue = await start_ue(
            stack, tmp_path / "ue.db", enrolled.ue_file, mec.target, policy=RetryPolicy(1)
        )
        moved = sqlite3.connect(tmp_path / "ue.db")
        moved.execute(
            "UPDATE holders SET counter = ? WHERE name = 'dev-0001'", (bytes(15) + b"\x07",)
        )
        moved.commit()
        moved.close()

        reply = await ue.stub.Attach(ue_control_pb2.AttachRequest(device="dev-0001"), timeout=10)
        assert reply.outcome == ue_control_pb2.ATTACH_OUTCOME_UNAVAILABLE
        again = await ue.stub.Attach(ue_control_pb2.AttachRequest(device="dev-0001"), timeout=10)
        assert again.outcome == ue_control_pb2.ATTACH_OUTCOME_SUCCESS
        await mec.pool.drain()
        assert holder_inconsistencies(ttp.store, ue.store, mec.store) == []
