"""One whole handshake over in-memory parties, with explicit nonces.

This is how the test vectors are made and checked: every party's real role code runs, only the
transport is a function call. It is not what the servers run; they call the roles one step at a
time around their own I/O.
"""

from __future__ import annotations

from dataclasses import dataclass

from mec5g.core import device_role, mec_role
from mec5g.core.credentials import Attempt, Credential, RecordRule
from mec5g.core.errors import AuthenticationFailed
from mec5g.core.memory_records import InMemoryRecords
from mec5g.core.records import RecordKind
from mec5g.core.ttp_role import Accepted


@dataclass(frozen=True, slots=True)
class Transcript:
    """Everything a handshake put on the wire, the agreed key and both successors."""

    m1: bytes
    m2: bytes
    m3: bytes
    m4: bytes
    session_key: bytes
    device_successor: Credential
    mec_successor: Credential

    def __repr__(self) -> str:
        return "Transcript(<secret>)"


def run_with_nonces(
    device: Credential, mec: Credential, r1: bytes, r2: bytes, r3: bytes
) -> Transcript:
    """Run the paper's flow with R1, R2 and R3 given; the result holds for either record rule."""
    records = InMemoryRecords()
    records.enrol(RecordKind.DEVICE, "analysis", RecordRule.PAPER, device)
    records.enrol(RecordKind.MEC, "mec", RecordRule.PAPER, mec)
    version = int(RecordRule.PAPER)

    device_session = device_role.start(Attempt(device, 1, r1))
    mec_session = mec_role.forward(Attempt(mec, 1, r2), device_session.m1.to_bytes())
    result = records.answer(mec_session.m2, version, r3=r3)
    if not isinstance(result, Accepted):
        raise AuthenticationFailed(result.reason)
    m3 = result.m3.to_bytes()
    at_mec = mec_role.finish(mec_session, m3, result.analysis_handle, version)
    m4 = at_mec.m4.to_bytes()
    at_device = device_role.finish(device_session, m4)
    if at_device.session_key != at_mec.session_key:
        raise AssertionError("device and MEC derived different keys")
    return Transcript(
        m1=device_session.m1.to_bytes(),
        m2=mec_session.m2.to_bytes(),
        m3=m3,
        m4=m4,
        session_key=at_device.session_key,
        device_successor=at_device.successor,
        mec_successor=at_mec.successor,
    )
