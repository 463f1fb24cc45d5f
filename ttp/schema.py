"""The TTP's SQLite schema and its migrations (``mec5g ttp migrate``); the registry's tables are
written once for both backends (``REGISTRY_TABLES``, ``WATCH_GRANT_TABLES``; PostgreSQL's own
migrations are in ``mec5g.ttp.postgres_store``).

``schema_version`` holds the version of the database; ``migrate`` applies every later migration
in order, each in the same transaction as the version update, so a database is always exactly
at one version. A database written by a newer mec5g is refused rather than guessed at.

1. credential records of devices and MEC credentials (phase 3), the pseudonym key;
2. the registration centre (phases 1 and 2): the CA key, users with their certificates and
   attributes, one-time enrolment codes (hashed), analyses, their devices, and the nonces of
   signed user requests (replay refusal), and the MEC nodes' ECQV identities;
3. the analyses' settings (phase 4);
4. the watch grants issued (phase 6);
5. DK columns sealed under a master key (encryption at rest);
8. devices' ECQV identities for the public-key baseline [36] (``--scheme baseline36``).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from pathlib import Path

from mec5g.core import ecqv
from mec5g.core.primitives import random_bytes
from mec5g.runtime.group_commit import connect, immediate_transaction
from mec5g.runtime.holder_store import create_private_file
from mec5g.ttp.at_rest import DK_BYTES, SEALED_BYTES

PSEUDONYM_SECRET = "analysis_pseudonym_key"  # noqa: S105 - the name of a row, not a secret
CA_SECRET = "ca_private_key"  # noqa: S105 - the name of a row, not a secret


class SchemaTooNew(RuntimeError):
    """The database was migrated by a newer mec5g than this one."""


def _version_1(connection: sqlite3.Connection) -> None:
    connection.execute(
        "CREATE TABLE IF NOT EXISTS ttp_secrets (name TEXT PRIMARY KEY, value BLOB NOT NULL)"
    )
    connection.execute(
        """CREATE TABLE IF NOT EXISTS credential_records (
        record_id INTEGER PRIMARY KEY,
        kind TEXT NOT NULL CHECK (kind IN ('device', 'mec')),
        label TEXT NOT NULL,
        owner TEXT NOT NULL,
        rule INTEGER NOT NULL,
        confirmed_did BLOB NOT NULL UNIQUE CHECK (length(confirmed_did) = 16),
        confirmed_dk BLOB NOT NULL CHECK (length(confirmed_dk) = 16),
        last_counter BLOB NOT NULL CHECK (length(last_counter) = 16),
        pending_did BLOB UNIQUE CHECK (pending_did IS NULL OR length(pending_did) = 16),
        pending_dk BLOB CHECK ((pending_dk IS NULL) = (pending_did IS NULL)),
        enrolled_at REAL NOT NULL,
        UNIQUE (kind, label)
    )"""
    )
    connection.execute(
        "INSERT OR IGNORE INTO ttp_secrets VALUES (?, ?)", (PSEUDONYM_SECRET, random_bytes(32))
    )


# The registry's tables, written once for both backends: ``{blob}`` and ``{real}`` are BLOB and
# REAL in SQLite, BYTEA and DOUBLE PRECISION in PostgreSQL (whose REAL is four bytes).
SQLITE_TYPES = {"blob": "BLOB", "real": "REAL"}
REGISTRY_TABLES = (
    """CREATE TABLE users (
        user_id TEXT PRIMARY KEY,
        role TEXT NOT NULL CHECK (role IN ('patient', 'doctor')),
        certificate {blob} NOT NULL,
        public_key {blob} NOT NULL CHECK (length(public_key) = 33),
        registered_at {real} NOT NULL,
        attributes TEXT NOT NULL
    )""",
    """CREATE TABLE enrolment_codes (
        code_hash {blob} PRIMARY KEY CHECK (length(code_hash) = 32),
        user_id TEXT NOT NULL,
        role TEXT NOT NULL CHECK (role IN ('patient', 'doctor')),
        issued_at {real} NOT NULL,
        expires_at {real} NOT NULL,
        used_at {real}
    )""",
    """CREATE TABLE analyses (
        analysis_id TEXT PRIMARY KEY,
        patient_id TEXT NOT NULL REFERENCES users (user_id),
        created_at {real} NOT NULL,
        closed_at {real},
        access TEXT NOT NULL
    )""",
    """CREATE TABLE analysis_devices (
        analysis_id TEXT NOT NULL REFERENCES analyses (analysis_id),
        patient_id TEXT NOT NULL REFERENCES users (user_id),
        device TEXT NOT NULL,
        installed_at {real} NOT NULL,
        revoked_at {real},
        access TEXT,
        PRIMARY KEY (analysis_id, device)
    )""",
    "CREATE INDEX analysis_devices_by_patient ON analysis_devices (patient_id, device)",
    """CREATE TABLE request_nonces (
        user_id TEXT NOT NULL,
        nonce {blob} NOT NULL CHECK (length(nonce) = 16),
        seen_at {real} NOT NULL,
        PRIMARY KEY (user_id, nonce)
    )""",
    "CREATE INDEX request_nonces_by_age ON request_nonces (seen_at)",
    """CREATE TABLE mec_nodes (
        node TEXT PRIMARY KEY,
        certificate {blob} NOT NULL,
        public_key {blob} NOT NULL CHECK (length(public_key) = 33),
        registered_at {real} NOT NULL
    )""",
)
WATCH_GRANT_TABLES = (
    """CREATE TABLE watch_grants (
        nonce {blob} PRIMARY KEY CHECK (length(nonce) = 16),
        user_id TEXT NOT NULL REFERENCES users (user_id),
        analysis_id TEXT NOT NULL REFERENCES analyses (analysis_id),
        node TEXT NOT NULL,
        pseudonym {blob} NOT NULL CHECK (length(pseudonym) = 32),
        requester_key {blob} NOT NULL CHECK (length(requester_key) = 33),
        issued_at {real} NOT NULL
    )""",
    "CREATE INDEX watch_grants_by_age ON watch_grants (issued_at)",
)


DEVICE_IDENTITY_TABLES = (
    """CREATE TABLE device_identities (
        label TEXT PRIMARY KEY,
        certificate {blob} NOT NULL,
        public_key {blob} NOT NULL CHECK (length(public_key) = 33),
        enrolled_at {real} NOT NULL
    )""",
)


def in_dialect(statements: tuple[str, ...], types: dict[str, str]) -> list[str]:
    """``statements`` with their column types spelt as one backend spells them."""
    return [statement.format(**types) for statement in statements]


def _version_2(connection: sqlite3.Connection) -> None:
    connection.execute(
        "INSERT INTO ttp_secrets VALUES (?, ?)",
        (CA_SECRET, ecqv.scalar_bytes(ecqv.random_scalar())),
    )
    for statement in in_dialect(REGISTRY_TABLES, SQLITE_TYPES):
        connection.execute(statement)


def _version_3(connection: sqlite3.Connection) -> None:
    """Phase 4: what the MEC needs to analyse an analysis's data, set by a clinician (for now an
    operator, `mec5g ttp set-analysis`); an analysis without a row has the default settings."""
    connection.execute(
        """CREATE TABLE analysis_settings (
            analysis TEXT PRIMARY KEY,
            spo2_scale INTEGER NOT NULL CHECK (spo2_scale IN (1, 2))
        )"""
    )


def _version_4(connection: sqlite3.Connection) -> None:
    """Phase 6: the watch grants issued, so that an emergency a MEC node raises for a pseudonym
    maps back to its analysis and watchers; rows older than a day are pruned on insert."""
    for statement in in_dialect(WATCH_GRANT_TABLES, SQLITE_TYPES):
        connection.execute(statement)


def _version_5(connection: sqlite3.Connection) -> None:
    """Encryption at rest: a DK column holds 16 bytes in the clear or 49 sealed
    (``mec5g.ttp.at_rest``). SQLite cannot change a CHECK, so the table is rebuilt."""
    connection.execute(
        f"""CREATE TABLE credential_records_4 (
        record_id INTEGER PRIMARY KEY,
        kind TEXT NOT NULL CHECK (kind IN ('device', 'mec')),
        label TEXT NOT NULL,
        owner TEXT NOT NULL,
        rule INTEGER NOT NULL,
        confirmed_did BLOB NOT NULL UNIQUE CHECK (length(confirmed_did) = 16),
        confirmed_dk BLOB NOT NULL CHECK (length(confirmed_dk) IN ({DK_BYTES}, {SEALED_BYTES})),
        last_counter BLOB NOT NULL CHECK (length(last_counter) = 16),
        pending_did BLOB UNIQUE CHECK (pending_did IS NULL OR length(pending_did) = 16),
        pending_dk BLOB CHECK ((pending_dk IS NULL) = (pending_did IS NULL)),
        enrolled_at REAL NOT NULL,
        UNIQUE (kind, label)
    )"""
    )
    connection.execute("INSERT INTO credential_records_4 SELECT * FROM credential_records")
    connection.execute("DROP TABLE credential_records")
    connection.execute("ALTER TABLE credential_records_4 RENAME TO credential_records")


def _version_6(connection: sqlite3.Connection) -> None:
    """The baseline [36]: a device's ECQV certificate and public key by its label (``mec5g.ttp.
    identities``); its private key never reaches the TTP's database."""
    for statement in in_dialect(DEVICE_IDENTITY_TABLES, SQLITE_TYPES):
        connection.execute(statement)


MIGRATIONS: tuple[Callable[[sqlite3.Connection], None], ...] = (
    _version_1,
    _version_2,
    _version_3,
    _version_4,
    _version_5,
    _version_6,
)
SCHEMA_VERSION = len(MIGRATIONS)


def current_version(connection: sqlite3.Connection) -> int:
    connection.execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)")
    row = connection.execute("SELECT max(version) FROM schema_version").fetchone()
    return int(row[0] or 0)


def migrate(path: Path | str) -> int:
    """Bring the database at ``path`` to ``SCHEMA_VERSION``; return the version it was at."""
    path = Path(path)
    if not path.exists():
        # Only then: closing any descriptor of an open database drops every POSIX lock this
        # process holds on it, which would pull the file from under the key store's writer.
        create_private_file(path)
    connection = connect(path)
    try:
        with immediate_transaction(connection):
            before = current_version(connection)
            if before > SCHEMA_VERSION:
                raise SchemaTooNew(
                    f"{path} is at schema version {before}; this mec5g knows up to {SCHEMA_VERSION}"
                )
            for migration in MIGRATIONS[before:]:
                migration(connection)
            connection.execute("DELETE FROM schema_version")
            connection.execute("INSERT INTO schema_version VALUES (?)", (SCHEMA_VERSION,))
    finally:
        connection.close()
    return before
