"""Wallets: an ECQV identity's key pair, certificate and the pinned CA key, in a file.

Patients, doctors (``mec5g user register``) and MEC nodes (``mec5g mec identity-install``) keep
their reconstructed key pair here. The file holds the private key: it is created mode 0600, synced,
and never overwritten; reading it checks that the key pair matches the certificate under the
pinned CA key, so a damaged or mixed-up wallet is refused before it signs anything. Roles:
``patient``, ``doctor``, ``mec``.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mec5g.core import ecqv
from mec5g.runtime.holder_store import create_private_file


@dataclass(frozen=True)
class Wallet:
    """An identity's certificate and key pair, and the pinned CA key."""

    identity: str
    role: str
    pair: ecqv.KeyPair
    certificate: bytes
    ca_public: bytes

    def text(self) -> str:
        """The wallet file's content (it holds the private key)."""
        document = {
            "identity": self.identity,
            "role": self.role,
            "private": ecqv.scalar_bytes(self.pair.private).hex(),
            "public": self.pair.public.hex(),
            "certificate": self.certificate.hex(),
            "ca_public": self.ca_public.hex(),
        }
        return json.dumps(document, indent=1) + "\n"

    def write(self, path: Path) -> None:
        """Write the wallet once (mode 0600); an existing wallet is never overwritten."""
        if path.exists():
            raise FileExistsError(f"{path} exists: a wallet is never overwritten")
        create_private_file(path)
        with path.open("w") as file:
            file.write(self.text())
            file.flush()
            os.fsync(file.fileno())

    @classmethod
    def read(cls, path: Path) -> Wallet:
        """Read a wallet and check that its key pair matches its certificate."""
        try:
            document: Any = json.loads(path.read_text())
            certificate = bytes.fromhex(document["certificate"])
            ca_public = bytes.fromhex(document["ca_public"])
            private = ecqv.scalar_from_bytes(bytes.fromhex(document["private"]), "private")
            public = ecqv.reconstruct_public(ecqv.Certificate.parse(certificate), ca_public)
            if ecqv.public_key(private) != public:
                raise ValueError("the private key does not match the certificate")
            return cls(
                str(document["identity"]),
                str(document["role"]),
                ecqv.KeyPair(private, public),
                certificate,
                ca_public,
            )
        except (KeyError, TypeError, ValueError, ecqv.CertificateRejected) as error:
            raise ValueError(f"{path}: not a wallet: {error}") from error
