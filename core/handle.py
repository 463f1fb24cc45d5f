"""The analysis handle: which analysis a device belongs to, sent to the MEC beside M3 (ours).

Paper section 4.1, step 3 says the TTP includes the analysis identifier IDa in its answer. We send a
per-MEC pseudonym instead (SPEC.md "Analysis handle"): HMAC-SHA256 of IDa and the MEC node's
identity under a TTP secret, so two MECs cannot match their analyses. It travels encrypted:

- key  = HKDF-SHA256(IKM = cm3 ‖ cm4, info = label ‖ version). Never cm2 ⊕ cm3 ⊕ cm4, which
  equals SK ⊕ d1, and never anything with cm2 alone, which becomes the next public DIDm.
- AEAD = ChaCha20-Poly1305 with a zero nonce: the key is fresh for every MEC attempt (R2 is in the
  H1 input), so a (key, nonce) pair never protects two different plaintexts.
- associated data = version ‖ M1 ‖ M2 ‖ M3, so the handle cannot be moved to another handshake.

A missing or invalid handle fails the handshake at the MEC.

Analysis settings (phase 4, ours). Beside the handle the TTP sends the settings the MEC needs to
analyse the data, sealed the same way under its own HKDF label ("mec5g/analysis-settings/v"):
today one byte, the NEWS2 SpO2 scale (1 or 2) that a clinician chose for the analysis. It is a
setting of the analysis, not an attribute of the patient's identity, and nothing else travels.
Sealing it, rather than sending it in the clear, keeps it off the backhaul and stops a backhaul
attacker from switching a patient's scale. A missing or invalid settings ciphertext fails the
handshake at the MEC like a bad handle.

Under the public-key baseline [36] (``--scheme baseline36``) the same two facts reach the MEC
inside the TTP's M3 instead, as what the TTP vouches for the device (``vouch_analysis``): the
pseudonym and the settings byte, sealed with [36]'s own approval.
"""

from __future__ import annotations

import hmac
import struct
from dataclasses import dataclass

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305

from mec5g.core.errors import AuthenticationFailed, MalformedField
from mec5g.core.messages import M2, M3
from mec5g.core.news2 import SpO2Scale
from mec5g.core.operations import Operation, Origin, record
from mec5g.core.primitives import hkdf_sha256

PSEUDONYM_BYTES = 32
TAG_BYTES = 16
HANDLE_BYTES = PSEUDONYM_BYTES + TAG_BYTES
SETTINGS_PLAINTEXT_BYTES = 1
SETTINGS_BYTES = SETTINGS_PLAINTEXT_BYTES + TAG_BYTES
_HANDLE_INFO = b"mec5g/analysis-handle/v"
_SETTINGS_INFO = b"mec5g/analysis-settings/v"
_ZERO_NONCE = bytes(12)


def analysis_pseudonym(pseudonym_key: bytes, analysis_id: str, mec_node: str) -> bytes:
    """The name under which ``mec_node`` sees analysis ``analysis_id``; unlinkable across MECs."""
    record(Operation.HASH, Origin.PSEUDONYM)
    analysis = analysis_id.encode()
    node = mec_node.encode()
    message = struct.pack(">H", len(analysis)) + analysis + struct.pack(">H", len(node)) + node
    return hmac.digest(pseudonym_key, message, "sha256")


class Pseudonyms:
    """Analysis pseudonyms under one TTP key, memoised: the pair (analysis, MEC node) is stable."""

    def __init__(self, pseudonym_key: bytes, capacity: int = 65536) -> None:
        self._key = pseudonym_key
        self._capacity = capacity
        self._known: dict[tuple[str, str], bytes] = {}

    def __call__(self, analysis_id: str, mec_node: str) -> bytes:
        pair = (analysis_id, mec_node)
        pseudonym = self._known.get(pair)
        if pseudonym is None:
            if len(self._known) >= self._capacity:
                self._known.clear()
            pseudonym = self._known[pair] = analysis_pseudonym(self._key, analysis_id, mec_node)
        return pseudonym


def _key(c3_m: bytes, c4_m: bytes, version: int, label: bytes, origin: Origin) -> bytes:
    return hkdf_sha256(
        c3_m + c4_m, salt=b"", info=label + bytes([version]), length=32, origin=origin
    )


def _associated_data(version: int, m2: M2, m3: M3) -> bytes:
    return bytes([version]) + m2.m1.to_bytes() + m2.to_bytes() + m3.to_bytes()


@dataclass(frozen=True, slots=True)
class BesideM3:
    """What one sealed addition beside M3 is: its HKDF label and the origins its key and AEAD
    are counted under. Each addition has its own label, so its key is its own."""

    label: bytes
    key_origin: Origin
    aead_origin: Origin


HANDLE = BesideM3(_HANDLE_INFO, Origin.HANDLE_KEY, Origin.HANDLE_AEAD)
SETTINGS = BesideM3(_SETTINGS_INFO, Origin.SETTINGS_KEY, Origin.SETTINGS_AEAD)


def seal_beside_m3(
    what: BesideM3, plaintext: bytes, *, c3_m: bytes, c4_m: bytes, version: int, m2: M2, m3: M3
) -> bytes:
    """The TTP's side: seal ``plaintext`` for the MEC that sent ``m2``, bound to the handshake."""
    aead = ChaCha20Poly1305(_key(c3_m, c4_m, version, what.label, what.key_origin))
    record(Operation.SYMMETRIC, what.aead_origin)
    return aead.encrypt(_ZERO_NONCE, plaintext, _associated_data(version, m2, m3))


def open_beside_m3(
    what: BesideM3, sealed: bytes, *, c3_m: bytes, c4_m: bytes, version: int, m2: M2, m3: M3
) -> bytes | None:
    """The MEC's side: the plaintext, or None if ``sealed`` is not the TTP's for this
    handshake (the caller fails authentication with its own reason)."""
    aead = ChaCha20Poly1305(_key(c3_m, c4_m, version, what.label, what.key_origin))
    record(Operation.SYMMETRIC, what.aead_origin)
    try:
        return aead.decrypt(_ZERO_NONCE, sealed, _associated_data(version, m2, m3))
    except InvalidTag:
        return None


def seal_answer(
    pseudonym: bytes,
    settings: AnalysisSettings,
    *,
    c3_m: bytes,
    c4_m: bytes,
    version: int,
    m2: M2,
    m3: M3,
) -> tuple[bytes, bytes]:
    """The TTP's side: the handle (the pseudonym) and the analysis settings, each encrypted for
    the MEC that sent ``m2`` under its own key; the associated data is built once for both."""
    if len(pseudonym) != PSEUDONYM_BYTES:
        raise MalformedField("analysis_pseudonym", PSEUDONYM_BYTES, len(pseudonym))
    associated_data = _associated_data(version, m2, m3)
    handle_aead = ChaCha20Poly1305(_key(c3_m, c4_m, version, HANDLE.label, HANDLE.key_origin))
    record(Operation.SYMMETRIC, HANDLE.aead_origin)
    settings_aead = ChaCha20Poly1305(_key(c3_m, c4_m, version, SETTINGS.label, SETTINGS.key_origin))
    record(Operation.SYMMETRIC, SETTINGS.aead_origin)
    return (
        handle_aead.encrypt(_ZERO_NONCE, pseudonym, associated_data),
        settings_aead.encrypt(_ZERO_NONCE, bytes([settings.spo2_scale]), associated_data),
    )


def open_handle(handle: bytes, *, c3_m: bytes, c4_m: bytes, version: int, m2: M2, m3: M3) -> bytes:
    """The MEC's side: recover the pseudonym, or fail authentication."""
    if len(handle) != HANDLE_BYTES:
        raise MalformedField("analysis_handle", HANDLE_BYTES, len(handle))
    pseudonym = open_beside_m3(HANDLE, handle, c3_m=c3_m, c4_m=c4_m, version=version, m2=m2, m3=m3)
    if pseudonym is None:
        raise AuthenticationFailed("bad_analysis_handle")
    return pseudonym


@dataclass(frozen=True, slots=True)
class AnalysisSettings:
    """What the MEC needs to know about an analysis to analyse it; nothing about the patient."""

    spo2_scale: SpO2Scale = SpO2Scale.SCALE_1


def open_settings(
    sealed: bytes, *, c3_m: bytes, c4_m: bytes, version: int, m2: M2, m3: M3
) -> AnalysisSettings:
    """The MEC's side: recover the analysis settings, or fail authentication."""
    if len(sealed) != SETTINGS_BYTES:
        raise MalformedField("analysis_settings", SETTINGS_BYTES, len(sealed))
    plaintext = open_beside_m3(
        SETTINGS, sealed, c3_m=c3_m, c4_m=c4_m, version=version, m2=m2, m3=m3
    )
    if plaintext is None:
        raise AuthenticationFailed("bad_analysis_settings")
    return _settings(plaintext)


def _settings(plaintext: bytes) -> AnalysisSettings:
    if len(plaintext) != SETTINGS_PLAINTEXT_BYTES or (
        plaintext[0] not in SpO2Scale._value2member_map_
    ):
        raise AuthenticationFailed("bad_analysis_settings")  # only the TTP could have sealed it
    return AnalysisSettings(SpO2Scale(plaintext[0]))


def vouch_analysis(pseudonym: bytes, settings: AnalysisSettings) -> bytes:
    """What the TTP vouches to the MEC for a device under [36]: its analysis's pseudonym and
    settings, ``pseudonym (32) ‖ SpO2 scale (1)``."""
    if len(pseudonym) != PSEUDONYM_BYTES:
        raise MalformedField("analysis_pseudonym", PSEUDONYM_BYTES, len(pseudonym))
    return pseudonym + bytes([settings.spo2_scale])


def vouched_analysis(vouched: bytes) -> tuple[bytes, AnalysisSettings]:
    """The MEC's side of ``vouch_analysis``; AuthenticationFailed for any other layout (only
    the TTP could have sealed it)."""
    return vouched[:PSEUDONYM_BYTES], _settings(vouched[PSEUDONYM_BYTES:])
