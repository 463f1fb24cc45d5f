"""Encryption at rest of the device and MEC keys and the TTP's own secrets (both backends).

With a master key (``--master-key-file``: 32 random bytes, raw or as 64 hex digits; in
Kubernetes a mounted Secret), every DK column (confirmed and pending) holds
``version || key id || nonce || AES-256-GCM(DK)``, with the record id and the column's name as
associated data, so a sealed key moved to another record or column fails to open; the rows of
``ttp_secrets`` (the pseudonym key, the CA key) are sealed the same way, bound to their names.
The key id
(a fingerprint of the master key) lets a store say which key it needs; ``ttp_secrets`` holds the
store's current key id, so a store opened with no key or the wrong one is refused rather than
read as garbage. Without a master key the DKs stay in the clear, as before, and a store that
holds sealed keys refuses to open.

``rotate`` re-seals every DK and secret under a new master key (or seals a store in the clear
for the first time) in one transaction, on either backend.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from mec5g.core.primitives import random_bytes

KEY_ID_SECRET = "master_key_id"  # noqa: S105 - the name of a row, not a secret
_VERSION = b"\x01"
_KEY_ID_BYTES = 4
_NONCE_BYTES = 12
DK_BYTES = 16
SEALED_BYTES = len(_VERSION) + _KEY_ID_BYTES + _NONCE_BYTES + DK_BYTES + 16
DK_COLUMNS = ("confirmed_dk", "pending_dk")


class MasterKeyRefused(RuntimeError):
    """No master key, or the wrong one, for the store's sealed keys."""


@dataclass(frozen=True)
class MasterKey:
    """The operator's key; ``key_id`` is its public fingerprint (never the key)."""

    key: bytes

    @classmethod
    def from_file(cls, path: Path) -> MasterKey:
        """32 raw bytes, every one of them key (a random key may begin or end with a byte that
        reads as white space), or 64 hex digits, with or without a final newline."""
        data = path.read_bytes()
        if len(data) == 32:
            return cls(data)
        text = data.strip()
        if len(text) == 2 * 32:
            try:
                return cls(bytes.fromhex(text.decode("ascii")))
            except (UnicodeDecodeError, ValueError):
                pass
        raise ValueError(f"{path}: a master key is 32 bytes, raw or as 64 hex digits")

    @property
    def key_id(self) -> bytes:
        return hashlib.sha256(b"mec5g master key id" + self.key).digest()[:_KEY_ID_BYTES]


class Sealer:
    """Seals and opens DK columns under one master key, or passes them through without one."""

    def __init__(self, master: MasterKey | None) -> None:
        self.master = master
        self._aead = AESGCM(master.key) if master is not None else None

    @staticmethod
    def _associated_data(record_id: int, column: str) -> bytes:
        return b"mec5g dk" + record_id.to_bytes(8, "big") + column.encode("ascii")

    def seal(self, record_id: int, column: str, dk: bytes) -> bytes:
        return self._seal(self._associated_data(record_id, column), dk)

    def open(self, record_id: int, column: str, stored: bytes) -> bytes:
        """The DK in ``stored``; the check on the store's key id at open makes a mismatch here
        corruption or tampering, which must not pass for a key."""
        if self._aead is None:  # in the clear: nothing to open (every key agreement reads two)
            if len(stored) != DK_BYTES:
                raise MasterKeyRefused("the store holds sealed keys: give --master-key-file")
            return stored
        return self._open(self._associated_data(record_id, column), stored, f"record {record_id}")

    def seal_secret(self, name: str, value: bytes) -> bytes:
        """A row of ``ttp_secrets`` (the pseudonym key, the CA key), bound to its name."""
        return self._seal(b"mec5g secret" + name.encode("ascii"), value)

    def open_secret(self, name: str, stored: bytes) -> bytes:
        return self._open(b"mec5g secret" + name.encode("ascii"), stored, name)

    def _seal(self, associated_data: bytes, plaintext: bytes) -> bytes:
        if self._aead is None or self.master is None:
            return plaintext
        nonce = random_bytes(_NONCE_BYTES)
        sealed = self._aead.encrypt(nonce, plaintext, associated_data)
        return _VERSION + self.master.key_id + nonce + sealed

    def _open(self, associated_data: bytes, stored: bytes, what: str) -> bytes:
        if self._aead is None:
            return stored
        header = len(_VERSION) + _KEY_ID_BYTES
        try:
            return self._aead.decrypt(
                stored[header : header + _NONCE_BYTES],
                stored[header + _NONCE_BYTES :],
                associated_data,
            )
        except InvalidTag:
            raise MasterKeyRefused(f"{what}: a sealed value does not open") from None

    def check(self, stored_key_id: bytes | None) -> None:
        """Refuse a store sealed under another key, or sealed while we have none, or in the clear
        while we have one (``mec5g ttp rotate-master-key`` seals it)."""
        ours = self.master.key_id if self.master is not None else None
        if stored_key_id == ours:
            return
        if ours is None:
            raise MasterKeyRefused("the store's keys are sealed: give --master-key-file")
        if stored_key_id is None:
            raise MasterKeyRefused(
                "the store's keys are in the clear: seal them first with "
                "`mec5g ttp rotate-master-key --new-master-key-file FILE`"
            )
        raise MasterKeyRefused(
            f"the store's keys are sealed under master key {stored_key_id.hex()}, not {ours.hex()}"
        )


class Cursor(Protocol):
    def fetchall(self) -> list[Any]: ...

    def fetchone(self) -> Any: ...


Execute = Callable[..., Cursor]


def stored_key_id(execute: Execute, placeholder: str) -> bytes | None:
    row = execute(
        f"SELECT value FROM ttp_secrets WHERE name = {placeholder}",  # noqa: S608 - constant
        (KEY_ID_SECRET,),
    ).fetchone()
    return bytes(row[0]) if row is not None else None


def adopt(execute: Execute, placeholder: str, sealer: Sealer) -> None:
    """Check the store's key id against ``sealer`` inside the caller's transaction; a store with
    no records yet takes the sealer's key (so a new store is sealed from its first record)."""
    stored = stored_key_id(execute, placeholder)
    if stored is None and sealer.master is not None:
        empty = execute("SELECT count(*) FROM credential_records").fetchone()[0] == 0
        if empty:
            _reseal_secrets(execute, placeholder, Sealer(None), sealer)
            return
    sealer.check(stored)


def _reseal_secrets(execute: Execute, p: str, old: Sealer, new: Sealer) -> None:
    """Re-seal every ``ttp_secrets`` row from ``old`` to ``new`` and record ``new``'s key id."""
    execute(f"DELETE FROM ttp_secrets WHERE name = {p}", (KEY_ID_SECRET,))  # noqa: S608
    for name, value in execute("SELECT name, value FROM ttp_secrets").fetchall():
        execute(
            f"UPDATE ttp_secrets SET value = {p} WHERE name = {p}",  # noqa: S608 - constant
            (new.seal_secret(name, old.open_secret(name, bytes(value))), name),
        )
    if new.master is not None:
        execute(
            f"INSERT INTO ttp_secrets VALUES ({p}, {p})",  # noqa: S608 - constant
            (KEY_ID_SECRET, new.master.key_id),
        )


def read_secret(execute: Execute, placeholder: str, sealer: Sealer, name: str) -> bytes | None:
    """One ``ttp_secrets`` value, opened; None if the store has no such row."""
    row = execute(
        f"SELECT value FROM ttp_secrets WHERE name = {placeholder}",  # noqa: S608 - constant
        (name,),
    ).fetchone()
    return None if row is None else sealer.open_secret(name, bytes(row[0]))


def rotate(execute: Execute, placeholder: str, old: Sealer, new: Sealer) -> int:
    """Re-seal every DK from ``old`` to ``new`` inside the caller's transaction; the number of
    records. ``execute`` is the connection's ``execute`` (SQLite or psycopg)."""
    old.check(stored_key_id(execute, placeholder))
    rows = execute("SELECT record_id, confirmed_dk, pending_dk FROM credential_records").fetchall()
    p = placeholder
    for record_id, confirmed, pending in rows:
        columns: list[bytes | None] = [
            new.seal(record_id, column, old.open(record_id, column, value))
            if value is not None
            else None
            for column, value in zip(DK_COLUMNS, (confirmed, pending), strict=True)
        ]
        execute(
            f"UPDATE credential_records SET confirmed_dk = {p}, pending_dk = {p} "  # noqa: S608
            f"WHERE record_id = {p}",
            (*columns, record_id),
        )
    _reseal_secrets(execute, placeholder, old, new)
    return len(rows)
