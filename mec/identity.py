"""A MEC node's own ECQV identity (phases 5 and 6 authenticate MEC nodes with it).

The node makes its secret k and R = kG (``mec5g mec identity-request``), keeping k in a key file
(mode 0600, never overwritten) and handing only R to the operator; ``mec5g ttp enrol-mec
--identity-request`` issues the certificate and r with the node's credentials; the node then
reconstructs d = e·k + r, checks Q = dG and keeps the pair in a wallet (``mec5g mec
identity-install``). The TTP never learns d.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from mec5g.core import ecqv
from mec5g.runtime.holder_store import create_private_file
from mec5g.runtime.wallet import Wallet


def _write_once(path: Path, document: dict[str, Any]) -> None:
    if path.exists():
        raise FileExistsError(f"{path} exists and is never overwritten")
    create_private_file(path)
    with path.open("w") as file:
        file.write(json.dumps(document, indent=1) + "\n")
        file.flush()
        os.fsync(file.fileno())


def write_request(node: str, key_file: Path, request_file: Path) -> bytes:
    """Make k (kept in ``key_file``) and write R for the operator; returns R."""
    if request_file.exists():
        raise FileExistsError(f"{request_file} exists and is never overwritten")
    k, request_point = ecqv.request(node)
    _write_once(key_file, {"node": node, "k": ecqv.scalar_bytes(k).hex()})
    _write_once(request_file, {"node": node, "request_point": request_point.hex()})
    return request_point


def read_request(request_file: Path, node: str) -> bytes:
    """R from a request file, which must be the named node's."""
    document = json.loads(request_file.read_text())
    if document.get("node") != node:
        raise ValueError(f"{request_file} is a request of node {document.get('node')!r}")
    return bytes.fromhex(document["request_point"])


def install(key_file: Path, enrolment: dict[str, Any], wallet_file: Path) -> Wallet:
    """Reconstruct the node's key pair from k and the enrolment's identity; write the wallet."""
    key = json.loads(key_file.read_text())
    identity = enrolment.get("identity")
    if not isinstance(identity, dict):
        raise ValueError("the enrolment carries no identity: enrol with --identity-request")
    if identity["node"] != key["node"]:
        raise ValueError(f"the enrolment is node {identity['node']!r}'s, the key {key['node']!r}'s")
    issued = ecqv.Issued(
        ecqv.Certificate.parse(bytes.fromhex(identity["certificate"])),
        ecqv.scalar_from_bytes(
            bytes.fromhex(identity["private_key_contribution"]), "private_key_contribution"
        ),
    )
    ca_public = bytes.fromhex(identity["ca_public"])
    k = ecqv.scalar_from_bytes(bytes.fromhex(key["k"]), "k")
    pair = ecqv.reconstruct_private(k, issued, ca_public)
    wallet = Wallet(key["node"], "mec", pair, issued.certificate.encoded, ca_public)
    wallet.write(wallet_file)
    return wallet
