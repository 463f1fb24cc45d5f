"""The plain manifests (deploy/k8s): the base and its overlays build, validate against
Kubernetes 1.30 and 1.35, and the base stays equivalent to the chart's defaults."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
from kube_tools import (
    CHART,
    KUBERNETES_VERSIONS,
    Manifest,
    find,
    is_hook,
    kustomize,
    parse,
    run,
    tool,
    validate,
    validate_custom_resources,
    workloads,
)

pytestmark = pytest.mark.slow

OVERLAYS = ("base", "overlays/local", "overlays/edge")
HELM_ONLY_LABELS = ("helm.sh/chart", "app.kubernetes.io/managed-by")


@pytest.fixture(scope="module")
def built() -> dict[str, list[Manifest]]:
    return {overlay: parse(kustomize(overlay)) for overlay in OVERLAYS}


@pytest.mark.parametrize("version", KUBERNETES_VERSIONS)
@pytest.mark.parametrize("overlay", OVERLAYS)
def test_overlays_validate(overlay: str, version: str, tmp_path: Path) -> None:
    text = kustomize(overlay)
    output = validate(text, tmp_path, version)
    custom = [m for m in parse(text) if m["apiVersion"].startswith("cert-manager.io/")]
    assert output.count("Couldn't find schema") == len(custom), output
    assert "invalid" not in validate_custom_resources(custom)


def _chart_defaults() -> list[Manifest]:
    text = run(
        tool("helm"), "template", "mec5g", str(CHART), "--namespace", "mec5g",
        "--set", "fullnameOverride=mec5g",
    )  # fmt: skip
    return parse(text)


def _drop_helm_labels(node: object) -> None:
    if isinstance(node, dict):
        for label in HELM_ONLY_LABELS:
            node.get("labels", {}).pop(label, None)
        for value in node.values():
            _drop_helm_labels(value)
    elif isinstance(node, list):
        for value in node:
            _drop_helm_labels(value)


def _comparable(manifest: Manifest) -> Manifest:
    """The object without what only Helm or only kustomize adds."""
    manifest = copy.deepcopy(manifest)
    metadata = manifest["metadata"]
    metadata.pop("namespace", None)
    _drop_helm_labels(manifest)
    metadata.get("annotations", {}).pop("helm.sh/resource-policy", None)
    if not metadata.get("annotations", True):
        metadata.pop("annotations")
    for subject in manifest.get("subjects", []):
        subject.pop("namespace", None)
    return manifest


def test_base_is_the_chart_defaults(built: dict[str, list[Manifest]]) -> None:
    base = {(m["kind"], m["metadata"]["name"]): _comparable(m) for m in built["base"]}
    chart = [m for m in _chart_defaults() if not is_hook(m) and m["kind"] != "Secret"]
    assert chart
    for manifest in chart:
        key = (manifest["kind"], manifest["metadata"]["name"])
        assert key in base, key
        expected = _comparable(manifest)
        actual = copy.deepcopy(base[key])
        # The known differences: enrolment in the TTP pod instead of hook Jobs.
        if key == ("StatefulSet", "mec5g-ttp"):
            pod = actual["spec"]["template"]["spec"]
            init = pod.pop("initContainers")[0]
            assert init["args"][:2] == ["k8s", "enrol"]
            # The API token goes to the init container only.
            api_access = pod["volumes"].pop()
            assert api_access["name"] == "api-access"
            assert "serviceAccountToken" in api_access["projected"]["sources"][0]
            assert init["volumeMounts"][-1]["name"] == "api-access"
        if key == ("NetworkPolicy", "mec5g-ttp"):
            assert actual["spec"]["egress"] == [
                {"ports": [{"protocol": "TCP", "port": 443}, {"protocol": "TCP", "port": 6443}]}
            ]
            actual["spec"]["egress"] = []
        assert actual == expected, key


def test_base_enrols_like_the_chart_hook(built: dict[str, list[Manifest]]) -> None:
    hook = find(_chart_defaults(), "Job", "mec5g-enrol")["spec"]["template"]["spec"]
    ttp = find(built["base"], "StatefulSet", "mec5g-ttp")["spec"]["template"]["spec"]
    init = ttp["initContainers"][0]
    assert init["args"] == hook["containers"][0]["args"]
    assert init["env"] == hook["containers"][0]["env"]
    role = find(built["base"], "Role", "mec5g-ttp-enrol")
    assert role["rules"][1]["resourceNames"] == ["mec5g-ue-enrolment", "mec5g-mec-enrolment"]
    binding = find(built["base"], "RoleBinding", "mec5g-ttp-enrol")
    assert binding["subjects"] == [
        {"kind": "ServiceAccount", "name": "mec5g-ttp", "namespace": "mec5g"}
    ]


def test_every_pod_is_locked_down(built: dict[str, list[Manifest]]) -> None:
    namespace = find(built["base"], "Namespace", "mec5g")
    assert namespace["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] == "restricted"
    for overlay in OVERLAYS:
        for workload in workloads(built[overlay]):
            pod = workload["spec"]["template"]["spec"]
            assert pod["securityContext"]["runAsNonRoot"] is True
            for container in pod["containers"] + pod.get("initContainers", []):
                assert container["securityContext"]["readOnlyRootFilesystem"] is True
                assert container["securityContext"]["capabilities"] == {"drop": ["ALL"]}


def test_local_overlay_enrols_as_many_ue_pods_as_it_runs(
    built: dict[str, list[Manifest]],
) -> None:
    manifests = built["overlays/local"]
    replicas = find(manifests, "StatefulSet", "mec5g-ue")["spec"]["replicas"]
    init = find(manifests, "StatefulSet", "mec5g-ttp")["spec"]["template"]["spec"]
    assert f"--ue-pods={replicas}" in init["initContainers"][0]["args"]
    images = {
        c["image"]
        for w in workloads(manifests)
        for c in w["spec"]["template"]["spec"]["containers"]
    }
    assert images == {"mec5g:dev"}


def test_edge_overlay_places_mec_and_ue_on_edge_nodes(built: dict[str, list[Manifest]]) -> None:
    manifests = built["overlays/edge"]
    for kind, name in (("Deployment", "mec5g-mec"), ("StatefulSet", "mec5g-ue")):
        pod = find(manifests, kind, name)["spec"]["template"]["spec"]
        assert pod["nodeSelector"] == {"node-role.kubernetes.io/edge": ""}
        assert pod["tolerations"][0]["key"] == "node-role.kubernetes.io/edge"
    ttp = find(manifests, "StatefulSet", "mec5g-ttp")["spec"]["template"]["spec"]
    term = ttp["affinity"]["nodeAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"]
    assert term["nodeSelectorTerms"][0]["matchExpressions"][0]["operator"] == "DoesNotExist"
