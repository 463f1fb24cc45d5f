"""Encryption at rest of the device and MEC keys, on both backends (``mec5g.ttp.at_rest``).

A dump of the database alone (the SQLite files, or ``pg_dump``) holds no DK, confirmed or
pending, and none of the TTP's secrets (pseudonym key, CA key; a PostgreSQL store's CA key is
made by the first registry to open it), in any encoding; the same dump of a store in the clear
does (so the check can fail). A store is refused without its master key
or with another; a sealed DK moved to another record does not open; rotation re-seals every
key, from the clear or from an old master key.
"""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from store_backends import dump

from mec5g.core import device_role, mec_role
from mec5g.core.credentials import HolderState, RecordRule
from mec5g.core.records import RecordKind
from mec5g.core.ttp_role import Accepted
from mec5g.ttp import postgres_store
from mec5g.ttp.at_rest import MasterKey, MasterKeyRefused, Sealer, read_secret
from mec5g.ttp.registry import Registry
from mec5g.ttp.schema import CA_SECRET, PSEUDONYM_SECRET
from mec5g.ttp.stores import StoreLocation, open_database, open_key_store, rotate_master_key

RULE = RecordRule.COUNTER


async def _handshake_then_keys(location: StoreLocation, master_key: MasterKey | None) -> set[bytes]:
    """Enrol two holders, run one handshake (a pending DK each); every DK on record and the
    store's secrets (the pseudonym key, and the CA key its registry uses)."""
    store = open_key_store(location, master_key=master_key)
    Registry(location, master_key=master_key).close()
    try:
        device = store.enrol(RecordKind.DEVICE, ["dev-0001"], "analysis", RULE)["dev-0001"]
        mec = store.enrol(RecordKind.MEC, ["mec-1/cred-001"], "mec-1", RULE)["mec-1/cred-001"]
        _, device_attempt = HolderState(device, RULE).begin_attempt()
        _, mec_attempt = HolderState(mec, RULE).begin_attempt()
        m2 = mec_role.forward(mec_attempt, device_role.start(device_attempt).m1.to_bytes()).m2
        assert isinstance(await store.answer(m2, int(RULE)), Accepted)
        records = [stored.record for stored in store.records()]
    finally:
        await store.aclose()
        store.close()
    keys = {record.confirmed.dk for record in records}
    keys |= {record.pending.dk for record in records if record.pending is not None}
    assert len(keys) == 4
    return keys | _secrets(location, master_key)


def _secrets(location: StoreLocation, master_key: MasterKey | None) -> set[bytes]:
    sealer = Sealer(master_key)
    database = open_database(location)
    try:
        with database.reading() as connection:
            values = [
                read_secret(connection.execute, "?", sealer, name)
                for name in (PSEUDONYM_SECRET, CA_SECRET)
            ]
    finally:
        database.close()
    assert all(value is not None for value in values)
    return {value for value in values if value is not None}


def _leaked(dump: bytes, keys: set[bytes]) -> set[bytes]:
    lowered = dump.lower()
    return {key for key in keys if key in dump or key.hex().encode() in lowered}


async def test_a_dump_alone_reveals_no_key(store_location: StoreLocation) -> None:
    keys = await _handshake_then_keys(store_location, MasterKey(bytes(range(32))))
    assert _leaked(dump(store_location), keys) == set()


async def test_a_dump_of_a_store_in_the_clear_does(store_location: StoreLocation) -> None:
    """The control: the dump check finds keys where they are."""
    keys = await _handshake_then_keys(store_location, None)
    assert _leaked(dump(store_location), keys) == keys


async def test_rotation_and_refusals(store_location: StoreLocation) -> None:
    first, second = MasterKey(b"\x01" * 32), MasterKey(b"\x02" * 32)
    await _handshake_then_keys(store_location, None)
    clear = open_key_store(store_location)
    before = clear.records()
    clear.close()
    await clear.aclose()

    assert rotate_master_key(store_location, None, first) == 2
    for wrong in (None, second):
        with pytest.raises(MasterKeyRefused):
            open_key_store(store_location, master_key=wrong)
    assert rotate_master_key(store_location, first, second) == 2
    with pytest.raises(MasterKeyRefused):
        rotate_master_key(store_location, first, second)
    sealed = open_key_store(store_location, master_key=second)
    try:
        assert sealed.records() == before
    finally:
        await sealed.aclose()
        sealed.close()


def test_a_sealed_key_moved_to_another_record_does_not_open(tmp_path: Path) -> None:
    master = MasterKey(b"\x03" * 32)
    store = open_key_store(tmp_path / "ttp.db", master_key=master)
    store.enrol(RecordKind.DEVICE, ["dev-0001", "dev-0002"], "analysis", RULE)
    store.close()
    connection = sqlite3.connect(tmp_path / "ttp.db")
    with connection:
        connection.execute(
            "UPDATE credential_records SET confirmed_dk = "
            "(SELECT confirmed_dk FROM credential_records WHERE label = 'dev-0001') "
            "WHERE label = 'dev-0002'"
        )
    connection.close()
    store = open_key_store(tmp_path / "ttp.db", master_key=master)
    try:
        with pytest.raises(MasterKeyRefused, match="does not open"):
            store.records()
    finally:
        store.close()


def test_master_key_files(tmp_path: Path) -> None:
    raw, hexed, short = tmp_path / "raw", tmp_path / "hex", tmp_path / "short"
    raw.write_bytes(b"\x07" * 32)
    hexed.write_text("07" * 32 + "\n")
    short.write_bytes(b"\x07" * 16)
    assert MasterKey.from_file(raw) == MasterKey.from_file(hexed) == MasterKey(b"\x07" * 32)
    with pytest.raises(ValueError, match="32 bytes"):
        MasterKey.from_file(short)
    # A random raw key may begin or end with bytes that read as white space: all are key.
    edges = tmp_path / "edges"
    edges.write_bytes(b"\n" + b"\x07" * 30 + b" ")
    assert MasterKey.from_file(edges).key == b"\n" + b"\x07" * 30 + b" "


def _mec5g(*arguments: str | Path, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "mec5g", "ttp", *map(str, arguments)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        cwd=cwd,
    )


def test_the_operator_commands_on_a_sealed_postgresql_store(
    tmp_path: Path, postgres_url: str
) -> None:
    """migrate, enrol, rotate and set-analysis through ``mec5g ttp`` with --store-url."""
    old, new = tmp_path / "old.key", tmp_path / "new.key"
    old.write_text("11" * 32)
    new.write_bytes(b"\x22" * 32)
    store = ["--store-url", postgres_url]

    migrated = _mec5g("migrate", *store, cwd=tmp_path)
    assert migrated.returncode == 0, migrated.stderr
    assert f"schema version {postgres_store.SCHEMA_VERSION} (was 0)" in migrated.stdout
    assert "postgres@" not in migrated.stdout, "the URL's user information is not shown"
    enrolled = _mec5g(
        "enrol-devices",
        *store,
        "--master-key-file",
        old,
        "--count",
        "3",
        "--out",
        "ue.json",
        cwd=tmp_path,
    )
    assert enrolled.returncode == 0, enrolled.stderr
    unsealed = _mec5g("set-analysis", *store, "--analysis", "a", "--spo2-scale", "2", cwd=tmp_path)
    assert unsealed.returncode == 1
    assert "give --master-key-file" in unsealed.stderr
    rotated = _mec5g(
        "rotate-master-key",
        *store,
        "--master-key-file",
        old,
        "--new-master-key-file",
        new,
        cwd=tmp_path,
    )
    assert rotated.returncode == 0, rotated.stderr
    assert rotated.stdout.startswith("3 records re-sealed")
    with pytest.raises(MasterKeyRefused):
        open_key_store(postgres_url, master_key=MasterKey.from_file(old))
    store_now = open_key_store(postgres_url, master_key=MasterKey.from_file(new))
    try:
        assert len(store_now.records(RecordKind.DEVICE)) == 3
    finally:
        store_now.close()
