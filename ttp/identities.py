"""Devices' ECQV identities at the TTP, for the public-key baseline [36] (``--scheme
baseline36``).

Enrolment (``issue``): the operator's tool makes each device's k, has the CA issue its
certificate and reconstructs the key pair, as it makes a device's DK; the key pair goes to the UE
in its enrolment file (``runtime.device_identities``) and never into the database, which keeps
the certificate and the public key by device label (``device_identities``, SQLite's schema
version 6, PostgreSQL's version 3).
A label that has an identity already is refused.

Acceptance (``find``): a device is accepted under its identity while the identity is registered
with that public key and the device's credential record (kind device, the same label) exists.
The record names the device's analysis, whose pseudonym and settings the MEC is then told, and
phase 2's life cycle (revoke, remove, close) deletes it, which ends the device's [36] sessions
too: one source decides which analysis a device is in, whichever scheme it runs.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from mec5g.core.anonymous_agreement import issue_identity
from mec5g.core.handle import AnalysisSettings
from mec5g.core.news2 import SpO2Scale
from mec5g.runtime.device_identities import DeviceIdentities
from mec5g.ttp.database import Connection, Database
from mec5g.ttp.keystore import EnrolmentRefused
from mec5g.ttp.registry import Registry


@dataclass(frozen=True)
class DeviceAnalysis:
    """A registered device identity: its public key, and the analysis its record is in."""

    public_key: bytes
    analysis: str
    settings: AnalysisSettings


def issue(
    registry: Registry, labels: Sequence[str]
) -> tuple[DeviceIdentities, Callable[[Connection], None]]:
    """Identities for the devices ``labels``; the step returned stores their certificates and
    public keys inside the caller's transaction."""
    authority = registry.authority
    identities = {label: issue_identity(authority.private, label) for label in labels}
    issued_at = time.time()

    def store(connection: Connection) -> None:
        for label, identity in identities.items():
            if connection.execute(
                "SELECT 1 FROM device_identities WHERE label = ?", (label,)
            ).fetchone():
                raise EnrolmentRefused(f"device {label!r} has an ECQV identity already")
            connection.execute(
                "INSERT INTO device_identities VALUES (?, ?, ?, ?)",
                (label, identity.certificate.encoded, identity.pair.public, issued_at),
            )

    return DeviceIdentities(authority.public, identities), store


def find(database: Database, label: str) -> DeviceAnalysis | None:
    """The registered identity of device ``label`` and the analysis of its record, in the
    TTP's ``database`` (either backend), or None (no identity, or no record: never enrolled in
    an analysis, revoked, removed, closed)."""
    with database.reading() as connection:
        row = connection.execute(
            "SELECT i.public_key, r.owner, s.spo2_scale FROM device_identities i "
            "JOIN credential_records r ON r.kind = 'device' AND r.label = i.label "
            "LEFT JOIN analysis_settings s ON s.analysis = r.owner WHERE i.label = ?",
            (label,),
        ).fetchone()
    if row is None:
        return None
    settings = AnalysisSettings() if row[2] is None else AnalysisSettings(SpO2Scale(row[2]))
    return DeviceAnalysis(bytes(row[0]), str(row[1]), settings)
