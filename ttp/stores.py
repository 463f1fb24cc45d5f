"""One key-store interface, two backends: SQLite (a file, the default) and PostgreSQL (a URL).

``open_key_store`` picks the backend from the location: a ``postgresql://`` URL opens the
PostgreSQL store that several TTP replicas share, anything else the SQLite file of one replica.
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
from mec5g.ttp.keystore import KeyStore, StoredRecord
from mec5g.ttp.postgres_store import PostgresKeyStore, SqliteOnly, is_url

StoreLocation = Path | str


class RecordStore(Protocol):
    """What the TTP's service and operator commands need of a key store."""

    def enrol(
        self,
        kind: RecordKind,
        labels: list[str] | dict[str, Credential],
        owner: str,
        rule: RecordRule,
    ) -> dict[str, Credential]: ...

    def reprovision(self, kind: RecordKind, issued: dict[str, Credential]) -> None: ...

    def set_analysis_settings(self, analysis: str, settings: AnalysisSettings) -> None: ...

    def records(self, kind: RecordKind | None = None) -> list[StoredRecord]: ...

    async def answer(self, m2: M2, version: int) -> ttp_role.Accepted | ttp_role.Refused: ...

    def close(self) -> None: ...

    async def aclose(self) -> None: ...


def open_key_store(
    location: StoreLocation, observe_operations: Callable[[Ledger], None] | None = None
) -> RecordStore:
    """The key store at ``location``: a PostgreSQL URL or a SQLite file."""
    if is_url(location):
        return PostgresKeyStore(str(location), observe_operations)
    return KeyStore(location, observe_operations)


def sqlite_path(location: StoreLocation, what: str) -> Path:
    """``location`` as a SQLite file, for the parts with no PostgreSQL store yet."""
    if is_url(location):
        raise SqliteOnly(
            f"{what} needs the SQLite store (--store) for now; the PostgreSQL store "
            "(--store-url) holds the key-agreement records only"
        )
    return Path(location)
