"""The four key-agreement messages with their exact layouts (SPEC.md "Flow").

=====  ==============================  =======  ======
name   layout                          bytes    bits
=====  ==============================  =======  ======
M1     DIDi ‖ R1 ‖ ci1                 64       512
M2     M1 ‖ DIDm ‖ R2 ‖ cm1            128      1024
M3     d1 ‖ d2 ‖ d3                    64       512
M4     d2 ‖ d3                         48       384
=====  ==============================  =======  ======

Together 2432 bits, the paper's Table 2. Parsing checks the whole length before reading any part.

The messages are named tuples, immutable like frozen dataclasses but built in a third of the time:
every request parses or builds four of them at each party.
"""

from __future__ import annotations

from typing import NamedTuple

from mec5g.core.errors import MalformedField
from mec5g.core.primitives import C1_BYTES, H2_BYTES, IDENTITY_BYTES, NONCE_BYTES

M1_BYTES = IDENTITY_BYTES + NONCE_BYTES + C1_BYTES
M2_BYTES = M1_BYTES + IDENTITY_BYTES + NONCE_BYTES + C1_BYTES
M3_BYTES = 16 + 16 + H2_BYTES
M4_BYTES = 16 + H2_BYTES
PAPER_TOTAL_BITS = 8 * (M1_BYTES + M2_BYTES + M3_BYTES + M4_BYTES)


def _require_length(field: str, data: bytes, expected: int) -> None:
    if len(data) != expected:
        raise MalformedField(field, expected, len(data))


class M1(NamedTuple):
    """Device to MEC: the device's request."""

    did_i: bytes
    r1: bytes
    c1_i: bytes

    def to_bytes(self) -> bytes:
        return self.did_i + self.r1 + self.c1_i

    @classmethod
    def parse(cls, data: bytes, field: str = "m1") -> M1:
        _require_length(field, data, M1_BYTES)
        return cls(data[0:16], data[16:32], data[32:64])


class M2(NamedTuple):
    """MEC to TTP: the device's request with the MEC's own appended."""

    m1: M1
    did_m: bytes
    r2: bytes
    c1_m: bytes

    def to_bytes(self) -> bytes:
        return self.m1.to_bytes() + self.did_m + self.r2 + self.c1_m

    @classmethod
    def parse(cls, data: bytes, field: str = "m2") -> M2:
        _require_length(field, data, M2_BYTES)
        return cls(M1.parse(data[:64], field), data[64:80], data[80:96], data[96:128])


class M3(NamedTuple):
    """TTP to MEC: key material for both ends and the verifier d3."""

    d1: bytes
    d2: bytes
    d3: bytes

    def to_bytes(self) -> bytes:
        return self.d1 + self.d2 + self.d3

    @classmethod
    def parse(cls, data: bytes, field: str = "m3") -> M3:
        _require_length(field, data, M3_BYTES)
        return cls(data[0:16], data[16:32], data[32:64])


class M4(NamedTuple):
    """MEC to device: d2 and the verifier d3. Note M4 = M3[16:] (SPEC.md, properties)."""

    d2: bytes
    d3: bytes

    def to_bytes(self) -> bytes:
        return self.d2 + self.d3

    @classmethod
    def parse(cls, data: bytes, field: str = "m4") -> M4:
        _require_length(field, data, M4_BYTES)
        return cls(data[0:16], data[16:48])
