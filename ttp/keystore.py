"""The TTP's key store: one record per device and per MEC credential, in SQLite, and what both
backends share (``RowCodec``, ``decide``, ``OperatorStore``: the operator's side).

Every key-agreement request is answered inside one ``BEGIN IMMEDIATE`` transaction of the group
committer (``mec5g.runtime.group_commit``): the two records are read, ``core.ttp_role.answer``
decides, both records are written or neither, and the caller gets M3 only after the batch is
durable (``synchronous=FULL``). An update lost after M3 left would lock the device out.

DIDi is looked up only among device records and DIDm only among MEC credentials (SPEC.md
"Namespaces"); enrolment refuses a DID that exists in either. Counters are stored as 16-byte
big-endian values and compared in application code (a forged R decrypts to any 128-bit number).
"""

from __future__ import annotations

import sqlite3
import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mec5g.core import ttp_role
from mec5g.core.credentials import Credential, RecordRule
from mec5g.core.handle import AnalysisSettings, Pseudonyms
from mec5g.core.messages import M2
from mec5g.core.news2 import SpO2Scale
from mec5g.core.operations import Ledger, counting
from mec5g.core.primitives import counter_to_bytes, random_bytes
from mec5g.core.records import CredentialRecord, RecordKind, Slot
from mec5g.runtime.group_commit import (
    GroupCommitter,
    StoreUnavailable,
)
from mec5g.ttp import schema
from mec5g.ttp.at_rest import Execute, MasterKey, Sealer, adopt, read_secret
from mec5g.ttp.database import Connection, Database, SqliteDatabase

RECORD_COLUMNS = (
    "record_id, kind, label, owner, rule, confirmed_did, confirmed_dk, last_counter, "
    "pending_did, pending_dk"
)
# Is a label or a DID taken? Three indexed look-ups, written as equalities: SQLite scans the
# whole table for "? IN (column, column)", which made enrolling N records cost O(N^2).
TAKEN_QUERY = (
    "SELECT 1 FROM credential_records WHERE (kind = ?1 AND label = ?2) "
    "OR confirmed_did = ?3 OR pending_did = ?3"
)
# Find DIDi among device records and DIDm among MEC credentials, in one indexed query.
RESOLVE_QUERY = (
    f"SELECT {RECORD_COLUMNS} FROM credential_records "  # noqa: S608 - constant
    "WHERE confirmed_did IN (?1, ?2) OR pending_did IN (?1, ?2)"
)
# The same rows in SQLite's faster form: its planner answers the OR above by merging four index
# look-ups through a temporary row set; four equality look-ups glued by UNION ALL skip that (a row
# found twice, if both DIDs named one record, resolves the same either time).
_SQLITE_RESOLVE_QUERY = " UNION ALL ".join(
    f"SELECT {RECORD_COLUMNS} FROM credential_records WHERE {column} = {did}"  # noqa: S608
    for did in ("?1", "?2")
    for column in ("confirmed_did", "pending_did")
)
# An accepted request's record update, as two statements: the usual case (the request named the
# confirmed DID) changes neither confirmed column; a request naming the pending DID promotes it.
_UPDATE_PENDING = (
    "UPDATE credential_records SET last_counter = ?, pending_did = ?, pending_dk = ? "
    "WHERE record_id = ? AND confirmed_did = ?"
)
_UPDATE_PROMOTED = (
    "UPDATE credential_records SET confirmed_did = ?, confirmed_dk = ?, last_counter = ?, "
    "pending_did = ?, pending_dk = ? WHERE record_id = ? AND confirmed_did = ?"
)


class EnrolmentRefused(ValueError):
    """An enrolment would duplicate a label or a DID."""


@dataclass(frozen=True)
class StoredRecord:
    """A record with the names the operator gave it, for inspection and tests."""

    record_id: int
    label: str
    record: CredentialRecord


# Column values to members by dictionary: calling the Enum class per row costs more than the row.
_KINDS = {kind.value: kind for kind in RecordKind}
_RULES = {int(rule): rule for rule in RecordRule}


def delete_record(connection: Connection, kind: RecordKind, label: str) -> bool:
    """Forget a record (a revoked or removed device): its next key agreement fails."""
    cursor = connection.execute(
        "DELETE FROM credential_records WHERE kind = ? AND label = ?", (kind.value, label)
    )
    return cursor.rowcount == 1


# What enrolment gives a new record: kind, label, owner, rule and its first credential.
InsertValues = tuple[RecordKind, str, str, RecordRule, Credential]


class RowCodec:
    """Rows to records and records to updates, with the DKs sealed under the master key (if
    any): shared by both backends, so that they store and read exactly the same values."""

    def __init__(self, sealer: Sealer) -> None:
        self.sealer = sealer
        # Rows shaped like real ones (both slots filled, DKs sealed as the store seals them),
        # decoded in place of a DID that is not on record.
        self._stand_ins = {
            kind: (
                0,
                kind.value,
                "",
                "",
                int(RecordRule.COUNTER),
                random_bytes(16),
                sealer.seal(0, "confirmed_dk", random_bytes(16)),
                random_bytes(16),
                random_bytes(16),
                sealer.seal(0, "pending_dk", random_bytes(16)),
            )
            for kind in RecordKind
        }

    def record(self, row: sqlite3.Row | tuple[Any, ...]) -> StoredRecord:
        return StoredRecord(row[0], row[2], self._decode(row))

    def _decode(self, row: sqlite3.Row | tuple[Any, ...]) -> CredentialRecord:
        record_id, kind, _, owner, rule, c_did, c_dk, last, p_did, p_dk = row
        pending = (
            Credential(p_did, self.sealer.open(record_id, "pending_dk", p_dk))
            if p_did is not None
            else None
        )
        return CredentialRecord(  # kind, rule, confirmed, owner, last_counter, pending
            _KINDS[kind],
            _RULES[rule],
            Credential(c_did, self.sealer.open(record_id, "confirmed_dk", c_dk)),
            owner,
            int.from_bytes(last, "big"),
            pending,
        )

    def resolve(
        self, rows: Iterable[sqlite3.Row | tuple[Any, ...]], did_i: bytes, did_m: bytes
    ) -> tuple[ttp_role.Resolution | None, ttp_role.Resolution | None]:
        """The rows ``RESOLVE_QUERY`` found, as the device's and the MEC credential's resolutions.

        A DID of the other namespace does not resolve; a DID not on record costs a stand-in row's
        decoding (its DKs opened too), so that an unknown DID costs the same as a known one before
        the core checks it against its dummy (SPEC.md "Uniform failure").
        """
        found: dict[RecordKind, ttp_role.Resolution] = {}
        for row in rows:
            record = self._decode(row)
            slot = record.slot_of(did_i if record.kind is RecordKind.DEVICE else did_m)
            if slot is not None:
                found[record.kind] = ttp_role.Resolution(row[0], record, slot)
        for kind, did in ((RecordKind.DEVICE, did_i), (RecordKind.MEC, did_m)):
            if kind not in found:
                stand_in = self._stand_ins[kind]
                record = self._decode(stand_in)
                ttp_role.Resolution(stand_in[0], record, Slot.CONFIRMED)
                record.slot_of(did)
        return found.get(RecordKind.DEVICE), found.get(RecordKind.MEC)

    def update(
        self, found: ttp_role.Resolution, record: CredentialRecord, placeholder: str
    ) -> tuple[str, tuple[Any, ...]]:
        """The conditional UPDATE storing an accepted request's ``record``.

        It matches the row only while its confirmed DID is the one read, so the caller's
        row-count check catches a record changed under it. The usual case (the request named the
        confirmed DID) leaves the confirmed columns out of the SET, sparing the unique index on
        confirmed_did.
        """
        pending = record.pending
        record_id = found.record_id
        if not isinstance(record_id, int):  # the core keeps record ids opaque; ours are ints
            raise TypeError(f"record id {record_id!r} is not a row id")
        columns = (
            counter_to_bytes(record.last_counter),
            pending.did if pending else None,
            self.sealer.seal(record_id, "pending_dk", pending.dk) if pending else None,
            record_id,
            found.record.confirmed.did,
        )
        if record.confirmed == found.record.confirmed:
            return _UPDATE_PENDING.replace("?", placeholder), columns
        return _UPDATE_PROMOTED.replace("?", placeholder), (
            record.confirmed.did,
            self.sealer.seal(record_id, "confirmed_dk", record.confirmed.dk),
            *columns,
        )

    def insert(self, execute: Execute, placeholder: str, values: InsertValues) -> None:
        """Insert a record with counter 0 in the caller's transaction; refuse a label or DID that
        exists already (in either namespace).

        A sealed DK needs the record id, known only after the insert: the row is inserted with
        random bytes in its place (never the key, which would reach the database's log in the
        clear) and then given the sealed DK.
        """
        kind, label, owner, rule, credential = values
        p = placeholder
        taken = execute(
            TAKEN_QUERY.replace("?1", p).replace("?2", p).replace("?3", p),
            (kind.value, label, credential.did, credential.did),
        ).fetchone()
        if taken:
            raise EnrolmentRefused(f"{kind.value} {label!r} is enrolled already")
        sealing = self.sealer.master is not None
        row = execute(
            "INSERT INTO credential_records (kind, label, owner, rule, confirmed_did, "  # noqa: S608
            f"confirmed_dk, last_counter, enrolled_at) VALUES ({p}, {p}, {p}, {p}, {p}, {p}, "
            f"{p}, {p}) RETURNING record_id",
            (
                kind.value,
                label,
                owner,
                int(rule),
                credential.did,
                random_bytes(16) if sealing else credential.dk,
                counter_to_bytes(0),
                time.time(),
            ),
        ).fetchone()
        if sealing:
            self._set_confirmed_dk(execute, placeholder, int(row[0]), credential.dk)

    def reprovision(
        self,
        execute: Execute,
        placeholder: str,
        kind: RecordKind,
        label: str,
        credential: Credential,
    ) -> None:
        """Give an existing record a fresh credential, counter 0, no pending, in the caller's
        transaction; the old credential is forgotten."""
        p = placeholder
        row = execute(
            f"UPDATE credential_records SET confirmed_did = {p}, confirmed_dk = {p}, "  # noqa: S608
            f"last_counter = {p}, pending_did = NULL, pending_dk = NULL "
            f"WHERE kind = {p} AND label = {p} RETURNING record_id",
            (credential.did, random_bytes(16), counter_to_bytes(0), kind.value, label),
        ).fetchone()
        if row is None:
            raise EnrolmentRefused(f"no {kind.value} record named {label!r}")
        self._set_confirmed_dk(execute, placeholder, int(row[0]), credential.dk)

    def _set_confirmed_dk(self, execute: Execute, p: str, record_id: int, dk: bytes) -> None:
        execute(
            f"UPDATE credential_records SET confirmed_dk = {p} WHERE record_id = {p}",  # noqa: S608
            (self.sealer.seal(record_id, "confirmed_dk", dk), record_id),
        )


def insert_record(
    connection: Connection,
    codec: RowCodec,
    kind: RecordKind,
    label: str,
    owner: str,
    rule: RecordRule,
    credential: Credential,
) -> None:
    """``RowCodec.insert`` in a ``Database`` transaction (enrolment, the registry's devices)."""
    codec.insert(connection.execute, "?", (kind, label, owner, rule, credential))


def decide(
    m2: M2,
    version: int,
    device: ttp_role.Resolution | None,
    mec: ttp_role.Resolution | None,
    pseudonyms: Pseudonyms,
    settings_for: Callable[[CredentialRecord], AnalysisSettings],
) -> tuple[ttp_role.Accepted | ttp_role.Refused, Ledger]:
    """The core's verdict on resolved records, with the operations it counted (both backends)."""
    with counting() as ledger:
        result = ttp_role.answer(
            m2,
            version,
            device,
            mec,
            pseudonym_for=lambda d, m: pseudonyms(d.owner, m.owner),
            settings_for=settings_for,
        )
    return result, ledger


def credentials_for(labels: list[str] | dict[str, Credential]) -> dict[str, Credential]:
    """The credentials to enrol: the given ones, or fresh ones for labels each named once."""
    if isinstance(labels, dict):
        return dict(labels)
    duplicates = sorted(label for label, times in Counter(labels).items() if times > 1)
    if duplicates:
        raise EnrolmentRefused(f"labels named twice: {', '.join(duplicates)}")
    return {label: Credential.generate() for label in labels}


class OperatorStore:
    """What both backends' key stores share: opening (the master key adopted, the pseudonym key
    read) and the operator's side (enrolment, re-provisioning, settings, inspection), each one
    serialised transaction of the store's ``Database``."""

    def __init__(self, database: Database, master_key: MasterKey | None) -> None:
        """Adopt ``master_key`` (refused if the store's keys are sealed under another) and read
        the pseudonym key; ``database`` is closed if that fails."""
        self.database = database
        self.codec = RowCodec(Sealer(master_key))
        try:
            with database.transaction() as connection:
                adopt(connection.execute, "?", self.codec.sealer)
                secret = read_secret(
                    connection.execute, "?", self.codec.sealer, schema.PSEUDONYM_SECRET
                )
        except BaseException:
            database.close()
            raise
        if secret is None:
            database.close()
            raise StoreUnavailable("the key store has no pseudonym key")
        self.pseudonyms = Pseudonyms(secret)

    # -- enrolment (operator side, synchronous) -------------------------------------------------

    def enrol(
        self,
        kind: RecordKind,
        labels: list[str] | dict[str, Credential],
        owner: str,
        rule: RecordRule,
        also: Callable[[Connection], None] | None = None,
    ) -> dict[str, Credential]:
        """Create one record per label (fresh credentials unless given); all or nothing, with
        ``also`` (e.g. storing the MEC node's ECQV identity) in the same transaction."""
        issued = credentials_for(labels)
        with self.database.transaction() as connection:
            for label, credential in issued.items():
                insert_record(connection, self.codec, kind, label, owner, rule, credential)
            if also is not None:
                also(connection)
        return issued

    def reprovision(self, kind: RecordKind, issued: dict[str, Credential]) -> None:
        """Give existing records the ``issued`` credentials, counter 0, no pending; all or nothing.

        The way back for holders locked out by a restored backup or a lost holder state
        (DESIGN.md decision 3; SPEC.md "TTP record": re-provisioning sets last_ctr = 0 and
        pending = none).
        """
        with self.database.transaction() as connection:
            for label, credential in issued.items():
                self.codec.reprovision(connection.execute, "?", kind, label, credential)

    def set_analysis_settings(self, analysis: str, settings: AnalysisSettings) -> None:
        """Set the settings the MEC receives for ``analysis`` from the next key agreement on."""
        with self.database.transaction() as connection:
            connection.execute(
                "INSERT INTO analysis_settings VALUES (?, ?) "
                "ON CONFLICT (analysis) DO UPDATE SET spo2_scale = excluded.spo2_scale",
                (analysis, int(settings.spo2_scale)),
            )

    def records(self, kind: RecordKind | None = None) -> list[StoredRecord]:
        """Every record (of one kind), by label: for operators and tests, never on the hot path."""
        query = f"SELECT {RECORD_COLUMNS} FROM credential_records"  # noqa: S608 - constant
        with self.database.reading() as connection:
            if kind is None:
                rows = connection.execute(query + " ORDER BY label").fetchall()
            else:
                rows = connection.execute(
                    query + " WHERE kind = ? ORDER BY label", (kind.value,)
                ).fetchall()
        return [self.codec.record(row) for row in rows]


class KeyStore(OperatorStore):
    """The TTP's SQLite record store."""

    def __init__(
        self,
        path: Path | str,
        observe_operations: Callable[[Ledger], None] | None = None,
        master_key: MasterKey | None = None,
    ) -> None:
        """Open (and migrate) the store; ``observe_operations`` receives each answer's ledger;
        ``master_key`` seals the DKs (refused if the store's keys are sealed under another)."""
        self.path = Path(path)
        self._observe_operations = observe_operations
        super().__init__(SqliteDatabase(self.path), master_key)
        self._committer = GroupCommitter(self.path, name="keystore")

    def close(self) -> None:
        self._committer.close()

    async def aclose(self) -> None:
        """Close from the serving event loop (the PostgreSQL store's pool needs it)."""
        self.close()

    # -- key agreement ----------------------------------------------------------------------------

    async def answer(self, m2: M2, version: int) -> ttp_role.Accepted | ttp_role.Refused:
        """Verify and answer one request; returns once its record updates are durable."""
        result, ledger = await self._committer.submit(
            lambda connection: self._answer(connection, m2, version)
        )
        if self._observe_operations is not None:
            self._observe_operations(ledger)
        return result

    def _answer(
        self, connection: sqlite3.Connection, m2: M2, version: int
    ) -> tuple[ttp_role.Accepted | ttp_role.Refused, Ledger]:
        device, mec = self._resolve(connection, m2.m1.did_i, m2.did_m)
        result, ledger = decide(
            m2,
            version,
            device,
            mec,
            self.pseudonyms,
            lambda record: _analysis_settings(connection, record.owner),
        )
        if isinstance(result, ttp_role.Accepted):
            self._write(connection, result.device, result.device_record)
            self._write(connection, result.mec, result.mec_record)
        return result, ledger

    def _resolve(
        self, connection: sqlite3.Connection, did_i: bytes, did_m: bytes
    ) -> tuple[ttp_role.Resolution | None, ttp_role.Resolution | None]:
        """Find DIDi among device records and DIDm among MEC credentials, in one query."""
        return self.codec.resolve(
            connection.execute(_SQLITE_RESOLVE_QUERY, (did_i, did_m)).fetchall(), did_i, did_m
        )

    def _write(
        self, connection: sqlite3.Connection, found: ttp_role.Resolution, record: CredentialRecord
    ) -> None:
        cursor = connection.execute(*self.codec.update(found, record, "?"))
        if cursor.rowcount != 1:
            raise sqlite3.IntegrityError("record changed under a serialised transaction")


# One immutable value per scale, rather than one constructed per key agreement.
_SETTINGS = {int(scale): AnalysisSettings(scale) for scale in SpO2Scale}
_UNSET = AnalysisSettings()


def _analysis_settings(connection: sqlite3.Connection, analysis: str) -> AnalysisSettings:
    row = connection.execute(
        "SELECT spo2_scale FROM analysis_settings WHERE analysis = ?", (analysis,)
    ).fetchone()
    return _UNSET if row is None else _SETTINGS[row[0]]
