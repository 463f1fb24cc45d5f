"""The test-vector interchange format of SPEC.md ("Test vectors: the interchange format").

A file is ``{"scheme": "mec5g/phase3/v1", "vectors": [...]}``; each vector gives the inputs
(both credentials and R1, R2, R3), the four messages, SK and both successors, as lowercase hex.
``verify`` recomputes every vector from its inputs with the real role code.
"""

from __future__ import annotations

from typing import Any

from mec5g.core.credentials import Credential
from mec5g.core.errors import SchemeError
from mec5g.core.handshake import run_with_nonces
from mec5g.core.primitives import IDENTITY_BYTES, KEY_BYTES, NONCE_BYTES, random_bytes

SCHEME = "mec5g/phase3/v1"
_INPUT_SIZES = {
    "DIDi": IDENTITY_BYTES,
    "DKi": KEY_BYTES,
    "DIDm": IDENTITY_BYTES,
    "DKm": KEY_BYTES,
    "R1": NONCE_BYTES,
    "R2": NONCE_BYTES,
    "R3": NONCE_BYTES,
}


def compute(inputs: dict[str, bytes]) -> dict[str, Any]:
    """One vector, as JSON-ready data, from its seven inputs."""
    transcript = run_with_nonces(
        Credential(inputs["DIDi"], inputs["DKi"]),
        Credential(inputs["DIDm"], inputs["DKm"]),
        inputs["R1"],
        inputs["R2"],
        inputs["R3"],
    )
    return {
        "inputs": {name: inputs[name].hex() for name in _INPUT_SIZES},
        "M1": transcript.m1.hex(),
        "M2": transcript.m2.hex(),
        "M3": transcript.m3.hex(),
        "M4": transcript.m4.hex(),
        "SK": transcript.session_key.hex(),
        "next": {
            "DIDi": transcript.device_successor.did.hex(),
            "DKi": transcript.device_successor.dk.hex(),
            "DIDm": transcript.mec_successor.did.hex(),
            "DKm": transcript.mec_successor.dk.hex(),
        },
    }


def make(count: int) -> dict[str, Any]:
    """A vector file with ``count`` vectors from fresh CSPRNG inputs."""
    if count < 0:
        raise ValueError("count must not be negative")
    vectors = [
        compute({name: random_bytes(size) for name, size in _INPUT_SIZES.items()})
        for _ in range(count)
    ]
    return {"scheme": SCHEME, "vectors": vectors}


class VectorFileError(ValueError):
    """The document is not a vector file this version can read."""


def verify(document: Any) -> list[str]:
    """Every mismatch between the file and a recomputation, one line each; empty when all match."""
    if not isinstance(document, dict) or document.get("scheme") != SCHEME:
        raise VectorFileError(f'not a vector file: "scheme" must be "{SCHEME}"')
    vectors = document.get("vectors")
    if not isinstance(vectors, list):
        raise VectorFileError('not a vector file: "vectors" must be a list')
    mismatches: list[str] = []
    for number, vector in enumerate(vectors):
        try:
            inputs = _parse_inputs(vector)
            expected = compute(inputs)
        except (SchemeError, VectorFileError, ValueError, TypeError, KeyError) as error:
            mismatches.append(f"vector {number}: unreadable inputs: {error}")
            continue
        mismatches.extend(_compare(number, "", expected, vector))
    return mismatches


def _parse_inputs(vector: Any) -> dict[str, bytes]:
    if not isinstance(vector, dict) or not isinstance(vector.get("inputs"), dict):
        raise VectorFileError('missing "inputs"')
    inputs: dict[str, bytes] = {}
    for name, size in _INPUT_SIZES.items():
        value = bytes.fromhex(vector["inputs"][name])
        if len(value) != size:
            raise VectorFileError(f"{name} must be {size} bytes, got {len(value)}")
        inputs[name] = value
    return inputs


def _compare(number: int, prefix: str, expected: dict[str, Any], actual: Any) -> list[str]:
    mismatches: list[str] = []
    for key, want in expected.items():
        if key == "inputs":
            continue
        got = actual.get(key) if isinstance(actual, dict) else None
        if isinstance(want, dict):
            mismatches.extend(_compare(number, f"{prefix}{key}.", want, got))
        elif not isinstance(got, str) or got.lower() != want:
            mismatches.append(f"vector {number}: {prefix}{key} is {got!r}, expected {want}")
    return mismatches
