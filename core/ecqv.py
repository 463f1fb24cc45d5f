"""ECQV implicit certificates (SEC 4) on P-256: the TTP as certificate authority (phase 1).

Paper section 5.1: each user obtains identity, certificate and key pair (d, Q) with the ECQV
mechanism. Encoding (SPEC.md "ECQV encoding"): ``Cert = enc(P) ‖ ID``, ``enc`` the 33-byte SEC1
compressed point, ID in UTF-8; ``e = SHA-256(Cert) mod n``.

1. user:    k random, R = kG, sends (ID, R);
2. TTP:     k_CA random, P = R + k_CA·G, Cert = enc(P) ‖ ID, e = H(Cert), r = e·k_CA + d_CA mod n;
3. user:    d = e·k + r mod n, Q = e·P + Q_CA, and it checks Q = dG;
4. anyone:  Q = e·P + Q_CA from Cert and the TTP's public key.

The paper writes ``H(IDp ‖ Qp)``; SEC 4 hashes the whole certificate, which binds the
identity and the reconstruction point in one value, and we follow SEC 4. The TTP never sees k,
so it never learns d.

Points travel as SEC1 compressed bytes and scalars as ints. The point arithmetic is
pycryptodome's (C, with blinded secret-scalar multiplication), because ``cryptography`` offers
no arbitrary point multiplication or addition. Every point multiplication (Tm), addition (Ta) and
hash (Th) is recorded in the active operation ledger under the paper's origin.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass

# ECC.EccPoint (documented) is defined here; ECC re-exports it without declaring it to mypy.
from Crypto.PublicKey._point import EccPoint
from cryptography.hazmat.primitives.asymmetric import ec

from mec5g.core.errors import InvalidField, MalformedField
from mec5g.core.operations import Operation, Origin, record

CURVE = "P-256"
POINT_BYTES = 33  # SEC1 compressed
SCALAR_BYTES = 32
# SEC 2 (v2) section 2.4.2, secp256r1: the group order n and the generator G.
ORDER = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551
_GENERATOR = EccPoint(
    0x6B17D1F2E12C4247F8BCE6E563A440F277037D812DEB33A0F4A13945D898C296,
    0x4FE342E2FE1A7F9B8EE7EB4A7C0F9E162BCE33576B315ECECBB6406837BF51F5,
    curve=CURVE,
)
MAX_IDENTITY_BYTES = 128


class CertificateRejected(Exception):
    """The key reconstructed from a certificate does not match: the certificate or r is bad."""


def random_scalar() -> int:
    """A scalar uniformly in [1, n-1] from the operating system's CSPRNG."""
    return secrets.randbelow(ORDER - 1) + 1


def encode_point(point: EccPoint) -> bytes:
    """SEC1 compressed encoding: 0x02 or 0x03 (parity of y), then x in 32 bytes."""
    x, y = point.xy
    return bytes([2 | (y & 1)]) + x.to_bytes(SCALAR_BYTES, "big")


def decode_point(encoded: bytes, field: str) -> EccPoint:
    """A point from SEC1 compressed bytes, checked to lie on P-256 (never the point at infinity).

    Raises MalformedField for a wrong length and InvalidField for bytes that are no point.
    """
    if len(encoded) != POINT_BYTES:
        raise MalformedField(field, POINT_BYTES, len(encoded))
    try:
        numbers = ec.EllipticCurvePublicKey.from_encoded_point(
            ec.SECP256R1(), encoded
        ).public_numbers()
    except ValueError:
        raise InvalidField(field, "a SEC1 compressed point on P-256") from None
    return EccPoint(numbers.x, numbers.y, curve=CURVE)


def multiply_generator(scalar: int) -> EccPoint:
    """scalar·G, one Tm."""
    record(Operation.POINT_MULTIPLICATION, Origin.PAPER)
    return _GENERATOR * scalar


def public_key(private: int) -> bytes:
    """The encoded public key d·G of a private scalar."""
    return encode_point(multiply_generator(private))


def scalar_bytes(scalar: int) -> bytes:
    return scalar.to_bytes(SCALAR_BYTES, "big")


def scalar_from_bytes(raw: bytes, field: str) -> int:
    """A scalar in [1, n-1] from 32 big-endian bytes."""
    if len(raw) != SCALAR_BYTES:
        raise MalformedField(field, SCALAR_BYTES, len(raw))
    value = int.from_bytes(raw, "big")
    if not 0 < value < ORDER:
        raise InvalidField(field, "a scalar in [1, n-1] of P-256")
    return value


@dataclass(frozen=True)
class Certificate:
    """``Cert = enc(P) ‖ ID``: the reconstruction point and the identity it belongs to."""

    encoded: bytes

    @classmethod
    def build(cls, point: bytes, identity: str) -> Certificate:
        return cls.parse(point + identity.encode())

    @classmethod
    def parse(cls, encoded: bytes, field: str = "certificate") -> Certificate:
        """Check the layout: a valid point, then 1..128 bytes of UTF-8 identity."""
        if not POINT_BYTES < len(encoded) <= POINT_BYTES + MAX_IDENTITY_BYTES:
            raise InvalidField(
                field, f"{POINT_BYTES} point bytes then 1 to {MAX_IDENTITY_BYTES} identity bytes"
            )
        decode_point(encoded[:POINT_BYTES], field)
        try:
            encoded[POINT_BYTES:].decode()
        except UnicodeDecodeError:
            raise InvalidField(field, "a UTF-8 identity after the point") from None
        return cls(encoded)

    @property
    def point(self) -> bytes:
        return self.encoded[:POINT_BYTES]

    @property
    def identity(self) -> str:
        return self.encoded[POINT_BYTES:].decode()

    def hash_scalar(self) -> int:
        """e = SHA-256(Cert) mod n, one Th."""
        record(Operation.HASH, Origin.PAPER)
        return int.from_bytes(hashlib.sha256(self.encoded).digest(), "big") % ORDER


@dataclass(frozen=True)
class Issued:
    """What the TTP returns to a registering user: the certificate and r."""

    certificate: Certificate
    r: int


@dataclass(frozen=True)
class KeyPair:
    """A user's reconstructed ECQV key pair; ``public`` is SEC1 compressed."""

    private: int
    public: bytes

    def __repr__(self) -> str:
        # The private key never reaches a log, not even through a debugging repr.
        return f"KeyPair(public={self.public.hex()})"


def request(identity: str, k: int | None = None) -> tuple[int, bytes]:
    """Step 1 (user): the secret k and the request point R = kG to send with the identity."""
    if not identity or len(identity.encode()) > MAX_IDENTITY_BYTES:
        raise InvalidField("identity", f"1 to {MAX_IDENTITY_BYTES} bytes of UTF-8")
    k = random_scalar() if k is None else k
    return k, public_key(k)


def issue(ca_private: int, identity: str, request_point: bytes, k_ca: int | None = None) -> Issued:
    """Step 2 (TTP): P = R + k_CA·G, Cert = enc(P) ‖ ID, r = e·k_CA + d_CA mod n.

    ``k_ca`` is fixed only by known-answer vectors. SEC 4 restarts with a new k_CA if P is the
    point at infinity; with random k_CA that has probability 1/n, but a fixed one must fail.
    """
    if not identity or len(identity.encode()) > MAX_IDENTITY_BYTES:
        raise InvalidField("identity", f"1 to {MAX_IDENTITY_BYTES} bytes of UTF-8")
    r_point = decode_point(request_point, "request_point")
    while True:
        chosen = random_scalar() if k_ca is None else k_ca
        record(Operation.POINT_ADDITION, Origin.PAPER)
        p_point = r_point + multiply_generator(chosen)
        if not p_point.is_point_at_infinity():
            break
        if k_ca is not None:
            raise ValueError("k_ca makes the reconstruction point the point at infinity")
    certificate = Certificate.build(encode_point(p_point), identity)
    e = certificate.hash_scalar()
    return Issued(certificate, (e * chosen + ca_private) % ORDER)


def reconstruct_public(certificate: Certificate, ca_public: bytes) -> bytes:
    """Step 4 (anyone): Q = e·P + Q_CA, from the certificate and the TTP's public key."""
    return _reconstruct(certificate, certificate.hash_scalar(), ca_public)


def _reconstruct(certificate: Certificate, e: int, ca_public: bytes) -> bytes:
    p_point = decode_point(certificate.point, "certificate")
    q_ca = decode_point(ca_public, "ca_public")
    record(Operation.POINT_MULTIPLICATION, Origin.PAPER)
    record(Operation.POINT_ADDITION, Origin.PAPER)
    q_point = p_point * e + q_ca
    if q_point.is_point_at_infinity():
        raise CertificateRejected("the certificate reconstructs the point at infinity")
    return encode_point(q_point)


def reconstruct_private(k: int, issued: Issued, ca_public: bytes) -> KeyPair:
    """Step 3 (user): d = e·k + r mod n; accept only if Q from the certificate equals dG."""
    e = issued.certificate.hash_scalar()
    private = (e * k + issued.r) % ORDER
    if private == 0:
        raise CertificateRejected("the reconstructed private key is zero")
    expected = _reconstruct(issued.certificate, e, ca_public)
    if not secrets.compare_digest(public_key(private), expected):
        raise CertificateRejected("the reconstructed key pair does not match the certificate")
    return KeyPair(private, expected)
