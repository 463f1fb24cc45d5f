"""The mec5g.v1 protos: committed stubs match them, buf lint passes, the services import."""

from __future__ import annotations

import importlib
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent
PROTO_ROOT = REPO_ROOT / "protos"
GENERATED = PROTO_ROOT / "generated"


def _files(directory: Path) -> dict[str, bytes]:
    return {path.name: path.read_bytes() for path in directory.iterdir() if path.is_file()}


def _buf() -> str:
    local = REPO_ROOT / "node_modules" / ".bin" / "buf"
    if local.is_file():
        return str(local)
    on_path = shutil.which("buf")
    if on_path is None:
        pytest.fail("buf not found: run `npm install @bufbuild/buf` at the repository root")
    return on_path


def test_generated_stubs_match_protos(tmp_path: Path) -> None:
    subprocess.run(
        [sys.executable, str(PROTO_ROOT / "generate.py"), "--out", str(tmp_path)], check=True
    )
    fresh, committed = _files(tmp_path), _files(GENERATED)
    hint = "protos/generated/ is stale: run `python protos/generate.py` and commit the result"
    assert sorted(committed) == sorted(fresh), hint
    differing = sorted(name for name in fresh if fresh[name] != committed[name])
    assert not differing, f"{hint} (differs: {', '.join(differing)})"


def test_buf_lint_is_clean() -> None:
    result = subprocess.run(
        [_buf(), "lint"], cwd=PROTO_ROOT, capture_output=True, text=True, check=False
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, f"buf lint exited {result.returncode}:\n{output}"
    assert not output, f"buf lint printed:\n{output}"


@pytest.mark.parametrize(
    ("module", "service", "methods"),
    [
        ("ttp_key_agreement", "TtpKeyAgreementService", ["Verify"]),
        ("mec_key_agreement", "MecKeyAgreementService", ["Agree"]),
        ("ue_control", "UeControlService", ["Attach", "Status", "CheckIn", "InjectEvent"]),
        ("registration", "RegistrationService", ["GetAuthority", "Register"]),
        (
            "monitoring",
            "MonitoringService",
            [
                "CreateAnalysis",
                "AddDevices",
                "RemoveDevices",
                "RevokeDevice",
                "ReprovisionDevice",
                "CloseAnalysis",
                "ListAnalyses",
                "SetAnalysisSettings",
            ],
        ),
        ("ue_provisioning", "UeProvisioningService", ["Provision"]),
        ("mec_data", "MecDataService", ["Submit"]),
        ("analysis", "AnalysisService", ["ListScores", "GetAnalysis"]),
        ("anonymous_key_agreement", "TtpAnonymousKeyAgreementService", ["Vouch"]),
        ("anonymous_key_agreement", "MecAnonymousKeyAgreementService", ["AgreeAnonymously"]),
        ("mec_results", "MecResultsService", ["GetResults"]),
        ("mec_alerts", "MecAlertsService", ["Watch"]),
    ],
)
def test_stubs_expose_service(module: str, service: str, methods: list[str]) -> None:
    messages = importlib.import_module(f"mec5g.v1.{module}_pb2")
    stubs = importlib.import_module(f"mec5g.v1.{module}_pb2_grpc")
    descriptor = messages.DESCRIPTOR.services_by_name[service]
    assert descriptor.full_name == f"mec5g.v1.{service}"
    assert [method.name for method in descriptor.methods] == methods
    for name in (f"{service}Stub", f"{service}Servicer", f"add_{service}Servicer_to_server"):
        assert hasattr(stubs, name), f"mec5g.v1.{module}_pb2_grpc lacks {name}"
