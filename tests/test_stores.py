"""The durable stores: group commit, the TTP key store's enrolment, the holder store, file modes.

Covers DESIGN.md decision 3 ("updates ... atomic, serialised ... durable before the answer leaves
(group commit keeps that fast). Nothing acknowledged is ever lost") as implemented by
``mec5g.runtime.group_commit``: every acknowledged job is committed, a failing job does not undo
the others of its batch, each job sees the earlier writes of its batch, a failed commit fails
every caller of the batch. SPEC.md "Namespaces" and "TTP record" for enrolment (no duplicate
label or DID, all or nothing), SPEC.md "Adopting" for ``HolderStore.adopt`` (only the stored
attempt's answer is adopted), and the 0600 mode of every file holding keys.
"""

from __future__ import annotations

import asyncio
import os
import sqlite3
import stat
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from mec5g.core.credentials import Credential, HolderState, RecordRule
from mec5g.core.records import RecordKind
from mec5g.runtime.group_commit import GroupCommitter, StoreUnavailable
from mec5g.runtime.holder_store import EnrolmentFile, HolderConflict, HolderStore
from mec5g.ttp import schema
from mec5g.ttp.enrolment import enrol_devices, enrol_mec
from mec5g.ttp.keystore import EnrolmentRefused, KeyStore


def _table(path: Path, schema: str = "CREATE TABLE items (value INTEGER NOT NULL)") -> Path:
    with sqlite3.connect(path) as connection:
        connection.execute(schema)
    return path


def _values(path: Path, table: str = "items") -> list[int]:
    connection = sqlite3.connect(path)
    try:
        rows = connection.execute(f"SELECT value FROM {table} ORDER BY rowid").fetchall()  # noqa: S608
    finally:
        connection.close()
    return [value for (value,) in rows]


@pytest.fixture
def committer(tmp_path: Path) -> Iterator[GroupCommitter]:
    writer = GroupCommitter(_table(tmp_path / "jobs.db"), name="test")
    yield writer
    writer.close()


def _insert(value: int) -> Callable[[sqlite3.Connection], int]:
    def work(connection: sqlite3.Connection) -> int:
        connection.execute("INSERT INTO items (value) VALUES (?)", (value,))
        return value

    return work


async def _hold_writer(committer: GroupCommitter) -> tuple[asyncio.Future[None], threading.Event]:
    """Occupy the writer thread with a job that waits for the returned event.

    Everything submitted while it waits queues up and runs as the next batch.
    """
    entered = threading.Event()
    go_on = threading.Event()

    def block(connection: sqlite3.Connection) -> None:
        entered.set()
        if not go_on.wait(timeout=30):
            raise TimeoutError("the test never let the writer go on")

    blocker = asyncio.ensure_future(committer.submit(block))
    await asyncio.to_thread(entered.wait, 30)
    assert entered.is_set()
    return blocker, go_on


async def _queued(
    works: list[Callable[[sqlite3.Connection], object]], committer: GroupCommitter
) -> list[asyncio.Future[object]]:
    futures: list[asyncio.Future[object]] = [
        asyncio.ensure_future(committer.submit(work)) for work in works
    ]
    await asyncio.sleep(0)  # one pass of the loop: every submission is in the writer's queue
    return futures


async def test_many_concurrent_submissions_all_land_durably(
    tmp_path: Path, committer: GroupCommitter
) -> None:
    count = 1000
    results = await asyncio.gather(*(committer.submit(_insert(n)) for n in range(count)))
    assert results == list(range(count))
    # Acknowledged means committed: another connection sees every row at once.
    assert sorted(_values(tmp_path / "jobs.db")) == list(range(count))
    assert committer.jobs == count
    assert 1 <= committer.batches <= count
    committer.close()
    assert sorted(_values(tmp_path / "jobs.db")) == list(range(count))
    with sqlite3.connect(tmp_path / "jobs.db") as connection:
        assert connection.execute("PRAGMA journal_mode").fetchone() == ("wal",)


async def test_queued_jobs_share_one_batch_and_see_earlier_writes(
    tmp_path: Path, committer: GroupCommitter
) -> None:
    blocker, go_on = await _hold_writer(committer)

    def insert_and_count(value: int) -> Callable[[sqlite3.Connection], int]:
        def work(connection: sqlite3.Connection) -> int:
            connection.execute("INSERT INTO items (value) VALUES (?)", (value,))
            return int(connection.execute("SELECT count(*) FROM items").fetchone()[0])

        return work

    futures = await _queued([insert_and_count(n) for n in range(50)], committer)
    go_on.set()
    await blocker
    counts = await asyncio.gather(*futures)
    assert counts == list(range(1, 51)), "job n sees the n - 1 writes before it in its batch"
    assert committer.batches == 2, "the 50 queued jobs were committed together"
    assert _values(tmp_path / "jobs.db") == list(range(50))


async def test_a_failing_job_does_not_undo_the_others_of_its_batch(
    tmp_path: Path, committer: GroupCommitter
) -> None:
    class Boom(Exception):
        pass

    def insert_then_fail(connection: sqlite3.Connection) -> None:
        connection.execute("INSERT INTO items (value) VALUES (-1)")
        raise Boom

    def violate_constraint(connection: sqlite3.Connection) -> None:
        connection.execute("INSERT INTO items (value) VALUES (-2)")
        connection.execute("INSERT INTO items (value) VALUES (NULL)")

    blocker, go_on = await _hold_writer(committer)
    futures = await _queued(
        [_insert(1), insert_then_fail, _insert(2), violate_constraint, _insert(3)], committer
    )
    go_on.set()
    await blocker
    outcomes = await asyncio.gather(*futures, return_exceptions=True)
    assert outcomes[0::2] == [1, 2, 3]
    assert isinstance(outcomes[1], Boom), "the caller gets its own job's exception"
    assert isinstance(outcomes[3], StoreUnavailable), "a database error is the store's failure"
    assert isinstance(outcomes[3].__cause__, sqlite3.IntegrityError)
    assert committer.batches == 2
    assert _values(tmp_path / "jobs.db") == [1, 2, 3], "failed jobs left nothing behind"


async def test_a_failed_commit_fails_every_caller_of_the_batch(tmp_path: Path) -> None:
    path = _table(tmp_path / "deferred.db")
    with sqlite3.connect(path) as connection:
        connection.execute("CREATE TABLE parents (id INTEGER PRIMARY KEY)")
        connection.execute(
            "CREATE TABLE child (parent INTEGER REFERENCES parents (id) DEFERRABLE INITIALLY "
            "DEFERRED)"
        )
    committer = GroupCommitter(path, name="test")
    try:

        def dangling(connection: sqlite3.Connection) -> None:
            # Checked only at COMMIT (deferred foreign key): the whole batch cannot commit.
            connection.execute("INSERT INTO child (parent) VALUES (12345)")

        blocker, go_on = await _hold_writer(committer)
        futures = await _queued([_insert(1), dangling, _insert(2)], committer)
        go_on.set()
        await blocker
        outcomes = await asyncio.gather(*futures, return_exceptions=True)
        assert all(isinstance(outcome, StoreUnavailable) for outcome in outcomes), outcomes
        assert _values(path) == []
        # The writer goes on: the next batch commits.
        assert await committer.submit(_insert(3)) == 3
        assert _values(path) == [3]
    finally:
        committer.close()


async def test_submit_after_close_fails_instead_of_waiting_forever(
    committer: GroupCommitter,
) -> None:
    committer.close()
    with pytest.raises(StoreUnavailable):
        await asyncio.wait_for(committer.submit(_insert(1)), timeout=2)


# -- the TTP key store's enrolment ---------------------------------------------------------------


def test_enrol_refuses_a_duplicate_label_and_writes_nothing(tmp_path: Path) -> None:
    store = KeyStore(tmp_path / "ttp.db")
    try:
        store.enrol(RecordKind.DEVICE, ["dev-a", "dev-b"], "default", RecordRule.COUNTER)
        before = store.records()
        with pytest.raises(EnrolmentRefused, match="dev-b"):
            store.enrol(RecordKind.DEVICE, ["dev-c", "dev-b"], "default", RecordRule.COUNTER)
        assert store.records() == before, "dev-c must not be half-written"
        assert [stored.label for stored in before] == ["dev-a", "dev-b"]
    finally:
        store.close()


def test_enrol_refuses_a_did_of_either_namespace_and_writes_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = KeyStore(tmp_path / "ttp.db")
    try:
        store.enrol(RecordKind.MEC, ["mec-1/cred-001"], "mec-1", RecordRule.COUNTER)
        (existing,) = store.records()
        before = store.records()
        issued = iter([Credential.generate(), existing.record.confirmed])
        monkeypatch.setattr(Credential, "generate", classmethod(lambda cls: next(issued)))
        with pytest.raises(EnrolmentRefused):
            store.enrol(RecordKind.DEVICE, ["dev-a", "dev-b"], "default", RecordRule.COUNTER)
        assert store.records() == before
    finally:
        store.close()


def test_enrolment_files_hold_the_records_credentials(tmp_path: Path) -> None:
    devices = enrol_devices(tmp_path / "ttp.db", tmp_path / "ue.json", 3, rule=RecordRule.PAPER)
    mec = enrol_mec(tmp_path / "ttp.db", tmp_path / "mec.json", "mec-9", 2)
    assert EnrolmentFile.read(tmp_path / "ue.json") == devices
    assert EnrolmentFile.read(tmp_path / "mec.json") == mec
    store = KeyStore(tmp_path / "ttp.db")
    try:
        records = {stored.label: stored.record for stored in store.records()}
    finally:
        store.close()
    for enrolment, kind in ((devices, RecordKind.DEVICE), (mec, RecordKind.MEC)):
        for name, credential in enrolment.credentials.items():
            record = records[name]
            assert record.kind is kind
            assert record.rule is enrolment.rule
            assert record.owner == enrolment.owner
            assert (record.confirmed, record.pending, record.last_counter) == (credential, None, 0)
    with pytest.raises(EnrolmentRefused):
        enrol_devices(tmp_path / "ttp.db", tmp_path / "again.json", 1)
    assert not (tmp_path / "again.json").exists(), "no enrolment file for a refused enrolment"


# -- the holder store ------------------------------------------------------------------------------


@pytest.fixture
def holders(tmp_path: Path) -> Iterator[HolderStore]:
    store = HolderStore(tmp_path / "holders.db")
    yield store
    store.close()


async def test_adopt_only_the_stored_attempt(holders: HolderStore) -> None:
    initial = HolderState(Credential.generate(), RecordRule.COUNTER)
    assert holders.import_holders({"dev": initial}) == 1

    first, first_attempt = initial.begin_attempt()
    await holders.record_attempt("dev", initial, first)
    second, second_attempt = first.begin_attempt()
    await holders.record_attempt("dev", first, second)
    assert holders.load() == {"dev": second}

    successor = Credential.generate()
    # An answer to the older attempt arrives late: ignored, nothing changes.
    late = HolderState(successor, RecordRule.COUNTER, 0, 1)
    assert await holders.adopt("dev", first_attempt, late) is False
    assert holders.load() == {"dev": second}
    # An attempt of another credential (e.g. a stale copy of the state): ignored as well.
    stranger = HolderState(Credential.generate(), RecordRule.COUNTER).begin_attempt()[1]
    assert await holders.adopt("dev", stranger, late) is False
    assert await holders.adopt("nobody", second_attempt, late) is False
    assert holders.load() == {"dev": second}

    adopted = second.adopt(second_attempt, successor)
    assert await holders.adopt("dev", second_attempt, adopted) is True
    assert holders.load() == {"dev": adopted}
    # Adopting the same answer twice is refused: the stored state moved on.
    assert await holders.adopt("dev", second_attempt, adopted) is False
    assert holders.load() == {"dev": adopted}


async def test_record_attempt_refuses_a_moved_row(holders: HolderStore) -> None:
    initial = HolderState(Credential.generate(), RecordRule.COUNTER)
    holders.import_holders({"dev": initial})
    after, _ = initial.begin_attempt()
    await holders.record_attempt("dev", initial, after)
    with pytest.raises(HolderConflict):
        await holders.record_attempt("dev", initial, after)
    assert holders.load() == {"dev": after}


async def test_import_twice_never_rolls_a_credential_back(holders: HolderStore) -> None:
    enrolled = {
        "dev-1": HolderState(Credential.generate(), RecordRule.COUNTER),
        "dev-2": HolderState(Credential.generate(), RecordRule.COUNTER),
    }
    assert holders.import_holders(enrolled) == 2
    state, attempt = enrolled["dev-1"].begin_attempt()
    await holders.record_attempt("dev-1", enrolled["dev-1"], state)
    rotated = state.adopt(attempt, Credential.generate())
    assert await holders.adopt("dev-1", attempt, rotated)

    extra = HolderState(Credential.generate(), RecordRule.PAPER)
    assert holders.import_holders({**enrolled, "dev-3": extra}) == 1
    assert holders.load() == {"dev-1": rotated, "dev-2": enrolled["dev-2"], "dev-3": extra}


# -- file modes --------------------------------------------------------------------------------


@pytest.fixture
def permissive_umask() -> Iterator[None]:
    """umask 0: a file is 0600 only because the code asked for it."""
    previous = os.umask(0)
    try:
        yield
    finally:
        os.umask(previous)


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.mark.usefixtures("permissive_umask")
async def test_files_holding_keys_are_created_mode_0600(tmp_path: Path) -> None:
    enrol_devices(tmp_path / "ttp.db", tmp_path / "ue.json", 2)
    enrol_mec(tmp_path / "ttp.db", tmp_path / "mec.json", "mec-1", 2)
    schema.migrate(tmp_path / "migrated.db")
    store = KeyStore(tmp_path / "ttp.db")
    holders = HolderStore(tmp_path / "nested" / "ue.db")
    try:
        state = HolderState(Credential.generate(), RecordRule.COUNTER)
        holders.import_holders({"dev": state})
        await holders.record_attempt("dev", state, state.begin_attempt()[0])
        files = [
            tmp_path / "ttp.db",
            tmp_path / "migrated.db",
            tmp_path / "ue.json",
            tmp_path / "mec.json",
            tmp_path / "nested" / "ue.db",
        ]
        # SQLite gives its -wal and -shm files the database file's mode.
        files += [path for path in tmp_path.rglob("*.db-*") if path.is_file()]
        assert tmp_path / "nested" / "ue.db-wal" in files
        modes = {path.name: oct(_mode(path)) for path in files}
        assert modes == dict.fromkeys(modes, oct(0o600))
    finally:
        holders.close()
        store.close()


def test_enrolment_never_overwrites_an_enrolment_file(tmp_path: Path) -> None:
    """An existing enrolment file may hold keys not imported yet."""
    enrol_devices(tmp_path / "ttp.db", tmp_path / "ue.json", 2)
    before = (tmp_path / "ue.json").read_bytes()
    with pytest.raises(EnrolmentRefused, match="exists"):
        enrol_devices(tmp_path / "ttp.db", tmp_path / "ue.json", 2, first=3)
    assert (tmp_path / "ue.json").read_bytes() == before
    assert len(KeyStore(tmp_path / "ttp.db").records()) == 2, "nothing enrolled"
