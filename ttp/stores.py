"""One key-store interface, two backends: SQLite (a file, the default) and PostgreSQL (a URL).

``open_key_store`` and ``open_database`` pick the backend from the location: a
``postgresql://`` URL opens the PostgreSQL store that several TTP replicas share, anything else
the SQLite file of one replica.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Protocol

from mec5g.core import ttp_role
from mec5g.core.credentials import Credential, RecordRule
from mec5g.core.handle import AnalysisSettings
from mec5g.core.messages import M2
from mec5g.core.operations import Ledger
from mec5g.core.records import RecordKind
from mec5g.ttp import at_rest
from mec5g.ttp.at_rest import MasterKey, Sealer
from mec5g.ttp.database import Connection, Database, SqliteDatabase
from mec5g.ttp.keystore import KeyStore, RowCodec, StoredRecord
from mec5g.ttp.postgres_store import PostgresDatabase, PostgresKeyStore, is_url

StoreLocation = Path | str


class RecordStore(Protocol):
    """What the TTP's service and operator commands need of a key store."""

    database: Database
    codec: RowCodec

    def enrol(
        self,
        kind: RecordKind,
        labels: list[str] | dict[str, Credential],
        owner: str,
        rule: RecordRule,
        also: Callable[[Connection], None] | None = None,
    ) -> dict[str, Credential]: ...

    def reprovision(self, kind: RecordKind, issued: dict[str, Credential]) -> None: ...

    def set_analysis_settings(self, analysis: str, settings: AnalysisSettings) -> None: ...

    def records(self, kind: RecordKind | None = None) -> list[StoredRecord]: ...

    async def answer(self, m2: M2, version: int) -> ttp_role.Accepted | ttp_role.Refused: ...

    def close(self) -> None: ...

    async def aclose(self) -> None: ...


def open_key_store(
    location: StoreLocation,
    observe_operations: Callable[[Ledger], None] | None = None,
    master_key: MasterKey | None = None,
) -> RecordStore:
    """The key store at ``location``: a PostgreSQL URL or a SQLite file; ``master_key`` seals
    its DKs at rest."""
    if is_url(location):
        return PostgresKeyStore(str(location), observe_operations, master_key=master_key)
    return KeyStore(location, observe_operations, master_key)


def store_flags(location: StoreLocation) -> list[str]:
    """The flags naming ``location`` on a ``mec5g ttp`` command line."""
    return ["--store-url", str(location)] if is_url(location) else ["--store", str(location)]


def open_database(location: StoreLocation) -> Database:
    """The TTP's database at ``location`` (migrated), for everything but key agreement."""
    if is_url(location):
        return PostgresDatabase(str(location))
    return SqliteDatabase(location)


def rotate_master_key(location: StoreLocation, old: MasterKey | None, new: MasterKey | None) -> int:
    """Re-seal every DK of the store from ``old`` to ``new`` (None: in the clear), in one
    transaction; the number of records. Either backend; the TTP replicas should be stopped,
    since they hold the old key."""
    database = open_database(location)
    try:
        with database.transaction() as connection:
            return at_rest.rotate(connection.execute, "?", Sealer(old), Sealer(new))
    finally:
        database.close()
