"""The TTP's store on PostgreSQL (``--store-url``), shared by several TTP replicas.

Same records and same semantics as the SQLite store (``mec5g.ttp.keystore``), whose resolution,
decision and update statements it reuses: each key-agreement request is one transaction that
locks the request's rows (``SELECT ... FOR UPDATE``, ordered by record id, so two replicas locking
the same two records never deadlock), lets the core decide, writes both records with conditional
updates whose row counts are checked, and commits synchronously before M3 is returned. A replica
that waits for a lock re-reads the row after the other commits, so no update is lost.

Everything else the TTP stores (the registry of phases 1, 2, 5 and 6, enrolment, settings) goes
through ``PostgresDatabase``: the shared code of ``mec5g.ttp.database`` on pooled connections,
every write transaction serialised across replicas by one advisory lock.

Startup refuses a server that would acknowledge a commit it could lose (``durability_problem``):
``synchronous_commit`` off or local, or a standby replicating asynchronously (failing over to it
would lock out every credential rotated since it last caught up).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import psycopg
import psycopg_pool

from mec5g.core import ttp_role
from mec5g.core.handle import AnalysisSettings
from mec5g.core.messages import M2
from mec5g.core.news2 import SpO2Scale
from mec5g.core.operations import Ledger
from mec5g.core.primitives import random_bytes
from mec5g.core.records import CredentialRecord, RecordKind
from mec5g.runtime.group_commit import StoreUnavailable
from mec5g.ttp import keystore, schema
from mec5g.ttp.at_rest import DK_BYTES, SEALED_BYTES, MasterKey
from mec5g.ttp.database import Connection
from mec5g.ttp.keystore import OperatorStore
from mec5g.ttp.schema import PSEUDONYM_SECRET, SchemaTooNew

URL_SCHEMES = ("postgresql://", "postgres://")
# Serialises migrations of replicas starting at once (an arbitrary, fixed advisory lock key).
_MIGRATION_LOCK = 0x6D656335
# Serialises every write transaction but key agreement's across replicas, as BEGIN IMMEDIATE
# serialises them on a SQLite file (another fixed key).
_WRITE_LOCK = 0x6D656336
POSTGRES_TYPES = {"blob": "BYTEA", "real": "DOUBLE PRECISION"}
_MIGRATIONS: tuple[tuple[str, ...], ...] = (
    (
        "CREATE TABLE ttp_secrets (name TEXT PRIMARY KEY, value BYTEA NOT NULL)",
        f"""CREATE TABLE credential_records (
            record_id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            kind TEXT NOT NULL CHECK (kind IN ('device', 'mec')),
            label TEXT NOT NULL,
            owner TEXT NOT NULL,
            rule INTEGER NOT NULL,
            confirmed_did BYTEA NOT NULL UNIQUE CHECK (octet_length(confirmed_did) = 16),
            confirmed_dk BYTEA NOT NULL
                CHECK (octet_length(confirmed_dk) IN ({DK_BYTES}, {SEALED_BYTES})),
            last_counter BYTEA NOT NULL CHECK (octet_length(last_counter) = 16),
            pending_did BYTEA UNIQUE
                CHECK (pending_did IS NULL OR octet_length(pending_did) = 16),
            pending_dk BYTEA CHECK ((pending_dk IS NULL) = (pending_did IS NULL)),
            enrolled_at DOUBLE PRECISION NOT NULL,
            UNIQUE (kind, label)
        )""",
        """CREATE TABLE analysis_settings (
            analysis TEXT PRIMARY KEY,
            spo2_scale INTEGER NOT NULL CHECK (spo2_scale IN (1, 2))
        )""",
    ),
    # The registry (phases 1, 2, 5, 6). Its CA key is made by the first registry to open the
    # store, sealed under the store's master key if it has one (``mec5g.ttp.registry``).
    (*schema.in_dialect(schema.REGISTRY_TABLES + schema.WATCH_GRANT_TABLES, POSTGRES_TYPES),),
    # The baseline [36]'s device identities (``mec5g.ttp.identities``).
    (*schema.in_dialect(schema.DEVICE_IDENTITY_TABLES, POSTGRES_TYPES),),
)
SCHEMA_VERSION = len(_MIGRATIONS)

# The request's rows, locked in record-id order, with the device analysis's settings beside them
# (one round trip; every request runs the same query whether its DIDs are known or not).
_RESOLVE_FOR_UPDATE = (
    keystore.RESOLVE_QUERY.replace("?1", "%(i)s")
    .replace("?2", "%(m)s")
    .replace(
        "FROM credential_records",
        ", spo2_scale FROM credential_records "
        "LEFT JOIN analysis_settings ON analysis_settings.analysis = owner",
    )
    + " ORDER BY record_id FOR UPDATE OF credential_records"
)
_SETTINGS_COLUMN = 10


def is_url(location: object) -> bool:
    """Does ``location`` name a PostgreSQL store rather than a SQLite file?"""
    return isinstance(location, str) and location.startswith(URL_SCHEMES)


def durability_problem(synchronous_commit: str, unsafe_standbys: int) -> str | None:
    """Why this server could acknowledge a commit it may lose, or None.

    A lost record update after M3 left locks the holder out, so the key store accepts only
    commits flushed locally and on every standby a failover could promote.
    """
    if synchronous_commit in ("off", "local"):
        return (
            f"synchronous_commit is {synchronous_commit!r}: set it to 'on' (or remote_apply) for "
            "the key store's database"
        )
    if unsafe_standbys:
        return (
            f"{unsafe_standbys} standby server(s) replicate asynchronously: a failover to one "
            "would lock out every credential rotated since; list them in "
            "synchronous_standby_names or stop them"
        )
    return None


def migrate(url: str) -> int:
    """Bring the database at ``url`` to ``SCHEMA_VERSION``; return the version it was at."""
    with psycopg.connect(url) as connection, connection.transaction():
        connection.execute("SELECT pg_advisory_xact_lock(%s)", (_MIGRATION_LOCK,))
        connection.execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)")
        row = connection.execute("SELECT max(version) FROM schema_version").fetchone()
        before = int(row[0] or 0) if row else 0
        if before > SCHEMA_VERSION:
            raise SchemaTooNew(
                f"the PostgreSQL key store is at schema version {before}; this mec5g knows up "
                f"to {SCHEMA_VERSION}"
            )
        for statements in _MIGRATIONS[before:]:
            for statement in statements:
                connection.execute(statement)
        if before == 0:
            connection.execute(
                "INSERT INTO ttp_secrets VALUES (%s, %s)", (PSEUDONYM_SECRET, random_bytes(32))
            )
        connection.execute("DELETE FROM schema_version")
        connection.execute("INSERT INTO schema_version VALUES (%s)", (SCHEMA_VERSION,))
    return before


def _described(error: psycopg.Error | psycopg_pool.PoolTimeout) -> str:
    """An error for the logs without its DETAIL, which quotes row values (a failing row's DK):
    the class, the SQLSTATE and the primary message only."""
    if isinstance(error, psycopg.Error) and error.diag.message_primary is not None:
        return f"{type(error).__name__} [{error.sqlstate}] {error.diag.message_primary}"
    return f"{type(error).__name__}: {str(error).partition(chr(10))[0]}"


@contextlib.contextmanager
def _unavailable(what: str) -> Iterator[None]:
    """Any database error inside (server down, connection lost, commit failed) as
    ``StoreUnavailable``, described without row values."""
    try:
        yield
    except (psycopg.Error, psycopg_pool.PoolTimeout) as error:
        raise StoreUnavailable(f"{what}: {_described(error)}") from None


def _check_durability(connection: psycopg.Connection[Any]) -> None:
    setting = connection.execute("SHOW synchronous_commit").fetchone()
    # sync_state is hidden (NULL) from roles without pg_read_all_stats: counted as unsafe.
    standbys = connection.execute(
        "SELECT count(*) FROM pg_stat_replication "
        "WHERE sync_state IS DISTINCT FROM 'sync' AND sync_state IS DISTINCT FROM 'quorum'"
    ).fetchone()
    problem = durability_problem(
        str(setting[0]) if setting else "", int(standbys[0]) if standbys else 0
    )
    if problem is not None:
        raise StoreUnavailable(f"refusing the PostgreSQL key store: {problem}")


def _pool_options(url: str, size: int, connect_timeout: float) -> dict[str, Any]:
    """What both pools share: up to ``size`` connections, and a wait for one (and for a new
    connection) bounded by ``connect_timeout`` while the server is down."""
    return {
        "conninfo": url,
        "min_size": 1,
        "max_size": size,
        "timeout": connect_timeout,
        "kwargs": {"connect_timeout": max(1, int(connect_timeout))},
    }


class _Translated:
    """A psycopg connection that takes the shared code's ``?`` placeholders."""

    def __init__(self, connection: psycopg.Connection[Any]) -> None:
        self._connection = connection

    def execute(self, sql: str, parameters: Sequence[Any] = (), /) -> psycopg.Cursor[Any]:
        # A literal % would read as a placeholder to psycopg: escaped first.
        return self._connection.execute(sql.replace("%", "%%").replace("?", "%s"), parameters)


class PostgresDatabase:
    """The shared database of the TTP replicas, for everything but key agreement
    (``mec5g.ttp.database``): migrated and checked for durability on open, pooled connections,
    every write transaction under one advisory lock."""

    def __init__(self, url: str, *, pool_size: int = 4, connect_timeout: float = 5.0) -> None:
        """``connect_timeout`` bounds how long an operation waits for a connection while the
        server is down; it then fails with ``StoreUnavailable``."""
        self.url = url
        with _unavailable("cannot open the PostgreSQL store"):
            migrate(url)
            with psycopg.connect(url, connect_timeout=max(1, int(connect_timeout))) as connection:
                _check_durability(connection)
        self._pool = psycopg_pool.ConnectionPool(
            **_pool_options(url, pool_size, connect_timeout),
            open=True,
            check=psycopg_pool.ConnectionPool.check_connection,
        )

    @contextlib.contextmanager
    def transaction(self) -> Iterator[Connection]:
        """One write transaction, after every other replica's: rolled back whole if its body
        raises; a database error is ``StoreUnavailable``."""
        with (
            _unavailable("the PostgreSQL store could not commit"),
            self._pool.connection() as connection,
            connection.transaction(),
        ):
            connection.execute("SELECT pg_advisory_xact_lock(%s)", (_WRITE_LOCK,))
            yield _Translated(connection)

    @contextlib.contextmanager
    def reading(self) -> Iterator[Connection]:
        with _unavailable("the PostgreSQL store could not answer"), self._pool.connection() as c:
            yield _Translated(c)

    def close(self) -> None:
        self._pool.close()


class PostgresKeyStore(OperatorStore):
    """The TTP's record store on PostgreSQL, with the SQLite store's interface."""

    def __init__(
        self,
        url: str,
        observe_operations: Callable[[Ledger], None] | None = None,
        *,
        master_key: MasterKey | None = None,
        pool_size: int = 8,
        connect_timeout: float = 5.0,
    ) -> None:
        """Migrate, check durability and read the pseudonym key; the key-agreement pool opens on
        first use, in the serving event loop.

        ``connect_timeout`` bounds how long a key-agreement request waits for a connection while
        the server is down: it then fails with ``StoreUnavailable`` and the pool keeps
        reconnecting. (The operator's side, ``database``, waits ``PostgresDatabase``'s default.)
        """
        self.url = url
        self._observe_operations = observe_operations
        super().__init__(PostgresDatabase(url), master_key)
        self._pool = psycopg_pool.AsyncConnectionPool(
            **_pool_options(url, pool_size, connect_timeout),
            open=False,
            check=psycopg_pool.AsyncConnectionPool.check_connection,
        )
        self._opening: asyncio.Lock | None = None
        self._opened = False

    def close(self) -> None:
        """Close the operator side's pool; the key-agreement pool belongs to the serving loop
        (``aclose``)."""
        self.database.close()

    async def aclose(self) -> None:
        if self._opened:
            await self._pool.close()
        self.close()

    # -- key agreement ----------------------------------------------------------------------------

    async def answer(self, m2: M2, version: int) -> ttp_role.Accepted | ttp_role.Refused:
        """Verify and answer one request; returns once its record updates are committed.

        Any database error (server down, connection lost, commit failed) becomes
        ``StoreUnavailable``: the transaction is rolled back or its outcome is unknown, and in
        either case no M3 leaves, so the holders keep credentials the record still holds.
        """
        await self._open()
        with _unavailable("the PostgreSQL key store could not answer"):
            async with self._pool.connection() as connection, connection.transaction():
                result, ledger = await self._answer(connection, m2, version)
        if self._observe_operations is not None:
            self._observe_operations(ledger)
        return result

    async def _open(self) -> None:
        if self._opened:
            return
        if self._opening is None:
            self._opening = asyncio.Lock()
        async with self._opening:
            if not self._opened:
                await self._pool.open(wait=False)
                self._opened = True

    async def _answer(
        self, connection: psycopg.AsyncConnection[Any], m2: M2, version: int
    ) -> tuple[ttp_role.Accepted | ttp_role.Refused, Ledger]:
        did_i, did_m = m2.m1.did_i, m2.did_m
        cursor = await connection.execute(_RESOLVE_FOR_UPDATE, {"i": did_i, "m": did_m})
        rows = await cursor.fetchall()
        scales = {
            row[3]: row[_SETTINGS_COLUMN]
            for row in rows
            if row[1] == RecordKind.DEVICE.value and row[_SETTINGS_COLUMN] is not None
        }
        device, mec = self.codec.resolve((row[:_SETTINGS_COLUMN] for row in rows), did_i, did_m)

        def settings_for(record: CredentialRecord) -> AnalysisSettings:
            scale = scales.get(record.owner)
            return AnalysisSettings() if scale is None else AnalysisSettings(SpO2Scale(scale))

        result, ledger = keystore.decide(m2, version, device, mec, self.pseudonyms, settings_for)
        if isinstance(result, ttp_role.Accepted):
            for found, record in (
                (result.device, result.device_record),
                (result.mec, result.mec_record),
            ):
                cursor = await connection.execute(*self.codec.update(found, record, "%s"))
                if cursor.rowcount != 1:
                    raise psycopg.errors.IntegrityError("record changed under its row lock")
        return result, ledger
