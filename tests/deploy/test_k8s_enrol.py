"""``mec5g k8s``: the cluster enrolment the chart's hook Jobs run, against a fake API server.

The fake keeps Secrets and claims in memory and answers the few core/v1 calls the command makes,
so the test sees exactly what lands in the Secrets: every holder's file once, the TTP's records
behind each, the MEC node's wallet matching its identity at the TTP, nothing enrolled twice, a
document left waiting in the store by a failed publication published by the next run (sealed
while it waits), an identity given to a release that had none, and an unrecoverable loss
reported rather than papered over. Keys never appear in the output. Every test runs the command
on each backend of the TTP's store (a SQLite file, a real PostgreSQL database).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from fake_kube_api import NAMESPACE, FakeApi
from store_backends import dump

from mec5g.core import ecqv
from mec5g.core.records import RecordKind
from mec5g.runtime.holder_store import EnrolmentFile
from mec5g.runtime.wallet import Wallet
from mec5g.ttp import handover
from mec5g.ttp.at_rest import MasterKey
from mec5g.ttp.registry import Registry
from mec5g.ttp.stores import StoreLocation, open_database, open_key_store, store_flags

T = TypeVar("T")


def k8s(api: FakeApi, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "mec5g", "k8s", *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env={**os.environ, "MEC5G_API_SERVER": api.url, "MEC5G_NAMESPACE": NAMESPACE},
    )


def enrol(api: FakeApi, store: StoreLocation, *extra: str) -> subprocess.CompletedProcess[str]:
    return k8s(
        api,
        "enrol",
        *store_flags(store),
        "--ue-secret=ue-enrolment",
        "--mec-secret=mec-enrolment",
        "--ue-pods=3",
        "--devices-per-pod=4",
        "--mec-node=edge-a",
        "--mec-credentials=2",
        '--labels={"app.kubernetes.io/instance": "t"}',
        *extra,
    )


def records(store: StoreLocation, master_key: MasterKey | None = None) -> dict[str, bytes]:
    opened = open_key_store(store, master_key=master_key)
    try:
        return {stored.label: stored.record.confirmed.did for stored in opened.records()}
    finally:
        opened.close()


def waiting(store: StoreLocation, master_key: MasterKey | None = None) -> dict[str, bytes]:
    opened = open_key_store(store, master_key=master_key)
    try:
        return handover.waiting(opened.database, opened.codec.sealer)
    finally:
        opened.close()


def _from_file(content: bytes, tmp_path: Path, reader: Callable[[Path], T]) -> T:
    """``content`` read as the holder would read the file mounted from its Secret."""
    path = tmp_path / "published.json"
    path.write_bytes(content)
    try:
        return reader(path)
    finally:
        path.unlink()


def read(content: bytes, tmp_path: Path) -> EnrolmentFile:
    return _from_file(content, tmp_path, EnrolmentFile.read)


def wallet(content: bytes, tmp_path: Path) -> Wallet:
    return _from_file(content, tmp_path, Wallet.read)


def test_enrol_publishes_every_holder_once(
    api: FakeApi, tmp_path: Path, store_location: StoreLocation
) -> None:
    done = enrol(api, store_location)
    assert done.returncode == 0, done.stderr
    ue = api.secret_files("ue-enrolment")
    mec = api.secret_files("mec-enrolment")
    assert sorted(ue) == ["ue-0.json", "ue-1.json", "ue-2.json"]
    assert sorted(mec) == ["mec-wallet.json", "mec.json"]
    assert api.objects[("secrets", "ue-enrolment")]["metadata"]["labels"] == {
        "app.kubernetes.io/instance": "t"
    }
    stored = records(store_location)
    seen: list[str] = []
    for name, content in ue.items():
        enrolment = read(content, tmp_path)
        assert enrolment.kind == RecordKind.DEVICE.value
        assert len(enrolment.credentials) == 4
        first = 4 * int(name.split("-")[1].split(".")[0]) + 1
        assert next(iter(enrolment.credentials)) == f"dev-{first:04d}"
        for label, credential in enrolment.credentials.items():
            assert stored[label] == credential.did
        seen += enrolment.credentials
    assert len(set(seen)) == 12
    pool = read(mec["mec.json"], tmp_path)
    assert pool.owner == "edge-a"
    assert sorted(pool.credentials) == ["edge-a/cred-001", "edge-a/cred-002"]
    # The MEC's wallet: its key pair matches the certificate the TTP registered for the node.
    node = wallet(mec["mec-wallet.json"], tmp_path)
    with Registry(store_location) as registry:
        certificates = {entry["identity"]: entry for entry in registry.certificates()["certs"]}
        assert (node.identity, node.role, node.ca_public) == ("edge-a", "mec", registry.ca_public)
    assert certificates["edge-a"]["cert"] == node.certificate.hex()
    assert certificates["edge-a"]["public"] == node.pair.public.hex()
    assert waiting(store_location) == {}
    # No key in what a Job's log would show.
    log = done.stdout + done.stderr
    for content in [*ue.values(), mec["mec.json"]]:
        for credential in read(content, tmp_path).credentials.values():
            assert credential.dk.hex() not in log
            assert credential.did.hex() not in log
    assert ecqv.scalar_bytes(node.pair.private).hex() not in log


def test_enrol_again_changes_nothing(
    api: FakeApi, tmp_path: Path, store_location: StoreLocation
) -> None:
    assert enrol(api, store_location).returncode == 0
    before = (
        records(store_location),
        api.secret_files("ue-enrolment"),
        api.secret_files("mec-enrolment"),
    )
    again = enrol(api, store_location)
    assert again.returncode == 0, again.stderr
    assert "enrolled" not in again.stdout
    assert "identity" not in again.stdout
    after = (
        records(store_location),
        api.secret_files("ue-enrolment"),
        api.secret_files("mec-enrolment"),
    )
    assert after == before


def test_a_failed_publication_is_finished_by_the_next_run(
    api: FakeApi, tmp_path: Path, store_location: StoreLocation
) -> None:
    """With a master key, what waits in the store is sealed: a dump holds none of its keys."""
    key_file = tmp_path / "master.key"
    key_file.write_bytes(os.urandom(32))
    master_key = MasterKey.from_file(key_file)
    api.fail_patches = 1
    failed = enrol(api, store_location, f"--master-key-file={key_file}")
    assert failed.returncode != 0
    assert "bad day" in failed.stderr
    kept = waiting(store_location, master_key)
    assert sorted(kept) == ["mec-wallet.json", "mec.json", "ue-0.json", "ue-1.json", "ue-2.json"]
    private = ecqv.scalar_bytes(wallet(kept["mec-wallet.json"], tmp_path).pair.private)
    secrets = {private} | {
        credential.dk for name in ("ue-0.json", "mec.json")
        for credential in read(kept[name], tmp_path).credentials.values()
    }  # fmt: skip
    dumped = dump(store_location)
    assert not [key for key in secrets if key in dumped or key.hex().encode() in dumped.lower()]
    finished = enrol(api, store_location, f"--master-key-file={key_file}")
    assert finished.returncode == 0, finished.stderr
    assert sorted(api.secret_files("ue-enrolment")) == ["ue-0.json", "ue-1.json", "ue-2.json"]
    stored = records(store_location, master_key)
    first = read(api.secret_files("ue-enrolment")["ue-0.json"], tmp_path)
    assert all(stored[label] == cred.did for label, cred in first.credentials.items())
    assert api.secret_files("ue-enrolment")["ue-0.json"] == kept["ue-0.json"]
    assert len(stored) == 14
    assert waiting(store_location, master_key) == {}


def test_lost_enrolment_files_are_reported(
    api: FakeApi, tmp_path: Path, store_location: StoreLocation
) -> None:
    assert enrol(api, store_location).returncode == 0
    del api.objects[("secrets", "mec-enrolment")]["data"]["mec.json"]
    lost = enrol(api, store_location)
    assert lost.returncode == 1
    assert "mec.json" in lost.stderr
    assert "mec-wallet.json" not in lost.stderr
    assert "re-provision" in lost.stderr
    assert "mec.json" not in api.secret_files("mec-enrolment")


def test_growing_the_swarm_enrols_only_the_new_pods(
    api: FakeApi, tmp_path: Path, store_location: StoreLocation
) -> None:
    assert enrol(api, store_location).returncode == 0
    kept = api.secret_files("ue-enrolment")
    grown = enrol(api, store_location, "--ue-pods=4")
    assert grown.returncode == 0, grown.stderr
    assert grown.stdout.count("enrolled") == 1
    files = api.secret_files("ue-enrolment")
    assert {name: files[name] for name in kept} == kept
    assert next(iter(read(files["ue-3.json"], tmp_path).credentials)) == "dev-0013"


def test_a_release_without_a_node_identity_gets_one(
    api: FakeApi, tmp_path: Path, store_location: StoreLocation
) -> None:
    """A release enrolled before the hook made the MEC's wallet: the next run issues the
    identity alone and publishes the wallet; no credential is enrolled again."""
    assert enrol(api, store_location).returncode == 0
    database = open_database(store_location)
    try:
        with database.transaction() as connection:
            connection.execute("DELETE FROM mec_nodes")
    finally:
        database.close()
    del api.objects[("secrets", "mec-enrolment")]["data"]["mec-wallet.json"]
    before = records(store_location)
    upgraded = enrol(api, store_location)
    assert upgraded.returncode == 0, upgraded.stderr
    assert "enrolled" not in upgraded.stdout
    assert "issued MEC node edge-a's identity" in upgraded.stdout
    assert wallet(api.secret_files("mec-enrolment")["mec-wallet.json"], tmp_path).identity == (
        "edge-a"
    )
    assert records(store_location) == before


def test_create_if_absent(api: FakeApi) -> None:
    claim = {
        "apiVersion": "v1",
        "kind": "PersistentVolumeClaim",
        "metadata": {"name": "data-t-mec5g-ttp-0"},
        "spec": {"accessModes": ["ReadWriteOnce"]},
    }
    first = k8s(api, "create-if-absent", json.dumps(claim))
    assert first.returncode == 0, first.stderr
    assert "PersistentVolumeClaim data-t-mec5g-ttp-0 created" in first.stdout
    second = k8s(api, "create-if-absent", json.dumps(claim))
    assert "exists already" in second.stdout
    assert api.requests.count(f"POST /api/v1/namespaces/{NAMESPACE}/persistentvolumeclaims") == 2


def test_a_file_waiting_for_a_pod_planned_away_is_still_published(
    api: FakeApi, store_location: StoreLocation
) -> None:
    """The swarm grown, the publication failed, the swarm shrunk back: the keys the store holds
    for the fourth pod still reach its Secret, so that nothing waits in the store for ever."""
    assert enrol(api, store_location).returncode == 0
    api.fail_patches = 1
    assert enrol(api, store_location, "--ue-pods=4").returncode != 0
    assert sorted(waiting(store_location)) == ["ue-3.json"]
    shrunk = enrol(api, store_location)
    assert shrunk.returncode == 0, shrunk.stderr
    assert "published ue-3.json in Secret ue-enrolment" in shrunk.stdout
    assert waiting(store_location) == {}
