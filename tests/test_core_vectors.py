"""The committed test vectors, SPEC.md's known answers, message sizes, HKDF and strict parsing.

SPEC.md sections: "Primitives and sizes", "Flow (the paper)" (known answer SK, 2432 bits),
"Our rule" (known answer of the counter nonce) and "Test vectors: the interchange format".
The vectors live as data in tests/vectors/, in the manner of pyca/cryptography's vectors.
"""

from __future__ import annotations

import copy
import hmac
import json
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from mec5g.core import messages, vectors
from mec5g.core.credentials import Credential
from mec5g.core.errors import MalformedField
from mec5g.core.handshake import run_with_nonces
from mec5g.core.primitives import counter_from_nonce, counter_nonce, hkdf_sha256, hmac_sha256

VECTOR_DIR = Path(__file__).resolve().parent / "vectors"
PHASE3_VECTORS = VECTOR_DIR / "phase3_vectors.json"
KNOWN_ANSWERS = VECTOR_DIR / "known_answers.json"


def _load(path: Path) -> Any:
    with path.open(encoding="utf-8") as handle:
        return json.load(handle)


def _flip_first_byte(hex_value: str) -> str:
    raw = bytearray(bytes.fromhex(hex_value))
    raw[0] ^= 0x01
    return raw.hex()


def test_committed_vectors_verify() -> None:
    document = _load(PHASE3_VECTORS)
    assert document["scheme"] == vectors.SCHEME
    assert len(document["vectors"]) == 16
    assert vectors.verify(document) == []


def test_committed_vectors_are_lowercase_hex_with_exact_sizes() -> None:
    sizes = {"M1": 64, "M2": 128, "M3": 64, "M4": 48, "SK": 16}
    for vector in _load(PHASE3_VECTORS)["vectors"]:
        for name, size in sizes.items():
            assert vector[name] == vector[name].lower()
            assert len(bytes.fromhex(vector[name])) == size, name
        for name in ("DIDi", "DKi", "DIDm", "DKm"):
            assert len(bytes.fromhex(vector["next"][name])) == 16, name
        # SPEC.md "Properties": M4 = M3[16:], and M2 starts with M1.
        assert vector["M4"] == vector["M3"][32:]
        assert vector["M2"].startswith(vector["M1"])


@pytest.mark.parametrize("field", ["M1", "M2", "M3", "M4", "SK", "next.DKi"])
@pytest.mark.parametrize("number", [0, 15])
def test_one_changed_byte_is_reported_naming_the_field(field: str, number: int) -> None:
    document = _load(PHASE3_VECTORS)
    tampered = copy.deepcopy(document)
    container = tampered["vectors"][number]
    *parents, leaf = field.split(".")
    for parent in parents:
        container = container[parent]
    container[leaf] = _flip_first_byte(container[leaf])

    mismatches = vectors.verify(tampered)

    assert len(mismatches) == 1, mismatches
    assert mismatches[0].startswith(f"vector {number}: {field} is "), mismatches


def test_uppercase_hex_still_verifies() -> None:
    document = _load(PHASE3_VECTORS)
    document["vectors"][0]["M2"] = document["vectors"][0]["M2"].upper()
    assert vectors.verify(document) == []


def test_missing_output_is_a_mismatch() -> None:
    document = _load(PHASE3_VECTORS)
    del document["vectors"][3]["next"]
    mismatches = vectors.verify(document)
    assert len(mismatches) == 4
    assert all(line.startswith("vector 3: next.") for line in mismatches)


def test_unreadable_inputs_are_a_mismatch() -> None:
    document = _load(PHASE3_VECTORS)
    document["vectors"][1]["inputs"]["R3"] = "00"
    mismatches = vectors.verify(document)
    assert mismatches == [mismatches[0]]
    assert mismatches[0].startswith("vector 1: unreadable inputs")


@pytest.mark.parametrize(
    "document",
    [
        {"scheme": "mec5g/phase3/v2", "vectors": []},
        {"vectors": []},
        [],
        {"scheme": vectors.SCHEME, "vectors": {}},
    ],
)
def test_not_a_vector_file_raises(document: Any) -> None:
    with pytest.raises(vectors.VectorFileError):
        vectors.verify(document)


def test_wrong_scheme_in_committed_file_raises() -> None:
    document = _load(PHASE3_VECTORS)
    document["scheme"] = "mec5g/phase3/v0"
    with pytest.raises(vectors.VectorFileError, match="scheme"):
        vectors.verify(document)


def test_make_round_trips_through_verify() -> None:
    document = vectors.make(3)
    assert document["scheme"] == vectors.SCHEME
    assert len(document["vectors"]) == 3
    assert vectors.verify(json.loads(json.dumps(document))) == []
    inputs = [vector["inputs"]["R1"] for vector in document["vectors"]]
    assert len(set(inputs)) == 3, "make() must draw fresh inputs for each vector"


def test_make_refuses_a_negative_count() -> None:
    with pytest.raises(ValueError, match="negative"):
        vectors.make(-1)


def test_known_answer_paper_flow() -> None:
    cases = _load(KNOWN_ANSWERS)["paper_flow"]
    assert cases
    for case in cases:
        given = {name: bytes.fromhex(value) for name, value in case["inputs"].items()}
        transcript = run_with_nonces(
            Credential(given["DIDi"], given["DKi"]),
            Credential(given["DIDm"], given["DKm"]),
            given["R1"],
            given["R2"],
            given["R3"],
        )
        assert transcript.session_key.hex() == case["SK"]
        # The same answer through the interchange format.
        assert vectors.compute(given)["SK"] == case["SK"]


def test_known_answer_counter_nonce() -> None:
    cases = _load(KNOWN_ANSWERS)["counter_nonce"]
    assert cases
    for case in cases:
        did = bytes.fromhex(case["inputs"]["DID"])
        key = bytes.fromhex(case["inputs"]["DK"])
        counter = case["inputs"]["ctr"]
        nonce = counter_nonce(key, did, counter)
        assert nonce.hex() == case["R"]
        assert counter_from_nonce(key, did, nonce) == counter


def test_message_sizes_match_the_paper() -> None:
    bits = [8 * size for size in (messages.M1_BYTES, messages.M2_BYTES)]
    bits += [8 * size for size in (messages.M3_BYTES, messages.M4_BYTES)]
    assert bits == [512, 1024, 512, 384]
    assert sum(bits) == 2432
    assert messages.PAPER_TOTAL_BITS == 2432


def test_transcript_messages_have_the_paper_sizes() -> None:
    vector = _load(PHASE3_VECTORS)["vectors"][0]
    raw = {name: bytes.fromhex(vector[name]) for name in ("M1", "M2", "M3", "M4")}
    assert messages.M1.parse(raw["M1"]).to_bytes() == raw["M1"]
    assert messages.M2.parse(raw["M2"]).to_bytes() == raw["M2"]
    assert messages.M3.parse(raw["M3"]).to_bytes() == raw["M3"]
    assert messages.M4.parse(raw["M4"]).to_bytes() == raw["M4"]
    assert 8 * sum(len(value) for value in raw.values()) == messages.PAPER_TOTAL_BITS


RFC5869_CASE_1 = (
    bytes([0x0B]) * 22,
    bytes(range(0x00, 0x0D)),
    bytes(range(0xF0, 0xFA)),
    42,
    "3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf34007208d5b887185865",
)
RFC5869_CASE_3 = (
    bytes([0x0B]) * 22,
    b"",
    b"",
    42,
    "8da4e775a563c18f715f802a063c5a31b8a11f5c5ee1879ec3454e5f3c738d2d9d201395faa4b61a96c8",
)


@pytest.mark.parametrize(("ikm", "salt", "info", "length", "okm"), [RFC5869_CASE_1, RFC5869_CASE_3])
def test_hkdf_rfc5869(ikm: bytes, salt: bytes, info: bytes, length: int, okm: str) -> None:
    assert hkdf_sha256(ikm, salt=salt, info=info, length=length).hex() == okm


@pytest.mark.parametrize(
    ("ikm", "salt", "info", "length"),
    [
        (bytes(range(80)), bytes(range(0x60, 0xB0)), bytes(range(0xB0, 0x100)), 82),
        (b"\x01" * 16, b"", b"mec5g/analysis-handle/v\x01", 32),
        (b"secret", b"salt", b"", 1),
        (b"secret", b"salt", b"info", 32),
        (b"secret", b"salt", b"info", 33),
        (b"", b"\x00" * 32, b"x", 255 * 32),
    ],
)
def test_hkdf_equals_cryptography(ikm: bytes, salt: bytes, info: bytes, length: int) -> None:
    reference = HKDF(algorithm=hashes.SHA256(), length=length, salt=salt or None, info=info)
    assert hkdf_sha256(ikm, salt=salt, info=info, length=length) == reference.derive(ikm)


# RFC 4231 section 4: test cases 1, 2, 3, 4, 6 and 7 (5 truncates the output), HMAC-SHA-256.
RFC4231_CASES = [
    (
        bytes([0x0B]) * 20,
        b"Hi There",
        "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7",
    ),
    (
        b"Jefe",
        b"what do ya want for nothing?",
        "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843",
    ),
    (
        bytes([0xAA]) * 20,
        bytes([0xDD]) * 50,
        "773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe",
    ),
    (
        bytes(range(0x01, 0x1A)),
        bytes([0xCD]) * 50,
        "82558a389a443c0ea4cc819899f2083a85f0faa3e578f8077a2e3ff46729665b",
    ),
    (
        bytes([0xAA]) * 131,
        b"Test Using Larger Than Block-Size Key - Hash Key First",
        "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54",
    ),
    (
        bytes([0xAA]) * 131,
        b"This is a test using a larger than block-size key and a larger than block-size data. "
        b"The key needs to be hashed before being used by the HMAC algorithm.",
        "9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2",
    ),
]


@pytest.mark.parametrize(("key", "message", "mac"), RFC4231_CASES)
def test_hmac_rfc4231(key: bytes, message: bytes, mac: str) -> None:
    assert hmac_sha256(key, message).hex() == mac


@pytest.mark.parametrize("key_length", [0, 1, 16, 32, 63, 64, 65, 112, 200])
@pytest.mark.parametrize("message_length", [0, 1, 55, 64, 65, 300])
def test_hmac_equals_the_standard_library(key_length: int, message_length: int) -> None:
    """Every key length around SHA-256's block (padded, exact, hashed first)."""
    key = bytes((7 * index + key_length) % 256 for index in range(key_length))
    message = bytes((3 * index + 1) % 256 for index in range(message_length))
    assert hmac_sha256(key, message) == hmac.digest(key, message, "sha256")


def test_hkdf_refuses_too_long_output() -> None:
    with pytest.raises(ValueError, match="8160"):
        hkdf_sha256(b"k", salt=b"", info=b"", length=255 * 32 + 1)


@pytest.mark.parametrize(
    ("message", "field", "expected"),
    [
        (messages.M1, "m1", 64),
        (messages.M2, "m2", 128),
        (messages.M3, "m3", 64),
        (messages.M4, "m4", 48),
    ],
)
@pytest.mark.parametrize("delta", [-1, +1, "empty"])
def test_parse_refuses_wrong_lengths(
    message: type[messages.M1 | messages.M2 | messages.M3 | messages.M4],
    field: str,
    expected: int,
    delta: int | str,
) -> None:
    actual = 0 if delta == "empty" else expected + int(delta)
    with pytest.raises(MalformedField) as raised:
        message.parse(bytes(actual))
    assert raised.value.field == field
    assert raised.value.expected_bytes == expected
    assert raised.value.actual_bytes == actual
    assert str(expected * 8) in str(raised.value)


def test_parse_names_the_callers_field() -> None:
    with pytest.raises(MalformedField) as raised:
        messages.M3.parse(bytes(63), field="verify_response.m3")
    assert raised.value.field == "verify_response.m3"


def test_local_fingerprints_cannot_be_matched_against_the_wire() -> None:
    """A DID travels in the clear; its display fingerprint is keyed per process."""
    from mec5g.core.primitives import fingerprint, local_fingerprint

    did = bytes(range(16))
    assert local_fingerprint(did) == local_fingerprint(did)
    assert local_fingerprint(did) != fingerprint(did)
    assert len(local_fingerprint(did)) == 16
