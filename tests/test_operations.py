"""The paper's Table 1 and Table 2, from the instrumented core and live from the metrics.

Table 1 (section 7.1): per handshake the device computes 2 Th, the MEC 2 Th, the TTP 3 Th.
Table 2 (section 7.2): M1 512, M2 1024, M3 512, M4 384 bits, 2432 in all. Our additions (the
counter nonce's AES, the handle's HKDF and AEAD, the pseudonym's HMAC, the version field and
protobuf framing) are counted apart, each addition under an origin of its own.
"""

from __future__ import annotations

import contextlib
from pathlib import Path

import pytest
from grpc_stack import enrol, start_mec, start_ttp, start_ue

from mec5g.core import device_role, mec_role
from mec5g.core.credentials import HolderState, RecordRule
from mec5g.core.memory_records import InMemoryRecords
from mec5g.core.operations import (
    OUR_ADDITIONS,
    Ledger,
    Operation,
    Origin,
    counting,
    table_notation,
)
from mec5g.core.records import RecordKind
from mec5g.core.ttp_role import Accepted
from mec5g.runtime.metrics import Metrics
from mec5g.ue.fleet import Outcome


def _handshake_ledgers(rule: RecordRule) -> dict[str, Ledger]:
    """One handshake, each party's computations counted in its own ledger."""
    records = InMemoryRecords()
    device = HolderState(records.enrol(RecordKind.DEVICE, "analysis", rule)[1], rule)
    mec = HolderState(records.enrol(RecordKind.MEC, "mec-1", rule)[1], rule)
    with counting() as at_device:
        device, device_attempt = device.begin_attempt()
        device_session = device_role.start(device_attempt)
    with counting() as at_mec:
        mec, mec_attempt = mec.begin_attempt()
        mec_session = mec_role.forward(mec_attempt, device_session.m1.to_bytes())
    with counting() as at_ttp:
        answer = records.answer(mec_session.m2, int(rule))
    assert isinstance(answer, Accepted)
    with counting() as at_mec_again:
        result = mec_role.finish(
            mec_session, answer.m3.to_bytes(), answer.analysis_handle, int(rule)
        )
        mec_role.open_settings(
            mec_session, answer.m3.to_bytes(), answer.analysis_settings, int(rule)
        )
    with counting() as at_device_again:
        device_role.finish(device_session, result.m4.to_bytes())
    at_device.update(at_device_again)
    at_mec.update(at_mec_again)
    return {"device": at_device, "mec": at_mec, "ttp": at_ttp}


@pytest.mark.parametrize("rule", list(RecordRule))
def test_table_1_paper_counts(rule: RecordRule) -> None:
    ledgers = _handshake_ledgers(rule)
    assert table_notation(ledgers["device"], Origin.PAPER) == "2Th"
    assert table_notation(ledgers["mec"], Origin.PAPER) == "2Th"
    assert table_notation(ledgers["ttp"], Origin.PAPER) == "3Th"


def test_our_additions_are_counted_apart() -> None:
    counter = _handshake_ledgers(RecordRule.COUNTER)
    # The counter nonce: one AES block per holder; the TTP decrypts two.
    assert table_notation(counter["device"], OUR_ADDITIONS) == "1Ts"
    # MEC: its nonce, the AEADs of the handle and of the analysis settings, and each one's
    # HKDF key (extract + expand).
    assert table_notation(counter["mec"], OUR_ADDITIONS) == "3Ts + 4Th"
    # TTP: two counter decryptions, the two AEADs and HKDFs, and the pseudonym's HMAC (first use).
    assert table_notation(counter["ttp"], OUR_ADDITIONS) == "4Ts + 5Th"
    paper = _handshake_ledgers(RecordRule.PAPER)
    assert table_notation(paper["device"], OUR_ADDITIONS) == "0", "random nonces cost nothing"
    # Each addition under its own origin.
    ttp = counter["ttp"]
    assert table_notation(ttp, Origin.COUNTER_NONCE) == "2Ts"
    assert table_notation(ttp, Origin.HANDLE_KEY) == "2Th"
    assert table_notation(ttp, Origin.HANDLE_AEAD) == "1Ts"
    assert table_notation(ttp, Origin.PSEUDONYM) == "1Th"
    for party in ("ttp", "mec"):
        assert table_notation(counter[party], Origin.SETTINGS_KEY) == "2Th", party
        assert table_notation(counter[party], Origin.SETTINGS_AEAD) == "1Ts", party
    assert table_notation(counter["mec"], Origin.HANDLE_KEY) == "2Th"
    assert table_notation(counter["mec"], Origin.COUNTER_NONCE) == "1Ts"
    assert paper["ttp"][(Operation.SYMMETRIC, Origin.COUNTER_NONCE)] == 2, (
        "the TTP's work is uniform"
    )


def _sample(metrics: Metrics, name: str, labels: dict[str, str]) -> float:
    value = metrics.registry.get_sample_value(name, labels)
    return 0.0 if value is None else value


async def test_tables_1_and_2_live_from_the_metrics(tmp_path: Path) -> None:
    enrolled = enrol(tmp_path, devices=2, mec_credentials=2)
    handshakes = 4
    async with contextlib.AsyncExitStack() as stack:
        ttp = await start_ttp(stack, enrolled.ttp_db)
        mec = await start_mec(stack, tmp_path / "mec.db", enrolled.mec_file, ttp.target)
        ue = await start_ue(stack, tmp_path / "ue.db", enrolled.ue_file, mec.target)
        for _ in range(handshakes):
            assert (await ue.fleet.attach()).outcome is Outcome.SUCCESS
        await mec.pool.drain()

        def hashes(metrics: Metrics, role: str) -> float:
            labels = {"role": role, "phase": "key_agreement", "operation": "Th", "origin": "paper"}
            return _sample(metrics, "mec5g_operations_total", labels)

        assert hashes(ue.running.metrics, "ue") == 2 * handshakes
        assert hashes(mec.metrics, "mec") == 2 * handshakes
        assert hashes(ttp.metrics, "ttp") == 3 * handshakes

        for metrics, role in ((ue.running.metrics, "ue"), (mec.metrics, "mec"),
                              (ttp.metrics, "ttp")):  # fmt: skip
            phase = {"role": role, "phase": "key_agreement"}
            computing = _sample(metrics, "mec5g_computation_seconds_total", phase)
            assert computing > 0, role
            outcomes = "success" if role == "ue" else "accepted"
            wall = _sample(
                metrics, "mec5g_phase_duration_seconds_sum", {**phase, "outcome": outcomes}
            )
            assert computing < wall, f"{role}: computation is a part of the phase's wall time"

        def sent(metrics: Metrics, role: str, message: str, origin: str) -> float:
            labels = {"role": role, "message": message, "origin": origin}
            return _sample(metrics, "mec5g_message_bytes_total", labels)

        paper_bits = {
            "M1": 8 * sent(ue.running.metrics, "ue", "M1", "paper"),
            "M2": 8 * sent(mec.metrics, "mec", "M2", "paper"),
            "M3": 8 * sent(ttp.metrics, "ttp", "M3", "paper"),
            "M4": 8 * sent(mec.metrics, "mec", "M4", "paper"),
        }
        assert {name: bits / handshakes for name, bits in paper_bits.items()} == {
            "M1": 512,
            "M2": 1024,
            "M3": 512,
            "M4": 384,
        }
        # The handle (48 bytes), the analysis settings (17) and the version travel beside M3.
        assert sent(ttp.metrics, "ttp", "M3", "ours") / handshakes >= 48 + 17 + 2
