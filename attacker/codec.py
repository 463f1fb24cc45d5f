"""Reading and rewriting the key-agreement messages the attacker sees on a link.

The links carry protobuf bytes; the paper's messages sit in their ``m1``..``m4`` fields and the
analysis handle beside M3. A rewrite flips one bit of one field, so every other byte of the
message stays exactly as the honest party sent it.
"""

from __future__ import annotations

from typing import Any

from mec5g.core.messages import M1, M2
from mec5g.v1 import mec_key_agreement_pb2, ttp_key_agreement_pb2

AGREE = "/mec5g.v1.MecKeyAgreementService/Agree"  # UE to MEC: M1 in, M4 out
VERIFY = "/mec5g.v1.TtpKeyAgreementService/Verify"  # MEC to TTP: M2 in, M3 and handle out

_TYPES: dict[tuple[str, str], Any] = {  # the generated message classes
    (AGREE, "request"): mec_key_agreement_pb2.AgreeRequest,
    (AGREE, "response"): mec_key_agreement_pb2.AgreeResponse,
    (VERIFY, "request"): ttp_key_agreement_pb2.VerifyRequest,
    (VERIFY, "response"): ttp_key_agreement_pb2.VerifyResponse,
}


def field_of(method: str, direction: str, payload: bytes, name: str) -> bytes:
    """The bytes field ``name`` of a captured message."""
    message = _TYPES[(method, direction)].FromString(payload)
    return bytes(getattr(message, name))


def flip_bit(method: str, direction: str, payload: bytes, name: str, offset: int) -> bytes:
    """The message with one bit flipped in byte ``offset`` of field ``name``."""
    message = _TYPES[(method, direction)].FromString(payload)
    value = bytearray(getattr(message, name))
    value[offset] ^= 0x01
    setattr(message, name, bytes(value))
    return bytes(message.SerializeToString())


def device_identity(agree_request: bytes) -> bytes:
    """DIDi of the M1 inside an AgreeRequest: what anyone on the radio link reads."""
    return M1.parse(field_of(AGREE, "request", agree_request, "m1")).did_i


def mec_identity(verify_request: bytes) -> bytes:
    """DIDm of the M2 inside a VerifyRequest: what anyone on the backhaul reads."""
    return M2.parse(field_of(VERIFY, "request", verify_request, "m2")).did_m
