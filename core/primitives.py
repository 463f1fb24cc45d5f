"""Cryptographic building blocks of the scheme, each with the size SPEC.md fixes.

SPEC.md "Primitives and sizes": H1 is SHAKE128 with 640 output bits (the paper's sections 3.3,
6.1.1 and 7; section 5.1's 512 is a slip), H2 is SHAKE128 with 256 bits. The counter nonce is
one AES-128 block (SPEC.md "Our rule"). HKDF is RFC 5869 over HMAC-SHA256.

HMAC-SHA256 is RFC 2104 over ``hashlib``'s SHA-256 rather than ``hmac.digest``: OpenSSL 3's one-shot
HMAC looks its algorithm up on every call (2 µs here, for two hashes that take under 1 µs), and
the key agreement's HKDFs run it four to six times per handshake. It is tested against
``hmac.digest``, RFC 4231 and, through HKDF, RFC 5869 and ``cryptography``.

Comparisons of secret-dependent values go through ``constant_time_equal`` only.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from mec5g.core.operations import Operation, Origin, record

IDENTITY_BYTES = 16
KEY_BYTES = 16
NONCE_BYTES = 16
SESSION_KEY_BYTES = 16
C1_BYTES = 32
C_PART_BYTES = 16
H1_BYTES = C1_BYTES + 3 * C_PART_BYTES  # 80 bytes = 640 bits
H2_BYTES = 32  # 256 bits
COUNTER_BYTES = 16  # 128-bit big-endian counter
COUNTER_MAX = (1 << (8 * COUNTER_BYTES)) - 1

# ECB on exactly one block is the raw AES permutation SPEC.md asks for, not a mode of operation.
_ECB = modes.ECB()  # noqa: S305


def h1(message: bytes) -> tuple[bytes, bytes, bytes, bytes]:
    """H1 = SHAKE128(m, 640 bits), split in order into c1 (32 B), c2, c3, c4 (16 B each)."""
    record(Operation.HASH, Origin.PAPER)
    digest = hashlib.shake_128(message).digest(H1_BYTES)
    return digest[:32], digest[32:48], digest[48:64], digest[64:80]


def h2(message: bytes) -> bytes:
    """H2 = SHAKE128(m, 256 bits)."""
    record(Operation.HASH, Origin.PAPER)
    return hashlib.shake_128(message).digest(H2_BYTES)


def xor(*values: bytes) -> bytes:
    """Bytewise XOR of equal-length values (the paper's ⊕)."""
    length = len(values[0])
    accumulator = 0
    for value in values:
        if len(value) != length:
            raise ValueError("xor operands must have equal length")
        accumulator ^= int.from_bytes(value, "big")
    return accumulator.to_bytes(length, "big")


def constant_time_equal(left: bytes, right: bytes) -> bool:
    """Compare two byte strings in time independent of where they differ."""
    return hmac.compare_digest(left, right)


def random_bytes(length: int) -> bytes:
    """Bytes from the operating system's CSPRNG (what ``secrets.token_bytes`` returns, without
    its two Python calls); the only source of nonces and keys."""
    return os.urandom(length)


def counter_to_bytes(counter: int) -> bytes:
    """A counter as the 16-byte big-endian value SPEC.md stores and encrypts."""
    if not 0 <= counter <= COUNTER_MAX:
        raise ValueError("counter outside 0..2^128-1")
    return counter.to_bytes(COUNTER_BYTES, "big")


def counter_nonce(key: bytes, identity: bytes, counter: int) -> bytes:
    """R = AES-128-Enc(key = DK, block = DID ⊕ ctr), SPEC.md "Our rule", Nonces.

    The XOR with the identity makes every credential's plaintexts distinct, so one key guess
    cannot be tested against many credentials at once. R still looks random on the wire.
    """
    record(Operation.SYMMETRIC, Origin.COUNTER_NONCE)
    block = xor(identity, counter_to_bytes(counter))
    encryptor = Cipher(algorithms.AES(key), _ECB).encryptor()
    return encryptor.update(block) + encryptor.finalize()


def counter_from_nonce(key: bytes, identity: bytes, nonce: bytes) -> int:
    """ctr = AES-Dec(DK, R) ⊕ DID. A forged R decrypts to any 128-bit number."""
    record(Operation.SYMMETRIC, Origin.COUNTER_NONCE)
    decryptor = Cipher(algorithms.AES(key), _ECB).decryptor()
    block = decryptor.update(nonce) + decryptor.finalize()
    return int.from_bytes(block, "big") ^ int.from_bytes(identity, "big")


_SHA256_BLOCK = 64
# The pads of RFC 2104 as integers: a key is XORed with them as one integer, so that no step
# indexes a table by a key byte.
_IPAD = int.from_bytes(b"\x36" * _SHA256_BLOCK, "big")
_OPAD = int.from_bytes(b"\x5c" * _SHA256_BLOCK, "big")


def hmac_sha256(key: bytes, message: bytes) -> bytes:
    """HMAC-SHA256 (RFC 2104): H((K ⊕ opad) ‖ H((K ⊕ ipad) ‖ m)), K zero-padded to 64 bytes."""
    if len(key) > _SHA256_BLOCK:
        key = hashlib.sha256(key).digest()
    padded = int.from_bytes(key.ljust(_SHA256_BLOCK, b"\x00"), "big")
    inner = hashlib.sha256((padded ^ _IPAD).to_bytes(_SHA256_BLOCK, "big"))
    inner.update(message)
    outer = hashlib.sha256((padded ^ _OPAD).to_bytes(_SHA256_BLOCK, "big"))
    outer.update(inner.digest())
    return outer.digest()


# HKDF's extract with no salt keys HMAC with 32 zero bytes (RFC 5869 section 2.2), padded to 64:
# the same key every time, so both hash states after the pads are computed once and copied.
_ZERO_SALT_INNER = hashlib.sha256(_IPAD.to_bytes(_SHA256_BLOCK, "big"))
_ZERO_SALT_OUTER = hashlib.sha256(_OPAD.to_bytes(_SHA256_BLOCK, "big"))


def hkdf_sha256(
    ikm: bytes, *, salt: bytes, info: bytes, length: int, origin: Origin = Origin.OURS
) -> bytes:
    """HKDF-SHA256 (RFC 5869 section 2.2 extract, 2.3 expand); counted under ``origin``."""
    return hkdf_expand(
        hkdf_extract(ikm, salt=salt, origin=origin), info=info, length=length, origin=origin
    )


def hkdf_extract(ikm: bytes, *, salt: bytes, origin: Origin = Origin.OURS) -> bytes:
    """HKDF-SHA256's extract step (RFC 5869 section 2.2): the pseudorandom key, one HMAC."""
    record(Operation.HASH, origin)
    if salt:
        return hmac_sha256(salt, ikm)
    inner = _ZERO_SALT_INNER.copy()
    inner.update(ikm)
    outer = _ZERO_SALT_OUTER.copy()
    outer.update(inner.digest())
    return outer.digest()


def hkdf_expand(prk: bytes, *, info: bytes, length: int, origin: Origin = Origin.OURS) -> bytes:
    """HKDF-SHA256's expand step (RFC 5869 section 2.3): one HMAC per 32 bytes of output."""
    if length > 255 * 32:
        raise ValueError("HKDF-SHA256 output is limited to 8160 bytes")
    record(Operation.HASH, origin, (length + 31) // 32)
    output = b""
    block = b""
    index = 1
    while len(output) < length:
        block = hmac_sha256(prk, block + info + bytes([index]))
        output += block
        index += 1
    return output[:length]


def fingerprint(secret: bytes, *, label: bytes = b"mec5g fingerprint") -> str:
    """A short, one-way name for a high-entropy secret (a session key), the same in every process,
    so that a device's and a MEC's logs can be matched: never the secret itself."""
    return hashlib.sha256(label + b"\x00" + secret).hexdigest()[:16]


_LOCAL_FINGERPRINT_KEY = secrets.token_bytes(32)


def local_fingerprint(value: bytes) -> str:
    """A short name for a value that also travels in the clear (a DID, a pseudonym), keyed per
    process: an observer of the wire cannot match it against what it saw."""
    return hmac.digest(_LOCAL_FINGERPRINT_KEY, value, "sha256").hex()[:16]
