"""``mec5g k8s``: the cluster enrolment the chart's hook Jobs run, against a fake API server.

The fake keeps Secrets and claims in memory and answers the few core/v1 calls the command makes,
so the test sees exactly what lands in the Secrets: every holder's file once, the TTP's records
behind each, nothing enrolled twice, a pending file published after a failure, and an
unrecoverable loss reported rather than papered over. Keys never appear in the output.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from fake_kube_api import NAMESPACE, FakeApi

from mec5g.core.records import RecordKind
from mec5g.runtime.holder_store import EnrolmentFile
from mec5g.ttp.keystore import KeyStore


def k8s(api: FakeApi, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "mec5g", "k8s", *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env={**os.environ, "MEC5G_API_SERVER": api.url, "MEC5G_NAMESPACE": NAMESPACE},
    )


def enrol(api: FakeApi, store: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    return k8s(
        api,
        "enrol",
        f"--store={store}",
        "--ue-secret=ue-enrolment",
        "--mec-secret=mec-enrolment",
        "--ue-pods=3",
        "--devices-per-pod=4",
        "--mec-node=edge-a",
        "--mec-credentials=2",
        '--labels={"app.kubernetes.io/instance": "t"}',
        *extra,
    )


def records(store: Path) -> dict[str, bytes]:
    opened = KeyStore(store)
    try:
        return {stored.label: stored.record.confirmed.did for stored in opened.records()}
    finally:
        opened.close()


def read(content: bytes, tmp_path: Path) -> EnrolmentFile:
    path = tmp_path / "read.json"
    path.write_bytes(content)
    try:
        return EnrolmentFile.read(path)
    finally:
        path.unlink()


def test_enrol_publishes_every_holder_once(api: FakeApi, tmp_path: Path) -> None:
    store = tmp_path / "ttp.db"
    done = enrol(api, store)
    assert done.returncode == 0, done.stderr
    ue = api.secret_files("ue-enrolment")
    mec = api.secret_files("mec-enrolment")
    assert sorted(ue) == ["ue-0.json", "ue-1.json", "ue-2.json"]
    assert sorted(mec) == ["mec.json"]
    assert api.objects[("secrets", "ue-enrolment")]["metadata"]["labels"] == {
        "app.kubernetes.io/instance": "t"
    }
    stored = records(store)
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
    assert not list((tmp_path / "enrolment-pending").iterdir())
    # No key in what a Job's log would show.
    for content in [*ue.values(), *mec.values()]:
        for credential in read(content, tmp_path).credentials.values():
            assert credential.dk.hex() not in done.stdout + done.stderr
            assert credential.did.hex() not in done.stdout + done.stderr


def test_enrol_again_changes_nothing(api: FakeApi, tmp_path: Path) -> None:
    store = tmp_path / "ttp.db"
    assert enrol(api, store).returncode == 0
    before = (records(store), api.secret_files("ue-enrolment"), api.secret_files("mec-enrolment"))
    again = enrol(api, store)
    assert again.returncode == 0, again.stderr
    assert "enrolled" not in again.stdout
    after = (records(store), api.secret_files("ue-enrolment"), api.secret_files("mec-enrolment"))
    assert after == before


def test_a_failed_publication_is_finished_by_the_next_run(api: FakeApi, tmp_path: Path) -> None:
    store = tmp_path / "ttp.db"
    api.fail_patches = 1
    failed = enrol(api, store)
    assert failed.returncode != 0
    assert "bad day" in failed.stderr
    pending = sorted(path.name for path in (tmp_path / "enrolment-pending").iterdir())
    assert pending == ["ue-0.json"]  # enrolled and synced, not yet in its Secret
    finished = enrol(api, store)
    assert finished.returncode == 0, finished.stderr
    assert sorted(api.secret_files("ue-enrolment")) == ["ue-0.json", "ue-1.json", "ue-2.json"]
    stored = records(store)
    first = read(api.secret_files("ue-enrolment")["ue-0.json"], tmp_path)
    assert all(stored[label] == cred.did for label, cred in first.credentials.items())
    assert len(stored) == 14


def test_an_enrolment_that_died_before_its_rename_is_finished(api: FakeApi, tmp_path: Path) -> None:
    store = tmp_path / "ttp.db"
    api.fail_patches = 1
    assert enrol(api, store).returncode != 0
    pending = tmp_path / "enrolment-pending"
    # As if enrolment had committed the records and died before moving its file into place.
    (pending / "ue-0.json").rename(pending / "ue-0.json.partial")
    finished = enrol(api, store)
    assert finished.returncode == 0, finished.stderr
    first = read(api.secret_files("ue-enrolment")["ue-0.json"], tmp_path)
    stored = records(store)
    assert all(stored[label] == cred.did for label, cred in first.credentials.items())
    assert not list(pending.iterdir())


def test_lost_enrolment_files_are_reported(api: FakeApi, tmp_path: Path) -> None:
    store = tmp_path / "ttp.db"
    assert enrol(api, store).returncode == 0
    del api.objects[("secrets", "mec-enrolment")]["data"]["mec.json"]
    lost = enrol(api, store)
    assert lost.returncode == 1
    assert "mec.json" in lost.stderr
    assert "re-provision" in lost.stderr
    assert "mec.json" not in api.secret_files("mec-enrolment")


def test_growing_the_swarm_enrols_only_the_new_pods(api: FakeApi, tmp_path: Path) -> None:
    store = tmp_path / "ttp.db"
    assert enrol(api, store).returncode == 0
    kept = api.secret_files("ue-enrolment")
    grown = enrol(api, store, "--ue-pods=4")
    assert grown.returncode == 0, grown.stderr
    assert grown.stdout.count("enrolled") == 1
    files = api.secret_files("ue-enrolment")
    assert {name: files[name] for name in kept} == kept
    assert next(iter(read(files["ue-3.json"], tmp_path).credentials)) == "dev-0013"


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


def test_a_store_url_is_refused(api: FakeApi, tmp_path: Path) -> None:
    refused = enrol(api, tmp_path / "ttp.db", "--store-url=postgresql://db/mec5g")
    assert refused.returncode == 2
    assert "the enrolment hook needs the SQLite store" in refused.stderr
    assert api.requests == []
    assert not (tmp_path / "ttp.db").exists()
