"""What users do with their ECQV keys in phases 1 and 2: sign requests, receive sealed answers.

Paper section 5.2: the patient "sends an encrypted and authenticated request using its private
key", and the TTP sends (DIDi, DKi) "securely" back. The paper fixes no mechanism; ours:

- **Signed requests.** ECDSA P-256 with SHA-256 under the user's reconstructed key (d, Q),
  signatures as 64 bytes ``r ‖ s``. The signed bytes are ``label ‖ 0 ‖ method ‖ 0 ‖ user ‖ 0 ‖
  body``, the body exactly as sent, so that nothing has to be re-encoded canonically and a
  signature for one operation never passes for another. (Confidentiality of the request comes
  from the transport's TLS; the request carries nothing secret.)
- **Sealed answers.** Ephemeral-static ECDH on P-256 with the recipient's Q, HKDF-SHA256 over the
  shared x-coordinate (salt = enc(E) ‖ Q, info = label ‖ purpose), ChaCha20-Poly1305 with a zero
  nonce (the key is fresh for every message), associated data chosen by the caller. Layout:
  ``enc(E) (33) ‖ ciphertext ‖ tag (16)``. Only the holder of d opens it.

Operations counted under origin ``ours`` by default (the paper counts no cost for phases 1 and
2): signing 1 Tm + 1 Th, verifying 2 Tm + 1 Ta + 1 Th, sealing 2 Tm + 1 Ts + HKDF, opening 1 Tm +
1 Ts + HKDF, an ECDH agreement 1 Tm, a keyed AEAD 1 Ts. The anonymous key agreement
(``core.anonymous_agreement``, [36] reconstructed) is built from the same functions and counts
them as its own (``paper``).
"""

from __future__ import annotations

from cryptography.exceptions import InvalidSignature, InvalidTag
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import (
    decode_dss_signature,
    encode_dss_signature,
)
from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305

from mec5g.core.ecqv import POINT_BYTES, SCALAR_BYTES, KeyPair, decode_point
from mec5g.core.errors import AuthenticationFailed, MalformedField, SchemeError
from mec5g.core.operations import Operation, Origin, record
from mec5g.core.primitives import hkdf_sha256

SIGNATURE_BYTES = 2 * SCALAR_BYTES
TAG_BYTES = 16
_SIGNATURE_LABEL = b"mec5g/user-request/v1"
_SEAL_LABEL = b"mec5g/sealed/v1/"


def _private_key(pair: KeyPair) -> ec.EllipticCurvePrivateKey:
    return ec.derive_private_key(pair.private, ec.SECP256R1())


def _public_key(public: bytes, field: str) -> ec.EllipticCurvePublicKey:
    decode_point(public, field)  # the length and curve checks, with our error types
    return ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), public)


def signed_bytes(method: str, user: str, body: bytes) -> bytes:
    """What a request signature covers: the operation, the signer and the body as sent."""
    return b"\x00".join((_SIGNATURE_LABEL, method.encode(), user.encode(), body))


def sign(
    pair: KeyPair, method: str, user: str, body: bytes, *, origin: Origin = Origin.OURS
) -> bytes:
    """ECDSA signature (r ‖ s, 64 bytes) of a request by its user."""
    record(Operation.POINT_MULTIPLICATION, origin)
    record(Operation.HASH, origin)
    der = _private_key(pair).sign(signed_bytes(method, user, body), ec.ECDSA(hashes.SHA256()))
    r, s = decode_dss_signature(der)
    return r.to_bytes(SCALAR_BYTES, "big") + s.to_bytes(SCALAR_BYTES, "big")


def verify(
    public: bytes,
    method: str,
    user: str,
    body: bytes,
    signature: bytes,
    *,
    origin: Origin = Origin.OURS,
) -> None:
    """Raise AuthenticationFailed unless ``signature`` is ``user``'s signature of the request."""
    if len(signature) != SIGNATURE_BYTES:
        raise MalformedField("signature", SIGNATURE_BYTES, len(signature))
    record(Operation.POINT_MULTIPLICATION, origin, 2)
    record(Operation.POINT_ADDITION, origin)
    record(Operation.HASH, origin)
    der = encode_dss_signature(
        int.from_bytes(signature[:SCALAR_BYTES], "big"),
        int.from_bytes(signature[SCALAR_BYTES:], "big"),
    )
    try:
        _public_key(public, "public_key").verify(
            der, signed_bytes(method, user, body), ec.ECDSA(hashes.SHA256())
        )
    except InvalidSignature:
        raise AuthenticationFailed("bad_signature") from None


def agree(private: int, peer: bytes, *, field: str, origin: Origin = Origin.OURS) -> bytes:
    """ECDH on P-256: the x-coordinate of private·peer (32 bytes), one Tm.

    A peer point that is not on the curve is tampering: AuthenticationFailed, not a crash.
    """
    record(Operation.POINT_MULTIPLICATION, origin)
    try:
        return ec.derive_private_key(private, ec.SECP256R1()).exchange(
            ec.ECDH(), _public_key(peer, field)
        )
    except (SchemeError, ValueError):
        raise AuthenticationFailed(f"bad_{field}_point") from None


def _nonce(sequence: int) -> bytes:
    return bytes(4) + sequence.to_bytes(8, "big")


def seal_with_key(
    key: bytes,
    plaintext: bytes,
    *,
    associated_data: bytes,
    sequence: int = 0,
    origin: Origin = Origin.OURS,
) -> bytes:
    """ChaCha20-Poly1305 under a 32-byte key: ``ciphertext ‖ tag (16)``, one Ts. The nonce is
    ``0^32 ‖ sequence``: a key used for one message only keeps sequence 0; a key that protects
    several gives each its own sequence number, never twice."""
    record(Operation.SYMMETRIC, origin)
    return ChaCha20Poly1305(key).encrypt(_nonce(sequence), plaintext, associated_data)


def open_with_key(
    key: bytes,
    sealed: bytes,
    *,
    associated_data: bytes,
    sequence: int = 0,
    origin: Origin = Origin.OURS,
) -> bytes:
    """Decrypt what ``seal_with_key`` made; AuthenticationFailed if anything was altered."""
    record(Operation.SYMMETRIC, origin)
    try:
        return ChaCha20Poly1305(key).decrypt(_nonce(sequence), sealed, associated_data)
    except InvalidTag:
        raise AuthenticationFailed("bad_sealed_tag") from None


def _seal_key(
    shared: bytes, ephemeral: bytes, recipient: bytes, purpose: str, origin: Origin
) -> bytes:
    return hkdf_sha256(
        shared,
        salt=ephemeral + recipient,
        info=_SEAL_LABEL + purpose.encode(),
        length=32,
        origin=origin,
    )


def seal(
    recipient: bytes,
    plaintext: bytes,
    *,
    purpose: str,
    associated_data: bytes,
    origin: Origin = Origin.OURS,
) -> bytes:
    """Encrypt ``plaintext`` so that only the holder of the private key of ``recipient`` opens."""
    recipient_key = _public_key(recipient, "recipient")
    record(Operation.POINT_MULTIPLICATION, origin, 2)  # E = eG and the shared point eQ
    ephemeral_key = ec.generate_private_key(ec.SECP256R1())
    ephemeral = ephemeral_key.public_key().public_bytes(
        serialization.Encoding.X962, serialization.PublicFormat.CompressedPoint
    )
    shared = ephemeral_key.exchange(ec.ECDH(), recipient_key)
    key = _seal_key(shared, ephemeral, recipient, purpose, origin)
    return ephemeral + seal_with_key(key, plaintext, associated_data=associated_data, origin=origin)


def open_sealed(
    pair: KeyPair,
    sealed: bytes,
    *,
    purpose: str,
    associated_data: bytes,
    origin: Origin = Origin.OURS,
) -> bytes:
    """Decrypt what ``seal`` made for ``pair``; AuthenticationFailed if it was altered."""
    if len(sealed) < POINT_BYTES + TAG_BYTES:
        raise MalformedField("sealed", POINT_BYTES + TAG_BYTES, len(sealed))
    ephemeral = sealed[:POINT_BYTES]
    shared = agree(pair.private, ephemeral, field="sealed", origin=origin)
    key = _seal_key(shared, ephemeral, pair.public, purpose, origin)
    return open_with_key(key, sealed[POINT_BYTES:], associated_data=associated_data, origin=origin)
