"""Operator enrolment: create device and MEC credentials at the TTP and hand them to holders.

The enrolment file is written and synced (under a temporary name) before the records are
committed, and moved into place after: a crash in between never leaves records whose keys nobody
has. An existing enrolment file is never overwritten: it may hold keys not imported yet.

This is the stand-in for phases 1 and 2 until the patient-driven flow exists: the operator
creates N device records under one analysis (``default`` unless named) and K credentials for one
MEC node, and writes each holder's credentials to an enrolment file (mode 0600) that the UE or MEC
process imports at start-up (``--import``). Enrolment and re-provisioning set the counter to 0.
"""

from __future__ import annotations

import os
from pathlib import Path

from mec5g.core.credentials import Credential, RecordRule
from mec5g.core.records import RecordKind
from mec5g.runtime.holder_store import EnrolmentFile
from mec5g.ttp.keystore import EnrolmentRefused, KeyStore

DEFAULT_ANALYSIS = "default"


def device_names(count: int, first: int = 1, prefix: str = "dev") -> list[str]:
    return [f"{prefix}-{number:04d}" for number in range(first, first + count)]


def mec_credential_names(node: str, count: int) -> list[str]:
    return [f"{node}/cred-{number:03d}" for number in range(1, count + 1)]


def enrol_devices(
    store_path: Path,
    out: Path,
    count: int,
    *,
    analysis: str = DEFAULT_ANALYSIS,
    rule: RecordRule = RecordRule.COUNTER,
    first: int = 1,
    prefix: str = "dev",
) -> EnrolmentFile:
    """Enrol ``count`` devices of one analysis and write their enrolment file."""
    labels = device_names(count, first, prefix)
    return _enrol(store_path, out, RecordKind.DEVICE, labels, analysis, rule)


def enrol_mec(
    store_path: Path,
    out: Path,
    node: str,
    count: int,
    *,
    rule: RecordRule = RecordRule.COUNTER,
) -> EnrolmentFile:
    """Enrol ``count`` credentials for MEC node ``node`` and write their enrolment file."""
    return _enrol(store_path, out, RecordKind.MEC, mec_credential_names(node, count), node, rule)


def _enrol(
    store_path: Path, out: Path, kind: RecordKind, labels: list[str], owner: str, rule: RecordRule
) -> EnrolmentFile:
    if out.exists():
        raise EnrolmentRefused(f"{out} exists and may hold keys not imported yet; remove it first")
    issued = {label: Credential.generate() for label in labels}
    enrolment = EnrolmentFile(kind.value, rule, owner, issued)
    pending_file = out.with_name(out.name + ".partial")
    enrolment.write(pending_file)
    store = KeyStore(store_path)
    try:
        store.enrol(kind, issued, owner, rule)
    except BaseException:
        pending_file.unlink()
        raise
    finally:
        store.close()
    pending_file.replace(out)
    _sync_directory(out.parent)
    return enrolment


def _sync_directory(directory: Path) -> None:
    """Make a rename in ``directory`` durable."""
    descriptor = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)
