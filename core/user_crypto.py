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

Operations counted under origin ``ours`` (the paper counts no cost for phases 1 and 2): signing
1 Tm + 1 Th, verifying 2 Tm + 1 Ta + 1 Th, sealing 2 Tm + 1 Ts + HKDF, opening 1 Tm + 1 Ts + HKDF.
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
_ZERO_NONCE = bytes(12)


def _private_key(pair: KeyPair) -> ec.EllipticCurvePrivateKey:
    return ec.derive_private_key(pair.private, ec.SECP256R1())


def _public_key(public: bytes, field: str) -> ec.EllipticCurvePublicKey:
    decode_point(public, field)  # the length and curve checks, with our error types
    return ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), public)


def signed_bytes(method: str, user: str, body: bytes) -> bytes:
    """What a request signature covers: the operation, the signer and the body as sent."""
    return b"\x00".join((_SIGNATURE_LABEL, method.encode(), user.encode(), body))


def sign(pair: KeyPair, method: str, user: str, body: bytes) -> bytes:
    """ECDSA signature (r ‖ s, 64 bytes) of a request by its user."""
    record(Operation.POINT_MULTIPLICATION, Origin.OURS)
    record(Operation.HASH, Origin.OURS)
    der = _private_key(pair).sign(signed_bytes(method, user, body), ec.ECDSA(hashes.SHA256()))
    r, s = decode_dss_signature(der)
    return r.to_bytes(SCALAR_BYTES, "big") + s.to_bytes(SCALAR_BYTES, "big")


def verify(public: bytes, method: str, user: str, body: bytes, signature: bytes) -> None:
    """Raise AuthenticationFailed unless ``signature`` is ``user``'s signature of the request."""
    if len(signature) != SIGNATURE_BYTES:
        raise MalformedField("signature", SIGNATURE_BYTES, len(signature))
    record(Operation.POINT_MULTIPLICATION, Origin.OURS, 2)
    record(Operation.POINT_ADDITION, Origin.OURS)
    record(Operation.HASH, Origin.OURS)
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


def _seal_key(shared: bytes, ephemeral: bytes, recipient: bytes, purpose: str) -> bytes:
    return hkdf_sha256(
        shared, salt=ephemeral + recipient, info=_SEAL_LABEL + purpose.encode(), length=32
    )


def seal(recipient: bytes, plaintext: bytes, *, purpose: str, associated_data: bytes) -> bytes:
    """Encrypt ``plaintext`` so that only the holder of the private key of ``recipient`` opens."""
    recipient_key = _public_key(recipient, "recipient")
    record(Operation.POINT_MULTIPLICATION, Origin.OURS, 2)  # E = eG and the shared point eQ
    ephemeral_key = ec.generate_private_key(ec.SECP256R1())
    ephemeral = ephemeral_key.public_key().public_bytes(
        serialization.Encoding.X962, serialization.PublicFormat.CompressedPoint
    )
    shared = ephemeral_key.exchange(ec.ECDH(), recipient_key)
    record(Operation.SYMMETRIC, Origin.OURS)
    aead = ChaCha20Poly1305(_seal_key(shared, ephemeral, recipient, purpose))
    return ephemeral + aead.encrypt(_ZERO_NONCE, plaintext, associated_data)


def open_sealed(pair: KeyPair, sealed: bytes, *, purpose: str, associated_data: bytes) -> bytes:
    """Decrypt what ``seal`` made for ``pair``; AuthenticationFailed if it was altered."""
    if len(sealed) < POINT_BYTES + TAG_BYTES:
        raise MalformedField("sealed", POINT_BYTES + TAG_BYTES, len(sealed))
    ephemeral = sealed[:POINT_BYTES]
    record(Operation.POINT_MULTIPLICATION, Origin.OURS)
    try:
        shared = _private_key(pair).exchange(ec.ECDH(), _public_key(ephemeral, "ephemeral"))
    except (SchemeError, ValueError):  # an ephemeral point off the curve is tampering too
        raise AuthenticationFailed("bad_sealed_point") from None
    record(Operation.SYMMETRIC, Origin.OURS)
    aead = ChaCha20Poly1305(_seal_key(shared, ephemeral, pair.public, purpose))
    try:
        return aead.decrypt(_ZERO_NONCE, sealed[POINT_BYTES:], associated_data)
    except InvalidTag:
        raise AuthenticationFailed("bad_sealed_tag") from None
