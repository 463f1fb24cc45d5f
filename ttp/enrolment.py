"""Operator enrolment: create device and MEC credentials at the TTP and hand them to holders.

The enrolment file is written and synced (under a temporary name) before the records are
committed, and moved into place after: a crash in between never leaves records whose keys nobody
has. An existing enrolment file is never overwritten: it may hold keys not imported yet.

This is the stand-in for phases 1 and 2 until the patient-driven flow exists: the operator
creates N device records under one analysis (``default`` unless named) and K credentials for one
MEC node, and writes each holder's credentials to an enrolment file (mode 0600) that the UE or MEC
process imports at start-up (``--import``). Enrolment and re-provisioning set the counter to 0.

For the public-key baseline [36] the devices also need ECQV identities (``mec5g.ttp.identities``):
``enrol_devices(..., identities=True)`` issues them with the records, in the same transaction
and file; ``enrol_identities`` issues them alone, for devices whose records a patient's analysis
will create (phase 2).
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from mec5g.core import ecqv
from mec5g.core.credentials import Credential, RecordRule
from mec5g.core.records import RecordKind
from mec5g.runtime.device_identities import SECTION, DeviceIdentities
from mec5g.runtime.holder_store import EnrolmentFile
from mec5g.ttp import identities as device_identities
from mec5g.ttp.at_rest import MasterKey
from mec5g.ttp.database import Connection
from mec5g.ttp.keystore import EnrolmentRefused, insert_record
from mec5g.ttp.registry import Registry
from mec5g.ttp.stores import RecordStore, StoreLocation, open_key_store

DEFAULT_ANALYSIS = "default"


def device_names(count: int, first: int = 1, prefix: str = "dev") -> list[str]:
    return [f"{prefix}-{number:04d}" for number in range(first, first + count)]


def mec_credential_names(node: str, count: int) -> list[str]:
    return [f"{node}/cred-{number:03d}" for number in range(1, count + 1)]


def enrol_devices(
    store_path: StoreLocation,
    out: Path,
    count: int,
    *,
    analysis: str = DEFAULT_ANALYSIS,
    rule: RecordRule = RecordRule.COUNTER,
    first: int = 1,
    prefix: str = "dev",
    master_key: MasterKey | None = None,
    identities: bool = False,
) -> EnrolmentFile:
    """Enrol ``count`` devices of one analysis and write their enrolment file; with
    ``identities``, each device also gets its ECQV identity for [36], in the file's
    ``"identities"`` section."""
    labels = device_names(count, first, prefix)
    if not identities:
        return _issue(
            store_path, out, RecordKind.DEVICE, labels, analysis, rule, master_key=master_key
        )
    with Registry(store_path, master_key=master_key) as registry:
        issued, also = device_identities.issue(registry, labels)

    def render(enrolment: EnrolmentFile) -> str:
        return json.dumps({**enrolment.document(), SECTION: issued.document()}, indent=1) + "\n"

    return _issue(
        store_path,
        out,
        RecordKind.DEVICE,
        labels,
        analysis,
        rule,
        render=render,
        also=also,
        master_key=master_key,
    )


def enrol_identities(
    store_path: StoreLocation,
    out: Path,
    labels: list[str],
    *,
    master_key: MasterKey | None = None,
) -> DeviceIdentities:
    """ECQV identities for [36] alone, for devices whose records phase 2 will create (a
    patient's analysis): an enrolment file for the UE without credentials, written and synced
    before the identities are committed, as ``_issue`` does."""
    if out.exists():
        raise EnrolmentRefused(f"{out} exists and may hold keys not imported yet; remove it first")
    with Registry(store_path, master_key=master_key) as registry:
        issued, store = device_identities.issue(registry, labels)
        pending_file = out.with_name(out.name + ".partial")
        document = EnrolmentFile(RecordKind.DEVICE.value, RecordRule.COUNTER, "", {}).document()
        EnrolmentFile.write_text(
            pending_file, json.dumps({**document, SECTION: issued.document()}, indent=1) + "\n"
        )
        try:
            with registry.database.transaction() as connection:
                store(connection)
        except BaseException:
            pending_file.unlink()
            raise
    pending_file.replace(out)
    _sync_directory(out.parent)
    return issued


def enrol_device_analyses(
    store_path: StoreLocation,
    analyses: Sequence[tuple[str, int, Path]],
    *,
    rule: RecordRule = RecordRule.COUNTER,
    first: int = 1,
    prefix: str = "dev",
    master_key: MasterKey | None = None,
) -> list[EnrolmentFile]:
    """Enrol the devices of many analyses at once (a UE swarm): ``(analysis, devices, file)``
    each, numbered on from ``first``. Every analysis's file is written and synced first, as
    ``enrol_devices`` does, then every record goes in one transaction (either store), then the
    files move into place: thousands of analyses take seconds, not one store opening and one
    commit each."""
    outs = [out for _, _, out in analyses]
    if existing := [str(out) for out in outs if out.exists()]:
        raise EnrolmentRefused(f"{', '.join(existing)} exist and may hold keys not imported yet")
    enrolments = []
    for analysis, count, _ in analyses:
        labels = device_names(count, first, prefix)
        first += count
        issued = {label: Credential.generate() for label in labels}
        enrolments.append(EnrolmentFile(RecordKind.DEVICE.value, rule, analysis, issued))
    pending = [out.with_name(out.name + ".partial") for out in outs]
    try:
        for enrolment, pending_file in zip(enrolments, pending, strict=True):
            enrolment.write(pending_file)
        store = open_key_store(store_path, master_key=master_key)
        try:
            _enrol_together(store, enrolments)
        finally:
            store.close()
    except BaseException:
        for pending_file in pending:
            pending_file.unlink(missing_ok=True)
        raise
    for pending_file, out in zip(pending, outs, strict=True):
        pending_file.replace(out)
    for directory in {out.parent for out in outs}:
        _sync_directory(directory)
    return enrolments


def _enrol_together(store: RecordStore, enrolments: list[EnrolmentFile]) -> None:
    """Every enrolment's records in the one transaction of the first one's ``enrol``."""
    head, *rest = enrolments

    def the_rest(connection: Connection) -> None:
        for enrolment in rest:
            for label, credential in enrolment.credentials.items():
                insert_record(
                    connection,
                    store.codec,
                    RecordKind.DEVICE,
                    label,
                    enrolment.owner,
                    enrolment.rule,
                    credential,
                )

    store.enrol(RecordKind.DEVICE, head.credentials, head.owner, head.rule, also=the_rest)


def enrol_mec(
    store_path: StoreLocation,
    out: Path,
    node: str,
    count: int,
    *,
    rule: RecordRule = RecordRule.COUNTER,
    identity_request: bytes | None = None,
    secret_name: str | None = None,
    master_key: MasterKey | None = None,
) -> EnrolmentFile:
    """Enrol ``count`` credentials for MEC node ``node`` and write their enrolment file.

    With ``identity_request`` (the node's R = kG, from ``mec5g mec identity-request``), the node
    also gets its ECQV certificate, in the same transaction; the file then carries the
    certificate, r and the CA key under ``"identity"`` (the node alone holds k, so the TTP never
    learns its private key). With ``secret_name``, the file is a Kubernetes Secret manifest
    whose ``enrolment.json`` key holds the enrolment document.
    """
    also = None
    identity: dict[str, str] | None = None
    if identity_request is not None:
        with Registry(store_path, master_key=master_key) as registry:
            issued, also = registry.mec_identity(node, identity_request)
        identity = {
            "node": node,
            "certificate": issued.certificate.encoded.hex(),
            "private_key_contribution": ecqv.scalar_bytes(issued.r).hex(),
            "ca_public": registry.ca_public.hex(),
        }

    def render(enrolment: EnrolmentFile) -> str:
        document = enrolment.document()
        if identity is not None:
            document["identity"] = identity
        text = json.dumps(document, indent=1) + "\n"
        if secret_name is None:
            return text
        return json.dumps(kubernetes_secret(secret_name, {"enrolment.json": text}), indent=1) + "\n"

    labels = mec_credential_names(node, count)
    return _issue(
        store_path,
        out,
        RecordKind.MEC,
        labels,
        node,
        rule,
        render=render,
        also=also,
        master_key=master_key,
    )


def kubernetes_secret(name: str, files: dict[str, str]) -> dict[str, Any]:
    """A Secret manifest (JSON is YAML too, so kubectl apply -f takes it) holding ``files``;
    mounted as a volume, each becomes a file the MEC imports with --import."""
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {
            "name": name,
            "labels": {"app.kubernetes.io/name": "mec5g", "app.kubernetes.io/component": "mec"},
        },
        "type": "Opaque",
        "stringData": files,
    }


def reprovision(
    store_path: StoreLocation,
    out: Path,
    kind: RecordKind,
    labels: list[str],
    master_key: MasterKey | None = None,
) -> EnrolmentFile:
    """New credentials for existing records of one owner, with enrolment's file discipline."""
    store = open_key_store(store_path, master_key=master_key)
    try:
        found = {stored.label: stored.record for stored in store.records(kind)}
    finally:
        store.close()
    missing = [label for label in labels if label not in found]
    if missing:
        raise EnrolmentRefused(f"no {kind.value} records named {', '.join(missing)}")
    owners = {found[label].owner for label in labels}
    rules = {found[label].rule for label in labels}
    if len(owners) != 1 or len(rules) != 1:
        raise EnrolmentRefused("re-provision records of one owner and one record rule at a time")
    return _issue(
        store_path,
        out,
        kind,
        labels,
        owners.pop(),
        rules.pop(),
        reprovisioning=True,
        master_key=master_key,
    )


def _issue(
    store_path: StoreLocation,
    out: Path,
    kind: RecordKind,
    labels: list[str],
    owner: str,
    rule: RecordRule,
    *,
    reprovisioning: bool = False,
    render: Callable[[EnrolmentFile], str] | None = None,
    also: Callable[[Connection], None] | None = None,
    master_key: MasterKey | None = None,
) -> EnrolmentFile:
    if out.exists():
        raise EnrolmentRefused(f"{out} exists and may hold keys not imported yet; remove it first")
    issued = {label: Credential.generate() for label in labels}
    enrolment = EnrolmentFile(kind.value, rule, owner, issued)
    pending_file = out.with_name(out.name + ".partial")
    enrolment.write(pending_file, render(enrolment) if render is not None else None)
    try:
        _commit(store_path, kind, issued, owner, rule, reprovisioning, also, master_key)
    except BaseException:
        pending_file.unlink()
        raise
    pending_file.replace(out)
    _sync_directory(out.parent)
    return enrolment


def _commit(
    store_path: StoreLocation,
    kind: RecordKind,
    issued: dict[str, Credential],
    owner: str,
    rule: RecordRule,
    reprovisioning: bool,
    also: Callable[[Connection], None] | None,
    master_key: MasterKey | None,
) -> None:
    """Write the records in one transaction, with ``also`` (the registry's part)."""
    store = open_key_store(store_path, master_key=master_key)
    try:
        if reprovisioning:
            store.reprovision(kind, issued)
        else:
            store.enrol(kind, issued, owner, rule, also=also)
    finally:
        store.close()


def _sync_directory(directory: Path) -> None:
    """Make a rename in ``directory`` durable."""
    descriptor = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)
