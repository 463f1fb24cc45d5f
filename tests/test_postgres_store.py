"""The PostgreSQL key store against a real server, and its equivalence with the SQLite store.

Both backends must give the same answers and leave the same records (one interface, one
semantics); several PostgreSQL stores on one database stand for several TTP replicas and must
never accept one request twice nor lose an update; a server that would acknowledge a commit it
could lose is refused; a server outage is StoreUnavailable and loses nothing acknowledged.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import psycopg
import pytest
from postgres_server import PostgresServer

from mec5g.core import device_role, mec_role
from mec5g.core.credentials import Credential, HolderState, RecordRule
from mec5g.core.errors import RefusalReason
from mec5g.core.handle import AnalysisSettings
from mec5g.core.mec_role import MecSession
from mec5g.core.messages import M2
from mec5g.core.news2 import SpO2Scale
from mec5g.core.profiles import Role
from mec5g.core.records import RecordKind
from mec5g.core.ttp_role import Accepted, Refused
from mec5g.runtime.group_commit import StoreUnavailable
from mec5g.ttp import postgres_store
from mec5g.ttp.at_rest import MasterKey
from mec5g.ttp.keystore import EnrolmentRefused
from mec5g.ttp.postgres_store import PostgresKeyStore, durability_problem
from mec5g.ttp.registry import Registry
from mec5g.ttp.schema import CA_SECRET
from mec5g.ttp.stores import RecordStore, StoreLocation, open_key_store

VERSION = int(RecordRule.COUNTER)


def _session(
    device: Credential, mec: Credential, device_ctr: int = 1, mec_ctr: int = 1
) -> MecSession:
    """The MEC's session of the holders' attempt number ``device_ctr`` and ``mec_ctr``."""
    device_state, mec_state = (
        HolderState(device, RecordRule.COUNTER),
        HolderState(mec, RecordRule.COUNTER),
    )
    for _ in range(device_ctr):
        device_state, device_attempt = device_state.begin_attempt()
    for _ in range(mec_ctr):
        mec_state, mec_attempt = mec_state.begin_attempt()
    return mec_role.forward(mec_attempt, device_role.start(device_attempt).m1.to_bytes())


def _m2(device: Credential, mec: Credential, device_ctr: int = 1, mec_ctr: int = 1) -> M2:
    return _session(device, mec, device_ctr, mec_ctr).m2


@pytest.fixture
async def store(store_location: StoreLocation) -> AsyncIterator[RecordStore]:
    """The same tests on both backends."""
    opened = open_key_store(store_location)
    try:
        yield opened
    finally:
        await opened.aclose()
        opened.close()


async def test_both_backends_accept_refuse_and_write_alike(store: RecordStore) -> None:
    device = store.enrol(RecordKind.DEVICE, ["dev-0001"], "analysis", RecordRule.COUNTER)
    mec = store.enrol(RecordKind.MEC, ["mec-1/cred-001"], "mec-1", RecordRule.COUNTER)
    store.set_analysis_settings("analysis", AnalysisSettings(SpO2Scale(2)))
    session = _session(device["dev-0001"], mec["mec-1/cred-001"])
    m2 = session.m2

    accepted = await store.answer(m2, VERSION)
    assert isinstance(accepted, Accepted)
    settings = mec_role.open_settings(
        session, accepted.m3.to_bytes(), accepted.analysis_settings, VERSION
    )
    assert settings == AnalysisSettings(SpO2Scale(2))
    after = {stored.label: stored.record for stored in store.records()}
    assert after["dev-0001"] == accepted.device_record
    assert after["mec-1/cred-001"] == accepted.mec_record

    replayed = await store.answer(m2, VERSION)
    assert isinstance(replayed, Refused)
    assert replayed.reason is RefusalReason.STALE_DEVICE_COUNTER
    assert {stored.label: stored.record for stored in store.records()} == after

    unknown = await store.answer(_m2(Credential.generate(), mec["mec-1/cred-001"], 1, 2), VERSION)
    assert isinstance(unknown, Refused)
    assert unknown.reason is RefusalReason.UNKNOWN_DEVICE


async def test_both_backends_refuse_duplicates_and_reprovision(store: RecordStore) -> None:
    store.enrol(RecordKind.DEVICE, ["dev-0001"], "analysis", RecordRule.COUNTER)
    with pytest.raises(EnrolmentRefused):
        store.enrol(RecordKind.DEVICE, ["dev-0002", "dev-0001"], "analysis", RecordRule.COUNTER)
    with pytest.raises(EnrolmentRefused):
        store.enrol(RecordKind.DEVICE, ["dev-0003", "dev-0003"], "analysis", RecordRule.COUNTER)
    assert [stored.label for stored in store.records()] == ["dev-0001"]

    fresh = Credential.generate()
    store.reprovision(RecordKind.DEVICE, {"dev-0001": fresh})
    (stored,) = store.records(RecordKind.DEVICE)
    assert stored.record.confirmed == fresh
    assert stored.record.last_counter == 0
    with pytest.raises(EnrolmentRefused):
        store.reprovision(RecordKind.DEVICE, {"dev-9999": Credential.generate()})


async def test_two_replicas_never_accept_one_request_twice(postgres_url: str) -> None:
    """Every request is sent to two replicas at once: the row locks let exactly one accept, and
    the other, reading the record after the first commits, sees the counter used."""
    replicas = [PostgresKeyStore(postgres_url) for _ in range(2)]
    try:
        devices = replicas[0].enrol(
            RecordKind.DEVICE, [f"dev-{n:04d}" for n in range(20)], "analysis", RecordRule.COUNTER
        )
        mecs = replicas[0].enrol(
            RecordKind.MEC, [f"mec-1/cred-{n:03d}" for n in range(20)], "mec-1", RecordRule.COUNTER
        )
        requests = [
            _m2(device, mec) for device, mec in zip(devices.values(), mecs.values(), strict=True)
        ]
        results = await asyncio.gather(
            *(replica.answer(m2, VERSION) for m2 in requests for replica in replicas)
        )
        pairs = [results[i : i + 2] for i in range(0, len(results), 2)]
        for pair in pairs:
            assert sorted(type(result).__name__ for result in pair) == ["Accepted", "Refused"]
        records = {stored.label: stored.record for stored in replicas[1].records()}
        for result in results:
            if isinstance(result, Accepted):
                assert result.device_record in records.values()
                assert result.mec_record in records.values()
    finally:
        for replica in replicas:
            await replica.aclose()


async def test_a_failed_second_write_undoes_the_first(postgres_url: str) -> None:
    """...and the error the log receives carries no DETAIL (which quotes a failing row's
    values, its DK among them)."""
    store = PostgresKeyStore(postgres_url)
    try:
        device = store.enrol(RecordKind.DEVICE, ["dev-0001"], "analysis", RecordRule.COUNTER)
        mec = store.enrol(RecordKind.MEC, ["mec-1/cred-001"], "mec-1", RecordRule.COUNTER)
        m2 = _m2(device["dev-0001"], mec["mec-1/cred-001"])
        before = store.records()
        with psycopg.connect(postgres_url, autocommit=True) as connection:
            connection.execute(
                "CREATE FUNCTION refuse() RETURNS trigger LANGUAGE plpgsql AS "
                "$$ BEGIN RAISE EXCEPTION 'injected failure' "
                "USING DETAIL = 'row value ' || encode(NEW.pending_dk, 'hex'); END $$"
            )
            connection.execute(
                "CREATE TRIGGER refuse_mec_update BEFORE UPDATE ON credential_records "
                "FOR EACH ROW WHEN (NEW.kind = 'mec') EXECUTE FUNCTION refuse()"
            )
        with pytest.raises(StoreUnavailable) as raised:
            await store.answer(m2, VERSION)
        assert "injected failure" in str(raised.value)
        assert "row value" not in str(raised.value)
        assert raised.value.__cause__ is None
        assert raised.value.__suppress_context__
        assert store.records() == before
    finally:
        await store.aclose()


def test_durability_problems() -> None:
    assert durability_problem("on", 0) is None
    assert durability_problem("remote_apply", 0) is None
    for setting in ("off", "local"):
        assert "synchronous_commit" in (durability_problem(setting, 0) or "")
    assert "asynchronously" in (durability_problem("on", 1) or "")


def test_a_database_without_synchronous_commit_is_refused(postgres_url: str) -> None:
    name = postgres_url.rpartition("/")[2]
    with psycopg.connect(postgres_url, autocommit=True) as connection:
        connection.execute(f'ALTER DATABASE "{name}" SET synchronous_commit = off')
    with pytest.raises(StoreUnavailable, match="synchronous_commit"):
        PostgresKeyStore(postgres_url)


def test_migrate_is_idempotent_and_refuses_a_newer_schema(postgres_url: str) -> None:
    assert postgres_store.migrate(postgres_url) == 0
    assert postgres_store.migrate(postgres_url) == postgres_store.SCHEMA_VERSION
    with psycopg.connect(postgres_url, autocommit=True) as connection:
        connection.execute("UPDATE schema_version SET version = version + 1")
    with pytest.raises(postgres_store.SchemaTooNew):
        postgres_store.migrate(postgres_url)


async def _answers(
    store: PostgresKeyStore, requests: list[M2]
) -> list[Accepted | Refused | StoreUnavailable]:
    """Answer ``requests`` one after the other; the outcomes, failures included."""
    outcomes: list[Accepted | Refused | StoreUnavailable] = []
    for m2 in requests:
        try:
            outcomes.append(await store.answer(m2, VERSION))
        except StoreUnavailable as error:
            outcomes.append(error)
    return outcomes


@pytest.mark.slow
async def test_a_server_crash_is_unavailable_and_loses_nothing_acknowledged(
    postgres: PostgresServer,
) -> None:
    url = postgres.new_database()
    store = PostgresKeyStore(url, connect_timeout=1.0)
    try:
        labels = [f"dev-{n:04d}" for n in range(8)]
        devices = store.enrol(RecordKind.DEVICE, labels, "analysis", RecordRule.COUNTER)
        mec = store.enrol(RecordKind.MEC, ["mec-1/cred-001"], "mec-1", RecordRule.COUNTER)
        credential = mec["mec-1/cred-001"]
        requests = [_m2(devices[label], credential, 1, n + 1) for n, label in enumerate(labels[:4])]
        before_outage = await _answers(store, requests)
        postgres.stop()
        try:
            during = await _answers(store, [_m2(devices[labels[4]], credential, 1, 5)])
        finally:
            postgres.start()
        after = await _answers(
            store,
            [_m2(devices[label], credential, 1, n + 6) for n, label in enumerate(labels[5:])],
        )
        assert all(isinstance(outcome, Accepted) for outcome in before_outage + after)
        assert isinstance(during[0], StoreUnavailable)
        records = {stored.label: stored.record for stored in store.records()}
        for outcome in before_outage + after:
            assert isinstance(outcome, Accepted)
            assert outcome.device_record in records.values(), "an acknowledged update was lost"
        assert records["mec-1/cred-001"] == after[-1].mec_record  # type: ignore[union-attr]
        assert records[labels[4]].last_counter == 0, "nothing written while the server was down"
    finally:
        await store.aclose()


def test_a_version_1_store_gains_the_registry_and_a_sealed_ca_key(postgres_url: str) -> None:
    """A store migrated before the registry moved to PostgreSQL, with sealed records: migrating
    adds the registry's tables (and [36]'s device identities) and keeps the records; the first
    registry makes a CA key, sealed under the store's master key."""
    master = MasterKey(b"\x05" * 32)
    store = PostgresKeyStore(postgres_url, master_key=master)
    store.enrol(RecordKind.DEVICE, ["dev-0001"], "analysis", RecordRule.COUNTER)
    before = store.records()
    store.close()
    with psycopg.connect(postgres_url, autocommit=True) as connection:
        tables = ("device_identities", "watch_grants", "mec_nodes", "request_nonces")
        for table in (*tables, "analysis_devices"):
            connection.execute(f"DROP TABLE {table}")
        for table in ("analyses", "enrolment_codes", "users"):
            connection.execute(f"DROP TABLE {table}")
        connection.execute("UPDATE schema_version SET version = 1")
    assert postgres_store.migrate(postgres_url) == 1
    with Registry(postgres_url, master_key=master) as registry:
        assert registry.issue_enrolment_code("una", Role.PATIENT, 60)
        ca_public = registry.ca_public
    with psycopg.connect(postgres_url) as connection:
        row = connection.execute(
            "SELECT value FROM ttp_secrets WHERE name = %s", (CA_SECRET,)
        ).fetchone()
    assert row is not None
    assert len(row[0]) > 32, "sealed, not the bare scalar"
    with Registry(postgres_url, master_key=master) as again:
        assert again.ca_public == ca_public
    reopened = PostgresKeyStore(postgres_url, master_key=master)
    try:
        assert reopened.records() == before
    finally:
        reopened.close()
