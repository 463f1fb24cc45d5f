"""The Helm chart: lint, render with defaults and with every optional feature, validate the
renderings against Kubernetes 1.30 and 1.35, and check what the deployment promises (probes,
securityContext, NetworkPolicy, mutual TLS, enrolment hook) in the rendered objects."""

from __future__ import annotations

import base64
import re
from pathlib import Path

import pytest
import yaml
from cryptography import x509
from cryptography.x509.oid import ExtendedKeyUsageOID
from kube_tools import (
    CHART,
    KUBERNETES_VERSIONS,
    Manifest,
    find,
    helm_template,
    is_hook,
    parse,
    run,
    tool,
    validate,
    validate_custom_resources,
    workloads,
)

pytestmark = pytest.mark.slow

BUILT_IN = {"v1", "apps", "batch", "policy", "rbac.authorization.k8s.io", "networking.k8s.io"}
VARIANTS = {
    "defaults": (),
    "all-features": ("all-features-values.yaml",),
    "cert-manager": ("cert-manager-values.yaml",),
}


@pytest.fixture(scope="module")
def rendered() -> dict[str, str]:
    return {name: helm_template(*files) for name, files in VARIANTS.items()}


@pytest.fixture(scope="module")
def defaults(rendered: dict[str, str]) -> list[Manifest]:
    return parse(rendered["defaults"])


def test_lint_strict() -> None:
    run(tool("helm"), "lint", "--strict", str(CHART))
    for files in VARIANTS.values():
        for values in files:
            run(tool("helm"), "lint", "--strict", str(CHART), "-f", str(CHART / "ci" / values))


@pytest.mark.parametrize("version", KUBERNETES_VERSIONS)
@pytest.mark.parametrize("variant", VARIANTS)
def test_renderings_validate(
    rendered: dict[str, str], variant: str, version: str, tmp_path: Path
) -> None:
    output = validate(rendered[variant], tmp_path, version)
    custom = [m for m in parse(rendered[variant]) if m["apiVersion"].split("/")[0] not in BUILT_IN]
    # kubernetes-validate only warns about kinds it has no schema for: exactly the custom ones.
    warned = output.count("Couldn't find schema")
    assert warned == len(custom), output
    if custom:
        assert "invalid" not in validate_custom_resources(custom)


def test_custom_resource_check_can_fail() -> None:
    monitor = {
        "apiVersion": "monitoring.coreos.com/v1",
        "kind": "ServiceMonitor",
        "metadata": {"name": "broken"},
        "spec": {"endpoints": [{"port": 9151}]},
    }
    with pytest.raises(AssertionError, match="must have required property selector"):
        validate_custom_resources([monitor])


def test_kubernetes_validate_can_fail(tmp_path: Path) -> None:
    text = helm_template().replace("readOnlyRootFilesystem: true", "readOnlyRootFS: true")
    with pytest.raises(AssertionError, match="readOnlyRootFS"):
        validate(text, tmp_path, KUBERNETES_VERSIONS[0])


def test_monitors_are_optional(rendered: dict[str, str]) -> None:
    kinds = {name: {m["kind"] for m in parse(text)} for name, text in rendered.items()}
    assert not kinds["defaults"] & {"ServiceMonitor", "PodMonitor"}
    assert "ServiceMonitor" in kinds["all-features"]
    assert "PodMonitor" in kinds["cert-manager"]
    monitor = find(parse(rendered["all-features"]), "ServiceMonitor", "t-mec5g")
    assert monitor["metadata"]["labels"]["release"] == "kube-prometheus-stack"
    assert monitor["spec"]["endpoints"][0]["port"] == "metrics"


@pytest.mark.parametrize("variant", VARIANTS)
def test_every_pod_is_locked_down(rendered: dict[str, str], variant: str) -> None:
    for workload in workloads(parse(rendered[variant])):
        pod = workload["spec"]["template"]["spec"]
        assert pod["securityContext"]["runAsNonRoot"] is True
        assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
        for container in pod["containers"] + pod.get("initContainers", []):
            context = container["securityContext"]
            assert context["readOnlyRootFilesystem"] is True, container["name"]
            assert context["allowPrivilegeEscalation"] is False
            assert context["capabilities"] == {"drop": ["ALL"]}
            assert context["seccompProfile"] == {"type": "RuntimeDefault"}
            assert container["resources"]["limits"], container["name"]
        if workload["kind"] != "Job":
            assert pod["automountServiceAccountToken"] is False


@pytest.mark.parametrize(
    ("kind", "name", "port", "service"),
    [
        ("StatefulSet", "t-mec5g-ttp", "health", "mec5g.v1.TtpKeyAgreementService"),
        ("Deployment", "t-mec5g-mec", "grpc", "mec5g.v1.MecKeyAgreementService"),
        ("StatefulSet", "t-mec5g-ue", "grpc", "mec5g.v1.UeControlService"),
    ],
)
def test_native_grpc_probes(
    defaults: list[Manifest], kind: str, name: str, port: str, service: str
) -> None:
    container = find(defaults, kind, name)["spec"]["template"]["spec"]["containers"][0]
    ports = {p["name"]: p["containerPort"] for p in container["ports"]}
    for probe in ("startupProbe", "livenessProbe", "readinessProbe"):
        assert container[probe]["grpc"]["port"] == ports[port], probe
    assert container["readinessProbe"]["grpc"]["service"] == service
    assert container["startupProbe"]["grpc"]["service"] == service


def test_without_mtls_everything_is_plaintext() -> None:
    manifests = parse(helm_template(sets=("mtls.enabled=false",)))
    ttp = find(manifests, "StatefulSet", "t-mec5g-ttp")
    container = ttp["spec"]["template"]["spec"]["containers"][0]
    assert container["readinessProbe"]["grpc"]["port"] == 50051
    assert not any(arg.startswith(("--health-listen", "--tls")) for arg in container["args"])
    mec = find(manifests, "Deployment", "t-mec5g-mec")["spec"]["template"]["spec"]
    assert not any(arg.startswith("--ttp-tls") for arg in mec["containers"][0]["args"])
    assert "tls" not in {volume["name"] for volume in mec["volumes"]}
    assert not [m for m in manifests if m["kind"] in ("Secret", "Certificate")]


def test_mtls_between_mec_and_ttp_by_default(defaults: list[Manifest]) -> None:
    ttp = find(defaults, "StatefulSet", "t-mec5g-ttp")["spec"]["template"]["spec"]
    mec = find(defaults, "Deployment", "t-mec5g-mec")["spec"]["template"]["spec"]
    ttp_args = ttp["containers"][0]["args"]
    mec_args = mec["containers"][0]["args"]
    # --tls-ca on the server means client certificates are required (mutual TLS).
    for flag in (
        "--tls-cert=/etc/mec5g/tls/tls.crt",
        "--tls-key=/etc/mec5g/tls/tls.key",
        "--tls-ca=/etc/mec5g/tls/ca.crt",
    ):
        assert flag in ttp_args
    assert "--ttp-tls-ca=/etc/mec5g/tls/ca.crt" in mec_args
    assert "--ttp-tls-cert=/etc/mec5g/tls/tls.crt" in mec_args
    assert "--health-listen=[::]:50061" in ttp_args
    ttp_secret = find(defaults, "Secret", "t-mec5g-ttp-tls")
    mec_secret = find(defaults, "Secret", "t-mec5g-mec-tls")
    assert {v["secret"]["secretName"] for v in ttp["volumes"] if "secret" in v} == {
        "t-mec5g-ttp-tls"
    }
    certificate = x509.load_pem_x509_certificate(base64.b64decode(ttp_secret["data"]["tls.crt"]))
    client = x509.load_pem_x509_certificate(base64.b64decode(mec_secret["data"]["tls.crt"]))
    ca = x509.load_pem_x509_certificate(base64.b64decode(ttp_secret["data"]["ca.crt"]))
    assert ttp_secret["data"]["ca.crt"] == mec_secret["data"]["ca.crt"]
    names = certificate.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert "t-mec5g-ttp" in names.get_values_for_type(x509.DNSName)
    assert "t-mec5g-ttp.testbed.svc" in names.get_values_for_type(x509.DNSName)
    usages = client.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert ExtendedKeyUsageOID.CLIENT_AUTH in usages
    for issued in (certificate, client):
        issued.verify_directly_issued_by(ca)


def test_mtls_from_cert_manager_or_existing_secrets(rendered: dict[str, str]) -> None:
    manifests = parse(rendered["cert-manager"])
    assert not [m for m in manifests if m["kind"] == "Secret" and "tls" in m["metadata"]["name"]]
    ttp = find(manifests, "Certificate", "t-mec5g-ttp")
    assert ttp["spec"]["issuerRef"] == {
        "name": "mec5g-ca",
        "kind": "ClusterIssuer",
        "group": "cert-manager.io",
    }
    assert ttp["spec"]["secretName"] == "t-mec5g-ttp-tls"
    existing = parse(
        helm_template(sets=("mtls.ttp.existingSecret=mine-ttp", "mtls.mec.existingSecret=mine-mec"))
    )
    assert not [m for m in existing if m["kind"] in ("Secret", "Certificate")]
    mec = find(existing, "Deployment", "t-mec5g-mec")["spec"]["template"]["spec"]
    assert {"name": "tls", "secret": {"secretName": "mine-mec", "defaultMode": 0o440}} in mec[
        "volumes"
    ]
    with pytest.raises(AssertionError, match="set both"):
        helm_template(sets=("mtls.ttp.existingSecret=mine-ttp",))


def _policy(manifests: list[Manifest], component: str) -> Manifest:
    return find(manifests, "NetworkPolicy", f"t-mec5g-{component}")["spec"]


def test_network_policies(defaults: list[Manifest]) -> None:
    def peers(rules: list[Manifest]) -> list[tuple[str, int]]:
        found = []
        for rule in rules:
            for peer in rule.get("from", rule.get("to", [])):
                if "podSelector" in peer:
                    label = peer["podSelector"]["matchLabels"]["app.kubernetes.io/component"]
                else:
                    label = (
                        "ns:"
                        + peer["namespaceSelector"]["matchLabels"]["kubernetes.io/metadata.name"]
                    )
                found += [(label, port["port"]) for port in rule["ports"]]
        return sorted(found)

    ue, mec, ttp = (_policy(defaults, c) for c in ("ue", "mec", "ttp"))
    for policy in (ue, mec, ttp):
        assert policy["policyTypes"] == ["Ingress", "Egress"]
    dns = [("ns:kube-system", 53), ("ns:kube-system", 53)]
    assert peers(ue["egress"]) == sorted([("mec", 50052), *dns])
    assert peers(mec["egress"]) == sorted([("ttp", 50051), *dns])
    assert ttp["egress"] == []
    assert peers(ttp["ingress"]) == [("mec", 50051), ("ns:monitoring", 9151)]
    assert peers(mec["ingress"]) == [("ns:monitoring", 9152), ("ue", 50052)]
    assert peers(ue["ingress"]) == [("ns:monitoring", 9153)]
    other = parse(helm_template(sets=("networkPolicy.monitoringNamespace=observability",)))
    assert ("ns:observability", 9151) in peers(_policy(other, "ttp")["ingress"])
    assert not [
        m
        for m in parse(helm_template(sets=("networkPolicy.enabled=false",)))
        if m["kind"] == "NetworkPolicy"
    ]


def test_enrolment_is_a_pre_install_hook(defaults: list[Manifest]) -> None:
    job = find(defaults, "Job", "t-mec5g-enrol")
    claim = find(defaults, "Job", "t-mec5g-enrol-claim")
    upgrade = find(defaults, "Job", "t-mec5g-enrol-upgrade")
    for hook in (job, claim):
        annotations = hook["metadata"]["annotations"]
        assert annotations["helm.sh/hook"] == "pre-install"
    assert upgrade["metadata"]["annotations"]["helm.sh/hook"] == "pre-upgrade"
    upgrade_pod = upgrade["spec"]["template"]["spec"]
    assert upgrade_pod["containers"] == job["spec"]["template"]["spec"]["containers"]
    # Beside the running TTP, which holds the ReadWriteOnce claim.
    term = upgrade_pod["affinity"]["podAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"]
    assert term[0]["topologyKey"] == "kubernetes.io/hostname"
    assert term[0]["labelSelector"]["matchLabels"]["app.kubernetes.io/component"] == "ttp"
    assert "affinity" not in job["spec"]["template"]["spec"]
    assert int(claim["metadata"]["annotations"]["helm.sh/hook-weight"]) < int(
        job["metadata"]["annotations"]["helm.sh/hook-weight"]
    )
    pod = job["spec"]["template"]["spec"]
    claim_name = next(v for v in pod["volumes"] if v["name"] == "data")
    assert claim_name["persistentVolumeClaim"]["claimName"] == "data-t-mec5g-ttp-0"
    ttp = find(defaults, "StatefulSet", "t-mec5g-ttp")["spec"]
    assert ttp["volumeClaimTemplates"][0]["metadata"]["name"] == "data"
    args = pod["containers"][0]["args"]
    assert "--ue-pods=2" in args
    assert "--devices-per-pod=20" in args
    role = find(defaults, "Role", "t-mec5g-enrol")
    assert is_hook(role)
    named = [rule for rule in role["rules"] if "resourceNames" in rule]
    assert named == [
        {
            "apiGroups": [""],
            "resources": ["secrets"],
            "resourceNames": ["t-mec5g-ue-enrolment", "t-mec5g-mec-enrolment"],
            "verbs": ["get", "patch"],
        }
    ]
    ue = find(defaults, "StatefulSet", "t-mec5g-ue")["spec"]["template"]["spec"]
    assert "--import=/etc/mec5g/enrolment/ue-$(POD_INDEX).json" in ue["containers"][0]["args"]


def _container(manifests: list[Manifest], kind: str, name: str) -> Manifest:
    container: Manifest = find(manifests, kind, name)["spec"]["template"]["spec"]["containers"][0]
    return container


def _env(container: Manifest) -> dict[str, Manifest]:
    return {variable["name"]: variable for variable in container["env"]}


def test_postgresql_store_with_ttp_replicas(rendered: dict[str, str]) -> None:
    """The cert-manager variant: three TTP pods on one external database, the MEC balancing
    over the headless Service, the enrolment hook on the same database; no claim anywhere."""
    manifests = parse(rendered["cert-manager"])
    ttp = find(manifests, "StatefulSet", "t-mec5g-ttp")["spec"]
    assert ttp["replicas"] == 3
    assert "volumeClaimTemplates" not in ttp
    store = {"name": "mec5g-store", "key": "dsn"}
    container = ttp["template"]["spec"]["containers"][0]
    assert _env(container)["MEC5G_STORE_URL"]["valueFrom"]["secretKeyRef"] == store
    assert "data" not in {mount["name"] for mount in container["volumeMounts"]}
    headless = find(manifests, "Service", "t-mec5g-ttp-headless")["spec"]
    assert headless["clusterIP"] == "None"
    assert headless["selector"] == ttp["selector"]["matchLabels"]
    assert headless["ports"] == [{"name": "grpc", "port": 50051, "targetPort": "grpc"}]
    assert ttp["serviceName"] == "t-mec5g-ttp-headless"
    mec = _container(manifests, "Deployment", "t-mec5g-mec")["args"]
    assert "--ttp=dns:///t-mec5g-ttp-headless:50051" in mec
    # The certificate names the Service, not the headless name the MEC dials.
    assert "--ttp-tls-server-name=t-mec5g-ttp" in mec
    certificate = find(manifests, "Certificate", "t-mec5g-ttp")["spec"]
    assert "t-mec5g-ttp" in certificate["dnsNames"]
    for job in ("t-mec5g-enrol", "t-mec5g-enrol-upgrade"):
        pod = find(manifests, "Job", job)["spec"]["template"]["spec"]
        enrol = pod["containers"][0]
        assert _env(enrol)["MEC5G_STORE_URL"]["valueFrom"]["secretKeyRef"] == store
        assert "data" not in {volume["name"] for volume in pod["volumes"]}
        assert "affinity" not in pod, "no claim to follow"
    assert not [m for m in manifests if m["metadata"]["name"].endswith("-claim")]
    role = find(manifests, "Role", "t-mec5g-enrol")
    assert "persistentvolumeclaims" not in str(role["rules"])
    egress = _policy(manifests, "ttp")["egress"]
    assert {"protocol": "TCP", "port": 5432} in egress[0]["ports"]
    # The URL rendered from a value instead is a hook Secret, there before the enrolment Job.
    own = parse(
        helm_template(sets=("ttp.store.type=postgresql", "ttp.store.postgresql.url=postgresql://x"))
    )
    secret = find(own, "Secret", "t-mec5g-ttp-store")
    assert is_hook(secret)
    assert secret["stringData"] == {"url": "postgresql://x"}
    ttp_env = _env(_container(own, "StatefulSet", "t-mec5g-ttp"))
    assert ttp_env["MEC5G_STORE_URL"]["valueFrom"]["secretKeyRef"]["name"] == "t-mec5g-ttp-store"
    assert find(own, "StatefulSet", "t-mec5g-ttp")["spec"]["replicas"] == 1


def test_replicas_need_postgresql() -> None:
    refusal = re.escape("ttp.replicas above 1 needs ttp.store.type=postgresql")
    with pytest.raises(AssertionError, match=refusal):
        helm_template(sets=("ttp.replicas=2",))
    with pytest.raises(AssertionError, match="at '/ttp/replicas'"):
        helm_template(sets=("ttp.replicas=0",))


def test_the_master_key_reaches_the_ttp_and_the_enrolment_jobs(rendered: dict[str, str]) -> None:
    defaults = parse(rendered["defaults"])
    for kind, name in (("StatefulSet", "t-mec5g-ttp"), ("Job", "t-mec5g-enrol")):
        assert "MEC5G_MASTER_KEY_FILE" not in _env(_container(defaults, kind, name))
    assert not [m for m in defaults if "master-key" in m["metadata"]["name"]]
    for variant, secret_name, key in (
        ("all-features", "t-mec5g-ttp-master-key", "master.key"),
        ("cert-manager", "mec5g-master-key", "master.key"),
    ):
        manifests = parse(rendered[variant])
        for kind, name in (
            ("StatefulSet", "t-mec5g-ttp"),
            ("Job", "t-mec5g-enrol"),
            ("Job", "t-mec5g-enrol-upgrade"),
        ):
            pod = find(manifests, kind, name)["spec"]["template"]["spec"]
            container = pod["containers"][0]
            assert _env(container)["MEC5G_MASTER_KEY_FILE"]["value"] == (
                "/etc/mec5g/master-key/master.key"
            )
            assert {
                "name": "master-key",
                "mountPath": "/etc/mec5g/master-key",
                "readOnly": True,
            } in container["volumeMounts"]
            assert {
                "name": "master-key",
                "secret": {
                    "secretName": secret_name,
                    "defaultMode": 0o440,
                    "items": [{"key": key, "path": "master.key"}],
                },
            } in pod["volumes"]
        mec = find(manifests, "Deployment", "t-mec5g-mec")["spec"]["template"]["spec"]
        assert "master-key" not in str(mec), "only the TTP's side holds the master key"
    rendered_key = find(parse(rendered["all-features"]), "Secret", "t-mec5g-ttp-master-key")
    assert int(rendered_key["metadata"]["annotations"]["helm.sh/hook-weight"]) < int(
        find(parse(rendered["all-features"]), "Job", "t-mec5g-enrol")["metadata"]["annotations"][
            "helm.sh/hook-weight"
        ]
    )
    assert bytes.fromhex(rendered_key["stringData"]["master.key"]) == bytes(range(32))
    assert not [m for m in parse(rendered["cert-manager"]) if m["kind"] == "Secret"]
    with pytest.raises(AssertionError, match="at '/ttp/masterKey/value'"):
        helm_template(sets=("ttp.masterKey.value=00ff",))


def test_the_mec_gets_its_wallet_from_enrolment(defaults: list[Manifest]) -> None:
    """Phases 5 and 6 need the MEC node's ECQV identity: the hook makes it, the MEC mounts it."""
    pod = find(defaults, "Deployment", "t-mec5g-mec")["spec"]["template"]["spec"]
    args = pod["containers"][0]["args"]
    assert "--identity=/etc/mec5g/enrolment/mec-wallet.json" in args
    assert "--ttp=t-mec5g-ttp:50051" in args
    assert not any(arg.startswith("--ttp-tls-server-name") for arg in args)
    enrolment = next(volume for volume in pod["volumes"] if volume["name"] == "enrolment")
    assert enrolment["secret"]["secretName"] == "t-mec5g-mec-enrolment"
    assert enrolment["secret"]["items"] == [
        {"key": "mec.json", "path": "mec.json"},
        {"key": "mec-wallet.json", "path": "mec-wallet.json"},
    ]


def test_values_schema_refuses_bad_values() -> None:
    for assignment in ("ue.replicas=-1", "mtls.issuer=vault", "bogus=1", "recordRule=none"):
        with pytest.raises(AssertionError, match=r"values don't meet the specifications|at '"):
            helm_template(sets=(assignment,))
    with pytest.raises(AssertionError, match="4000 or below"):
        helm_template(sets=("ue.replicas=100", "ue.devicesPerPod=41"))


def test_disruption_budgets(defaults: list[Manifest]) -> None:
    budgets = {
        m["metadata"]["name"]: m["spec"] for m in defaults if m["kind"] == "PodDisruptionBudget"
    }
    assert set(budgets) == {"t-mec5g-ttp", "t-mec5g-mec", "t-mec5g-ue"}
    assert budgets["t-mec5g-ue"]["maxUnavailable"] == 1


def notes(*sets: str) -> str:
    """NOTES.txt as `helm install` prints it (a client-side dry run needs no cluster)."""
    command = [tool("helm"), "install", "t", str(CHART), "--dry-run=client", "-n", "testbed"]
    for assignment in sets:
        command += ["--set", assignment]
    return run(*command).split("NOTES:\n", 1)[1]


def test_notes_name_the_pods_and_ports() -> None:
    text = notes("ue.port=51053", "ue.devicesPerPod=7")
    assert "kubectl -n testbed port-forward pod/t-mec5g-ue-0 51053:51053 &" in text
    assert "localhost:51053 mec5g.v1.UeControlService/Attach" in text
    assert "dev-0001 to dev-0007" in text
    assert "localhost:50061 grpc.health.v1.Health/Check" in text
    assert "localhost:50051 grpc.health.v1.Health/Check" in notes("mtls.enabled=false")
    assert "1 pod, SQLite key store on a volume; keys at rest in the clear" in text
    replicas = notes(
        "ttp.store.type=postgresql",
        "ttp.store.postgresql.url=postgresql://x",
        "ttp.replicas=2",
        "ttp.masterKey.existingSecret=mine",
    )
    assert "2 pods, PostgreSQL store, the MEC balancing over t-mec5g-ttp-headless" in replicas
    assert "sealed under the master key in Secret mine" in replicas
    assert "WARNING" not in replicas


def _leaves(values: dict[str, object], prefix: str = "") -> list[str]:
    """Value paths as the chart README names them: objects the chart passes whole are leaves."""
    whole = {"resources", "issuerRef", "seccompProfile", "capabilities"}
    paths = []
    for key, value in values.items():
        path = f"{prefix}.{key}" if prefix else key
        if isinstance(value, dict) and value and key not in whole:
            paths += _leaves(value, path)
        else:
            paths.append(path)
    return paths


def test_readme_covers_every_value() -> None:
    values = yaml.safe_load((CHART / "values.yaml").read_text())
    readme = (CHART / "README.md").read_text()
    documented = set(re.findall(r"^\| `([^`]+)` \|", readme, flags=re.MULTILINE))
    paths = _leaves(values)
    assert len(paths) > 80
    assert sorted(set(paths) - documented) == []
    assert sorted(documented - set(paths)) == []
