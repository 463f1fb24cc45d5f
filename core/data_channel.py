"""The data channel after key agreement (phase 4): traffic keys, sealed numbered records, and
anti-replay (our addition; SPEC.md "Traffic keys").

Keys. SK is never used raw. HKDF-SHA256 (RFC 5869) with IKM = SK and salt = M1 ‖ M4, which both
ends hold, gives one 32-byte key per direction and purpose, each under its own label (one
extract, then one expand per output):

    info = "mec5g/data/v" ‖ scheme version ‖ "/" ‖ direction ‖ "/" ‖ purpose

and, under the label "session-id", the 16-byte session id that names the session in every record.
The session id is derived, not chosen by the MEC, so M4 stays the paper's 48 bytes; it looks
random, changes with every key agreement and cannot be linked to DIDi without SK.

Records. ``header = version (1) ‖ purpose (1) ‖ session id (16) ‖ sequence (8, big-endian)``,
then ChaCha20-Poly1305 of the payload under the key of the record's purpose, nonce
``0^32 ‖ sequence``, the header as associated data. Sequence numbers count from 1 per direction,
shared by the purposes of that direction; every purpose has its own key, so no (key, nonce) pair
ever protects two payloads.

Anti-replay. The receiver keeps a sliding window over sequence numbers as RFC 4303 (IPsec ESP)
section 3.4.3 does: a record above the highest seen is new; one within the window is new unless
its bit is set; one below the window is refused. The window is checked before decryption (a
cheap refusal) and moved only after the tag verifies, so forged records never move it. Reordering
within the window is accepted; replays, older records and tampering are refused with
``AuthenticationFailed`` whose reason stays with the receiver.
"""

from __future__ import annotations

import enum
import struct
from dataclasses import dataclass

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305

from mec5g.core.errors import AuthenticationFailed, MalformedInput
from mec5g.core.operations import Operation, Origin, record
from mec5g.core.primitives import hkdf_expand, hkdf_extract

RECORD_VERSION = 1
SESSION_ID_BYTES = 16
TAG_BYTES = 16
MAX_PAYLOAD_BYTES = 256
_HEADER = struct.Struct(">BB16sQ")
HEADER_BYTES = _HEADER.size  # 26
MIN_RECORD_BYTES = HEADER_BYTES + TAG_BYTES
MAX_RECORD_BYTES = HEADER_BYTES + MAX_PAYLOAD_BYTES + TAG_BYTES
MAX_SEQUENCE = (1 << 64) - 1
DEFAULT_WINDOW = 32
_KEY_BYTES = 32


class Direction(enum.Enum):
    UPLINK = "device-to-mec"
    DOWNLINK = "mec-to-device"


class Purpose(enum.IntEnum):
    """What a record carries; each purpose belongs to one direction and has its own key."""

    READING = 1
    CHECK_IN = 2
    ACK = 3

    @property
    def direction(self) -> Direction:
        return Direction.DOWNLINK if self is Purpose.ACK else Direction.UPLINK


class RecordRefusal(enum.Enum):
    """Why a receiver refused an authentic-looking record; never told to the sender."""

    REPLAY = "replay"
    TOO_OLD = "too_old"
    TAMPERED = "tampered"
    WRONG_SESSION = "wrong_session"


@dataclass(frozen=True, slots=True)
class SessionKeys:
    """The session id and one key per purpose, derived from SK."""

    session_id: bytes
    keys: dict[Purpose, bytes]

    def __repr__(self) -> str:
        return "SessionKeys(<secret>)"


def session_secret(session_key: bytes, m1: bytes, m4: bytes) -> bytes:
    """HKDF's extract step: the pseudorandom key every output of the session expands from. M1
    and M4 are the agreement's (the paper's, or [36]'s under ``--scheme baseline36``)."""
    return hkdf_extract(session_key, salt=m1 + m4, origin=Origin.DATA_KEYS)


def _expand(secret: bytes, version: int, label: bytes, length: int) -> bytes:
    info = b"mec5g/data/v" + bytes([version]) + b"/" + label
    return hkdf_expand(secret, info=info, length=length, origin=Origin.DATA_KEYS)


def session_id(secret: bytes, version: int) -> bytes:
    """The id that names the session in every record."""
    return _expand(secret, version, b"session-id", SESSION_ID_BYTES)


def traffic_keys(secret: bytes, version: int) -> dict[Purpose, bytes]:
    """One key per direction and purpose."""
    return {
        purpose: _expand(
            secret,
            version,
            f"{purpose.direction.value}/{purpose.name.lower()}".encode(),
            _KEY_BYTES,
        )
        for purpose in Purpose
    }


def derive(session_key: bytes, m1: bytes, m4: bytes, version: int) -> SessionKeys:
    """Both ends' session id and traffic keys from SK, salted with M1 ‖ M4."""
    secret = session_secret(session_key, m1, m4)
    return SessionKeys(session_id(secret, version), traffic_keys(secret, version))


@dataclass(frozen=True, slots=True)
class Header:
    version: int
    purpose: Purpose
    session_id: bytes
    sequence: int

    def to_bytes(self) -> bytes:
        return _HEADER.pack(self.version, self.purpose, self.session_id, self.sequence)


def parse_header(data: bytes) -> Header:
    """The clear header of a record, with its size, version and purpose checked."""
    if not MIN_RECORD_BYTES <= len(data) <= MAX_RECORD_BYTES:
        raise MalformedInput(
            "record",
            f"record must be {MIN_RECORD_BYTES} to {MAX_RECORD_BYTES} bytes, got {len(data)}",
        )
    version, purpose, session_id, sequence = _HEADER.unpack_from(data)
    if version != RECORD_VERSION:
        raise MalformedInput("record.version", f"record.version must be {RECORD_VERSION}")
    if purpose not in Purpose._value2member_map_:
        raise MalformedInput("record.purpose", "record.purpose must be 1, 2 or 3")
    return Header(version, Purpose(purpose), session_id, sequence)


def _nonce(sequence: int) -> bytes:
    return bytes(4) + sequence.to_bytes(8, "big")


class SequenceExhausted(Exception):
    """A direction used every sequence number: the session must be renewed."""


class Sender:
    """One direction's sending end: numbers and seals records.

    The cipher is made per record from the purpose's key rather than kept: a ChaCha20Poly1305
    object holds an OpenSSL context of about 2.4 KB, and a UE or MEC holds tens of thousands of
    sessions that each send a record every few seconds, while making one costs about a
    microsecond."""

    __slots__ = ("_direction", "_keys", "sent")

    def __init__(self, keys: SessionKeys, direction: Direction) -> None:
        self._keys = keys
        self._direction = direction
        self.sent = 0

    def seal(self, purpose: Purpose, payload: bytes) -> bytes:
        if purpose.direction is not self._direction:
            raise ValueError(f"{purpose.name} records do not travel {self._direction.value}")
        if len(payload) > MAX_PAYLOAD_BYTES:
            raise ValueError(f"payloads are at most {MAX_PAYLOAD_BYTES} bytes")
        if self.sent >= MAX_SEQUENCE:
            raise SequenceExhausted
        self.sent += 1
        header = Header(RECORD_VERSION, purpose, self._keys.session_id, self.sent).to_bytes()
        record(Operation.SYMMETRIC, Origin.DATA_AEAD)
        cipher = ChaCha20Poly1305(self._keys.keys[purpose])
        return header + cipher.encrypt(_nonce(self.sent), payload, header)


class ReplayWindow:
    """RFC 4303 section 3.4.3's receive window: the highest sequence seen and a bitmap below it."""

    __slots__ = ("_seen", "highest", "size")

    def __init__(self, size: int = DEFAULT_WINDOW) -> None:
        if size < 1:
            raise ValueError("the window holds at least one sequence number")
        self.size = size
        self.highest = 0
        self._seen = 0  # bit i set: highest - i was accepted

    def refusal(self, sequence: int) -> RecordRefusal | None:
        """Why ``sequence`` cannot be accepted, or None; changes nothing."""
        if sequence == 0:
            return RecordRefusal.TOO_OLD  # sequence numbers start at 1
        if sequence > self.highest:
            return None
        offset = self.highest - sequence
        if offset >= self.size:
            return RecordRefusal.TOO_OLD
        return RecordRefusal.REPLAY if self._seen >> offset & 1 else None

    def accept(self, sequence: int) -> None:
        """Mark ``sequence`` seen; call only after its record authenticated."""
        if sequence > self.highest:
            shift = sequence - self.highest
            self._seen = ((self._seen << shift) | 1) & ((1 << self.size) - 1)
            self.highest = sequence
        else:
            self._seen |= 1 << (self.highest - sequence)


@dataclass(frozen=True, slots=True)
class Opened:
    purpose: Purpose
    sequence: int
    payload: bytes


class Receiver:
    """One direction's receiving end: checks the window, opens, then moves the window. Like
    ``Sender``, it makes its cipher per record."""

    __slots__ = ("_direction", "_keys", "window")

    def __init__(
        self, keys: SessionKeys, direction: Direction, window: int = DEFAULT_WINDOW
    ) -> None:
        self._keys = keys
        self._direction = direction
        self.window = ReplayWindow(window)

    def open(self, data: bytes) -> Opened:
        header = parse_header(data)
        if header.purpose.direction is not self._direction:
            raise MalformedInput(
                "record.purpose", f"record.purpose {header.purpose.name} does not travel here"
            )
        if header.session_id != self._keys.session_id:
            raise AuthenticationFailed(RecordRefusal.WRONG_SESSION.value)
        refusal = self.window.refusal(header.sequence)
        if refusal is not None:
            raise AuthenticationFailed(refusal.value)
        record(Operation.SYMMETRIC, Origin.DATA_AEAD)
        cipher = ChaCha20Poly1305(self._keys.keys[header.purpose])
        try:
            payload = cipher.decrypt(
                _nonce(header.sequence), data[HEADER_BYTES:], data[:HEADER_BYTES]
            )
        except InvalidTag:
            raise AuthenticationFailed(RecordRefusal.TAMPERED.value) from None
        self.window.accept(header.sequence)
        return Opened(header.purpose, header.sequence, payload)


class DeviceEnd:
    """The device's end of a session: seals its records and checks the MEC's acknowledgements.

    An acknowledgement names the sequence number it acknowledges and is sealed under the
    MEC-to-device key, so a valid one proves that the MEC holds SK (SPEC.md notes that M4 alone
    does not tell the device which MEC derived SK).
    """

    __slots__ = ("_acks", "_sender", "session_id")

    def __init__(self, keys: SessionKeys, window: int = DEFAULT_WINDOW) -> None:
        self.session_id = keys.session_id
        self._sender = Sender(keys, Direction.UPLINK)
        self._acks = Receiver(keys, Direction.DOWNLINK, window)

    @property
    def sent(self) -> int:
        return self._sender.sent

    def seal(self, purpose: Purpose, payload: bytes) -> tuple[int, bytes]:
        """The next record of ``purpose``, and its sequence number."""
        sealed = self._sender.seal(purpose, payload)
        return self._sender.sent, sealed

    def check_ack(self, ack: bytes, sequence: int) -> None:
        """Accept ``ack`` only as the MEC's acknowledgement of record ``sequence``."""
        opened = self._acks.open(ack)
        if opened.payload != sequence.to_bytes(8, "big"):
            raise AuthenticationFailed("bad_ack")
