"""The public-key baseline of the paper's evaluation, its reference [36], reconstructed.

[36] (Patonico, Braeken, Steenhaut, Wireless Networks 2019) is an identity-based, TTP-assisted,
anonymous key agreement built on ECQV. Its exact steps are not in our material, so this is a
sound scheme of that family, built only from the core's counted primitives (``core.ecqv``,
``core.user_crypto``, ``core.primitives``), with the same four-message flow as the paper's
scheme. docs/evaluation.md explains each step and compares its counts and sizes with Tables 1
and 2.

Every user (device D, MEC node M) holds an ECQV identity from the TTP T: a certificate Cert_U
(33-byte reconstruction point and a 16-byte identity) and the key pair (d_U, Q_U). Q_T is the
TTP's (certificate authority's) public key.

1. D: x, X = xG; a response key k_D (32 random bytes); σ_D = Sign_dD(X ‖ ID_M);
   C_D = Seal_QT(Cert_D ‖ k_D ‖ σ_D; ad = X ‖ ID_M).                    M1 = X ‖ C_D
2. M: y, Y = yG; a response key k_M; C_M = Seal_QT(k_M; ad = M1 ‖ Y ‖ Cert_M);
   σ_M = Sign_dM(M1 ‖ Y ‖ Cert_M ‖ C_M).                       M2 = M1 ‖ Y ‖ Cert_M ‖ C_M ‖ σ_M
3. T: Q_M from Cert_M, checks σ_M and that M is registered; opens C_M and C_D; Q_D from Cert_D,
   checks σ_D (over X and the ID_M of Cert_M) and that D is registered;
   A_M = AEAD_kM(∅; ad = X ‖ Y ‖ ID_M), A_D = AEAD_kD(∅; same ad).        M3 = A_M ‖ A_D
4. M: opens A_M: "a registered device stands behind X"; K ‖ k_c = HKDF(y·X; X ‖ Y; ID_M);
   τ = HMAC_kc(X ‖ Y ‖ ID_M).                                           M4 = Y ‖ A_D ‖ τ
5. D: opens A_D: "the TTP authenticated ID_M with Y for my X"; K ‖ k_c = HKDF(x·Y; ...);
   checks τ (key confirmation).

Anonymity: the device's identity, certificate and public key travel only inside C_D, which
only T opens; X and C_D's ephemeral are fresh per handshake, so the MEC and eavesdroppers can
neither identify nor link a device. The session key depends on ephemerals only (forward secrecy;
long-term keys authenticate). The MEC's proof of the device is the TTP's A_M, not a device
signature, which the MEC could not check without learning who signed.

Every operation is counted under origin ``paper`` ("the compared scheme's own"), by the
primitives that perform it. Pure: bytes and state in, bytes and state out.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Container
from dataclasses import dataclass

from mec5g.core import ecqv, user_crypto
from mec5g.core.ecqv import POINT_BYTES, Certificate, CertificateRejected, KeyPair
from mec5g.core.errors import AuthenticationFailed, InvalidField, MalformedField
from mec5g.core.operations import Operation, Origin, record
from mec5g.core.primitives import constant_time_equal, hkdf_sha256, random_bytes

IDENTITY_BYTES = 16  # fixed, so that every message has one size
CERTIFICATE_BYTES = POINT_BYTES + IDENTITY_BYTES
RESPONSE_KEY_BYTES = 32
SESSION_KEY_BYTES = 32
CONFIRMATION_BYTES = 32  # HMAC-SHA256
TAG_BYTES = user_crypto.TAG_BYTES
SIGNATURE_BYTES = user_crypto.SIGNATURE_BYTES
SEAL_OVERHEAD = POINT_BYTES + TAG_BYTES  # the seal's ephemeral point and its AEAD tag

C_D_BYTES = SEAL_OVERHEAD + CERTIFICATE_BYTES + RESPONSE_KEY_BYTES + SIGNATURE_BYTES
C_M_BYTES = SEAL_OVERHEAD + RESPONSE_KEY_BYTES
M1_BYTES = POINT_BYTES + C_D_BYTES  # 227
M2_BYTES = M1_BYTES + POINT_BYTES + CERTIFICATE_BYTES + C_M_BYTES + SIGNATURE_BYTES  # 454
M3_BYTES = 2 * TAG_BYTES  # 32
M4_BYTES = POINT_BYTES + TAG_BYTES + CONFIRMATION_BYTES  # 81

ORIGIN = Origin.PAPER
_LABEL = "mec5g/baseline36/v1"
_DEVICE_REQUEST = "baseline36/device-request"
_MEC_REQUEST = "baseline36/mec-request"
_KEY_INFO = b"mec5g/baseline36/v1/session"


@dataclass(frozen=True)
class Identity:
    """A user's ECQV identity: its certificate and reconstructed key pair."""

    certificate: Certificate
    pair: KeyPair

    def __post_init__(self) -> None:
        _check_identity(self.certificate.identity)


@dataclass(frozen=True)
class DeviceState:
    """What the device keeps between M1 and M4. Secret: never logged."""

    x: int
    point: bytes  # X
    response_key: bytes
    mec_identity: str

    def __repr__(self) -> str:
        return f"DeviceState(X={self.point.hex()}, mec={self.mec_identity})"


@dataclass(frozen=True)
class MecState:
    """What the MEC keeps between M2 and M3. Secret: never logged."""

    y: int
    device_point: bytes  # X
    point: bytes  # Y
    response_key: bytes
    identity: str

    def __repr__(self) -> str:
        return f"MecState(X={self.device_point.hex()}, Y={self.point.hex()})"


@dataclass(frozen=True)
class MecResult:
    """The MEC's outcome: its session key (with an anonymous device) and M4 to send."""

    session_key: bytes
    m4: bytes

    def __repr__(self) -> str:
        return f"MecResult(m4={self.m4.hex()})"


def enrol(ttp_private: int, identity: str) -> Identity:
    """Phase 1 for a [36] user, in one place: ECQV request, issuance and reconstruction."""
    _check_identity(identity)
    ttp_public = ecqv.public_key(ttp_private)
    k, request_point = ecqv.request(identity)
    issued = ecqv.issue(ttp_private, identity, request_point)
    return Identity(issued.certificate, ecqv.reconstruct_private(k, issued, ttp_public))


def _check_identity(identity: str) -> None:
    if len(identity.encode()) != IDENTITY_BYTES:
        raise InvalidField("identity", f"exactly {IDENTITY_BYTES} bytes of UTF-8 for [36]")


def _exact(value: bytes, size: int, field: str) -> None:
    if len(value) != size:
        raise MalformedField(field, size, len(value))


def _session_keys(shared: bytes, x_point: bytes, y_point: bytes, mec: str) -> tuple[bytes, bytes]:
    """K and the confirmation key k_c from the ephemeral ECDH, bound to both points and the MEC."""
    okm = hkdf_sha256(
        shared,
        salt=x_point + y_point,
        info=_KEY_INFO + mec.encode(),
        length=SESSION_KEY_BYTES + CONFIRMATION_BYTES,
        origin=ORIGIN,
    )
    return okm[:SESSION_KEY_BYTES], okm[SESSION_KEY_BYTES:]


def _confirmation(key: bytes, x_point: bytes, y_point: bytes, mec: str) -> bytes:
    """τ = HMAC-SHA256(k_c, X ‖ Y ‖ ID_M): the MEC proves it holds K. One Th."""
    record(Operation.HASH, ORIGIN)
    return hmac.digest(key, x_point + y_point + mec.encode(), hashlib.sha256)


def _approval_data(x_point: bytes, y_point: bytes, mec: str) -> bytes:
    return _LABEL.encode() + x_point + y_point + mec.encode()


def device_start(
    device: Identity,
    ttp_public: bytes,
    mec_identity: str,
    *,
    x: int | None = None,
    response_key: bytes | None = None,
) -> tuple[DeviceState, bytes]:
    """Step 1: M1 = X ‖ C_D. ``x`` and ``response_key`` are fixed only by known-answer tests."""
    _check_identity(mec_identity)
    x = ecqv.random_scalar() if x is None else x
    response_key = random_bytes(RESPONSE_KEY_BYTES) if response_key is None else response_key
    x_point = ecqv.public_key(x)
    bound = x_point + mec_identity.encode()
    signature = user_crypto.sign(device.pair, _DEVICE_REQUEST, "", bound, origin=ORIGIN)
    sealed = user_crypto.seal(
        ttp_public,
        device.certificate.encoded + response_key + signature,
        purpose=_DEVICE_REQUEST,
        associated_data=bound,
        origin=ORIGIN,
    )
    return DeviceState(x, x_point, response_key, mec_identity), x_point + sealed


def mec_forward(
    mec: Identity,
    ttp_public: bytes,
    m1: bytes,
    *,
    y: int | None = None,
    response_key: bytes | None = None,
) -> tuple[MecState, bytes]:
    """Step 2: M2 = M1 ‖ Y ‖ Cert_M ‖ C_M ‖ σ_M. The MEC cannot read C_D: it learns only X."""
    _exact(m1, M1_BYTES, "m1")
    x_point = m1[:POINT_BYTES]
    ecqv.decode_point(x_point, "m1.X")
    y = ecqv.random_scalar() if y is None else y
    response_key = random_bytes(RESPONSE_KEY_BYTES) if response_key is None else response_key
    y_point = ecqv.public_key(y)
    head = m1 + y_point + mec.certificate.encoded
    sealed = user_crypto.seal(
        ttp_public, response_key, purpose=_MEC_REQUEST, associated_data=head, origin=ORIGIN
    )
    signature = user_crypto.sign(mec.pair, _MEC_REQUEST, "", head + sealed, origin=ORIGIN)
    state = MecState(y, x_point, y_point, response_key, mec.certificate.identity)
    return state, head + sealed + signature


def _public_key_of(certificate: Certificate, ttp_public: bytes, who: str) -> bytes:
    try:
        return ecqv.reconstruct_public(certificate, ttp_public)
    except CertificateRejected:
        raise AuthenticationFailed(f"bad_{who}_certificate") from None


def ttp_answer(ttp: KeyPair, m2: bytes, registered: Container[str]) -> bytes:
    """Step 3: authenticate the MEC and the (hidden) device, approve both: M3 = A_M ‖ A_D.

    AuthenticationFailed for anything forged, altered or unregistered; its reason stays here.
    """
    _exact(m2, M2_BYTES, "m2")
    m1, rest = m2[:M1_BYTES], m2[M1_BYTES:]
    x_point, sealed_device = m1[:POINT_BYTES], m1[POINT_BYTES:]
    y_point = rest[:POINT_BYTES]
    certificate_end = POINT_BYTES + CERTIFICATE_BYTES
    mec_certificate = Certificate.parse(rest[POINT_BYTES:certificate_end], "m2.cert_m")
    sealed_mec = rest[certificate_end : certificate_end + C_M_BYTES]
    mec_signature = rest[certificate_end + C_M_BYTES :]
    mec = mec_certificate.identity
    _check_identity(mec)
    signed = m2[: len(m2) - SIGNATURE_BYTES]

    mec_public = _public_key_of(mec_certificate, ttp.public, "mec")
    user_crypto.verify(mec_public, _MEC_REQUEST, "", signed, mec_signature, origin=ORIGIN)
    if mec not in registered:
        raise AuthenticationFailed("unknown_mec")
    head = signed[: len(signed) - C_M_BYTES]
    mec_key = user_crypto.open_sealed(
        ttp, sealed_mec, purpose=_MEC_REQUEST, associated_data=head, origin=ORIGIN
    )

    bound = x_point + mec.encode()
    opened = user_crypto.open_sealed(
        ttp, sealed_device, purpose=_DEVICE_REQUEST, associated_data=bound, origin=ORIGIN
    )
    # Sealed by the device itself: a layout error here is no attacker's doing, still refuse.
    try:
        device_certificate = Certificate.parse(opened[:CERTIFICATE_BYTES], "c_d.cert")
        _check_identity(device_certificate.identity)
    except InvalidField:
        raise AuthenticationFailed("bad_device_certificate") from None
    device_key = opened[CERTIFICATE_BYTES : CERTIFICATE_BYTES + RESPONSE_KEY_BYTES]
    device_signature = opened[CERTIFICATE_BYTES + RESPONSE_KEY_BYTES :]
    device_public = _public_key_of(device_certificate, ttp.public, "device")
    user_crypto.verify(device_public, _DEVICE_REQUEST, "", bound, device_signature, origin=ORIGIN)
    if device_certificate.identity not in registered:
        raise AuthenticationFailed("unknown_device")

    approval = _approval_data(x_point, y_point, mec)
    to_mec = user_crypto.seal_with_key(mec_key, b"", associated_data=approval, origin=ORIGIN)
    to_device = user_crypto.seal_with_key(device_key, b"", associated_data=approval, origin=ORIGIN)
    return to_mec + to_device


def mec_finish(state: MecState, m3: bytes) -> MecResult:
    """Step 4: check the TTP's approval, derive K, and prove it to the device in M4."""
    _exact(m3, M3_BYTES, "m3")
    approval = _approval_data(state.device_point, state.point, state.identity)
    user_crypto.open_with_key(
        state.response_key, m3[:TAG_BYTES], associated_data=approval, origin=ORIGIN
    )
    shared = user_crypto.agree(state.y, state.device_point, field="m1.X", origin=ORIGIN)
    session_key, confirmation_key = _session_keys(
        shared, state.device_point, state.point, state.identity
    )
    tau = _confirmation(confirmation_key, state.device_point, state.point, state.identity)
    return MecResult(session_key, state.point + m3[TAG_BYTES:] + tau)


def device_finish(state: DeviceState, m4: bytes) -> bytes:
    """Step 5: check the TTP's approval of the MEC and Y, derive K, check the MEC's τ.

    Returns the session key; AuthenticationFailed if anything was altered.
    """
    _exact(m4, M4_BYTES, "m4")
    y_point = m4[:POINT_BYTES]
    approval_tag = m4[POINT_BYTES : POINT_BYTES + TAG_BYTES]
    tau = m4[POINT_BYTES + TAG_BYTES :]
    approval = _approval_data(state.point, y_point, state.mec_identity)
    user_crypto.open_with_key(
        state.response_key, approval_tag, associated_data=approval, origin=ORIGIN
    )
    shared = user_crypto.agree(state.x, y_point, field="m4.Y", origin=ORIGIN)
    session_key, confirmation_key = _session_keys(shared, state.point, y_point, state.mec_identity)
    expected = _confirmation(confirmation_key, state.point, y_point, state.mec_identity)
    if not constant_time_equal(expected, tau):
        raise AuthenticationFailed("bad_key_confirmation")
    return session_key
