"""Rendering and validating the deployment for the tests: helm, kubectl, kubernetes-validate.

The tools come from ``scripts/install-kube-tools`` (``make kube-tools``, a dependency of
``make test``). A missing tool fails the tests rather than skipping them: CI must not pass
without having validated anything.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[2]
TOOLS = ROOT / ".tools"
CHART = ROOT / "deploy" / "helm" / "mec5g"
KUSTOMIZE = ROOT / "deploy" / "k8s"
KUBERNETES_VERSIONS = ("1.30.0", "1.35.0")
RELEASE = "t"

Manifest = dict[str, Any]


def tool(name: str) -> str:
    path = TOOLS / "bin" / name
    if not path.exists():
        raise AssertionError(
            f"{path} is missing: run `make kube-tools` (scripts/install-kube-tools)"
        )
    return str(path)


def run(*command: str, stdin: str | None = None) -> str:
    done = subprocess.run(command, capture_output=True, text=True, input=stdin, check=False)
    assert done.returncode == 0, f"{' '.join(command)}\n{done.stdout}\n{done.stderr}"
    return done.stdout


def helm_template(*values_files: str, sets: tuple[str, ...] = ()) -> str:
    command = [tool("helm"), "template", RELEASE, str(CHART), "--namespace", "testbed"]
    for values in values_files:
        command += ["-f", str(CHART / "ci" / values)]
    for assignment in sets:
        command += ["--set", assignment]
    return run(*command)


def kustomize(overlay: str) -> str:
    return run(tool("kubectl"), "kustomize", str(KUSTOMIZE / overlay))


def parse(text: str) -> list[Manifest]:
    return [document for document in yaml.safe_load_all(text) if document]


def validate(text: str, tmp_path: Path, version: str) -> str:
    """kubernetes-validate --strict of every object; returns its output (warnings included)."""
    rendered = tmp_path / f"rendered-{version}.yaml"
    rendered.write_text(text)
    return run(
        sys.executable, "-m", "kubernetes_validate", "--strict", "-k", version, str(rendered)
    )


def validate_custom_resources(objects: list[Manifest]) -> str:
    """The Prometheus Operator's and cert-manager's published schemas, through node."""
    node = shutil.which("node")
    assert node, "node is needed to validate custom resources (it comes with npm)"
    script = Path(__file__).with_name("validate_custom_resources.mjs")
    return run(node, str(script), str(TOOLS), stdin=json.dumps(objects))


def find(manifests: list[Manifest], kind: str, name: str) -> Manifest:
    for manifest in manifests:
        if manifest["kind"] == kind and manifest["metadata"]["name"] == name:
            return manifest
    raise AssertionError(f"no {kind} {name} in {[m['metadata']['name'] for m in manifests]}")


def workloads(manifests: list[Manifest]) -> list[Manifest]:
    return [m for m in manifests if m["kind"] in ("Deployment", "StatefulSet", "Job")]


def is_hook(manifest: Manifest) -> bool:
    return "helm.sh/hook" in manifest["metadata"].get("annotations", {})
