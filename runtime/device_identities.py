"""Devices' ECQV identities for the public-key baseline [36], as the TTP operator hands them to
a UE, and as the UE keeps them.

Under ``--scheme baseline36`` a device authenticates with an ECQV identity (certificate and key
pair, ``core.anonymous_agreement.Identity``) instead of (DID, DK). The operator's enrolment tool
makes it (``mec5g.ttp.identities``) and writes it into the UE's enrolment file under
``"identities"``: ``{"ca_public": hex, "devices": [{"name": str, "certificate": hex, "private":
hex}]}`` (mode 0600, as every enrolment file, for it holds private keys). The UE imports the
section with the file (``--import``) into its own table of ``ue.db`` (``IdentityStore``, mode
0600 as the rest of the file), never overwriting an identity it holds.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mec5g.core import ecqv
from mec5g.core.anonymous_agreement import Identity
from mec5g.runtime.group_commit import connect, immediate_transaction
from mec5g.runtime.holder_store import create_private_file

SECTION = "identities"
_SCHEMA = """
CREATE TABLE IF NOT EXISTS device_identities (
    name TEXT PRIMARY KEY,
    certificate BLOB NOT NULL,
    private BLOB NOT NULL CHECK (length(private) = 32),
    ca_public BLOB NOT NULL CHECK (length(ca_public) = 33)
)
"""


@dataclass(frozen=True)
class DeviceIdentities:
    """Devices' identities by name, all issued under one CA key (the TTP's)."""

    ca_public: bytes
    identities: dict[str, Identity]

    def document(self) -> dict[str, Any]:
        return {
            "ca_public": self.ca_public.hex(),
            "devices": [
                {
                    "name": name,
                    "certificate": identity.certificate.encoded.hex(),
                    "private": ecqv.scalar_bytes(identity.pair.private).hex(),
                }
                for name, identity in self.identities.items()
            ],
        }

    @classmethod
    def from_document(cls, document: Any) -> DeviceIdentities:
        """The section's identities, each checked: its key pair must match its certificate
        under the CA key, so a damaged or mixed-up file is refused before it is used."""
        ca_public = bytes.fromhex(document["ca_public"])
        identities = {}
        for entry in document["devices"]:
            certificate = ecqv.Certificate.parse(bytes.fromhex(entry["certificate"]))
            private = ecqv.scalar_from_bytes(bytes.fromhex(entry["private"]), "private")
            public = ecqv.reconstruct_public(certificate, ca_public)
            if ecqv.public_key(private) != public:
                raise ValueError(f"{entry['name']}: the private key does not match the certificate")
            identities[str(entry["name"])] = Identity(certificate, ecqv.KeyPair(private, public))
        return cls(ca_public, identities)

    @classmethod
    def read(cls, path: Path) -> DeviceIdentities | None:
        """The identities an enrolment file carries, or None if it carries none."""
        try:
            document: Any = json.loads(path.read_text())
            if SECTION not in document:
                return None
            return cls.from_document(document[SECTION])
        except (KeyError, TypeError, ValueError, ecqv.CertificateRejected) as error:
            raise ValueError(f"{path}: not device identities: {error}") from error


class IdentityStore:
    """The UE's devices' identities, in their own table of the UE's state file."""

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        create_private_file(self.path)
        connection = connect(self.path)
        try:
            connection.execute(_SCHEMA)
        finally:
            connection.close()

    def import_identities(self, held: DeviceIdentities) -> int:
        """Add the identities not held yet; return how many were written. An identity held
        already is kept: importing a file twice must not change a device's identity."""
        connection = connect(self.path)
        try:
            with immediate_transaction(connection):
                added = 0
                for name, identity in held.identities.items():
                    cursor = connection.execute(
                        "INSERT OR IGNORE INTO device_identities VALUES (?, ?, ?, ?)",
                        (
                            name,
                            identity.certificate.encoded,
                            ecqv.scalar_bytes(identity.pair.private),
                            held.ca_public,
                        ),
                    )
                    added += cursor.rowcount
        finally:
            connection.close()
        return added

    def load(self) -> dict[str, tuple[Identity, bytes]]:
        """Every device's identity and the CA key it was issued under, by device name."""
        connection = connect(self.path)
        try:
            rows = connection.execute(
                "SELECT name, certificate, private, ca_public FROM device_identities"
            ).fetchall()
        finally:
            connection.close()
        held = {}
        for name, certificate, private, ca_public in rows:
            scalar = ecqv.scalar_from_bytes(private, "private")
            pair = ecqv.KeyPair(scalar, ecqv.public_key(scalar))
            held[name] = (Identity(ecqv.Certificate.parse(certificate), pair), bytes(ca_public))
        return held
