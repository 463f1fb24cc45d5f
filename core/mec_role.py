"""The MEC edge node's part of the key agreement (SPEC.md "Flow", steps 2, 4; paper 5.3.2, 5.3.4).

The MEC computes with one of its K credentials, leased for this handshake alone (DESIGN.md
decision 5). Costs the paper's 2 Th, plus one AES block (counter nonce) and the handle's HKDF and
AEAD, both reported apart.
"""

from __future__ import annotations

from dataclasses import dataclass

from mec5g.core import handle
from mec5g.core.credentials import Attempt, Credential
from mec5g.core.errors import AuthenticationFailed
from mec5g.core.messages import M1, M2, M3, M4
from mec5g.core.primitives import constant_time_equal, h1, h2, xor


@dataclass(frozen=True, slots=True)
class MecSession:
    """What the MEC keeps between sending M2 and receiving M3: R1, R2, cm2, cm3, cm4."""

    attempt: Attempt
    m2: M2
    c2: bytes
    c3: bytes
    c4: bytes

    def __repr__(self) -> str:
        return f"MecSession(counter={self.attempt.counter})"


@dataclass(frozen=True, slots=True)
class MecResult:
    """A completed handshake at the MEC: session key, M4 for the device, successor, pseudonym."""

    session_key: bytes
    m4: M4
    successor: Credential
    analysis_pseudonym: bytes

    def __repr__(self) -> str:
        return "MecResult(<secret>)"


def forward(attempt: Attempt, m1_bytes: bytes) -> MecSession:
    """Step 2: (cm1..cm4) = H1(DIDm ‖ DKm ‖ R2 ‖ DIDi ‖ R1 ‖ ci1); M2 = M1 ‖ DIDm ‖ R2 ‖ cm1."""
    m1 = M1.parse(m1_bytes)
    credential = attempt.credential
    c1, c2, c3, c4 = h1(credential.did + credential.dk + attempt.nonce + m1.to_bytes())
    return MecSession(attempt, M2(m1, credential.did, attempt.nonce, c1), c2, c3, c4)


def finish(session: MecSession, m3_bytes: bytes, analysis_handle: bytes, version: int) -> MecResult:
    """Step 4: SK = cm2 ⊕ cm3 ⊕ cm4 ⊕ d1; check d3 = H2(SK ‖ R1); open the handle; M4 = d2 ‖ d3."""
    m3 = M3.parse(m3_bytes)
    session_key = xor(session.c2, session.c3, session.c4, m3.d1)
    if not constant_time_equal(h2(session_key + session.m2.m1.r1), m3.d3):
        raise AuthenticationFailed("bad_d3_at_mec")
    pseudonym = handle.open_handle(
        analysis_handle, c3_m=session.c3, c4_m=session.c4, version=version, m2=session.m2, m3=m3
    )
    return MecResult(session_key, M4(m3.d2, m3.d3), Credential(session.c2, session.c3), pseudonym)


def open_settings(
    session: MecSession, m3_bytes: bytes, sealed: bytes, version: int
) -> handle.AnalysisSettings:
    """Phase 4 (ours): the analysis settings the TTP sealed beside the handle."""
    return handle.open_settings(
        sealed,
        c3_m=session.c3,
        c4_m=session.c4,
        version=version,
        m2=session.m2,
        m3=M3.parse(m3_bytes),
    )
