"""The TTP's key store (SPEC.md "TTP record", "Namespaces"; DESIGN.md decision 3).

The two-record update is all or nothing: when the second write fails, the first is undone, the
caller gets StoreUnavailable (UNAVAILABLE on the wire) and no M3 exists to leave. DIDi resolves
only among device records and DIDm only among MEC credentials.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from mec5g.core import device_role, mec_role
from mec5g.core.credentials import HolderState, RecordRule
from mec5g.core.errors import RefusalReason
from mec5g.core.messages import M2
from mec5g.core.records import RecordKind
from mec5g.core.ttp_role import Accepted, Refused
from mec5g.runtime.group_commit import StoreUnavailable
from mec5g.ttp.keystore import RESOLVE_QUERY, TAKEN_QUERY, KeyStore


def _request(store: KeyStore) -> M2:
    device = store.enrol(RecordKind.DEVICE, ["dev-0001"], "analysis", RecordRule.COUNTER)
    mec = store.enrol(RecordKind.MEC, ["mec-1/cred-001"], "mec-1", RecordRule.COUNTER)
    _, device_attempt = HolderState(device["dev-0001"], RecordRule.COUNTER).begin_attempt()
    _, mec_attempt = HolderState(mec["mec-1/cred-001"], RecordRule.COUNTER).begin_attempt()
    m1 = device_role.start(device_attempt).m1.to_bytes()
    return mec_role.forward(mec_attempt, m1).m2


async def test_failed_second_write_undoes_the_first(tmp_path: Path) -> None:
    store = KeyStore(tmp_path / "ttp.db")
    try:
        m2 = _request(store)
        before = store.records()
        connection = sqlite3.connect(tmp_path / "ttp.db")
        connection.execute(
            "CREATE TRIGGER refuse_mec_update BEFORE UPDATE ON credential_records "
            "WHEN NEW.kind = 'mec' BEGIN SELECT RAISE(ABORT, 'injected failure'); END"
        )
        connection.commit()
        connection.close()

        with pytest.raises(StoreUnavailable):
            await store.answer(m2, int(RecordRule.COUNTER))
        assert store.records() == before

        connection = sqlite3.connect(tmp_path / "ttp.db")
        connection.execute("DROP TRIGGER refuse_mec_update")
        connection.commit()
        connection.close()
        result = await store.answer(m2, int(RecordRule.COUNTER))
        assert isinstance(result, Accepted)
        after = {stored.label: stored.record for stored in store.records()}
        assert after["dev-0001"].pending == result.device_record.pending
        assert after["mec-1/cred-001"].pending == result.mec_record.pending
    finally:
        store.close()


async def test_a_did_resolves_only_in_its_own_namespace(tmp_path: Path) -> None:
    store = KeyStore(tmp_path / "ttp.db")
    try:
        mec_a = store.enrol(RecordKind.MEC, ["mec-1/cred-001"], "mec-1", RecordRule.COUNTER)
        mec_b = store.enrol(RecordKind.MEC, ["mec-1/cred-002"], "mec-1", RecordRule.COUNTER)
        # A MEC credential posing as a device: its DID is no device's DID.
        _, posing = HolderState(mec_a["mec-1/cred-001"], RecordRule.COUNTER).begin_attempt()
        _, forwarding = HolderState(mec_b["mec-1/cred-002"], RecordRule.COUNTER).begin_attempt()
        m2 = mec_role.forward(forwarding, device_role.start(posing).m1.to_bytes()).m2
        before = store.records()
        result = await store.answer(m2, int(RecordRule.COUNTER))
        assert isinstance(result, Refused)
        assert result.reason is RefusalReason.UNKNOWN_DEVICE
        assert store.records() == before
    finally:
        store.close()


@pytest.mark.parametrize(
    ("query", "bindings"),
    [(TAKEN_QUERY, ("device", "dev-1", bytes(16))), (RESOLVE_QUERY, (bytes(16), bytes(16)))],
)
def test_lookups_use_indexes_not_scans(
    tmp_path: Path, query: str, bindings: tuple[object, ...]
) -> None:
    """Enrolment and every key agreement stay O(log N) in the number of registered records."""
    store = KeyStore(tmp_path / "ttp.db")
    store.close()
    connection = sqlite3.connect(tmp_path / "ttp.db")
    try:
        plan = connection.execute(f"EXPLAIN QUERY PLAN {query}", bindings).fetchall()
    finally:
        connection.close()
    steps = [step[-1] for step in plan]
    assert not [step for step in steps if step.startswith("SCAN")], steps
    assert any("USING INDEX" in step for step in steps), steps
