"""The MEC's session table (mec/sessions.py): unconfirmed until the first valid record, dropped
if never confirmed, ended after N records or T seconds, bounded with unconfirmed ones evicted
first. The clock is a variable the test moves."""

from __future__ import annotations

from mec5g.core import data_channel
from mec5g.core.handle import AnalysisSettings
from mec5g.core.messages import M1, M4
from mec5g.mec.sessions import SessionLimits, SessionState, SessionTable

M1_SAMPLE = M1(bytes(16), bytes(16), bytes(32)).to_bytes()


def _keys(number: int) -> data_channel.SessionKeys:
    return data_channel.derive(
        bytes([number]) * 16, M1_SAMPLE, M4(bytes(16), bytes(32)).to_bytes(), 1
    )


def _open(table: SessionTable, number: int, pseudonym: bytes, settings: AnalysisSettings) -> None:
    keys = _keys(number)
    table.open(keys.session_id, lambda: keys.keys, pseudonym, settings)


def _table(**limits: float) -> tuple[SessionTable, list[float]]:
    now = [0.0]
    return SessionTable(SessionLimits(**limits), lambda: now[0]), now  # type: ignore[arg-type]


def test_unconfirmed_until_the_first_record_and_dropped_if_never_confirmed() -> None:
    table, now = _table(unconfirmed_ttl=10.0, max_age=100.0)
    for number in (1, 2):
        _open(table, number, b"p" * 32, AnalysisSettings())
    assert table.counts() == {SessionState.UNCONFIRMED: 2, SessionState.CONFIRMED: 0}
    first, why = table.find(_keys(1).session_id)
    assert first is not None
    assert not why
    table.confirm(first)
    assert table.counts() == {SessionState.UNCONFIRMED: 1, SessionState.CONFIRMED: 1}
    now[0] = 11.0
    assert table.find(_keys(2).session_id) == (None, "expired")
    assert table.find(_keys(1).session_id)[0] is first
    assert table.find(_keys(9).session_id) == (None, "unknown_session")


def test_a_session_ends_after_n_records_or_t_seconds() -> None:
    table, now = _table(max_records=2, max_age=50.0)
    _open(table, 1, b"p" * 32, AnalysisSettings())
    _open(table, 2, b"q" * 32, AnalysisSettings())
    counted, _ = table.find(_keys(1).session_id)
    aged, _ = table.find(_keys(2).session_id)
    assert counted is not None
    assert aged is not None
    table.confirm(counted)
    table.confirm(aged)
    assert table.find(_keys(1).session_id)[0] is counted
    table.confirm(counted)
    assert table.find(_keys(1).session_id) == (None, "expired")
    now[0] = 50.0
    assert table.find(_keys(2).session_id)[0] is aged
    now[0] = 50.5
    assert table.find(_keys(2).session_id) == (None, "expired")
    assert table.counts() == {SessionState.UNCONFIRMED: 0, SessionState.CONFIRMED: 0}


def test_the_table_is_bounded_and_evicts_unconfirmed_sessions_first() -> None:
    table, _ = _table(max_sessions=2)
    _open(table, 1, b"p" * 32, AnalysisSettings())
    confirmed, _ = table.find(_keys(1).session_id)
    assert confirmed is not None
    table.confirm(confirmed)
    _open(table, 2, b"p" * 32, AnalysisSettings())
    _open(table, 3, b"p" * 32, AnalysisSettings())
    assert table.find(_keys(2).session_id) == (None, "unknown_session")
    assert table.find(_keys(1).session_id)[0] is confirmed
    third, _ = table.find(_keys(3).session_id)
    assert third is not None
    table.confirm(third)
    _open(table, 4, b"p" * 32, AnalysisSettings())
    assert table.find(_keys(1).session_id) == (None, "unknown_session"), "then the oldest"
    assert len(table.sessions()) == 2


def test_opening_a_session_drops_the_expired_ones_at_the_front() -> None:
    table, now = _table(unconfirmed_ttl=10.0)
    _open(table, 1, b"p" * 32, AnalysisSettings())
    now[0] = 5.0
    _open(table, 2, b"p" * 32, AnalysisSettings())
    now[0] = 12.0
    _open(table, 3, b"p" * 32, AnalysisSettings())
    assert table.counts()[SessionState.UNCONFIRMED] == 2, "the first expired, the second not yet"


def test_keys_are_derived_on_the_first_record_only() -> None:
    table, _ = _table()
    derived = []
    keys = _keys(1)

    def traffic_keys() -> dict[data_channel.Purpose, bytes]:
        derived.append(1)
        return keys.keys

    table.open(keys.session_id, traffic_keys, b"p" * 32, AnalysisSettings())
    session, _ = table.find(keys.session_id)
    assert session is not None
    assert derived == []
    receiver, sender = session.ends()
    assert session.ends() == (receiver, sender)
    assert derived == [1]
    device = data_channel.DeviceEnd(keys)
    sequence, record = device.seal(data_channel.Purpose.READING, b"x")
    assert receiver.open(record).payload == b"x"
    device.check_ack(sender.seal(data_channel.Purpose.ACK, sequence.to_bytes(8, "big")), sequence)
