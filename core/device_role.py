"""The IoT device's part of the key agreement (SPEC.md "Flow", steps 1 and 5; paper 5.3.1, 5.3.5).

Costs the paper's 2 Th per handshake (one H1, one H2), plus one AES block under the counter rule
(the nonce), which is reported apart from the paper's counts.
"""

from __future__ import annotations

from dataclasses import dataclass

from mec5g.core.credentials import Attempt, Credential
from mec5g.core.errors import AuthenticationFailed
from mec5g.core.messages import M1, M4
from mec5g.core.primitives import constant_time_equal, h1, h2, xor


@dataclass(frozen=True, slots=True)
class DeviceSession:
    """What the device keeps between sending M1 and receiving M4: R1, ci2, ci3, ci4."""

    attempt: Attempt
    m1: M1
    c2: bytes
    c3: bytes
    c4: bytes

    def __repr__(self) -> str:
        return f"DeviceSession(counter={self.attempt.counter})"


@dataclass(frozen=True, slots=True)
class DeviceResult:
    """A completed handshake: the session key and the credential to adopt."""

    session_key: bytes
    successor: Credential

    def __repr__(self) -> str:
        return "DeviceResult(<secret>)"


def start(attempt: Attempt) -> DeviceSession:
    """Step 1: (ci1..ci4) = H1(DIDi ‖ DKi ‖ R1); M1 = DIDi ‖ R1 ‖ ci1."""
    credential = attempt.credential
    c1, c2, c3, c4 = h1(credential.did + credential.dk + attempt.nonce)
    return DeviceSession(attempt, M1(credential.did, attempt.nonce, c1), c2, c3, c4)


def finish(session: DeviceSession, m4_bytes: bytes) -> DeviceResult:
    """Step 5: SK = ci2 ⊕ ci3 ⊕ ci4 ⊕ d2; check d3 = H2(SK ‖ R1); successor (ci2, ci3)."""
    m4 = M4.parse(m4_bytes)
    session_key = xor(session.c2, session.c3, session.c4, m4.d2)
    if not constant_time_equal(h2(session_key + session.m1.r1), m4.d3):
        raise AuthenticationFailed("bad_d3_at_device")
    return DeviceResult(session_key, Credential(session.c2, session.c3))
