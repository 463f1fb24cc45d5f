"""The ``mec5g`` command as a user runs it: ``python -m mec5g`` in a subprocess.

Covers SPEC.md "Test vectors: the interchange format" (``vectors make`` / ``vectors verify``:
exit 0 when everything matches, 1 with the mismatches listed, 2 for a file it cannot read),
the operator commands of ``mec5g ttp`` (enrol-devices, enrol-mec, migrate; enrolment files are
mode 0600) and DESIGN.md "one command starts the whole testbed" (``mec5g up`` with a port offset,
ending with every holder still held by its TTP record).
"""

from __future__ import annotations

import json
import os
import random
import signal
import socket
import sqlite3
import stat
import subprocess
import sys
import time
from pathlib import Path

from mec5g.core import ecqv
from mec5g.core.credentials import RecordRule
from mec5g.core.records import RecordKind
from mec5g.runtime.holder_store import EnrolmentFile, HolderStore
from mec5g.runtime.wallet import Wallet
from mec5g.ttp.keystore import KeyStore
from mec5g.ttp.schema import SCHEMA_VERSION

GRPC_PORTS = (50051, 50052, 50053)
METRICS_PORTS = (9151, 9152, 9153)


def mec5g(*args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "mec5g", "--log-level", "WARNING", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )


def test_vectors_make_then_verify(tmp_path: Path) -> None:
    out = tmp_path / "vectors.json"
    made = mec5g("vectors", "make", "--count", "3", "--out", str(out))
    assert made.returncode == 0, made.stderr
    document = json.loads(out.read_text())
    assert document["scheme"] == "mec5g/phase3/v1"
    assert len(document["vectors"]) == 3
    checked = mec5g("vectors", "verify", str(out))
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "all 3 vectors match" in checked.stdout


def test_vectors_make_to_stdout_is_json() -> None:
    made = mec5g("vectors", "make", "--count", "2")
    assert made.returncode == 0, made.stderr
    document = json.loads(made.stdout)
    assert len(document["vectors"]) == 2
    vector = document["vectors"][0]
    assert set(vector) == {"inputs", "M1", "M2", "M3", "M4", "SK", "next"}
    assert [len(bytes.fromhex(vector[name])) for name in ("M1", "M2", "M3", "M4", "SK")] == [
        64,
        128,
        64,
        48,
        16,
    ]


def test_vectors_verify_reports_a_flipped_hex_digit(tmp_path: Path) -> None:
    out = tmp_path / "vectors.json"
    assert mec5g("vectors", "make", "--count", "2", "--out", str(out)).returncode == 0
    document = json.loads(out.read_text())
    m3 = document["vectors"][1]["M3"]
    flipped = m3[:10] + format(int(m3[10], 16) ^ 0x1, "x") + m3[11:]
    document["vectors"][1]["M3"] = flipped
    out.write_text(json.dumps(document))
    checked = mec5g("vectors", "verify", str(out))
    assert checked.returncode == 1, checked.stdout + checked.stderr
    assert "vector 1: M3" in checked.stdout
    assert flipped in checked.stdout
    assert "vector 0" not in checked.stdout


def _assert_cannot_read(path: Path) -> None:
    checked = mec5g("vectors", "verify", str(path))
    assert checked.returncode == 2, (path.name, checked.stdout, checked.stderr)
    assert "Traceback" not in checked.stderr
    assert f"cannot read {path}" in checked.stderr


def test_vectors_verify_cannot_read(tmp_path: Path) -> None:
    not_json = tmp_path / "not.json"
    not_json.write_text("{ this is not json")
    wrong_document = tmp_path / "list.json"
    wrong_document.write_text("[1, 2, 3]")
    wrong_scheme = tmp_path / "scheme.json"
    wrong_scheme.write_text('{"scheme": "mec5g/phase3/v0", "vectors": []}')
    for unreadable in (not_json, wrong_document, wrong_scheme, tmp_path / "missing.json", tmp_path):
        _assert_cannot_read(unreadable)


def test_vectors_verify_cannot_read_a_binary_file(tmp_path: Path) -> None:
    binary = tmp_path / "binary.json"
    binary.write_bytes(b"\xff\xfe\x00\x81 not text at all \x00")
    _assert_cannot_read(binary)


def test_ttp_enrolment_and_migrate(tmp_path: Path) -> None:
    store = tmp_path / "ttp.db"
    migrated = mec5g("ttp", "migrate", "--store", str(store))
    assert migrated.returncode == 0, migrated.stderr
    assert f"schema version {SCHEMA_VERSION}" in migrated.stdout
    devices = mec5g(
        "ttp",
        "enrol-devices",
        "--store",
        str(store),
        "--count",
        "4",
        "--analysis",
        "glucose",
        "--record-rule",
        "paper",
        "--out",
        str(tmp_path / "ue.json"),
    )
    assert devices.returncode == 0, devices.stderr
    mec = mec5g(
        "ttp",
        "enrol-mec",
        "--store",
        str(store),
        "--node",
        "mec-7",
        "--count",
        "3",
        "--out",
        str(tmp_path / "mec.json"),
    )
    assert mec.returncode == 0, mec.stderr
    again = mec5g("ttp", "migrate", "--store", str(store))
    assert again.returncode == 0, again.stderr

    ue_file = EnrolmentFile.read(tmp_path / "ue.json")
    mec_file = EnrolmentFile.read(tmp_path / "mec.json")
    assert (ue_file.kind, ue_file.owner, ue_file.rule.label) == ("device", "glucose", "paper")
    assert (mec_file.kind, mec_file.owner, mec_file.rule.label) == ("mec", "mec-7", "counter")
    assert list(ue_file.credentials) == ["dev-0001", "dev-0002", "dev-0003", "dev-0004"]
    assert list(mec_file.credentials) == ["mec-7/cred-001", "mec-7/cred-002", "mec-7/cred-003"]
    for path in (store, tmp_path / "ue.json", tmp_path / "mec.json"):
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path
    keys = KeyStore(store)
    try:
        devices_stored = {s.label: s.record for s in keys.records(RecordKind.DEVICE)}
        mecs_stored = {s.label: s.record for s in keys.records(RecordKind.MEC)}
    finally:
        keys.close()
    assert {
        name: record.confirmed for name, record in devices_stored.items()
    } == ue_file.credentials
    assert {name: record.confirmed for name, record in mecs_stored.items()} == mec_file.credentials


def _free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def free_offset(extra: int = 0, ports: tuple[int, ...] = ()) -> int:
    """A port offset under which every port of ``mec5g up`` is free, with ``extra`` MEC nodes
    beyond the first (on the ports after the platform's); or, given ``ports``, every one of
    those (a scenario's)."""
    candidates = random.Random().sample(range(1000, 9000, 10), 50)
    if not ports:
        ports = (*GRPC_PORTS, *METRICS_PORTS)
        if extra:  # the platform's ports, then the extra nodes'
            ports += tuple(base + number for base in (50054, 9154) for number in range(extra + 1))
    for offset in candidates:
        if all(_free(port + offset) for port in ports):
            return offset
    raise AssertionError("no free port offset for mec5g up")


def test_mec5g_up_runs_and_records_agree(tmp_path: Path) -> None:
    state = tmp_path / "up"
    offset = free_offset()
    up = mec5g(
        "up",
        "--duration",
        "4",
        "--devices",
        "5",
        "--port-offset",
        str(offset),
        "--state-dir",
        str(state),
        timeout=90,
    )
    logs = {path.name: path.read_text()[-2000:] for path in state.glob("*.log")}
    assert up.returncode == 0, (up.stdout, up.stderr, logs)
    assert "records agree: yes" in up.stdout
    assert f"127.0.0.1:{50053 + offset}" in up.stdout
    summary = next(line for line in up.stdout.splitlines() if line.startswith("summary:"))
    handshakes = int(summary.split()[1])
    assert handshakes > 0, summary
    assert "5 devices" in summary
    acknowledged = int(summary.split("; ")[2].split()[0])
    assert acknowledged > 0, f"the devices streamed data records: {summary}"
    for name in ("ttp.db", "mec.db", "ue.db"):
        assert stat.S_IMODE((state / name).stat().st_mode) == 0o600


def test_mec5g_up_with_two_mec_nodes_moves_the_patient(tmp_path: Path) -> None:
    """``--mecs 2``: the platform and two nodes; the story's patient moves to mec-2, the
    handover is printed, the doctor reads at mec-2, and every credential still agrees."""
    state = tmp_path / "up"
    offset = free_offset(extra=1)
    up = mec5g(
        "up",
        "--mecs",
        "2",
        "--duration",
        "8",
        "--handover-after",
        "3",
        "--sepsis-after",
        "0",
        "--devices",
        "7",
        "--port-offset",
        str(offset),
        "--state-dir",
        str(state),
        timeout=120,
    )
    logs = {path.name: path.read_text()[-2000:] for path in state.glob("*.log")}
    assert up.returncode == 0, (up.stdout, up.stderr, logs)
    assert f"PLATFORM gRPC 127.0.0.1:{50054 + offset}" in up.stdout
    assert f"MEC-2    gRPC 127.0.0.1:{50055 + offset}" in up.stdout
    handover = next(line for line in up.stdout.splitlines() if "HANDOVER" in line)
    assert "7 devices mec-1 -> mec-2: interruption" in handover, handover
    assert "read alice's results at mec-2" in up.stdout
    assert "records agree: yes" in up.stdout
    for name in ("mec.db", "mec-2.db", "mec-2.wallet.json"):
        assert stat.S_IMODE((state / name).stat().st_mode) == 0o600


def test_flags_default_from_environment_variables(tmp_path: Path) -> None:
    """What a container does: configure by MEC5G_<FLAG> instead of flags."""
    store = tmp_path / "from-env.db"
    migrated = subprocess.run(
        [sys.executable, "-m", "mec5g", "ttp", "migrate"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env={**os.environ, "MEC5G_STORE": str(store), "MEC5G_LOG_LEVEL": "WARNING"},
    )
    assert migrated.returncode == 0, migrated.stderr
    assert store.exists()


def test_duplicate_enrolment_is_refused_in_one_line(tmp_path: Path) -> None:
    store = str(tmp_path / "ttp.db")
    first = mec5g(
        "ttp",
        "enrol-mec",
        "--store",
        store,
        "--node",
        "mec-1",
        "--count",
        "2",
        "--out",
        str(tmp_path / "a.json"),
    )
    assert first.returncode == 0, first.stderr
    again = mec5g(
        "ttp",
        "enrol-mec",
        "--store",
        store,
        "--node",
        "mec-1",
        "--count",
        "2",
        "--out",
        str(tmp_path / "b.json"),
    )
    assert again.returncode == 1
    assert again.stderr.strip().startswith("enrolment refused:")
    assert "Traceback" not in again.stderr
    assert not (tmp_path / "b.json").exists(), "no enrolment file for refused records"
    assert not (tmp_path / "b.json.partial").exists()


def test_mec_enrolment_with_its_own_ecqv_identity_as_a_kubernetes_secret(tmp_path: Path) -> None:
    store, key, request = tmp_path / "ttp.db", tmp_path / "mec-1.key", tmp_path / "mec-1.req"
    wallet, secret = tmp_path / "mec-1.wallet", tmp_path / "secret.json"
    made = mec5g(
        "mec", "identity-request", "--node", "mec-1", "--key", str(key), "--out", str(request)
    )
    assert made.returncode == 0, made.stderr
    enrolled = mec5g(
        "ttp", "enrol-mec", "--store", str(store), "--node", "mec-1", "--count", "3",
        "--identity-request", str(request), "--k8s-secret", "mec-1-credentials",
        "--out", str(secret),
    )  # fmt: skip
    assert enrolled.returncode == 0, enrolled.stderr
    assert stat.S_IMODE(secret.stat().st_mode) == 0o600
    manifest = json.loads(secret.read_text())
    assert (manifest["apiVersion"], manifest["kind"], manifest["type"]) == (
        "v1",
        "Secret",
        "Opaque",
    )
    assert manifest["metadata"]["name"] == "mec-1-credentials"
    inner = tmp_path / "enrolment.json"
    inner.write_text(manifest["stringData"]["enrolment.json"])
    assert len(EnrolmentFile.read(inner).credentials) == 3  # what --import reads from the volume
    installed = mec5g(
        "mec", "identity-install", "--key", str(key), "--from", str(secret), "--wallet", str(wallet)
    )
    assert installed.returncode == 0, installed.stderr
    held = Wallet.read(wallet)
    assert (held.identity, held.role) == ("mec-1", "mec")
    # The TTP stored the node's public key, never its private key.
    connection = sqlite3.connect(store)
    [(public,)] = connection.execute("SELECT public_key FROM mec_nodes WHERE node = 'mec-1'")
    connection.close()
    assert public == held.pair.public
    assert ecqv.scalar_bytes(held.pair.private) not in store.read_bytes()
    # Anyone checks the node's certificate with `mec5g ecqv verify`.
    certs = tmp_path / "certs.json"
    certs.write_text(
        json.dumps(
            {
                "ca_public": held.ca_public.hex(),
                "certs": [{"cert": held.certificate.hex(), "public": held.pair.public.hex()}],
            }
        )
    )
    assert mec5g("ecqv", "verify", str(certs)).returncode == 0
    again = mec5g(
        "ttp", "enrol-mec", "--store", str(store), "--node", "mec-1", "--count", "1",
        "--identity-request", str(request), "--out", str(tmp_path / "again.json"),
    )  # fmt: skip
    assert again.returncode == 1
    assert "already" in again.stderr
    assert not (tmp_path / "again.json").exists()


def test_ecqv_verify_exit_codes(tmp_path: Path) -> None:
    vectors = tmp_path / "certs.json"
    assert mec5g("ecqv", "make-vectors", "--count", "2", "--out", str(vectors)).returncode == 0
    assert mec5g("ecqv", "verify", str(vectors)).returncode == 0
    document = json.loads(vectors.read_text())
    public = document["certs"][1]["public"]
    document["certs"][1]["public"] = public[:-1] + format(int(public[-1], 16) ^ 1, "x")
    vectors.write_text(json.dumps(document))
    checked = mec5g("ecqv", "verify", str(vectors))
    assert checked.returncode == 1
    assert checked.stdout.startswith("certs[1]")
    vectors.write_text("[]")
    assert mec5g("ecqv", "verify", str(vectors)).returncode == 2


def test_report_reads_the_running_testbed(tmp_path: Path) -> None:
    offset = free_offset()
    command = [sys.executable, "-m", "mec5g", "--log-level", "WARNING", "up", "--duration", "60"]
    command += ["--devices", "3", "--port-offset", str(offset), "--state-dir", str(tmp_path)]
    up = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for _ in range(120):
            report = mec5g("report", "--port-offset", str(offset), "--json", "--no-plots")
            if report.returncode == 0 and json.loads(report.stdout)["handshakes"] > 0:
                break
            assert up.poll() is None, "mec5g up stopped early"
            time.sleep(0.5)
        else:
            raise AssertionError(f"no report with handshakes: {report.stdout} {report.stderr}")
    finally:
        up.send_signal(signal.SIGINT)
        up.wait(timeout=30)
    figures = json.loads(report.stdout)
    assert {row["role"]: row["paper"] for row in figures["table_1"]} == {
        "ue": "2Th",
        "mec": "2Th",
        "ttp": "3Th",
    }
    assert [row["paper_bits"] for row in figures["table_2"]] == [512, 1024, 512, 384]
    assert figures["latency"], "the phases' histograms were read"


def test_report_names_an_unreachable_source() -> None:
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        target = f"127.0.0.1:{closed.getsockname()[1]}"
        report = mec5g("report", "--targets", target, "--no-plots")
    assert report.returncode == 2
    assert f"cannot read http://{target}/metrics" in report.stderr


def test_mec5g_up_tells_the_paper_rule_to_every_record(tmp_path: Path) -> None:
    """The story's devices take the testbed's record rule, as the MEC credentials do: under the
    paper's rule too, the handshakes succeed."""
    state = tmp_path / "up"
    offset = free_offset()
    up = mec5g(
        "up", "--duration", "3", "--devices", "2", "--record-rule", "paper",
        "--port-offset", str(offset), "--state-dir", str(state),
        timeout=90,
    )  # fmt: skip
    logs = {path.name: path.read_text()[-2000:] for path in state.glob("*.log")}
    assert up.returncode == 0, (up.stdout, up.stderr, logs)
    summary = next(line for line in up.stdout.splitlines() if line.startswith("summary:"))
    assert int(summary.split()[1]) > 0, summary
    assert " 0 failed" in summary
    devices = HolderStore(state / "ue.db")
    try:
        assert devices.load()["alice/dev-01-spo2"].rule is RecordRule.PAPER
    finally:
        devices.close()


def test_mec5g_up_runs_the_baseline36_story(tmp_path: Path) -> None:
    """``--scheme baseline36``: the story's devices get ECQV identities and attach through the
    anonymous key agreement, stream to the MEC, and the doctor reads the results (phase 5)."""
    state = tmp_path / "up"
    offset = free_offset()
    up = mec5g(
        "up", "--duration", "6", "--devices", "3", "--scheme", "baseline36",
        "--port-offset", str(offset), "--state-dir", str(state),
        timeout=90,
    )  # fmt: skip
    logs = {path.name: path.read_text()[-2000:] for path in state.glob("*.log")}
    assert up.returncode == 0, (up.stdout, up.stderr, logs)
    assert "scheme baseline36" in up.stdout
    summary = next(line for line in up.stdout.splitlines() if line.startswith("summary:"))
    assert int(summary.split()[1]) >= 3, summary
    assert " 0 failed" in summary
    assert int(summary.split("; ")[2].split()[0]) > 0, f"the devices streamed: {summary}"
    assert "records agree: yes" in summary
    assert stat.S_IMODE((state / "ue-identities.json").stat().st_mode) == 0o600


def test_ttp_set_analysis_settings(tmp_path: Path) -> None:
    store = str(tmp_path / "ttp.db")
    done = mec5g("ttp", "set-analysis", "--store", store, "--analysis", "p-1", "--spo2-scale", "2")
    assert done.returncode == 0, done.stderr
    assert "SpO2 scale 2" in done.stdout
    refused = mec5g(
        "ttp", "set-analysis", "--store", store, "--analysis", "p-1", "--spo2-scale", "3"
    )
    assert refused.returncode == 2
    assert "--spo2-scale" in refused.stderr
