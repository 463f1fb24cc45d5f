"""``mec5g k8s``: enrolment inside a Kubernetes cluster, run by the Helm chart's hook Jobs.

Enrolment writes the TTP's records into its store and hands each holder (a UE pod, the MEC) its
credentials, and the MEC node its ECQV identity (a wallet), through Secrets written with the
Kubernetes API from inside the pod (the pod's service account; no client library, only the
REST calls needed): ``create-if-absent`` makes the objects enrolment needs (the TTP's volume
claim, the empty Secrets) and ``enrol`` enrols each holder once and publishes its file.

Either store works, a SQLite file (``--store``) or a PostgreSQL URL (``--store-url``): what
enrolment must remember between creating records and publishing their keys is kept in the store
itself (``mec5g.ttp.handover``), written in the records' own transaction. A re-run publishes
whatever is still waiting and enrols only holders that have nothing on record yet, so a run
killed anywhere is finished by the next and a re-run over a complete enrolment changes nothing.
Keys never reach a log: only names and counts are printed.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import ssl
import sys
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mec5g.core.credentials import RecordRule
from mec5g.core.records import RecordKind
from mec5g.ttp import enrolment, handover
from mec5g.ttp.at_rest import MasterKey
from mec5g.ttp.registry import Registry
from mec5g.ttp.stores import RecordStore, open_key_store

SERVICE_ACCOUNT = Path("/var/run/secrets/kubernetes.io/serviceaccount")
MEC_FILE = "mec.json"
MEC_WALLET_FILE = "mec-wallet.json"

# The kinds that enrolment creates, all in the core API group.
_COLLECTIONS = {"Secret": "secrets", "PersistentVolumeClaim": "persistentvolumeclaims"}


class ApiError(Exception):
    """The Kubernetes API refused a request; carries the HTTP status and the API's message."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(f"HTTP {status}: {message}")
        self.status = status


@dataclass(frozen=True)
class Api:
    """The few core/v1 calls enrolment needs, authenticated as the pod's service account."""

    server: str
    namespace: str
    token: str | None = None
    context: ssl.SSLContext | None = None

    @classmethod
    def in_cluster(cls, server: str | None = None, namespace: str | None = None) -> Api:
        """The API server and namespace a pod sees; ``server`` overrides the address (tests)."""
        if server is None:
            host = os.environ["KUBERNETES_SERVICE_HOST"]
            port = os.environ.get("KUBERNETES_SERVICE_PORT", "443")
            server = f"https://[{host}]:{port}" if ":" in host else f"https://{host}:{port}"
        token_file = SERVICE_ACCOUNT / "token"
        token = token_file.read_text().strip() if token_file.exists() else None
        ca_file = SERVICE_ACCOUNT / "ca.crt"
        context = ssl.create_default_context(cafile=ca_file) if ca_file.exists() else None
        if namespace is None:
            namespace = (SERVICE_ACCOUNT / "namespace").read_text().strip()
        return cls(server.rstrip("/"), namespace, token, context)

    def _call(self, method: str, path: str, body: Any = None, content_type: str = "") -> Any:
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(  # noqa: S310 - the URL is the API server's
            self.server + path, data=data, method=method
        )
        request.add_header("Accept", "application/json")
        if data is not None:
            request.add_header("Content-Type", content_type or "application/json")
        if self.token:
            request.add_header("Authorization", "Bearer " + self.token)
        try:
            with urllib.request.urlopen(  # noqa: S310 - the URL is the API server's
                request, context=self.context, timeout=30
            ) as response:
                return json.loads(response.read() or b"{}")
        except urllib.error.HTTPError as error:
            # Only the API's own message: a request body (keys) is never echoed back in it.
            try:
                message = str(json.loads(error.read()).get("message", error.reason))
            except ValueError:
                message = str(error.reason)
            raise ApiError(error.code, message) from None

    def _collection(self, kind: str) -> str:
        return f"/api/v1/namespaces/{self.namespace}/{_COLLECTIONS[kind]}"

    def create_if_absent(self, manifest: dict[str, Any]) -> bool:
        """Create the object unless one of its name exists; True when it was created."""
        try:
            self._call("POST", self._collection(manifest["kind"]), manifest)
        except ApiError as error:
            if error.status == 409:
                return False
            raise
        return True

    def secret_keys(self, name: str) -> set[str]:
        secret = self._call("GET", f"{self._collection('Secret')}/{name}")
        return set(secret.get("data") or {})

    def add_to_secret(self, name: str, key: str, value: bytes) -> None:
        """Set one key of an existing Secret, leaving its other keys alone."""
        patch = {"data": {key: base64.b64encode(value).decode()}}
        self._call(
            "PATCH", f"{self._collection('Secret')}/{name}", patch, "application/merge-patch+json"
        )


@dataclass(frozen=True)
class Holder:
    """One enrolment file and the records behind it: a UE pod's devices or the MEC's pool."""

    file: str
    secret: str
    kind: RecordKind
    labels: list[str]


def plan(args: argparse.Namespace) -> list[Holder]:
    """Every holder of the deployment: UE pod i holds devices i*D+1 .. (i+1)*D; one MEC node."""
    per_pod = args.devices_per_pod
    holders = [
        Holder(
            f"ue-{pod}.json",
            args.ue_secret,
            RecordKind.DEVICE,
            enrolment.device_names(per_pod, pod * per_pod + 1),
        )
        for pod in range(args.ue_pods)
    ]
    holders.append(
        Holder(
            MEC_FILE,
            args.mec_secret,
            RecordKind.MEC,
            enrolment.mec_credential_names(args.mec_node, args.mec_credentials),
        )
    )
    return holders


def enrol(args: argparse.Namespace, api: Api) -> int:
    """Enrol every holder with nothing on record yet, give the MEC node its identity if it has
    none, then publish every document still waiting in the store."""
    location = args.store_url if args.store_url is not None else args.store
    key_file: Path | None = args.master_key_file
    master_key = MasterKey.from_file(key_file) if key_file is not None else None
    labels = json.loads(args.labels) if args.labels else {}
    for secret in {args.ue_secret, args.mec_secret}:
        metadata = {"name": secret, "labels": labels}
        api.create_if_absent({"apiVersion": "v1", "kind": "Secret", "metadata": metadata})
    published = {secret: api.secret_keys(secret) for secret in {args.ue_secret, args.mec_secret}}
    holders = plan(args)
    planned = {holder.file: holder.secret for holder in holders}
    planned[MEC_WALLET_FILE] = args.mec_secret
    store = open_key_store(location, master_key=master_key)  # migrates a new or old store first
    try:
        with Registry(location, master_key=master_key) as registry:
            partial = _enrol_missing(args, store, registry, holders)
        waiting = handover.waiting(store.database, store.codec.sealer)
        for file, content in waiting.items():
            # By name, so that a file an earlier run left for a holder since planned away
            # (fewer UE pods) is published too.
            secret = args.ue_secret if file.startswith("ue-") else args.mec_secret
            api.add_to_secret(secret, file, content)
            handover.handed_over(store.database, file)
            print(f"published {file} in Secret {secret}")
    finally:
        store.close()
    lost = [
        f"{file} (only part of its records exist)" if file in partial else file
        for file, secret in planned.items()
        if file in partial or (file not in waiting and file not in published[secret])
    ]
    if lost:
        print(
            "records exist whose enrolment file is neither waiting nor published: "
            f"{', '.join(lost)}. Their keys are gone; re-provision those holders "
            "(mec5g ttp reprovision, see docs/deployment.md).",
            file=sys.stderr,
        )
        return 1
    return 0


def _enrol_missing(
    args: argparse.Namespace, store: RecordStore, registry: Registry, holders: list[Holder]
) -> set[str]:
    """Enrol the holders with nothing on record, each with its document in one transaction;
    the files of holders with only part of their records (which no run can account for)."""
    enrolled = {stored.label for stored in store.records()}
    rule: RecordRule = args.record_rule
    partial = set()
    for holder in holders:
        present = [label for label in holder.labels if label in enrolled]
        if present and len(present) != len(holder.labels):
            partial.add(holder.file)
        elif not present:
            owner = args.analysis if holder.kind is RecordKind.DEVICE else args.mec_node
            handover.enrol(store, holder.file, holder.kind, holder.labels, owner, rule)
            print(f"enrolled {len(holder.labels)} {holder.kind.value} records for {holder.file}")
    if not registry.has_mec_node(args.mec_node):
        handover.enrol_mec_identity(store, registry, MEC_WALLET_FILE, args.mec_node)
        print(f"issued MEC node {args.mec_node}'s identity for {MEC_WALLET_FILE}")
    return partial


def add_k8s_parser(roles: Any) -> None:
    """Register ``mec5g k8s`` with its two actions."""
    from mec5g.main import _add, _add_store, _rule  # the CLI's own flag conventions

    k8s = roles.add_parser("k8s", help="enrolment inside a Kubernetes cluster (the chart's Jobs)")
    actions = k8s.add_subparsers(dest="action", required=True)
    for parser in (
        create := actions.add_parser(
            "create-if-absent", help="create core/v1 objects (JSON) unless they exist"
        ),
        enrol_parser := actions.add_parser(
            "enrol", help="enrol every holder once; publish enrolment files into Secrets"
        ),
    ):
        _add(parser, "--api-server", default=None, help="API server URL (default: in-cluster)")
        _add(parser, "--namespace", default=None, help="namespace (default: the pod's own)")
        parser.set_defaults(handler=_run)
    create.add_argument("manifest", nargs="+", help="one object as JSON")
    _add_store(enrol_parser)
    _add(enrol_parser, "--ue-secret", default="mec5g-ue-enrolment", help="Secret for UE files")
    _add(enrol_parser, "--mec-secret", default="mec5g-mec-enrolment", help="Secret for the MEC")
    _add(enrol_parser, "--ue-pods", default=1, type=int, help="UE pods (one file each)")
    _add(enrol_parser, "--devices-per-pod", default=20, type=int, help="devices per UE pod")
    _add(enrol_parser, "--mec-node", default="mec-1", help="MEC node identity")
    _add(enrol_parser, "--mec-credentials", default=16, type=int, help="MEC credentials (K)")
    _add(enrol_parser, "--analysis", default=enrolment.DEFAULT_ANALYSIS, help="devices' analysis")
    _add(enrol_parser, "--record-rule", default=RecordRule.COUNTER, type=_rule, help="record rule")
    _add(enrol_parser, "--labels", default=None, help="labels (JSON) for Secrets it creates")


def _run(args: argparse.Namespace) -> int:
    api = Api.in_cluster(args.api_server, args.namespace)
    if args.action == "create-if-absent":
        for text in args.manifest:
            manifest = json.loads(text)
            created = api.create_if_absent(manifest)
            name = manifest["metadata"]["name"]
            print(f"{manifest['kind']} {name} {'created' if created else 'exists already'}")
        return 0
    return enrol(args, api)
