"""The TTP's part of the key agreement (SPEC.md "Flow", step 3; paper 5.3.3), with uniform failure.

The store finds the two records (DIDi among devices, DIDm among MEC credentials) and calls
``answer`` inside the transaction that will write its result. ``answer`` is pure: it does the same
work on every path (an unknown DID is checked against a dummy record), combines every check
without short-circuiting, and returns either the answer with both new records or a refusal whose
reason stays at the TTP. A refusal changes nothing.

Costs the paper's 3 Th (two H1, one H2), plus two AES blocks (counters), the handle (HKDF,
AEAD, and one HMAC for the pseudonym) and the analysis settings (HKDF, AEAD), reported apart.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from dataclasses import dataclass, field
from typing import NamedTuple

from mec5g.core import handle
from mec5g.core.credentials import Credential, RecordRule
from mec5g.core.errors import RefusalReason
from mec5g.core.messages import M2, M3
from mec5g.core.primitives import (
    NONCE_BYTES,
    SESSION_KEY_BYTES,
    constant_time_equal,
    counter_from_nonce,
    h1,
    h2,
    random_bytes,
)
from mec5g.core.records import CredentialRecord, RecordKind, Slot


class Resolution(NamedTuple):
    """A record the store found for a DID, under the store's own id, and the slot named."""

    record_id: Hashable
    record: CredentialRecord
    slot: Slot


class Accepted(NamedTuple):
    """The answer: M3, the analysis handle, and both records as they must be written.

    Named tuples (immutable, and cheaper to build than frozen dataclasses), like the records and
    messages: this and the two resolutions are built for every request.
    """

    m3: M3
    analysis_handle: bytes
    analysis_settings: bytes
    device: Resolution
    mec: Resolution
    device_record: CredentialRecord
    mec_record: CredentialRecord
    session_key: bytes
    device_counter: int
    mec_counter: int
    # ci3, ci4 and cm3, cm4: what the device's and the MEC's additions beside the paper's
    # messages are keyed from (a handover's indication and ticket, ``core.handover``).
    c3_i: bytes
    c4_i: bytes
    c3_m: bytes
    c4_m: bytes

    def __repr__(self) -> str:
        return "Accepted(<secret>)"


@dataclass(frozen=True, slots=True)
class Refused:
    """A refusal. ``reason`` is for the TTP's logs and metrics, never for the requester.

    ``stale_record`` names the record whose counter was stale, when that was the reason: a
    replay or a cloned credential, which the operator wants to see per credential.
    """

    reason: RefusalReason
    stale_record: Hashable | None = field(default=None, compare=False)


PseudonymSource = Callable[[CredentialRecord, CredentialRecord], bytes]
SettingsSource = Callable[[CredentialRecord], handle.AnalysisSettings]


def default_settings(device: CredentialRecord) -> handle.AnalysisSettings:
    """The settings of an analysis nobody configured: SpO2 scale 1, as for most patients."""
    return handle.AnalysisSettings()


# Checked in place of a record that does not exist, so that every path hashes and decrypts alike.
_DUMMY_RECORDS = {
    kind: Resolution(
        ("dummy", kind),
        CredentialRecord(kind, RecordRule.COUNTER, Credential.generate(), owner=""),
        Slot.CONFIRMED,
    )
    for kind in RecordKind
}


# In the order of ``checks`` in ``answer``: the first failed check names the reason.
_REASONS = (
    RefusalReason.UNKNOWN_DEVICE,
    RefusalReason.UNKNOWN_MEC,
    RefusalReason.VERSION_MISMATCH,
    RefusalReason.BAD_DEVICE_HASH,
    RefusalReason.BAD_MEC_HASH,
    RefusalReason.STALE_DEVICE_COUNTER,
    RefusalReason.STALE_MEC_COUNTER,
)


def answer(
    m2: M2,
    version: int,
    device: Resolution | None,
    mec: Resolution | None,
    *,
    pseudonym_for: PseudonymSource,
    settings_for: SettingsSource = default_settings,
    r3: bytes | None = None,
) -> Accepted | Refused:
    """Verify M2 against the resolved records and answer it, or refuse it."""
    if device is not None and mec is not None and device.record_id == mec.record_id:
        return Refused(RefusalReason.SAME_RECORD)
    device_found = device is not None
    mec_found = mec is not None
    device_view = device if device is not None else _DUMMY_RECORDS[RecordKind.DEVICE]
    mec_view = mec if mec is not None else _DUMMY_RECORDS[RecordKind.MEC]
    device_key = device_view.record.credential_in(device_view.slot).dk
    mec_key = mec_view.record.credential_in(mec_view.slot).dk
    m1 = m2.m1
    m1_bytes = m1.to_bytes()

    c1_i, c2_i, c3_i, c4_i = h1(m1.did_i + device_key + m1.r1)
    c1_m, c2_m, c3_m, c4_m = h1(m2.did_m + mec_key + m2.r2 + m1_bytes)
    device_counter = counter_from_nonce(device_key, m1.did_i, m1.r1)
    mec_counter = counter_from_nonce(mec_key, m2.did_m, m2.r2)

    device_hash_ok = constant_time_equal(c1_i, m1.c1_i)
    mec_hash_ok = constant_time_equal(c1_m, m2.c1_m)
    device_counter_ok = _counter_passes(device_view, device_counter)
    mec_counter_ok = _counter_passes(mec_view, mec_counter)
    version_ok = version == device_view.record.rule == mec_view.record.rule
    checks = (
        device_found,
        mec_found,
        version_ok,
        device_hash_ok,
        mec_hash_ok,
        device_counter_ok,
        mec_counter_ok,
    )
    if not all(checks) or device is None or mec is None:
        reason = _REASONS[checks.index(False)]
        stale = {
            RefusalReason.STALE_DEVICE_COUNTER: device_view.record_id,
            RefusalReason.STALE_MEC_COUNTER: mec_view.record_id,
        }.get(reason)
        return Refused(reason, stale)

    r3 = r3 if r3 is not None else random_bytes(NONCE_BYTES)
    # XOR on integers: the same ⊕ as primitives.xor, without a call per operand on the hot path.
    r3_value = int.from_bytes(r3, "big")
    device_part = _fold(c2_i, c3_i, c4_i) ^ r3_value  # d1 = ci2 ⊕ ci3 ⊕ ci4 ⊕ R3
    mec_part = _fold(c2_m, c3_m, c4_m) ^ r3_value  # d2 = cm2 ⊕ cm3 ⊕ cm4 ⊕ R3
    session_key = (device_part ^ mec_part ^ r3_value).to_bytes(SESSION_KEY_BYTES, "big")
    m3 = M3(
        device_part.to_bytes(SESSION_KEY_BYTES, "big"),
        mec_part.to_bytes(SESSION_KEY_BYTES, "big"),
        h2(session_key + m1.r1),
    )
    analysis_handle, analysis_settings = handle.seal_answer(
        pseudonym_for(device.record, mec.record),
        settings_for(device.record),
        c3_m=c3_m,
        c4_m=c4_m,
        version=version,
        m2=m2,
        m3=m3,
    )
    return Accepted(
        m3=m3,
        analysis_handle=analysis_handle,
        analysis_settings=analysis_settings,
        device=device,
        mec=mec,
        device_record=device.record.after_accept(
            device.slot, device_counter, Credential(c2_i, c3_i)
        ),
        mec_record=mec.record.after_accept(mec.slot, mec_counter, Credential(c2_m, c3_m)),
        session_key=session_key,
        device_counter=device_counter,
        mec_counter=mec_counter,
        c3_i=c3_i,
        c4_i=c4_i,
        c3_m=c3_m,
        c4_m=c4_m,
    )


def _fold(c2: bytes, c3: bytes, c4: bytes) -> int:
    """c2 ⊕ c3 ⊕ c4 as an integer."""
    return int.from_bytes(c2, "big") ^ int.from_bytes(c3, "big") ^ int.from_bytes(c4, "big")


def _counter_passes(view: Resolution, counter: int) -> bool:
    """SPEC.md: refused if ctr <= last_ctr (0 for the pending slot). The paper's rule has none."""
    if view.record.rule is RecordRule.PAPER:
        return True
    return counter > view.record.counter_floor(view.slot)
