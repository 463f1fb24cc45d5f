"""The TTP-assisted anonymous key agreement on ECQV identities: the paper's reference [36],
reconstructed, run by the evaluation's public-key baseline and by phases 5 and 6.

[36] (Patonico, Braeken, Steenhaut, Wireless Networks 2019) is an identity-based, TTP-assisted,
anonymous key agreement built on ECQV, secure in the Canetti-Krawczyk model. Its exact steps are
not in our material, so this is a sound scheme of that family, built only from the core's counted
primitives (``core.ecqv``, ``core.user_crypto``, ``core.primitives``), with the paper's
four-message flow. The paper compares its scheme with [36] (Tables 1 and 2) and leaves phase 5 to
a scheme like it (section 4.3); both use this module:

- the baseline (``Purpose.DEVICE_SESSION``): a device (initiator) and its MEC node (responder);
  the TTP vouches for the device and tells the MEC the analysis pseudonym, which the MEC's data
  session needs (phase 4);
- phase 5 (``RESULTS``) and phase 6 (``WATCH``): a patient's or doctor's app (initiator) and the
  MEC node; the initiator's request (which analysis, sealed so that only the TTP reads it) is
  checked by the TTP against the access policy, and the MEC learns only the analysis pseudonym.

Every party holds an ECQV identity from the TTP T, whose key Q_T is the certificate authority's:
a certificate Cert_U = enc(P) ‖ ID and the key pair (d_U, Q_U). I is the initiator, R the
responder; ``label`` is the purpose's label, so that no message of one purpose passes for another.

1. I: x, X = xG; a response key k_I (32 random bytes); σ_I = Sign_dI(B ‖ request) with
   B = X ‖ len(ID_R) ‖ ID_R; C_I = Seal_QT(len(Cert_I) ‖ Cert_I ‖ k_I ‖ σ_I ‖ request; ad = B).
                                                                            M1 = X ‖ C_I
2. R: y, Y = yG; a response key k_R; H = M1 ‖ Y ‖ Cert_R ‖ len(Cert_R);
   C_R = Seal_QT(k_R; ad = H); σ_R = Sign_dR(H ‖ C_R).                     M2 = H ‖ C_R ‖ σ_R
3. T (``ttp_open``): Q_R from Cert_R, checks σ_R; opens C_R and C_I; Q_I from Cert_I, checks σ_I
   over X and the ID_R it just authenticated. The caller then decides (is each identity
   registered, may I make this request) and (``ttp_vouch``) approves A = label ‖ X ‖ Y ‖ ID_R to
   each: A_R = AEAD_kR(vouched; ad = A), A_I = AEAD_kI(∅; ad = A).        M3 = A_R ‖ A_I
4. R: opens A_R: "a registered initiator stands behind X", and what the TTP vouches;
   K ‖ k_c = HKDF(y·X; salt X ‖ Y; info label ‖ ID_R); τ = HMAC_kc(X ‖ Y ‖ ID_R).
                                                                            M4 = Y ‖ A_I ‖ τ
5. I: opens A_I: "the TTP authenticated ID_R with Y for my X"; the same K ‖ k_c from x·Y;
   checks τ (key confirmation).

Anonymity: the initiator's identity, certificate, public key and request travel only inside
C_I, which only T opens; X and C_I's ephemeral are fresh every time, so the responder and
eavesdroppers can neither identify nor link initiators. K depends on the ephemerals only
(forward secrecy; the long-term keys authenticate). The responder's proof of the initiator is
the TTP's A_R, not an initiator signature, which it could not check without learning who signed.

Framing: identities have any length up to ``ecqv.MAX_IDENTITY_BYTES``, so each certificate
carries a one-byte length; M2 is parsed from its end. Every operation is counted under origin
``paper`` ("the compared scheme's own"), by the primitives that perform it: initiator and
responder 5Tm + 2Ts + 7Th each, TTP 8Tm + 4Ta + 4Ts + 8Th. Pure: bytes and state in, bytes and
state out; the registries and policies the TTP consults are the caller's.
"""

from __future__ import annotations

import enum
import hashlib
import hmac
from dataclasses import dataclass

from mec5g.core import ecqv, user_crypto
from mec5g.core.ecqv import MAX_IDENTITY_BYTES, POINT_BYTES, Certificate, KeyPair
from mec5g.core.errors import AuthenticationFailed, InvalidField, MalformedField
from mec5g.core.operations import Operation, Origin, record
from mec5g.core.primitives import constant_time_equal, hkdf_sha256, random_bytes

RESPONSE_KEY_BYTES = 32
SESSION_KEY_BYTES = 32
CONFIRMATION_BYTES = 32  # HMAC-SHA256
TAG_BYTES = user_crypto.TAG_BYTES
SIGNATURE_BYTES = user_crypto.SIGNATURE_BYTES
SEAL_OVERHEAD = POINT_BYTES + TAG_BYTES  # a seal's ephemeral point and its AEAD tag
LENGTH_BYTES = 1  # the length of a certificate, before (C_I) or after (M2) it
MAX_REQUEST_BYTES = 1024
MAX_VOUCHED_BYTES = 256
C_R_BYTES = SEAL_OVERHEAD + RESPONSE_KEY_BYTES
M3_TAG_BYTES = 2 * TAG_BYTES  # A_R's and A_I's tags; A_R also carries what the TTP vouches
M4_BYTES = POINT_BYTES + TAG_BYTES + CONFIRMATION_BYTES

ORIGIN = Origin.PAPER
_SESSION_INFO = b"/session/"


class Purpose(enum.IntEnum):
    """What an agreement is for; values are the proto's ``AnonymousPurpose``."""

    DEVICE_SESSION = 1  # the baseline [36]: a device's session with its MEC node
    RESULTS = 2  # phase 5: a user reads an analysis's results
    WATCH = 3  # phase 6: a user watches an analysis for emergencies

    @property
    def label(self) -> str:
        """Bound into every signature, seal, approval and key of the purpose."""
        return "mec5g/anonymous/v1/" + self.name.lower().replace("_", "-")


def m1_bytes(initiator_identity_bytes: int, request_bytes: int) -> int:
    """The size of M1 for an initiator identity and a request of these sizes."""
    sealed = LENGTH_BYTES + POINT_BYTES + initiator_identity_bytes
    sealed += RESPONSE_KEY_BYTES + SIGNATURE_BYTES + request_bytes
    return POINT_BYTES + SEAL_OVERHEAD + sealed


def m2_bytes(m1: int, responder_identity_bytes: int) -> int:
    """The size of M2 for an M1 of ``m1`` bytes and a responder identity of this size."""
    certificate = POINT_BYTES + responder_identity_bytes
    return m1 + POINT_BYTES + certificate + LENGTH_BYTES + C_R_BYTES + SIGNATURE_BYTES


MIN_M1_BYTES = m1_bytes(1, 0)
MAX_M1_BYTES = m1_bytes(MAX_IDENTITY_BYTES, MAX_REQUEST_BYTES)
MIN_M2_BYTES = m2_bytes(MIN_M1_BYTES, 1)
MAX_M2_BYTES = m2_bytes(MAX_M1_BYTES, MAX_IDENTITY_BYTES)
MAX_M3_BYTES = M3_TAG_BYTES + MAX_VOUCHED_BYTES


@dataclass(frozen=True)
class Identity:
    """A party's ECQV identity: its certificate and reconstructed key pair."""

    certificate: Certificate
    pair: KeyPair

    @property
    def name(self) -> str:
        return self.certificate.identity


@dataclass(frozen=True)
class Session:
    """What both ends hold after an agreement: K, the two ephemerals and the responder's
    identity (the node the TTP authenticated). Secret: never logged."""

    key: bytes
    initiator_point: bytes  # X
    responder_point: bytes  # Y
    responder: str
    purpose: Purpose

    def __repr__(self) -> str:
        return f"Session(X={self.initiator_point.hex()}, responder={self.responder})"


@dataclass(frozen=True)
class InitiatorState:
    """What the initiator keeps between M1 and M4. Secret: never logged."""

    x: int
    point: bytes  # X
    response_key: bytes
    responder: str
    purpose: Purpose

    def __repr__(self) -> str:
        return f"InitiatorState(X={self.point.hex()}, responder={self.responder})"


@dataclass(frozen=True)
class ResponderState:
    """What the responder keeps between M2 and M3. Secret: never logged."""

    y: int
    initiator_point: bytes  # X
    point: bytes  # Y
    response_key: bytes
    identity: str
    purpose: Purpose

    def __repr__(self) -> str:
        return f"ResponderState(X={self.initiator_point.hex()}, Y={self.point.hex()})"


@dataclass(frozen=True)
class ResponderResult:
    """The responder's outcome: its session (with an anonymous initiator), what the TTP vouched
    for the initiator, and M4 to send."""

    session: Session
    vouched: bytes
    m4: bytes


@dataclass(frozen=True)
class Opened:
    """M2 as the TTP authenticated it: both parties' certificates and keys, the initiator's
    request, the ephemerals, and the two response keys (secret: never logged)."""

    purpose: Purpose
    initiator: Certificate
    initiator_public: bytes
    responder: Certificate
    responder_public: bytes
    request: bytes
    initiator_point: bytes
    responder_point: bytes
    initiator_key: bytes
    responder_key: bytes

    def __repr__(self) -> str:
        return f"Opened(purpose={self.purpose.name}, X={self.initiator_point.hex()})"


def issue_identity(ttp_private: int, identity: str) -> Identity:
    """Phase 1 for an identity whose k is made where it is issued (an operator's enrolment of
    devices, tests and benchmarks): request, issuance and reconstruction in one place."""
    ttp_public = ecqv.public_key(ttp_private)
    k, request_point = ecqv.request(identity)
    issued = ecqv.issue(ttp_private, identity, request_point)
    return Identity(issued.certificate, ecqv.reconstruct_private(k, issued, ttp_public))


def _named(responder: str) -> bytes:
    name = responder.encode()
    if not 0 < len(name) <= MAX_IDENTITY_BYTES:
        raise InvalidField("responder", f"1 to {MAX_IDENTITY_BYTES} bytes of UTF-8")
    return bytes([len(name)]) + name


def _bound(x_point: bytes, responder: str) -> bytes:
    """B = X ‖ len(ID_R) ‖ ID_R: what the initiator signs and seals its part to."""
    return x_point + _named(responder)


def _approval(purpose: Purpose, x_point: bytes, y_point: bytes, responder: str) -> bytes:
    return purpose.label.encode() + x_point + y_point + _named(responder)


def _session_keys(
    purpose: Purpose, shared: bytes, x_point: bytes, y_point: bytes, responder: str
) -> tuple[bytes, bytes]:
    """K and the confirmation key k_c from the ephemeral ECDH, bound to both points, the
    responder and the purpose."""
    okm = hkdf_sha256(
        shared,
        salt=x_point + y_point,
        info=purpose.label.encode() + _SESSION_INFO + responder.encode(),
        length=SESSION_KEY_BYTES + CONFIRMATION_BYTES,
        origin=ORIGIN,
    )
    return okm[:SESSION_KEY_BYTES], okm[SESSION_KEY_BYTES:]


def _confirmation(key: bytes, x_point: bytes, y_point: bytes, responder: str) -> bytes:
    """τ = HMAC-SHA256(k_c, X ‖ Y ‖ ID_R): the responder proves it holds K. One Th."""
    record(Operation.HASH, ORIGIN)
    return hmac.digest(key, x_point + y_point + _named(responder), hashlib.sha256)


def initiator_start(
    initiator: Identity,
    ttp_public: bytes,
    responder: str,
    purpose: Purpose,
    request: bytes = b"",
    *,
    x: int | None = None,
    response_key: bytes | None = None,
) -> tuple[InitiatorState, bytes]:
    """Step 1: M1 = X ‖ C_I, for the responder named ``responder``; ``request`` reaches the TTP
    only. ``x`` and ``response_key`` are fixed only by known-answer tests."""
    if len(request) > MAX_REQUEST_BYTES:
        raise InvalidField("request", f"at most {MAX_REQUEST_BYTES} bytes")
    x = ecqv.random_scalar() if x is None else x
    response_key = random_bytes(RESPONSE_KEY_BYTES) if response_key is None else response_key
    x_point = ecqv.public_key(x)
    bound = _bound(x_point, responder)
    label = purpose.label + "/initiator"
    signature = user_crypto.sign(initiator.pair, label, "", bound + request, origin=ORIGIN)
    certificate = initiator.certificate.encoded
    sealed = user_crypto.seal(
        ttp_public,
        bytes([len(certificate)]) + certificate + response_key + signature + request,
        purpose=label,
        associated_data=bound,
        origin=ORIGIN,
    )
    return InitiatorState(x, x_point, response_key, responder, purpose), x_point + sealed


def _check_m1(m1: bytes, field: str) -> bytes:
    """M1's size range and X; returns X."""
    if not MIN_M1_BYTES <= len(m1) <= MAX_M1_BYTES:
        raise InvalidField(field, f"{MIN_M1_BYTES} to {MAX_M1_BYTES} bytes")
    x_point = m1[:POINT_BYTES]
    ecqv.decode_point(x_point, f"{field}.X")
    return x_point


def responder_forward(
    responder: Identity,
    ttp_public: bytes,
    purpose: Purpose,
    m1: bytes,
    *,
    y: int | None = None,
    response_key: bytes | None = None,
) -> tuple[ResponderState, bytes]:
    """Step 2: M2 = M1 ‖ Y ‖ Cert_R ‖ len(Cert_R) ‖ C_R ‖ σ_R. The responder cannot read C_I:
    it learns only X."""
    x_point = _check_m1(m1, "m1")
    y = ecqv.random_scalar() if y is None else y
    response_key = random_bytes(RESPONSE_KEY_BYTES) if response_key is None else response_key
    y_point = ecqv.public_key(y)
    certificate = responder.certificate.encoded
    head = m1 + y_point + certificate + bytes([len(certificate)])
    label = purpose.label + "/responder"
    sealed = user_crypto.seal(
        ttp_public, response_key, purpose=label, associated_data=head, origin=ORIGIN
    )
    signature = user_crypto.sign(responder.pair, label, "", head + sealed, origin=ORIGIN)
    state = ResponderState(y, x_point, y_point, response_key, responder.name, purpose)
    return state, head + sealed + signature


def _public_key_of(certificate: Certificate, ttp_public: bytes, who: str) -> bytes:
    try:
        return ecqv.reconstruct_public(certificate, ttp_public)
    except ecqv.CertificateRejected:
        raise AuthenticationFailed(f"bad_{who}_certificate") from None


def _verify(public: bytes, label: str, body: bytes, signature: bytes, who: str) -> None:
    try:
        user_crypto.verify(public, label, "", body, signature, origin=ORIGIN)
    except AuthenticationFailed:
        raise AuthenticationFailed(f"bad_{who}_signature") from None


def _open(ttp: KeyPair, sealed: bytes, label: str, associated_data: bytes, who: str) -> bytes:
    try:
        return user_crypto.open_sealed(
            ttp, sealed, purpose=label, associated_data=associated_data, origin=ORIGIN
        )
    except AuthenticationFailed:
        raise AuthenticationFailed(f"bad_{who}_seal") from None


def ttp_open(ttp: KeyPair, purpose: Purpose, m2: bytes) -> Opened:
    """Step 3, first half: authenticate the responder and the (hidden) initiator.

    AuthenticationFailed for anything forged or altered, its reason for the TTP's log only;
    InvalidField for an M2 whose clear layout no responder could have sent. Whether the two
    identities are registered, and what the initiator may ask, the caller decides.
    """
    if not MIN_M2_BYTES <= len(m2) <= MAX_M2_BYTES:
        raise InvalidField("m2", f"{MIN_M2_BYTES} to {MAX_M2_BYTES} bytes")
    signed, responder_signature = m2[:-SIGNATURE_BYTES], m2[-SIGNATURE_BYTES:]
    head, sealed_responder = signed[:-C_R_BYTES], signed[-C_R_BYTES:]
    certificate_end = len(head) - LENGTH_BYTES
    certificate_start = certificate_end - head[certificate_end]
    m1_end = certificate_start - POINT_BYTES
    if m1_end < MIN_M1_BYTES:
        raise InvalidField("m2", "M1, Y, then a certificate with its length after it")
    m1 = head[:m1_end]
    x_point = _check_m1(m1, "m2.m1")
    y_point = head[m1_end:certificate_start]
    ecqv.decode_point(y_point, "m2.Y")
    responder = Certificate.parse(head[certificate_start:certificate_end], "m2.cert_r")

    label = purpose.label + "/responder"
    responder_public = _public_key_of(responder, ttp.public, "responder")
    _verify(responder_public, label, signed, responder_signature, "responder")
    responder_key = _open(ttp, sealed_responder, label, head, "responder")
    if len(responder_key) != RESPONSE_KEY_BYTES:
        raise AuthenticationFailed("bad_responder_key")  # sealed by the signer: refuse anyway

    bound = _bound(x_point, responder.identity)
    label = purpose.label + "/initiator"
    opened = _open(ttp, m1[POINT_BYTES:], label, bound, "initiator")
    # Sealed by the initiator itself: a layout error here is no outsider's doing; refuse it.
    certificate_end = LENGTH_BYTES + opened[0] if opened else 0
    key_end = certificate_end + RESPONSE_KEY_BYTES
    signature_end = key_end + SIGNATURE_BYTES
    if len(opened) < signature_end:
        raise AuthenticationFailed("bad_initiator_layout")
    try:
        initiator = Certificate.parse(opened[LENGTH_BYTES:certificate_end], "c_i.cert")
    except InvalidField:
        raise AuthenticationFailed("bad_initiator_certificate") from None
    request = opened[signature_end:]
    initiator_public = _public_key_of(initiator, ttp.public, "initiator")
    _verify(initiator_public, label, bound + request, opened[key_end:signature_end], "initiator")
    return Opened(
        purpose,
        initiator,
        initiator_public,
        responder,
        responder_public,
        request,
        x_point,
        y_point,
        opened[certificate_end:key_end],
        responder_key,
    )


def ttp_vouch(opened: Opened, vouched: bytes = b"") -> bytes:
    """Step 3, second half: approve X, Y and ID_R to both parties, with ``vouched`` (what the
    responder is told about the initiator, never who it is) for the responder: M3."""
    if len(vouched) > MAX_VOUCHED_BYTES:
        raise InvalidField("vouched", f"at most {MAX_VOUCHED_BYTES} bytes")
    approval = _approval(
        opened.purpose,
        opened.initiator_point,
        opened.responder_point,
        opened.responder.identity,
    )
    to_responder = user_crypto.seal_with_key(
        opened.responder_key, vouched, associated_data=approval, origin=ORIGIN
    )
    to_initiator = user_crypto.seal_with_key(
        opened.initiator_key, b"", associated_data=approval, origin=ORIGIN
    )
    return to_responder + to_initiator


def responder_finish(state: ResponderState, m3: bytes) -> ResponderResult:
    """Step 4: check the TTP's approval and read what it vouches, derive K, prove it in M4."""
    if not M3_TAG_BYTES <= len(m3) <= MAX_M3_BYTES:
        raise InvalidField("m3", f"{M3_TAG_BYTES} to {MAX_M3_BYTES} bytes")
    approval = _approval(state.purpose, state.initiator_point, state.point, state.identity)
    vouched = user_crypto.open_with_key(
        state.response_key, m3[:-TAG_BYTES], associated_data=approval, origin=ORIGIN
    )
    shared = user_crypto.agree(state.y, state.initiator_point, field="m1.X", origin=ORIGIN)
    key, confirmation_key = _session_keys(
        state.purpose, shared, state.initiator_point, state.point, state.identity
    )
    tau = _confirmation(confirmation_key, state.initiator_point, state.point, state.identity)
    session = Session(key, state.initiator_point, state.point, state.identity, state.purpose)
    return ResponderResult(session, vouched, state.point + m3[-TAG_BYTES:] + tau)


def initiator_finish(state: InitiatorState, m4: bytes) -> Session:
    """Step 5: check the TTP's approval of the responder and Y, derive K, check τ.

    AuthenticationFailed if anything was altered."""
    if len(m4) != M4_BYTES:
        raise MalformedField("m4", M4_BYTES, len(m4))
    y_point = m4[:POINT_BYTES]
    approval_tag = m4[POINT_BYTES : POINT_BYTES + TAG_BYTES]
    tau = m4[POINT_BYTES + TAG_BYTES :]
    approval = _approval(state.purpose, state.point, y_point, state.responder)
    user_crypto.open_with_key(
        state.response_key, approval_tag, associated_data=approval, origin=ORIGIN
    )
    shared = user_crypto.agree(state.x, y_point, field="m4.Y", origin=ORIGIN)
    key, confirmation_key = _session_keys(
        state.purpose, shared, state.point, y_point, state.responder
    )
    expected = _confirmation(confirmation_key, state.point, y_point, state.responder)
    if not constant_time_equal(expected, tau):
        raise AuthenticationFailed("bad_key_confirmation")
    return Session(key, state.point, y_point, state.responder, state.purpose)
