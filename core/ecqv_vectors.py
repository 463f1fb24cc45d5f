"""ECQV certificate files: ``mec5g ecqv verify`` and the known-answer vectors of phase 1.

A file is ``{"ca_public": hex, "certs": [{"cert": hex, "public": hex}, ...]}`` with points SEC1
compressed and lowercase hex. ``verify`` reconstructs each public key from its certificate and
the CA key. Known-answer files (``make``) add what produced them: ``"scheme"``, ``"ca_private"``
and, per certificate, ``"k"``, ``"k_ca"``, ``"r"`` and ``"private"``; where those are present,
``verify`` also recomputes the issuance and the user's private key from them.
"""

from __future__ import annotations

from typing import Any

from mec5g.core import ecqv
from mec5g.core.errors import SchemeError

SCHEME = "mec5g/ecqv/v1"
_SCALARS = ("k", "k_ca", "r", "private")


class CertificateFileError(ValueError):
    """The document is not a certificate file."""


def compute(ca_private: int, identity: str, k: int, k_ca: int) -> dict[str, str]:
    """One known-answer entry from its inputs, with the real issuance and reconstruction."""
    ca_public = ecqv.public_key(ca_private)
    _, request_point = ecqv.request(identity, k)
    issued = ecqv.issue(ca_private, identity, request_point, k_ca)
    pair = ecqv.reconstruct_private(k, issued, ca_public)
    return {
        "identity": identity,
        "k": ecqv.scalar_bytes(k).hex(),
        "k_ca": ecqv.scalar_bytes(k_ca).hex(),
        "cert": issued.certificate.encoded.hex(),
        "r": ecqv.scalar_bytes(issued.r).hex(),
        "private": ecqv.scalar_bytes(pair.private).hex(),
        "public": pair.public.hex(),
    }


def make(count: int) -> dict[str, Any]:
    """A known-answer file of ``count`` certificates under one fresh CA key."""
    if count < 0:
        raise ValueError("count must not be negative")
    ca_private = ecqv.random_scalar()
    return {
        "scheme": SCHEME,
        "ca_private": ecqv.scalar_bytes(ca_private).hex(),
        "ca_public": ecqv.public_key(ca_private).hex(),
        "certs": [
            compute(ca_private, f"user-{index:03d}", ecqv.random_scalar(), ecqv.random_scalar())
            for index in range(count)
        ],
    }


def _hex(value: Any, name: str) -> bytes:
    if not isinstance(value, str):
        raise CertificateFileError(f"{name} must be a hex string")
    try:
        return bytes.fromhex(value)
    except ValueError:
        raise CertificateFileError(f"{name} is not hex") from None


def verify(document: Any) -> list[str]:
    """Every mismatch of the file, one line each; empty when every certificate checks out.

    Raises CertificateFileError when the document does not have the file's shape.
    """
    if not isinstance(document, dict) or not isinstance(document.get("certs"), list):
        raise CertificateFileError('expected {"ca_public": hex, "certs": [...]}')
    ca_public = _hex(document.get("ca_public"), "ca_public")
    mismatches: list[str] = []
    ca_private = document.get("ca_private")
    if ca_private is not None:
        ca_scalar = ecqv.scalar_from_bytes(_hex(ca_private, "ca_private"), "ca_private")
        if ecqv.public_key(ca_scalar) != ca_public:
            mismatches.append("ca_private does not match ca_public")
    for index, entry in enumerate(document["certs"]):
        if not isinstance(entry, dict):
            raise CertificateFileError(f"certs[{index}] must be an object")
        name = f"certs[{index}]"
        cert = _hex(entry.get("cert"), f"{name}.cert")
        public = _hex(entry.get("public"), f"{name}.public")
        try:
            reconstructed = ecqv.reconstruct_public(ecqv.Certificate.parse(cert), ca_public)
        except (SchemeError, ecqv.CertificateRejected) as error:
            mismatches.append(f"{name}: {error}")
            continue
        if reconstructed != public:
            mismatches.append(
                f"{name}: public key {public.hex()} != reconstructed {reconstructed.hex()}"
            )
        if ca_private is not None and all(key in entry for key in (*_SCALARS, "identity")):
            mismatches.extend(_recompute(name, entry, ca_scalar))
    return mismatches


def _recompute(name: str, entry: dict[str, Any], ca_private: int) -> list[str]:
    scalars = {key: int.from_bytes(_hex(entry[key], f"{name}.{key}"), "big") for key in _SCALARS}
    try:
        expected = compute(ca_private, str(entry["identity"]), scalars["k"], scalars["k_ca"])
    except (SchemeError, ValueError, ecqv.CertificateRejected) as error:
        return [f"{name}: cannot recompute: {error}"]
    return [
        f"{name}.{key}: {entry[key]} != recomputed {expected[key]}"
        for key in ("cert", "r", "private", "public")
        if str(entry[key]).lower() != expected[key]
    ]
