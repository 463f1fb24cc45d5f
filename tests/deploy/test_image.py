"""The container image really runs (opt-in: ``make image-test``, or MEC5G_IMAGE_TEST=1).

Builds the image with podman from a base made by ``scripts/build-base-image`` (debootstrap; or
MEC5G_BASE_IMAGE), then does on loopback what the chart does in a cluster: the enrolment of
``mec5g k8s enrol`` into a TTP volume, publishing into Secrets (a fake API server); the TTP under
mutual TLS with its plaintext health port; the MEC with the TTP client certificate; a UE pod
importing ue-0.json. Every container runs as the chart runs it: user 10001, read-only root
filesystem, no capabilities, no privilege escalation. Then the grpcurl commands of the chart's
NOTES.txt drive a key agreement through the three.

Debian's podman here needs the runc runtime, cgroupfs and explicit ulimits; the test passes them.
"""

from __future__ import annotations

import base64
import datetime
import json
import os
import shutil
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from fake_kube_api import NAMESPACE, FakeApi
from kube_tools import CHART, ROOT, run, tool

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        os.environ.get("MEC5G_IMAGE_TEST") != "1",
        reason="opt-in: make image-test (builds and runs the container image with podman)",
    ),
]

IMAGE = "localhost/mec5g:image-test"
BASE = os.environ.get("MEC5G_BASE_IMAGE", "localhost/mec5g-base:bookworm")
PODMAN = ["podman", "--runtime", "runc", "--cgroup-manager", "cgroupfs"]
ULIMITS = ["--ulimit", "nofile=1024:1024", "--ulimit", "nproc=1024:1024"]
UID = 10001
PREFIX = f"mec5g-image-test-{os.getpid()}"


def podman(*args: str, timeout: float = 900) -> str:
    done = subprocess.run(
        [*PODMAN, *args], capture_output=True, text=True, timeout=timeout, check=False
    )
    assert done.returncode == 0, f"podman {' '.join(args)}\n{done.stdout}\n{done.stderr}"
    return done.stdout


def free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@pytest.fixture(scope="module")
def image() -> str:
    assert shutil.which("podman"), "podman is needed (apt-get install podman runc)"
    started = time.monotonic()
    if subprocess.run([*PODMAN, "image", "exists", BASE], check=False).returncode != 0:
        run(str(ROOT / "scripts" / "build-base-image"), BASE)
    based = time.monotonic()
    wheels = ROOT / ".wheelhouse"
    shutil.rmtree(wheels, ignore_errors=True)
    pip = [str(ROOT / ".venv" / "bin" / "pip"), "-q"]
    run(*pip, "wheel", "-w", str(wheels), str(ROOT))
    run(*pip, "download", "-d", str(wheels), "setuptools", "wheel")
    podman(
        "build", *ULIMITS, "--network", "host",
        "--build-arg", f"BASE_IMAGE={BASE}",
        "--build-arg", "PIP_INSTALL_ARGS=--no-index --find-links /src/.wheelhouse",
        "-t", IMAGE, str(ROOT),
    )  # fmt: skip
    print(f"base image {based - started:.0f} s, image {time.monotonic() - based:.0f} s")
    return IMAGE


def _key(path: Path) -> ec.EllipticCurvePrivateKey:
    key = ec.generate_private_key(ec.SECP256R1())
    path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return key


def make_pki(folder: Path) -> dict[str, Path]:
    """A CA, the TTP's server certificate (localhost) and the MEC's client certificate, laid
    out as the chart's Secrets are mounted: one folder each with tls.crt, tls.key, ca.crt."""
    now = datetime.datetime.now(datetime.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "image-test-ca")])
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(ca_key, hashes.SHA256())
    )
    folders = {}
    for role, usage in (("ttp", ExtendedKeyUsageOID.SERVER_AUTH), ("mec", None)):
        target = folder / role
        target.mkdir()
        key = _key(target / "tls.key")
        builder = (
            x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, role)]))
            .issuer_name(ca_name)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now)
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(
                x509.ExtendedKeyUsage([usage or ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False
            )
        )
        if role == "ttp":
            builder = builder.add_extension(
                x509.SubjectAlternativeName([x509.DNSName("localhost")]), critical=False
            )
        cert = builder.sign(ca_key, hashes.SHA256())
        (target / "tls.crt").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
        (target / "ca.crt").write_bytes(ca.public_bytes(serialization.Encoding.PEM))
        folders[role] = target
    return folders


def secret_mount(folder: Path) -> None:
    """Ownership and modes of a Secret volume under the chart: root, the pod's group, 0440."""
    for path in [folder, *folder.iterdir()]:
        os.chown(path, 0, UID)
        path.chmod(0o750 if path.is_dir() else 0o440)


def state_dir(folder: Path) -> Path:
    """A volume as fsGroup leaves it: writable by the pod's user."""
    folder.mkdir()
    os.chown(folder, UID, UID)
    return folder


@pytest.fixture
def containers() -> Iterator[list[str]]:
    started: list[str] = []
    yield started
    for name in started:
        logs = subprocess.run([*PODMAN, "logs", name], capture_output=True, text=True, check=False)
        print(f"--- {name}\n{logs.stdout}{logs.stderr}")
        subprocess.run([*PODMAN, "rm", "-f", "-t", "5", name], capture_output=True, check=False)


def locked_down(*volumes: str) -> list[str]:
    """podman run options matching the chart's pod and container securityContext."""
    options = [
        *ULIMITS, "--network", "host", "--read-only", "--tmpfs", "/tmp",
        "--cap-drop", "ALL", "--security-opt", "no-new-privileges",
        "--user", f"{UID}:{UID}", "--group-add", str(UID),
    ]  # fmt: skip
    for volume in volumes:
        options += ["-v", volume]
    return options


def wait_healthy(target: str, service: str) -> None:
    grpcurl = str(ROOT / ".venv" / "bin" / "grpcurl")
    request = json.dumps({"service": service})
    deadline = time.monotonic() + 60
    while True:
        done = subprocess.run(
            [grpcurl, "-plaintext", "-d", request, target, "grpc.health.v1.Health/Check"],
            capture_output=True,
            text=True,
            check=False,
        )
        if '"SERVING"' in done.stdout:
            return
        assert time.monotonic() < deadline, f"{service} at {target}: {done.stderr}"
        time.sleep(0.5)


def test_image_runs_a_key_agreement(
    image: str, api: FakeApi, containers: list[str], tmp_path: Path
) -> None:
    ttp_port, health_port, mec_port, ue_port = (free_port() for _ in range(4))
    ttp_data = state_dir(tmp_path / "ttp-data")
    pki = make_pki(tmp_path)
    for folder in pki.values():
        secret_mount(folder)

    # What the chart's pre-install hook Job runs, against the Kubernetes API (here a fake).
    enrol = podman(
        "run", "--rm", *locked_down(f"{ttp_data}:/var/lib/mec5g"),
        "-e", f"MEC5G_API_SERVER={api.url}", "-e", f"MEC5G_NAMESPACE={NAMESPACE}",
        "-e", "MEC5G_STORE=/var/lib/mec5g/ttp.db",
        image, "k8s", "enrol", "--ue-secret=ue", "--mec-secret=mec", "--ue-pods=2",
        "--devices-per-pod=5", "--mec-node=mec-1", "--mec-credentials=4",
    )  # fmt: skip
    assert "published ue-0.json in Secret ue" in enrol
    enrolment = tmp_path / "enrolment"
    enrolment.mkdir()
    for secret in ("ue", "mec"):
        for key, value in api.objects[("secrets", secret)]["data"].items():
            (enrolment / key).write_bytes(base64.b64decode(value))
    secret_mount(enrolment)

    containers.append(f"{PREFIX}-ttp")
    podman(
        "run", "-d", "--name", containers[-1],
        *locked_down(f"{ttp_data}:/var/lib/mec5g", f"{pki['ttp']}:/etc/mec5g/tls:ro"),
        "-e", "MEC5G_STORE=/var/lib/mec5g/ttp.db", image,
        "ttp", "serve", f"--listen=127.0.0.1:{ttp_port}", "--metrics-port=0",
        f"--health-listen=127.0.0.1:{health_port}",
        "--tls-cert=/etc/mec5g/tls/tls.crt", "--tls-key=/etc/mec5g/tls/tls.key",
        "--tls-ca=/etc/mec5g/tls/ca.crt",
    )  # fmt: skip
    metrics_port = free_port()
    containers.append(f"{PREFIX}-mec")
    podman(
        "run", "-d", "--name", containers[-1],
        *locked_down(
            f"{state_dir(tmp_path / 'mec-data')}:/var/lib/mec5g",
            f"{pki['mec']}:/etc/mec5g/tls:ro",
            f"{enrolment}:/etc/mec5g/enrolment:ro",
        ),
        image, "mec", "serve", f"--listen=127.0.0.1:{mec_port}",
        f"--ttp=localhost:{ttp_port}", "--state=/var/lib/mec5g/mec.db",
        "--import=/etc/mec5g/enrolment/mec.json", f"--metrics-port={metrics_port}",
        "--identity=/etc/mec5g/enrolment/mec-wallet.json",
        "--ttp-tls-cert=/etc/mec5g/tls/tls.crt", "--ttp-tls-key=/etc/mec5g/tls/tls.key",
        "--ttp-tls-ca=/etc/mec5g/tls/ca.crt",
    )  # fmt: skip
    containers.append(f"{PREFIX}-ue")
    podman(
        "run", "-d", "--name", containers[-1],
        *locked_down(
            f"{state_dir(tmp_path / 'ue-data')}:/var/lib/mec5g",
            f"{enrolment}:/etc/mec5g/enrolment:ro",
        ),
        "-e", "POD_INDEX=0", image, "ue", "serve", f"--listen=127.0.0.1:{ue_port}",
        f"--mec=127.0.0.1:{mec_port}", "--state=/var/lib/mec5g/ue.db",
        "--import=/etc/mec5g/enrolment/ue-0.json", "--metrics-port=0",
    )  # fmt: skip

    wait_healthy(f"127.0.0.1:{health_port}", "mec5g.v1.TtpKeyAgreementService")
    wait_healthy(f"127.0.0.1:{mec_port}", "mec5g.v1.MecKeyAgreementService")
    wait_healthy(f"127.0.0.1:{ue_port}", "mec5g.v1.UeControlService")

    # The grpcurl commands that NOTES.txt prints, with this test's ports, as a user runs them
    # once kubectl port-forward is up.
    notes = run(
        tool("helm"), "install", "t", str(CHART), "--dry-run=client", "-n", "testbed",
        "--set", f"ue.port={ue_port}", "--set", f"ttp.healthPort={health_port}",
        "--set", "ue.devicesPerPod=5",
    ).split("NOTES:\n", 1)[1]  # fmt: skip
    commands = [line.strip() for line in notes.splitlines() if line.strip().startswith("grpcurl")]
    assert len(commands) == 5
    grpcurl = str(ROOT / ".venv" / "bin" / "grpcurl")
    answers = [
        run("bash", "-c", command.replace("grpcurl", grpcurl, 1), stdin=None)
        for command in commands
    ]
    assert "mec5g.v1.UeControlService" in answers[0]
    for attach in (answers[1], answers[2]):
        assert json.loads(attach)["outcome"] == "ATTACH_OUTCOME_SUCCESS", attach
    assert json.loads(answers[2])["device"] == "dev-0001"
    assert '"SERVING"' in answers[4]
    assert "mec5g.v1.TtpKeyAgreementService" in notes

    # Both handshakes went through the MEC, whose only way to the TTP was mutual TLS.
    with urllib.request.urlopen(f"http://127.0.0.1:{metrics_port}/metrics", timeout=5) as page:
        metrics = page.read().decode()
    successes = [
        float(line.rsplit(" ", 1)[1])
        for line in metrics.splitlines()
        if line.startswith("mec5g_phase_results_total{")
        and 'role="mec"' in line
        and 'outcome="accepted"' in line
    ]
    assert sum(successes) >= 2, metrics
