"""A patient's move between MEC nodes (ours; the paper's future work): the handover indication,
the TTP's transfer ticket and the analysis context sealed from the source node to the target.

The analysis is known to the source node S as P_s = HMAC(k, IDa ‖ S) and to the target node T
as P_t (SPEC.md "Analysis handle"); neither node may learn the other's pseudonym, nor who the
patient is. Only the TTP knows both, so the TTP vouches for the move:

1. **Indication (device → TTP, through T).** A device arriving from S runs key agreement at T
   as always and adds S's name sealed for the TTP: ChaCha20-Poly1305 under HKDF-SHA256(ci3 ‖ ci4,
   info = "mec5g/handover-indication/v" ‖ version), associated data version ‖ M1, a zero nonce
   (the key is fresh per attempt: R1 is in H1's input). ci3 and ci4 are known to the device and
   the TTP only, so T cannot read it and nobody else can make one that opens.
2. **Ticket (TTP → T).** The TTP finds IDa through DIDi, as for the handle, computes P_s and
   answers T, beside M3, a ticket it signs with its CA key: ``version (1) ‖ nonce (16) ‖
   expires_ms (8) ‖ S (1-byte length, UTF-8) ‖ T (likewise) ‖ Seal(Q_S, P_s, aad = the ticket
   before it)``, 81 bytes of sealed pseudonym. The ticket and its signature travel sealed beside
   M3 like the handle (HKDF(cm3 ‖ cm4), associated data version ‖ M1 ‖ M2 ‖ M3), so that a
   backhaul attacker can neither read it nor swap in another handshake's ticket.
3. **Transfer (T → S → T).** T draws a one-time key X = xG, signs ``len ‖ ticket ‖ X`` with its
   ECQV key and sends ticket, TTP signature, X, its certificate and signature to S. S checks the
   TTP's signature, that it is the ticket's source, the expiry (at most ``MAX_TICKET_SECONDS``
   ahead), that the nonce was never spent, that T's certificate names the ticket's target and
   T's signature; it opens P_s, exports and forgets the analysis, and answers the context sealed
   to X (associated data: the ticket) with its own signature over ``len ‖ ticket ‖ sealed``. T
   checks that S's certificate names the ticket's source and the signature, opens with x, and
   installs the context under P_t, the pseudonym of the same handshake.

Why it holds: S learns P_s (its own) and T's name; T learns P_t (its own) and S's name; P_s
travels only sealed to S; nothing names the patient. A forged ticket fails the CA signature, a
replayed one the spent nonce, a stolen one the target's signature (only T signs for T), and a
context cannot be moved to another ticket (associated data and S's signature cover the ticket).
x is used once, so a later compromise of either node's key opens no recorded context.

Costs (origin ``handover``; reconstructing a key from a certificate, 1 Tm + 1 Ta + 1 Th, counts
under ``paper`` as SEC 4's): device 2 Th + 1 Ts (indication); TTP 2 Th + 1 Ts (open it), 1 Th
(P_s), 2 Tm + 1 Ts + 2 Th (seal P_s), 1 Tm + 1 Th (sign), 2 Th + 1 Ts (seal beside M3); T 2 Th +
1 Ts (open the ticket), 1 Tm (X), 1 Tm + 1 Th (sign), 2 Tm + 1 Ta + 1 Th (verify S), 1 Tm + 1 Ts
+ 2 Th (open); S 2 Tm + 1 Ta + 1 Th (verify the ticket), 2 Tm + 1 Ta + 1 Th (verify T), 1 Tm +
1 Ts + 2 Th (open P_s), 2 Tm + 1 Ts + 2 Th (seal the context), 1 Tm + 1 Th (sign).
"""

from __future__ import annotations

import hmac
import struct
from dataclasses import dataclass

from mec5g.core import ecqv, user_crypto
from mec5g.core.errors import AuthenticationFailed, InvalidField, MalformedField
from mec5g.core.handle import PSEUDONYM_BYTES, TAG_BYTES, BesideM3, open_beside_m3, seal_beside_m3
from mec5g.core.messages import M1, M2, M3
from mec5g.core.operations import Origin
from mec5g.core.primitives import hkdf_sha256, random_bytes

MAX_NODE_BYTES = 64
MIN_INDICATION_BYTES = 1 + TAG_BYTES
MAX_INDICATION_BYTES = MAX_NODE_BYTES + TAG_BYTES
TICKET_VERSION = 1
TICKET_NONCE_BYTES = 16
MAX_TICKET_SECONDS = 300.0
SEALED_PSEUDONYM_BYTES = ecqv.POINT_BYTES + PSEUDONYM_BYTES + TAG_BYTES
_TICKET_HEAD = struct.Struct(">B16sQ")
MIN_TICKET_BYTES = _TICKET_HEAD.size + 2 * 2 + SEALED_PSEUDONYM_BYTES
MAX_TICKET_BYTES = _TICKET_HEAD.size + 2 * (1 + MAX_NODE_BYTES) + SEALED_PSEUDONYM_BYTES
_INDICATION_INFO = b"mec5g/handover-indication/v"
TICKET_BESIDE_M3 = BesideM3(b"mec5g/transfer-ticket/v", Origin.HANDOVER, Origin.HANDOVER)
_TICKET_LABEL = "mec5g/transfer-ticket/v1"
_REQUEST_LABEL = "mec5g/transfer-request/v1"
_CONTEXT_LABEL = "mec5g/transfer-context/v1"
_PSEUDONYM_PURPOSE = "transfer-pseudonym"
_CONTEXT_PURPOSE = "analysis-context"


def _node_bytes(node: str, field: str) -> bytes:
    encoded = node.encode()
    if not 0 < len(encoded) <= MAX_NODE_BYTES:
        raise InvalidField(field, f"a MEC node name of 1 to {MAX_NODE_BYTES} bytes")
    return encoded


# -- 1. the device's indication, for the TTP -----------------------------------------------------


def _indication_key(c3_i: bytes, c4_i: bytes, version: int) -> bytes:
    return hkdf_sha256(
        c3_i + c4_i,
        salt=b"",
        info=_INDICATION_INFO + bytes([version]),
        length=32,
        origin=Origin.HANDOVER,
    )


def seal_indication(source: str, *, c3_i: bytes, c4_i: bytes, version: int, m1: M1) -> bytes:
    """The device's side: the node it leaves, readable by the TTP only."""
    return user_crypto.seal_with_key(
        _indication_key(c3_i, c4_i, version),
        _node_bytes(source, "handover_from"),
        associated_data=bytes([version]) + m1.to_bytes(),
        origin=Origin.HANDOVER,
    )


def open_indication(sealed: bytes, *, c3_i: bytes, c4_i: bytes, version: int, m1: M1) -> str:
    """The TTP's side: the node the device leaves; AuthenticationFailed unless the device of
    this attempt sealed it."""
    if not MIN_INDICATION_BYTES <= len(sealed) <= MAX_INDICATION_BYTES:
        raise AuthenticationFailed("bad_handover_indication")
    plaintext = user_crypto.open_with_key(
        _indication_key(c3_i, c4_i, version),
        sealed,
        associated_data=bytes([version]) + m1.to_bytes(),
        origin=Origin.HANDOVER,
    )
    try:
        return plaintext.decode()
    except UnicodeDecodeError:
        raise AuthenticationFailed("bad_handover_indication") from None


# -- 2. the TTP's ticket ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Ticket:
    """The TTP's permission for ``target`` to take one analysis's context from ``source``."""

    nonce: bytes
    expires_at: float
    source: str
    target: str
    sealed_pseudonym: bytes

    def header(self) -> bytes:
        """Everything before the sealed pseudonym: its associated data."""
        source = _node_bytes(self.source, "ticket.source")
        target = _node_bytes(self.target, "ticket.target")
        return (
            _TICKET_HEAD.pack(TICKET_VERSION, self.nonce, int(self.expires_at * 1000))
            + bytes([len(source)])
            + source
            + bytes([len(target)])
            + target
        )

    def encode(self) -> bytes:
        return self.header() + self.sealed_pseudonym

    @classmethod
    def decode(cls, raw: bytes) -> Ticket:
        """Parse a ticket's layout; one that does not parse was not made by the TTP."""
        if not MIN_TICKET_BYTES <= len(raw) <= MAX_TICKET_BYTES:
            raise InvalidField("ticket", f"{MIN_TICKET_BYTES} to {MAX_TICKET_BYTES} bytes")
        version, nonce, expires_ms = _TICKET_HEAD.unpack_from(raw)
        if version != TICKET_VERSION:
            raise InvalidField("ticket", f"version {TICKET_VERSION}")
        offset = _TICKET_HEAD.size
        names = []
        for _ in range(2):
            length = raw[offset]
            name = raw[offset + 1 : offset + 1 + length]
            if not 0 < length <= MAX_NODE_BYTES or len(name) != length:
                raise InvalidField("ticket", f"node names of 1 to {MAX_NODE_BYTES} bytes")
            try:
                names.append(name.decode())
            except UnicodeDecodeError:
                raise InvalidField("ticket", "UTF-8 node names") from None
            offset += 1 + length
        sealed = raw[offset:]
        if len(sealed) != SEALED_PSEUDONYM_BYTES:
            raise InvalidField("ticket", f"a sealed pseudonym of {SEALED_PSEUDONYM_BYTES} bytes")
        return cls(nonce, expires_ms / 1000, names[0], names[1], sealed)


def issue_ticket(
    ca: ecqv.KeyPair,
    source_public: bytes,
    pseudonym: bytes,
    source: str,
    target: str,
    expires_at: float,
) -> tuple[bytes, bytes]:
    """The TTP's side: a ticket for ``target`` to fetch the analysis ``pseudonym`` (the source's
    name for it) from ``source``, whose public key ``source_public`` alone opens the pseudonym;
    and its signature under the CA key."""
    if len(pseudonym) != PSEUDONYM_BYTES:
        raise MalformedField("pseudonym", PSEUDONYM_BYTES, len(pseudonym))
    ticket = Ticket(random_bytes(TICKET_NONCE_BYTES), expires_at, source, target, b"")
    header = ticket.header()
    sealed = user_crypto.seal(
        source_public,
        pseudonym,
        purpose=_PSEUDONYM_PURPOSE,
        associated_data=header,
        origin=Origin.HANDOVER,
    )
    raw = header + sealed
    return raw, user_crypto.sign(ca, _TICKET_LABEL, source, raw, origin=Origin.HANDOVER)


def seal_ticket(
    ticket: bytes, signature: bytes, *, c3_m: bytes, c4_m: bytes, version: int, m2: M2, m3: M3
) -> bytes:
    """The TTP's side: signature ‖ ticket sealed for the MEC of this handshake."""
    return seal_beside_m3(
        TICKET_BESIDE_M3, signature + ticket, c3_m=c3_m, c4_m=c4_m, version=version, m2=m2, m3=m3
    )


def open_ticket(
    sealed: bytes, *, c3_m: bytes, c4_m: bytes, version: int, m2: M2, m3: M3
) -> tuple[bytes, bytes]:
    """The target MEC's side: (ticket, TTP signature); AuthenticationFailed unless the TTP
    sealed it for this handshake."""
    if len(sealed) < user_crypto.SIGNATURE_BYTES + MIN_TICKET_BYTES + TAG_BYTES:
        raise AuthenticationFailed("bad_transfer_ticket")
    opened = open_beside_m3(
        TICKET_BESIDE_M3, sealed, c3_m=c3_m, c4_m=c4_m, version=version, m2=m2, m3=m3
    )
    if opened is None:
        raise AuthenticationFailed("bad_transfer_ticket")
    return opened[user_crypto.SIGNATURE_BYTES :], opened[: user_crypto.SIGNATURE_BYTES]


# -- 3. the transfer between the two nodes ---------------------------------------------------------


class SpentTickets:
    """Ticket nonces a source node accepted, each kept until its ticket expires: a ticket is
    used once. Its size is bounded by the transfer rate times ``MAX_TICKET_SECONDS``."""

    def __init__(self) -> None:
        self._expiry: dict[bytes, float] = {}

    def __len__(self) -> int:
        return len(self._expiry)

    def spend(self, ticket: Ticket, now: float) -> None:
        """Mark ``ticket`` used; AuthenticationFailed if it was used before."""
        for nonce in [nonce for nonce, expiry in self._expiry.items() if expiry <= now]:
            del self._expiry[nonce]
        if ticket.nonce in self._expiry:
            raise AuthenticationFailed("replayed_ticket")
        self._expiry[ticket.nonce] = ticket.expires_at


def ephemeral_key() -> ecqv.KeyPair:
    """The target's one-time key pair for one transfer: X travels, x opens the answer."""
    private = ecqv.random_scalar()
    return ecqv.KeyPair(private, ecqv.public_key(private))


def _with_ticket(ticket: bytes, tail: bytes) -> bytes:
    return struct.pack(">H", len(ticket)) + ticket + tail


def sign_request(target: ecqv.KeyPair, target_node: str, ticket: bytes, target_key: bytes) -> bytes:
    """The target's side: its signature binding its one-time key to the ticket."""
    return user_crypto.sign(
        target,
        _REQUEST_LABEL,
        target_node,
        _with_ticket(ticket, target_key),
        origin=Origin.HANDOVER,
    )


def _named_key(certificate: bytes, field: str, node: str, ca_public: bytes, reason: str) -> bytes:
    """The public key of ``certificate`` if it names ``node``; AuthenticationFailed if not."""
    parsed = ecqv.Certificate.parse(certificate, field)
    if not hmac.compare_digest(parsed.identity.encode(), node.encode()):
        raise AuthenticationFailed(reason)
    try:
        return ecqv.reconstruct_public(parsed, ca_public)
    except ecqv.CertificateRejected:
        raise AuthenticationFailed(reason) from None


def check_request(
    ca_public: bytes,
    node: str,
    raw_ticket: bytes,
    ticket_signature: bytes,
    target_key: bytes,
    target_certificate: bytes,
    target_signature: bytes,
    now: float,
) -> Ticket:
    """The source's side: the ticket is the TTP's, for this source node, unexpired and not too
    long-lived, and the request is signed by the ticket's target for this one-time key.

    Raises AuthenticationFailed (reason for the source's log only) or, for a field of an
    impossible size, MalformedField/InvalidField. Spending the nonce is the caller's job.
    """
    for field, value in (
        ("ticket_signature", ticket_signature),
        ("target_signature", target_signature),
    ):
        if len(value) != user_crypto.SIGNATURE_BYTES:
            raise MalformedField(field, user_crypto.SIGNATURE_BYTES, len(value))
    ecqv.decode_point(target_key, "target_key")
    ticket = Ticket.decode(raw_ticket)
    user_crypto.verify(
        ca_public,
        _TICKET_LABEL,
        ticket.source,
        raw_ticket,
        ticket_signature,
        origin=Origin.HANDOVER,
    )
    if not hmac.compare_digest(ticket.source.encode(), node.encode()):
        raise AuthenticationFailed("ticket_for_another_node")
    if ticket.expires_at <= now:
        raise AuthenticationFailed("expired_ticket")
    if ticket.expires_at > now + MAX_TICKET_SECONDS:
        raise AuthenticationFailed("ticket_lifetime_too_long")
    target_public = _named_key(
        target_certificate,
        "target_certificate",
        ticket.target,
        ca_public,
        "request_from_another_node",
    )
    user_crypto.verify(
        target_public,
        _REQUEST_LABEL,
        ticket.target,
        _with_ticket(raw_ticket, target_key),
        target_signature,
        origin=Origin.HANDOVER,
    )
    return ticket


def open_pseudonym(source: ecqv.KeyPair, ticket: Ticket) -> bytes:
    """The source's side: its own pseudonym of the analysis, which only it can open."""
    pseudonym = user_crypto.open_sealed(
        source,
        ticket.sealed_pseudonym,
        purpose=_PSEUDONYM_PURPOSE,
        associated_data=ticket.header(),
        origin=Origin.HANDOVER,
    )
    if len(pseudonym) != PSEUDONYM_BYTES:
        raise AuthenticationFailed("bad_ticket_pseudonym")  # only the TTP could have sealed it
    return pseudonym


def seal_context(
    source: ecqv.KeyPair, source_node: str, raw_ticket: bytes, target_key: bytes, context: bytes
) -> tuple[bytes, bytes]:
    """The source's answer: the context sealed to the target's one-time key, and the source's
    signature over the ticket and the ciphertext."""
    sealed = user_crypto.seal(
        target_key,
        context,
        purpose=_CONTEXT_PURPOSE,
        associated_data=raw_ticket,
        origin=Origin.HANDOVER,
    )
    signature = user_crypto.sign(
        source,
        _CONTEXT_LABEL,
        source_node,
        _with_ticket(raw_ticket, sealed),
        origin=Origin.HANDOVER,
    )
    return sealed, signature


def open_context(
    ephemeral: ecqv.KeyPair,
    ca_public: bytes,
    raw_ticket: bytes,
    source_certificate: bytes,
    sealed: bytes,
    signature: bytes,
) -> bytes:
    """The target's side: check that the ticket's source signed the answer, then open it."""
    ticket = Ticket.decode(raw_ticket)
    if len(signature) != user_crypto.SIGNATURE_BYTES:
        raise AuthenticationFailed("bad_context_signature")
    source_public = _named_key(
        source_certificate,
        "source_certificate",
        ticket.source,
        ca_public,
        "context_from_another_node",
    )
    user_crypto.verify(
        source_public,
        _CONTEXT_LABEL,
        ticket.source,
        _with_ticket(raw_ticket, sealed),
        signature,
        origin=Origin.HANDOVER,
    )
    return user_crypto.open_sealed(
        ephemeral,
        sealed,
        purpose=_CONTEXT_PURPOSE,
        associated_data=raw_ticket,
        origin=Origin.HANDOVER,
    )
