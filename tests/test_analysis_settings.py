"""The analysis settings the TTP seals beside the analysis handle (core/handle.py, phase 4): the
NEWS2 SpO2 scale a clinician chose reaches the MEC authenticated and bound to its handshake, and
a missing, tampered or moved settings ciphertext fails the handshake like a bad handle."""

from __future__ import annotations

from pathlib import Path

import pytest

from mec5g.core import device_role, handle, mec_role, ttp_role
from mec5g.core.credentials import HolderState, RecordRule
from mec5g.core.errors import AuthenticationFailed, MalformedField
from mec5g.core.handle import AnalysisSettings
from mec5g.core.memory_records import InMemoryRecords
from mec5g.core.news2 import SpO2Scale
from mec5g.core.records import RecordKind
from mec5g.ttp.keystore import KeyStore

RULE = RecordRule.COUNTER


def _handshake(
    records: InMemoryRecords, scale: SpO2Scale
) -> tuple[mec_role.MecSession, ttp_role.Accepted]:
    device = HolderState(records.enrol(RecordKind.DEVICE, "analysis", RULE)[1], RULE)
    mec = HolderState(records.enrol(RecordKind.MEC, "mec-1", RULE)[1], RULE)
    _, device_attempt = device.begin_attempt()
    _, mec_attempt = mec.begin_attempt()
    session = mec_role.forward(mec_attempt, device_role.start(device_attempt).m1.to_bytes())
    resolve = records.resolve
    answer = ttp_role.answer(
        session.m2,
        int(RULE),
        resolve(RecordKind.DEVICE, session.m2.m1.did_i),
        resolve(RecordKind.MEC, session.m2.did_m),
        pseudonym_for=records.pseudonym_for,
        settings_for=lambda record: AnalysisSettings(scale),
    )
    assert isinstance(answer, ttp_role.Accepted)
    return session, answer


@pytest.mark.parametrize("scale", list(SpO2Scale))
def test_the_mec_opens_the_scale_the_ttp_sealed(scale: SpO2Scale) -> None:
    session, answer = _handshake(InMemoryRecords(), scale)
    assert len(answer.analysis_settings) == handle.SETTINGS_BYTES == 17
    opened = mec_role.open_settings(
        session, answer.m3.to_bytes(), answer.analysis_settings, int(RULE)
    )
    assert opened.spo2_scale is scale


@pytest.mark.parametrize("position", [0, 16])
def test_tampered_settings_fail(position: int) -> None:
    session, answer = _handshake(InMemoryRecords(), SpO2Scale.SCALE_2)
    tampered = bytearray(answer.analysis_settings)
    tampered[position] ^= 1
    with pytest.raises(AuthenticationFailed) as raised:
        mec_role.open_settings(session, answer.m3.to_bytes(), bytes(tampered), int(RULE))
    assert raised.value.reason == "bad_analysis_settings"


def test_settings_of_another_handshake_fail() -> None:
    records = InMemoryRecords()
    session, _ = _handshake(records, SpO2Scale.SCALE_1)
    _, other = _handshake(records, SpO2Scale.SCALE_2)
    with pytest.raises(AuthenticationFailed):
        mec_role.open_settings(session, other.m3.to_bytes(), other.analysis_settings, int(RULE))


@pytest.mark.parametrize("length", [0, 16, 18])
def test_missing_or_mis_sized_settings_name_the_field(length: int) -> None:
    session, answer = _handshake(InMemoryRecords(), SpO2Scale.SCALE_1)
    with pytest.raises(MalformedField) as raised:
        mec_role.open_settings(
            session, answer.m3.to_bytes(), (answer.analysis_settings + b"\0")[:length], int(RULE)
        )
    assert raised.value.field == "analysis_settings"


async def test_the_key_store_seals_the_scale_set_for_the_analysis(tmp_path: Path) -> None:
    store = KeyStore(tmp_path / "ttp.db")
    try:
        device = store.enrol(RecordKind.DEVICE, ["dev-1", "dev-2"], "ward-7", RULE)
        mec = store.enrol(RecordKind.MEC, ["mec-1/cred-1", "mec-1/cred-2"], "mec-1", RULE)
        store.set_analysis_settings("ward-7", AnalysisSettings(SpO2Scale.SCALE_2))
        scales = []
        for device_label, mec_label in (("dev-1", "mec-1/cred-1"), ("dev-2", "mec-1/cred-2")):
            _, device_attempt = HolderState(device[device_label], RULE).begin_attempt()
            _, mec_attempt = HolderState(mec[mec_label], RULE).begin_attempt()
            m1 = device_role.start(device_attempt).m1.to_bytes()
            session = mec_role.forward(mec_attempt, m1)
            answer = await store.answer(session.m2, int(RULE))
            assert isinstance(answer, ttp_role.Accepted)
            opened = mec_role.open_settings(
                session, answer.m3.to_bytes(), answer.analysis_settings, int(RULE)
            )
            scales.append(opened.spo2_scale)
            store.set_analysis_settings("ward-7", AnalysisSettings(SpO2Scale.SCALE_1))
        assert scales == [SpO2Scale.SCALE_2, SpO2Scale.SCALE_1]
    finally:
        store.close()
