"""The TTP's database on either backend, for everything but the key-agreement hot path.

The registry (phases 1, 2, 5, 6), enrolment, re-provisioning, settings and key rotation are
written once, in SQLite's dialect (``?`` placeholders, ``ON CONFLICT``), against ``Database``:
``transaction()`` is the store's serialised write transaction and ``reading()`` a plain read.
SQLite serialises writers with ``BEGIN IMMEDIATE`` on its file; the PostgreSQL implementation
(``mec5g.ttp.postgres_store.PostgresDatabase``) takes one transaction-scoped advisory lock, so
that TTP replicas sharing one database run these operations one at a time with exactly SQLite's
semantics (a code redeemed once, a nonce consumed once, a device in one open analysis), and
translates the placeholders. Key agreement never takes that lock: it locks its two rows.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, Protocol

from mec5g.runtime.group_commit import connect, immediate_transaction
from mec5g.ttp import schema


class Cursor(Protocol):
    """What the shared code reads of a statement's result (sqlite3's and psycopg's cursors)."""

    @property
    def rowcount(self) -> int: ...

    def fetchone(self) -> Any: ...

    def fetchall(self) -> list[Any]: ...

    def __iter__(self) -> Iterator[Any]: ...


class Connection(Protocol):
    """A connection inside one transaction, speaking SQLite's ``?`` placeholders."""

    def execute(self, sql: str, parameters: Sequence[Any] = ..., /) -> Cursor: ...


class Database(Protocol):
    """A migrated TTP database: serialised write transactions and reads."""

    def transaction(self) -> contextlib.AbstractContextManager[Connection]: ...

    def reading(self) -> contextlib.AbstractContextManager[Connection]: ...

    def close(self) -> None: ...


class SqliteDatabase:
    """The SQLite file of one TTP: a connection per operation, ``BEGIN IMMEDIATE`` for writes."""

    def __init__(self, path: Path | str) -> None:
        """Open (and migrate) the database at ``path``."""
        self.path = Path(path)
        schema.migrate(self.path)

    @contextlib.contextmanager
    def transaction(self) -> Iterator[Connection]:
        """One write transaction, rolled back whole if its body raises."""
        connection = connect(self.path)
        try:
            with immediate_transaction(connection):
                yield connection
        finally:
            connection.close()

    @contextlib.contextmanager
    def reading(self) -> Iterator[Connection]:
        connection = connect(self.path)
        try:
            yield connection
        finally:
            connection.close()

    def close(self) -> None:
        """Nothing stays open between operations."""
