"""ECQV (SEC 4) on P-256, the signed requests and sealed answers of phases 1 and 2.

Properties with hypothesis: reconstruction by anyone equals the user's key, the key pair is
consistent (checked with ``cryptography``, independently of the arithmetic library), and any
tampered certificate or r yields a different key. Known answers: tests/vectors/ecqv_vectors.json.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from hypothesis import given, settings
from hypothesis import strategies as st

from mec5g.core import ecqv, ecqv_vectors, user_crypto
from mec5g.core.errors import AuthenticationFailed, InvalidField, MalformedField
from mec5g.core.operations import Origin, counting, table_notation

VECTORS = Path(__file__).resolve().parent / "vectors" / "ecqv_vectors.json"
scalars = st.integers(min_value=1, max_value=ecqv.ORDER - 1)
identities = st.text(min_size=1, max_size=40).filter(
    lambda text: 0 < len(text.encode()) <= ecqv.MAX_IDENTITY_BYTES
)
FEW = settings(max_examples=25, deadline=None)


def _public_by_cryptography(private: int) -> bytes:
    return (
        ec.derive_private_key(private, ec.SECP256R1())
        .public_key()
        .public_bytes(serialization.Encoding.X962, serialization.PublicFormat.CompressedPoint)
    )


def _register(
    identity: str, ca_private: int, k: int, k_ca: int
) -> tuple[ecqv.Issued, ecqv.KeyPair]:
    _, request_point = ecqv.request(identity, k)
    issued = ecqv.issue(ca_private, identity, request_point, k_ca)
    return issued, ecqv.reconstruct_private(k, issued, ecqv.public_key(ca_private))


@FEW
@given(identity=identities, ca_private=scalars, k=scalars, k_ca=scalars)
def test_anyone_reconstructs_the_users_public_key(
    identity: str, ca_private: int, k: int, k_ca: int
) -> None:
    issued, pair = _register(identity, ca_private, k, k_ca)
    assert issued.certificate.identity == identity
    assert ecqv.reconstruct_public(issued.certificate, ecqv.public_key(ca_private)) == pair.public
    assert _public_by_cryptography(pair.private) == pair.public


@FEW
@given(
    ca_private=scalars,
    k=scalars,
    k_ca=scalars,
    position=st.integers(0, 10**6),
    bit=st.integers(0, 7),
)
def test_a_tampered_certificate_yields_another_key(
    ca_private: int, k: int, k_ca: int, position: int, bit: int
) -> None:
    issued, pair = _register("alice", ca_private, k, k_ca)
    tampered = bytearray(issued.certificate.encoded)
    tampered[position % len(tampered)] ^= 1 << bit
    ca_public = ecqv.public_key(ca_private)
    try:
        certificate = ecqv.Certificate.parse(bytes(tampered))
    except (InvalidField, MalformedField):
        return  # no longer a point or UTF-8: refused outright
    assert ecqv.reconstruct_public(certificate, ca_public) != pair.public
    with pytest.raises(ecqv.CertificateRejected):
        ecqv.reconstruct_private(k, ecqv.Issued(certificate, issued.r), ca_public)


@FEW
@given(ca_private=scalars, k=scalars, k_ca=scalars, delta=scalars)
def test_a_wrong_r_or_ca_key_is_rejected_by_the_user(
    ca_private: int, k: int, k_ca: int, delta: int
) -> None:
    issued, _ = _register("bob", ca_private, k, k_ca)
    ca_public = ecqv.public_key(ca_private)
    wrong_r = ecqv.Issued(issued.certificate, (issued.r + delta) % ecqv.ORDER)
    with pytest.raises(ecqv.CertificateRejected):
        ecqv.reconstruct_private(k, wrong_r, ca_public)
    other_ca = ecqv.public_key((ca_private + delta) % ecqv.ORDER or 1)
    if other_ca != ca_public:
        with pytest.raises(ecqv.CertificateRejected):
            ecqv.reconstruct_private(k, issued, other_ca)


def test_the_certificate_hash_is_sha256_of_the_whole_certificate() -> None:
    """SEC 4 (not the paper's H(ID ‖ Q)): e = SHA-256(enc(P) ‖ ID) mod n."""
    issued, _ = _register("carol", 5, 7, 11)
    digest = hashlib.sha256(issued.certificate.point + b"carol").digest()
    assert issued.certificate.hash_scalar() == int.from_bytes(digest, "big") % ecqv.ORDER
    assert issued.certificate.encoded == issued.certificate.point + b"carol"


def test_committed_known_answers_verify_and_were_recomputed() -> None:
    document = json.loads(VECTORS.read_text())
    assert document["scheme"] == ecqv_vectors.SCHEME
    assert len(document["certs"]) == 8
    assert ecqv_vectors.verify(document) == []
    for entry in document["certs"]:
        assert _public_by_cryptography(int(entry["private"], 16)) == bytes.fromhex(entry["public"])


@pytest.mark.parametrize("field", ["cert", "r", "private", "public"])
def test_known_answers_catch_one_flipped_digit(field: str) -> None:
    document = json.loads(VECTORS.read_text())
    value = document["certs"][3][field]
    document["certs"][3][field] = value[:-1] + format(int(value[-1], 16) ^ 1, "x")
    mismatches = ecqv_vectors.verify(document)
    assert mismatches
    assert all(line.startswith("certs[3]") for line in mismatches)


def test_points_are_checked() -> None:
    with pytest.raises(MalformedField, match="request_point must be exactly 33 bytes"):
        ecqv.issue(5, "x", bytes(32))
    with pytest.raises(InvalidField, match="request_point must be a SEC1 compressed point"):
        ecqv.issue(5, "x", b"\x02" + b"\xff" * 32)
    with pytest.raises(InvalidField, match="identity"):
        ecqv.request("")


def test_operation_counts_in_the_papers_units() -> None:
    ca_private = ecqv.random_scalar()
    ca_public = ecqv.public_key(ca_private)
    with counting() as at_user_request:
        k, request_point = ecqv.request("dave")
    with counting() as at_ttp:
        issued = ecqv.issue(ca_private, "dave", request_point)
    with counting() as at_user:
        ecqv.reconstruct_private(k, issued, ca_public)
    with counting() as at_verifier:
        ecqv.reconstruct_public(issued.certificate, ca_public)
    assert table_notation(at_user_request, Origin.PAPER) == "1Tm"
    assert table_notation(at_ttp, Origin.PAPER) == "1Tm + 1Ta + 1Th"
    assert table_notation(at_user, Origin.PAPER) == "2Tm + 1Ta + 1Th"
    assert table_notation(at_verifier, Origin.PAPER) == "1Tm + 1Ta + 1Th"


def _pair() -> ecqv.KeyPair:
    ca_private = ecqv.random_scalar()
    return _register("erin", ca_private, ecqv.random_scalar(), ecqv.random_scalar())[1]


def test_signatures_bind_method_user_and_body() -> None:
    pair = _pair()
    signature = user_crypto.sign(pair, "Create", "erin", b"body")
    user_crypto.verify(pair.public, "Create", "erin", b"body", signature)
    for method, user, body in (
        ("Close", "erin", b"body"),
        ("Create", "eri", b"body"),
        ("Create", "erin", b"bodY"),
    ):
        with pytest.raises(AuthenticationFailed):
            user_crypto.verify(pair.public, method, user, body, signature)
    with pytest.raises(AuthenticationFailed):
        user_crypto.verify(_pair().public, "Create", "erin", b"body", signature)
    with pytest.raises(MalformedField, match="signature must be exactly 64 bytes"):
        user_crypto.verify(pair.public, "Create", "erin", b"body", signature[:-1])


@settings(max_examples=40, deadline=None)
@given(position=st.integers(0, 10**6), bit=st.integers(0, 7))
def test_a_tampered_sealed_answer_is_refused(position: int, bit: int) -> None:
    pair = _PAIR
    sealed = user_crypto.seal(pair.public, b"credentials", purpose="p", associated_data=b"ad")
    assert (
        user_crypto.open_sealed(pair, sealed, purpose="p", associated_data=b"ad") == b"credentials"
    )
    tampered = bytearray(sealed)
    tampered[position % len(tampered)] ^= 1 << bit
    with pytest.raises(AuthenticationFailed):
        user_crypto.open_sealed(pair, bytes(tampered), purpose="p", associated_data=b"ad")


_PAIR = _pair()


def test_only_the_recipient_opens_and_context_is_bound() -> None:
    sealed = user_crypto.seal(_PAIR.public, b"x", purpose="p", associated_data=b"ad")
    for pair, purpose, associated_data in (
        (_pair(), "p", b"ad"),
        (_PAIR, "q", b"ad"),
        (_PAIR, "p", b"ae"),
    ):
        with pytest.raises(AuthenticationFailed):
            user_crypto.open_sealed(pair, sealed, purpose=purpose, associated_data=associated_data)
