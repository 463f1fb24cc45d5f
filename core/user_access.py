"""Phases 5 and 6 between users and the MEC, on the anonymous key agreement (paper section 4.1,
steps 5 and 6; section 4.3 leaves them to a scheme like its reference [36]).

A patient or doctor reads an analysis's results from the MEC, or watches it for emergencies,
without the MEC learning who asks:

1. the user's app runs ``core.anonymous_agreement`` with the MEC node as responder, purpose
   RESULTS or WATCH, its request (which analysis, with a fresh header) sealed to the TTP inside
   M1;
2. the TTP, which alone reads the request, checks the user's signature, the freshness and the
   access policy, and vouches (``Vouched``): the per-MEC pseudonym of the analysis and, for a
   watch, the watch's id at the TTP. Nothing vouched names the user or the analysis;
3. the MEC answers under the session key K: each report (the results, or an alert on a watch)
   sealed with ChaCha20-Poly1305 under K with its own sequence number, and signed with the MEC
   node's own ECQV key over both ephemerals, the sequence and the ciphertext
   (``seal_report``);
4. the user checks that the certificate is the named node's, the signature under the key it
   reconstructs from it and the pinned CA key, and opens the report (``open_report``).

Why: the MEC sees a pseudonym and ephemerals used once, nothing linkable to a person or to the
user's other requests; only the holder of x derives K, so a replayed M1 yields nothing (and the
TTP refuses its spent nonce); the TTP does not hold the MEC's private key, so it cannot forge a
report under the MEC's certificate (paper section 4.2.2), although as the one who vouches it
could stand in for the MEC in the agreement itself; ephemeral keys give forward secrecy.
"""

from __future__ import annotations

import hmac
import struct
from dataclasses import dataclass

from mec5g.core import ecqv, user_crypto
from mec5g.core.anonymous_agreement import Purpose, Session
from mec5g.core.errors import AuthenticationFailed
from mec5g.core.handle import PSEUDONYM_BYTES

WATCH_ID_BYTES = 16
_REPORT_LABEL = "mec5g/report/v1"
_SEQUENCE = struct.Struct(">Q")


@dataclass(frozen=True)
class Vouched:
    """What the TTP tells the MEC about an authorised user request, inside M3: the analysis's
    per-MEC pseudonym and, for a watch, the id the TTP keeps the watch under."""

    pseudonym: bytes
    watch_id: bytes = b""

    def encode(self) -> bytes:
        return self.pseudonym + self.watch_id

    @classmethod
    def decode(cls, raw: bytes, purpose: Purpose) -> Vouched:
        """Parse what the TTP sealed for this purpose; only the TTP could have sealed it, so a
        layout that does not fit is refused as an authentication failure."""
        watch = WATCH_ID_BYTES if purpose is Purpose.WATCH else 0
        if purpose is Purpose.DEVICE_SESSION or len(raw) != PSEUDONYM_BYTES + watch:
            raise AuthenticationFailed("bad_vouched")
        return cls(raw[:PSEUDONYM_BYTES], raw[PSEUDONYM_BYTES:])


def _report_data(session: Session, sequence: int) -> bytes:
    return session.initiator_point + session.responder_point + _SEQUENCE.pack(sequence)


def seal_report(
    mec: ecqv.KeyPair, session: Session, sequence: int, report: bytes
) -> tuple[bytes, bytes]:
    """The MEC's answer number ``sequence`` (from 1) in ``session``: ``report`` sealed under K,
    and the MEC's ECQV signature over both ephemerals, the sequence and the ciphertext."""
    bound = _report_data(session, sequence)
    sealed = user_crypto.seal_with_key(
        session.key, report, associated_data=_REPORT_LABEL.encode() + bound, sequence=sequence
    )
    return sealed, user_crypto.sign(mec, _REPORT_LABEL, session.responder, bound + sealed)


def open_report(
    session: Session,
    ca_public: bytes,
    mec_certificate: bytes,
    sequence: int,
    sealed: bytes,
    signature: bytes,
) -> bytes:
    """The user's side: check that the report is signed by the session's MEC node under the
    CA's certificate, then open it under K. AuthenticationFailed otherwise."""
    certificate = ecqv.Certificate.parse(mec_certificate, "mec_certificate")
    if not hmac.compare_digest(certificate.identity.encode(), session.responder.encode()):
        raise AuthenticationFailed("report_from_another_node")
    if len(signature) != user_crypto.SIGNATURE_BYTES:
        raise AuthenticationFailed("bad_report_signature")
    bound = _report_data(session, sequence)
    try:
        mec_public = ecqv.reconstruct_public(certificate, ca_public)
    except ecqv.CertificateRejected:
        raise AuthenticationFailed("bad_mec_certificate") from None
    user_crypto.verify(mec_public, _REPORT_LABEL, session.responder, bound + sealed, signature)
    return user_crypto.open_with_key(
        session.key, sealed, associated_data=_REPORT_LABEL.encode() + bound, sequence=sequence
    )
