"""Phases 5 and 6 between users and the MEC (paper section 4.1, steps 5 and 6; ours, in the
style of its reference [36]).

A patient or doctor reads an analysis's results from the MEC without the MEC learning who asks:

1. user → TTP: a signed request (``core.user_crypto``) naming the analysis, the MEC node and a
   fresh ephemeral public key X = xG made for this one request.
2. TTP: checks the signature, the freshness and the access policy (``profiles.may_read``), then
   answers a **grant** signed with its CA key: the per-MEC pseudonym of the analysis, the node,
   X, an expiry and a random grant nonce. The grant names no user and no analysis.
3. user → MEC: the grant and its signature.
4. MEC: checks the TTP's signature, that the grant is for this node, unexpired and never spent
   (``SpentGrants``); seals the report to X (ephemeral-static ECDH, HKDF, AEAD, with the grant as
   associated data) and signs grant and ciphertext with its own ECQV key.
5. user: reconstructs the MEC's key from its certificate and the pinned CA key, checks that the
   certificate is the named node's and the signature, and opens the report with x.

Phase 6 uses the same grants with purpose WATCH: the user keeps a watch open at the MEC, and each
emergency reaches it sealed and signed as a report is (``core.emergency``, docs/protocol.md).

Why: the MEC sees the pseudonym and a key used once, nothing linkable to a person or to the
user's other requests; only the holder of x reads the answer, so a stolen or replayed grant
yields nothing; the TTP does not hold the MEC's private key, so it cannot forge a report under
the MEC's certificate; ephemeral keys on both sides give forward secrecy for the report.

Grant layout (ours): ``version (1) ‖ purpose (1) ‖ nonce (16) ‖ expires_at_ms (8, big-endian) ‖
pseudonym (32) ‖ X (33) ‖ node (UTF-8, 1 to 64 bytes)``. The signature is the ECDSA r ‖ s of
``core.user_crypto`` under the label ``mec5g/grant/v1`` and the node.
"""

from __future__ import annotations

import enum
import hmac
import struct
from dataclasses import dataclass
from typing import Protocol

from mec5g.core import ecqv, user_crypto
from mec5g.core.errors import AuthenticationFailed, InvalidField, MalformedField
from mec5g.core.handle import PSEUDONYM_BYTES
from mec5g.core.primitives import random_bytes

GRANT_VERSION = 1
GRANT_NONCE_BYTES = 16
MAX_GRANT_SECONDS = 300.0
_HEADER = struct.Struct(">BB16sQ32s33s")
MIN_GRANT_BYTES = _HEADER.size + 1
MAX_NODE_BYTES = 64
MAX_GRANT_BYTES = _HEADER.size + MAX_NODE_BYTES
_GRANT_LABEL = "mec5g/grant/v1"
_REPORT_LABEL = "mec5g/report/v1"
_REPORT_PURPOSE = "user-report"


class GrantPurpose(enum.IntEnum):
    """What a grant lets its holder do at the MEC."""

    RESULTS = 1
    WATCH = 2  # phase 6: a stream of the analysis's emergencies


@dataclass(frozen=True)
class Grant:
    """The TTP's authorisation of one request at one MEC node, naming no one."""

    purpose: GrantPurpose
    nonce: bytes
    expires_at: float
    pseudonym: bytes
    requester_key: bytes
    node: str

    def encode(self) -> bytes:
        return (
            _HEADER.pack(
                GRANT_VERSION,
                self.purpose,
                self.nonce,
                int(self.expires_at * 1000),
                self.pseudonym,
                self.requester_key,
            )
            + self.node.encode()
        )

    @classmethod
    def decode(cls, raw: bytes) -> Grant:
        """Parse a grant's layout; a grant that does not parse was not made by the TTP."""
        if not MIN_GRANT_BYTES <= len(raw) <= MAX_GRANT_BYTES:
            raise InvalidField(
                "grant", f"{MIN_GRANT_BYTES} to {_HEADER.size + MAX_NODE_BYTES} bytes"
            )
        version, purpose, nonce, expires_ms, pseudonym, key = _HEADER.unpack_from(raw)
        if version != GRANT_VERSION or purpose not in GrantPurpose._value2member_map_:
            raise InvalidField("grant", f"version {GRANT_VERSION} and a known purpose")
        try:
            node = raw[_HEADER.size :].decode()
        except UnicodeDecodeError:
            raise InvalidField("grant", "a UTF-8 node name at the end") from None
        return cls(GrantPurpose(purpose), nonce, expires_ms / 1000, pseudonym, key, node)


def issue_grant(
    ca: ecqv.KeyPair,
    purpose: GrantPurpose,
    pseudonym: bytes,
    requester_key: bytes,
    node: str,
    expires_at: float,
) -> tuple[bytes, bytes]:
    """The TTP's side: a fresh grant and its signature under the CA key."""
    if len(pseudonym) != PSEUDONYM_BYTES:
        raise MalformedField("pseudonym", PSEUDONYM_BYTES, len(pseudonym))
    ecqv.decode_point(requester_key, "requester_key")
    if not 0 < len(node.encode()) <= MAX_NODE_BYTES:
        raise InvalidField("mec_node", f"1 to {MAX_NODE_BYTES} bytes")
    grant = Grant(
        purpose, random_bytes(GRANT_NONCE_BYTES), expires_at, pseudonym, requester_key, node
    ).encode()
    return grant, user_crypto.sign(ca, _GRANT_LABEL, node, grant)


def verify_grant(
    ca_public: bytes, node: str, purpose: GrantPurpose, raw: bytes, signature: bytes, now: float
) -> Grant:
    """The MEC's side: the TTP's signature, this node and purpose, not expired and not too
    long-lived.

    Raises AuthenticationFailed (reason for the MEC's log only) or, for a grant of the wrong
    size, MalformedField/InvalidField. Spending the nonce is ``SpentGrants``' job.
    """
    if len(signature) != user_crypto.SIGNATURE_BYTES:
        raise MalformedField("grant_signature", user_crypto.SIGNATURE_BYTES, len(signature))
    grant = Grant.decode(raw)
    user_crypto.verify(ca_public, _GRANT_LABEL, grant.node, raw, signature)
    if not hmac.compare_digest(grant.node.encode(), node.encode()):
        raise AuthenticationFailed("grant_for_another_node")
    if grant.purpose is not purpose:
        raise AuthenticationFailed("grant_for_another_purpose")
    if grant.purpose is not purpose:
        raise AuthenticationFailed("grant_for_another_purpose")
    if grant.expires_at <= now:
        raise AuthenticationFailed("expired_grant")
    if grant.expires_at > now + MAX_GRANT_SECONDS:
        raise AuthenticationFailed("grant_lifetime_too_long")
    return grant


class OneTime(Protocol):
    """Something the TTP issued for one use before an expiry: a grant, a transfer ticket."""

    @property
    def nonce(self) -> bytes: ...

    @property
    def expires_at(self) -> float: ...


class SpentGrants:
    """Grant nonces the MEC has accepted, each kept until its grant expires: a grant is used
    once. Its size is bounded by the request rate times ``MAX_GRANT_SECONDS``. Transfer tickets
    (``core.handover``) are spent the same way."""

    def __init__(self) -> None:
        self._expiry: dict[bytes, float] = {}

    def __len__(self) -> int:
        return len(self._expiry)

    def spend(self, grant: OneTime, now: float) -> None:
        """Mark ``grant`` used; AuthenticationFailed if it was used before."""
        for nonce in [nonce for nonce, expiry in self._expiry.items() if expiry <= now]:
            del self._expiry[nonce]
        if grant.nonce in self._expiry:
            raise AuthenticationFailed("replayed_grant")
        self._expiry[grant.nonce] = grant.expires_at


def _report_body(grant: bytes, sealed: bytes) -> bytes:
    return struct.pack(">H", len(grant)) + grant + sealed


def seal_report(mec: ecqv.KeyPair, grant_raw: bytes, report: bytes) -> tuple[bytes, bytes]:
    """The MEC's answer (results, or an alert on a watch): ``report`` sealed to the grant's
    requester key, and the MEC's ECQV signature over the grant and the ciphertext. The grant,
    purpose included, is the associated data, so a report cannot pass for another grant's."""
    grant = Grant.decode(grant_raw)
    sealed = user_crypto.seal(
        grant.requester_key, report, purpose=_REPORT_PURPOSE, associated_data=grant_raw
    )
    return sealed, user_crypto.sign(mec, _REPORT_LABEL, grant.node, _report_body(grant_raw, sealed))


def open_report(
    ephemeral: ecqv.KeyPair,
    ca_public: bytes,
    grant_raw: bytes,
    mec_certificate: bytes,
    sealed: bytes,
    signature: bytes,
) -> bytes:
    """The user's side: check that the report is signed by the grant's MEC node under the CA's
    certificate, then open it with the ephemeral key. AuthenticationFailed otherwise."""
    grant = Grant.decode(grant_raw)
    certificate = ecqv.Certificate.parse(mec_certificate, "mec_certificate")
    if not hmac.compare_digest(certificate.identity.encode(), grant.node.encode()):
        raise AuthenticationFailed("report_from_another_node")
    if len(signature) != user_crypto.SIGNATURE_BYTES:
        raise AuthenticationFailed("bad_report_signature")
    mec_public = ecqv.reconstruct_public(certificate, ca_public)
    user_crypto.verify(
        mec_public, _REPORT_LABEL, grant.node, _report_body(grant_raw, sealed), signature
    )
    return user_crypto.open_sealed(
        ephemeral, sealed, purpose=_REPORT_PURPOSE, associated_data=grant_raw
    )


def ephemeral_key() -> ecqv.KeyPair:
    """A key pair for one request: X travels in the grant, x opens the answer."""
    private = ecqv.random_scalar()
    return ecqv.KeyPair(private, ecqv.public_key(private))
