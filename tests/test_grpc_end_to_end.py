"""Whole handshakes over real gRPC on localhost: UE fleet -> MEC -> TTP, in-process servers.

Covers SPEC.md "Flow" end to end through the services, "Our rule" (Attempts, Adopting, TTP record:
after a handshake the record's pending credential is the holder's current one), "MEC credentials"
and DESIGN.md decision 5 (K leased credentials serve many concurrent devices without
desynchronising), the operator control service of DESIGN.md "What it is" (UeControlService,
fingerprints only), and the paper's two-slot rule (SPEC.md "--record-rule paper") through the
same services.
"""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path

import grpc
import pytest
from google.protobuf.message import Message
from grpc_stack import Enrolled, enrol, records_by_label, start_mec, start_ttp, start_ue

from mec5g.core.credentials import HolderState, RecordRule
from mec5g.core.primitives import local_fingerprint
from mec5g.core.records import CredentialRecord
from mec5g.ue.fleet import Outcome, RetryPolicy
from mec5g.v1 import ue_control_pb2

DEVICES = 200
HANDSHAKES_PER_DEVICE = 5
MEC_CREDENTIALS = 16


def _assert_holders_match_records(
    enrolled: Enrolled,
    ttp_records: dict[str, CredentialRecord],
    ue_states: dict[str, HolderState],
    mec_states: dict[str, HolderState],
) -> None:
    """Every holder's stored credential is its TTP record's pending one (and so is held)."""
    assert set(ue_states) == set(enrolled.devices.credentials)
    assert set(mec_states) == set(enrolled.mec.credentials)
    for name, state in {**ue_states, **mec_states}.items():
        record = ttp_records[name]
        assert record.holds(state.credential), f"{name} is locked out"
        if state.epoch:
            assert record.pending == state.credential, name
            assert record.confirmed != state.credential, name
    for name, state in ue_states.items():
        assert state.counter == 0, f"{name}: its last answer was adopted, the counter restarts"


async def test_200_devices_5_handshakes_each_through_one_mec(tmp_path: Path) -> None:
    enrolled = enrol(tmp_path, DEVICES, MEC_CREDENTIALS)
    async with contextlib.AsyncExitStack() as stack:
        ttp = await start_ttp(stack, enrolled.ttp_db)
        mec = await start_mec(
            stack,
            tmp_path / "mec.db",
            enrolled.mec_file,
            ttp.target,
            lease_wait=60.0,
            ttp_timeout=60.0,
        )
        ue = await start_ue(
            stack,
            tmp_path / "ue.db",
            enrolled.ue_file,
            mec.target,
            policy=RetryPolicy(max_attempts=1, rpc_timeout=60.0),
        )

        async def one_device(name: str) -> list[tuple[Outcome, int, int, str]]:
            reports = []
            for _ in range(HANDSHAKES_PER_DEVICE):
                report = await ue.fleet.attach(name)
                reports.append(
                    (
                        report.outcome,
                        report.attempts,
                        report.credential_epoch,
                        report.sk_fingerprint,
                    )
                )
            return reports

        per_device = await asyncio.wait_for(
            asyncio.gather(*(one_device(name) for name in ue.fleet.names)), timeout=120
        )
        await mec.pool.drain()

        for reports in per_device:
            assert [outcome for outcome, _, _, _ in reports] == [Outcome.SUCCESS] * 5
            assert [attempts for _, attempts, _, _ in reports] == [1] * 5
            assert [epoch for _, _, epoch, _ in reports] == [1, 2, 3, 4, 5]
        session_fingerprints = {fp for reports in per_device for _, _, _, fp in reports}
        assert len(session_fingerprints) == DEVICES * HANDSHAKES_PER_DEVICE
        assert ue.fleet.succeeded == DEVICES * HANDSHAKES_PER_DEVICE
        assert ue.fleet.failed == 0

        ue_states = ue.store.load()
        mec_states = mec.store.load()
        ttp_records = records_by_label(ttp.store)
        assert {name: state.epoch for name, state in ue_states.items()} == dict.fromkeys(
            enrolled.devices.credentials, HANDSHAKES_PER_DEVICE
        )
        # Every handshake rotated exactly one MEC credential, and every credential was used.
        assert sum(state.epoch for state in mec_states.values()) == DEVICES * 5
        assert all(state.epoch > 0 for state in mec_states.values())
        assert mec.pool.states() == mec_states, "pool memory and store agree"
        assert mec.pool.free == MEC_CREDENTIALS, "every lease came back"
        _assert_holders_match_records(
            enrolled, dict(ttp_records), dict(ue_states), dict(mec_states)
        )
        for name in [*ue_states, *mec_states]:
            assert ttp_records[name].last_counter == 1, "each handshake was a first attempt"


async def test_paper_rule_end_to_end(tmp_path: Path) -> None:
    enrolled = enrol(tmp_path, 12, 3, rule=RecordRule.PAPER)
    async with contextlib.AsyncExitStack() as stack:
        ttp = await start_ttp(stack, enrolled.ttp_db)
        mec = await start_mec(stack, tmp_path / "mec.db", enrolled.mec_file, ttp.target)
        ue = await start_ue(
            stack,
            tmp_path / "ue.db",
            enrolled.ue_file,
            mec.target,
            policy=RetryPolicy(max_attempts=1, rpc_timeout=30.0),
        )

        async def one_device(name: str) -> list[Outcome]:
            return [(await ue.fleet.attach(name)).outcome for _ in range(3)]

        outcomes = await asyncio.gather(*(one_device(name) for name in ue.fleet.names))
        await mec.pool.drain()
        assert outcomes == [[Outcome.SUCCESS] * 3] * 12

        ue_states = ue.store.load()
        mec_states = mec.store.load()
        ttp_records = records_by_label(ttp.store)
        assert {state.rule for state in [*ue_states.values(), *mec_states.values()]} == {
            RecordRule.PAPER
        }
        assert all(state.epoch == 3 for state in ue_states.values())
        assert sum(state.epoch for state in mec_states.values()) == 36
        _assert_holders_match_records(
            enrolled, dict(ttp_records), dict(ue_states), dict(mec_states)
        )
        assert {record.last_counter for record in ttp_records.values()} == {0}, "no counters"


def _strings_in(message: Message) -> list[str]:
    """Every string and bytes (as hex) value anywhere in ``message``."""
    found: list[str] = []
    for field, value in message.ListFields():
        values = value if field.is_repeated else [value]
        for item in values:
            if isinstance(item, Message):
                found.extend(_strings_in(item))
            elif isinstance(item, str):
                found.append(item)
            elif isinstance(item, bytes):
                found.append(item.hex())
    return found


async def test_control_service_attach_and_status(tmp_path: Path) -> None:
    enrolled = enrol(tmp_path, 4, 2)
    async with contextlib.AsyncExitStack() as stack:
        ttp = await start_ttp(stack, enrolled.ttp_db)
        mec = await start_mec(stack, tmp_path / "mec.db", enrolled.mec_file, ttp.target)
        ue = await start_ue(stack, tmp_path / "ue.db", enrolled.ue_file, mec.target)

        first = await ue.stub.Attach(ue_control_pb2.AttachRequest(), timeout=20)
        second = await ue.stub.Attach(ue_control_pb2.AttachRequest(), timeout=20)
        assert first.device != second.device
        assert {first.device, second.device} <= set(enrolled.devices.credentials)
        for reply in (first, second):
            assert reply.outcome == ue_control_pb2.ATTACH_OUTCOME_SUCCESS
            assert reply.credential_epoch == 1
            assert reply.attempts == 1
            assert len(reply.sk_fingerprint) == 16
            assert reply.latency_us > 0

        named = await ue.stub.Attach(ue_control_pb2.AttachRequest(device=first.device), timeout=20)
        assert named.device == first.device
        assert named.outcome == ue_control_pb2.ATTACH_OUTCOME_SUCCESS
        assert named.credential_epoch == 2
        assert named.sk_fingerprint != first.sk_fingerprint

        with pytest.raises(grpc.aio.AioRpcError) as refused:
            await ue.stub.Attach(ue_control_pb2.AttachRequest(device="dev-9999"), timeout=20)
        assert refused.value.code() == grpc.StatusCode.NOT_FOUND
        assert "dev-9999" in (refused.value.details() or "")

        status = await ue.stub.Status(ue_control_pb2.StatusRequest(), timeout=20)
        await mec.pool.drain()
        states = ue.store.load()
        assert status.mec_target == mec.target
        assert [entry.device for entry in status.devices] == sorted(enrolled.devices.credentials)
        assert status.attaches_succeeded == 3
        assert status.attaches_failed == 0
        for entry in status.devices:
            state = states[entry.device]
            assert entry.credential_epoch == state.epoch
            assert entry.attempt_counter == state.counter
            assert entry.did_fingerprint == local_fingerprint(state.credential.did)
            if state.epoch:
                assert entry.last_outcome == ue_control_pb2.ATTACH_OUTCOME_SUCCESS
                assert len(entry.last_sk_fingerprint) == 16
            else:
                assert entry.last_outcome == ue_control_pb2.ATTACH_OUTCOME_UNSPECIFIED
                assert entry.last_sk_fingerprint == ""
        by_name = {entry.device: entry for entry in status.devices}
        assert by_name[first.device].last_sk_fingerprint == named.sk_fingerprint

        # Nothing secret or identifying leaves: no field holds a DID or a key, past or present.
        secrets = set()
        for credential in [
            *enrolled.devices.credentials.values(),
            *enrolled.mec.credentials.values(),
        ]:
            secrets |= {credential.did.hex(), credential.dk.hex()}
        for state in [*states.values(), *mec.store.load().values()]:
            secrets |= {state.credential.did.hex(), state.credential.dk.hex()}
        shown = [
            *_strings_in(status),
            *_strings_in(first),
            *_strings_in(second),
            *_strings_in(named),
        ]
        assert shown
        for value in shown:
            assert not any(secret in value.lower() for secret in secrets), value
