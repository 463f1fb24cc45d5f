"""The phase-4 data channel (core/data_channel.py): keys per direction and purpose, sealed
numbered records, and the RFC 4303 section 3.4.3 anti-replay window.

Replays, records older than the window and tampered records are refused with
``AuthenticationFailed`` (whose reason stays with the receiver) and never move the window;
reordering within the window is accepted.
"""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mec5g.core import data_channel
from mec5g.core.data_channel import Direction, Purpose, Receiver, ReplayWindow, Sender
from mec5g.core.errors import AuthenticationFailed, MalformedInput
from mec5g.core.messages import M1, M4
from mec5g.core.operations import Operation, Origin, counting

M1_SAMPLE = M1(bytes(16), bytes([1]) * 16, bytes([2]) * 32).to_bytes()
M4_SAMPLE = M4(bytes([3]) * 16, bytes([4]) * 32).to_bytes()
SK = bytes(range(16))


def _pair(window: int = 8) -> tuple[Sender, Receiver]:
    keys = data_channel.derive(SK, M1_SAMPLE, M4_SAMPLE, 1)
    same = data_channel.derive(SK, M1_SAMPLE, M4_SAMPLE, 1)
    return Sender(keys, Direction.UPLINK), Receiver(same, Direction.UPLINK, window)


def _refusal(receiver: Receiver, record: bytes) -> str:
    with pytest.raises(AuthenticationFailed) as raised:
        receiver.open(record)
    return str(raised.value.reason)


def test_keys_differ_per_purpose_and_session_and_never_equal_sk() -> None:
    keys = data_channel.derive(SK, M1_SAMPLE, M4_SAMPLE, 1)
    values = [*keys.keys.values(), keys.session_id]
    assert len(set(values)) == len(values) == len(Purpose) + 1
    assert all(SK not in value for value in values)
    other_version = data_channel.derive(SK, M1_SAMPLE, M4_SAMPLE, 2)
    assert other_version.session_id != keys.session_id
    other_salt = data_channel.derive(SK, M1_SAMPLE, M4(bytes(16), bytes([4]) * 32).to_bytes(), 1)
    assert other_salt.keys[Purpose.READING] != keys.keys[Purpose.READING]
    assert "secret" in repr(keys)


def test_records_round_trip_and_carry_the_session_id_and_sequence() -> None:
    sender, receiver = _pair()
    first = sender.seal(Purpose.READING, b"one")
    second = sender.seal(Purpose.CHECK_IN, b"two")
    header = data_channel.parse_header(second)
    assert header.sequence == 2
    assert header.purpose is Purpose.CHECK_IN
    assert len(first) == data_channel.HEADER_BYTES + 3 + data_channel.TAG_BYTES
    assert receiver.open(first).payload == b"one"
    opened = receiver.open(second)
    assert (opened.purpose, opened.sequence, opened.payload) == (Purpose.CHECK_IN, 2, b"two")


def test_replay_is_refused() -> None:
    sender, receiver = _pair()
    record = sender.seal(Purpose.READING, b"x")
    receiver.open(record)
    assert _refusal(receiver, record) == "replay"


def test_reordering_within_the_window_is_accepted_beyond_it_refused() -> None:
    sender, receiver = _pair(window=8)
    records = [sender.seal(Purpose.READING, bytes([n])) for n in range(1, 21)]
    receiver.open(records[9])  # sequence 10
    assert receiver.open(records[2]).sequence == 3  # 10 - 3 = 7 < 8: inside the window
    assert _refusal(receiver, records[1]) == "too_old"  # sequence 2: 10 - 2 = 8
    assert _refusal(receiver, records[2]) == "replay"
    receiver.open(records[19])  # sequence 20 slides the window to 13..20
    assert _refusal(receiver, records[11]) == "too_old"  # sequence 12
    assert receiver.open(records[12]).sequence == 13


@pytest.mark.parametrize("where", [0, 1, 2, 20, 25, -1])
def test_tampering_anywhere_is_refused_and_does_not_move_the_window(where: int) -> None:
    sender, receiver = _pair()
    record = bytearray(sender.seal(Purpose.READING, b"payload"))
    record[where] ^= 0x01
    with pytest.raises((AuthenticationFailed, MalformedInput)):
        receiver.open(bytes(record))
    assert receiver.window.highest == 0


def test_a_forged_high_sequence_does_not_move_the_window() -> None:
    sender, receiver = _pair()
    genuine = sender.seal(Purpose.READING, b"a")
    forged = bytearray(genuine)
    forged[18:26] = (1000).to_bytes(8, "big")
    assert _refusal(receiver, bytes(forged)) == "tampered"
    assert receiver.open(genuine).sequence == 1


def test_another_sessions_record_is_refused() -> None:
    sender, _ = _pair()
    other = data_channel.derive(bytes(16), M1_SAMPLE, M4_SAMPLE, 1)
    receiver = Receiver(other, Direction.UPLINK)
    assert _refusal(receiver, sender.seal(Purpose.READING, b"a")) == "wrong_session"


def test_acks_travel_downlink_only() -> None:
    keys = data_channel.derive(SK, M1_SAMPLE, M4_SAMPLE, 1)
    with pytest.raises(ValueError, match="do not travel"):
        Sender(keys, Direction.UPLINK).seal(Purpose.ACK, b"")
    ack = Sender(keys, Direction.DOWNLINK).seal(Purpose.ACK, b"")
    with pytest.raises(MalformedInput, match="does not travel here"):
        Receiver(keys, Direction.UPLINK).open(ack)
    assert Receiver(keys, Direction.DOWNLINK).open(ack).purpose is Purpose.ACK


@pytest.mark.parametrize(
    ("record", "field"),
    [
        (b"\x01" * 41, "record"),
        (b"\x01" * 299, "record"),
        (b"\x02" + b"\x01" * 41, "record.version"),
        (b"\x01\x09" + b"\x01" * 40, "record.purpose"),
    ],
)
def test_malformed_records_name_the_field(record: bytes, field: str) -> None:
    with pytest.raises(MalformedInput) as raised:
        data_channel.parse_header(record)
    assert raised.value.field == field
    assert field in str(raised.value)


def test_operations_are_counted_under_their_own_origins() -> None:
    with counting() as ledger:
        sender, receiver = _pair()
        receiver.open(sender.seal(Purpose.READING, b"a"))
    assert ledger[(Operation.SYMMETRIC, Origin.DATA_AEAD)] == 2
    assert ledger[(Operation.HASH, Origin.DATA_KEYS)] == 2 * 5  # per end: 1 extract, 4 expands
    assert set(ledger) == {
        (Operation.SYMMETRIC, Origin.DATA_AEAD),
        (Operation.HASH, Origin.DATA_KEYS),
    }
    assert not ledger[(Operation.HASH, Origin.PAPER)]


@given(st.lists(st.integers(min_value=1, max_value=200), max_size=300))
def test_window_accepts_each_sequence_at_most_once(sequences: list[int]) -> None:
    """Against a model: new and within the window is accepted; everything else refused."""
    window = ReplayWindow(16)
    accepted: set[int] = set()
    for sequence in sequences:
        expected_ok = sequence not in accepted and sequence > max(accepted, default=0) - 16
        assert (window.refusal(sequence) is None) is expected_ok
        if expected_ok:
            window.accept(sequence)
            accepted.add(sequence)


def test_the_device_accepts_only_the_acknowledgement_of_its_record() -> None:
    keys = data_channel.derive(SK, M1_SAMPLE, M4_SAMPLE, 1)
    device = data_channel.DeviceEnd(keys)
    mec_in = Receiver(keys, Direction.UPLINK)
    mec_out = Sender(keys, Direction.DOWNLINK)
    first, record = device.seal(Purpose.READING, b"r1")
    second, _ = device.seal(Purpose.READING, b"r2")
    assert (first, second, device.sent) == (1, 2, 2)
    opened = mec_in.open(record)
    ack = mec_out.seal(Purpose.ACK, opened.sequence.to_bytes(8, "big"))
    with pytest.raises(AuthenticationFailed):
        device.check_ack(ack, second)  # an acknowledgement of record 1 is not one of record 2
    other = mec_out.seal(Purpose.ACK, first.to_bytes(8, "big"))
    device.check_ack(other, first)
    with pytest.raises(AuthenticationFailed):
        device.check_ack(other, first)  # replayed
    forged = Sender(data_channel.derive(bytes(16), M1_SAMPLE, M4_SAMPLE, 1), Direction.DOWNLINK)
    with pytest.raises(AuthenticationFailed):
        device.check_ack(forged.seal(Purpose.ACK, second.to_bytes(8, "big")), second)
