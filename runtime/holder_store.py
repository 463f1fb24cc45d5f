"""Durable state of credential holders: a UE's emulated devices and a MEC's K credentials.

SPEC.md "Attempts" and "Adopting": the counter of an attempt is persisted before its request is
sent, and an answer is adopted only if the stored (credential, counter) still equals the attempt's,
checked in the same atomic write that stores the successor with counter 0. Both are conditional
UPDATEs whose row count is checked, run through the group committer.

The file holds keys (it emulates a device's tamper-proof memory), so it is created mode 0600.
"""

from __future__ import annotations

import json
import logging
import os
import sqlite3
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mec5g.core.credentials import Attempt, Credential, HolderState, RecordRule
from mec5g.core.errors import SchemeError
from mec5g.core.primitives import counter_to_bytes
from mec5g.runtime.group_commit import GroupCommitter, connect, immediate_transaction

LOG = logging.getLogger("mec5g.runtime")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS holders (
    name TEXT PRIMARY KEY,
    rule INTEGER NOT NULL,
    did BLOB NOT NULL CHECK (length(did) = 16),
    dk BLOB NOT NULL CHECK (length(dk) = 16),
    counter BLOB NOT NULL CHECK (length(counter) = 16),
    epoch INTEGER NOT NULL
)
"""


class HolderConflict(Exception):
    """The stored state is not the one this process expected: a second holder of the credential."""


def create_private_file(path: Path) -> None:
    """Create ``path`` readable by its owner only, before any secret is written to it.

    An existing file is left alone, unopened: closing any descriptor of a file drops every POSIX
    lock this process holds on it, and SQLite's locks are POSIX locks, so opening and closing a
    database another connection of this process has open would let other processes checkpoint or
    delete its WAL under that connection.
    """
    if path.exists():
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        descriptor = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
    except FileExistsError:
        return  # another process made it a moment ago
    os.close(descriptor)


class HolderStore:
    """Holder states by name, durable, one writer thread with group commit."""

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        create_private_file(self.path)
        setup = connect(self.path)
        try:
            setup.execute(_SCHEMA)
        finally:
            setup.close()
        self._committer = GroupCommitter(self.path, name="holders")

    def close(self) -> None:
        self._committer.close()

    def load(self) -> dict[str, HolderState]:
        """Every holder's state as stored; after a restart the latest attempt is the stored one."""
        connection = connect(self.path)
        try:
            rows = connection.execute(
                "SELECT name, rule, did, dk, counter, epoch FROM holders ORDER BY name"
            ).fetchall()
        finally:
            connection.close()
        return {
            name: HolderState(
                Credential(did, dk), RecordRule(rule), int.from_bytes(counter, "big"), epoch
            )
            for name, rule, did, dk, counter, epoch in rows
        }

    def import_holders(self, holders: Mapping[str, HolderState], *, replace: bool = False) -> int:
        """Add holders that are not stored yet; return how many were written.

        A name that exists already keeps its stored state: importing an enrolment file twice must
        not roll a credential back. ``replace`` is for re-provisioning only (``mec5g ue|mec
        reprovision``), run once with the file the TTP operator issued: it overwrites.
        """
        verb = "INSERT OR REPLACE" if replace else "INSERT OR IGNORE"
        connection = connect(self.path)
        try:
            with immediate_transaction(connection):
                added = 0
                for name, state in holders.items():
                    cursor = connection.execute(
                        f"{verb} INTO holders (name, rule, did, dk, counter, epoch) "
                        "VALUES (?, ?, ?, ?, ?, ?)",
                        (
                            name,
                            int(state.rule),
                            state.credential.did,
                            state.credential.dk,
                            counter_to_bytes(state.counter),
                            state.epoch,
                        ),
                    )
                    added += cursor.rowcount
        finally:
            connection.close()
        return added

    async def record_attempt(self, name: str, before: HolderState, after: HolderState) -> None:
        """Persist the counter of a new attempt; raise HolderConflict if the row moved."""

        def write(connection: sqlite3.Connection) -> None:
            cursor = connection.execute(
                "UPDATE holders SET counter = ? WHERE name = ? AND did = ? AND counter = ?",
                (
                    counter_to_bytes(after.counter),
                    name,
                    before.credential.did,
                    counter_to_bytes(before.counter),
                ),
            )
            if cursor.rowcount != 1:
                raise HolderConflict(name)

        await self._committer.submit(write)

    async def adopt(self, name: str, attempt: Attempt, after: HolderState) -> bool:
        """Store ``after`` if (credential, counter) still equals the attempt's.

        ``after`` holds the successor with counter 0, or with the counter of its first attempt
        already reserved (see ``mec5g.mec.credential_pool``).
        """

        def write(connection: sqlite3.Connection) -> bool:
            cursor = connection.execute(
                "UPDATE holders SET did = ?, dk = ?, counter = ?, epoch = ? "
                "WHERE name = ? AND did = ? AND counter = ?",
                (
                    after.credential.did,
                    after.credential.dk,
                    counter_to_bytes(after.counter),
                    after.epoch,
                    name,
                    attempt.credential.did,
                    counter_to_bytes(attempt.counter),
                ),
            )
            return cursor.rowcount == 1

        return await self._committer.submit(write)


@dataclass(frozen=True)
class EnrolmentFile:
    """Credentials handed from the TTP operator to a holder process (UE or MEC), as JSON.

    ``{"kind": "device"|"mec", "rule": "counter"|"paper", "owner": str,
    "holders": [{"name": str, "did": hex, "dk": hex}]}``. It carries keys: mode 0600.
    """

    kind: str
    rule: RecordRule
    owner: str
    credentials: dict[str, Credential]

    def document(self) -> dict[str, Any]:
        """The file's JSON document; a reader ignores keys it does not know."""
        return {
            "kind": self.kind,
            "rule": self.rule.label,
            "owner": self.owner,
            "holders": [
                {"name": name, "did": credential.did.hex(), "dk": credential.dk.hex()}
                for name, credential in self.credentials.items()
            ],
        }

    def text(self) -> str:
        """The file's content: its document as JSON."""
        return json.dumps(self.document(), indent=1) + "\n"

    def write(self, path: Path, text: str | None = None) -> None:
        """Write the file (mode 0600, synced): the document, or ``text`` that embeds it."""
        self.write_text(path, text if text is not None else self.text())

    @staticmethod
    def write_text(path: Path, text: str) -> None:
        """Write ``text`` as a file that holds keys: mode 0600, synced."""
        create_private_file(path)
        with path.open("w") as file:
            file.write(text if text.endswith("\n") else text + "\n")
            file.flush()
            os.fsync(file.fileno())

    @classmethod
    def read(cls, path: Path) -> EnrolmentFile:
        try:
            document: Any = json.loads(path.read_text())
            return cls(
                kind=str(document["kind"]),
                rule=RecordRule.from_label(document["rule"]),
                owner=str(document["owner"]),
                credentials={
                    str(entry["name"]): Credential(
                        bytes.fromhex(entry["did"]), bytes.fromhex(entry["dk"])
                    )
                    for entry in document["holders"]
                },
            )
        except (KeyError, TypeError, ValueError, SchemeError) as error:
            raise ValueError(f"{path}: not an enrolment file: {error}") from error

    def holder_states(self) -> dict[str, HolderState]:
        return {name: HolderState(cred, self.rule) for name, cred in self.credentials.items()}


def open_holder_store(state: Path, import_file: Path | None, kind: str) -> HolderStore:
    """Open a holder store, first importing an enrolment file's new holders if one is given."""
    store = HolderStore(state)
    if import_file is not None:
        enrolment = EnrolmentFile.read(import_file)
        if enrolment.kind != kind:
            store.close()
            raise ValueError(f"{import_file} holds {enrolment.kind} credentials, not {kind}")
        added = store.import_holders(enrolment.holder_states())
        LOG.info("imported %d new %s credentials from %s", added, kind, import_file)
    return store
