"""The MEC's data sessions (phase 4): one per completed key agreement, found by session id.

A session is opened when the MEC sends M4, under its session id (``core.data_channel``), with
the analysis pseudonym and the analysis settings from the TTP; it holds no identity of the device.
Its traffic keys are derived from SK when its first record arrives, so that a session no device
completes (a late or diverted M1, a handshake flood) costs two HMACs and a few hundred bytes. It
stays *unconfirmed* until the device's first valid data record (SPEC.md, "A late or diverted M1
gives a MEC a session no device completes"); one not confirmed within ``unconfirmed_ttl`` is
dropped.

Lifetime: a session ends after ``max_records`` records or ``max_age`` seconds, whichever comes
first; the device renews it earlier by running key agreement again (its own, lower limits), and a
record of an ended session is refused like any authentication failure. Ended sessions are dropped
when they are next looked up, and from the front of the table whenever a session opens. Memory is
bounded by ``max_sessions``: beyond it the oldest unconfirmed session goes first, then the oldest
confirmed one.

The clock is injected, so tests move time instead of waiting.
"""

from __future__ import annotations

import enum
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field

from mec5g.core.data_channel import (
    DEFAULT_WINDOW,
    Direction,
    Purpose,
    Receiver,
    Sender,
    SessionKeys,
)
from mec5g.core.handle import AnalysisSettings
from mec5g.runtime.metrics import Metrics


@dataclass(frozen=True)
class SessionLimits:
    max_records: int = 1000
    max_age: float = 3600.0
    unconfirmed_ttl: float = 60.0
    max_sessions: int = 100_000
    window: int = DEFAULT_WINDOW


class SessionState(enum.Enum):
    UNCONFIRMED = "unconfirmed"
    CONFIRMED = "confirmed"


TrafficKeys = Callable[[], dict[Purpose, bytes]]


@dataclass
class DataSession:
    """One session as the MEC holds it: the analysis it feeds, its use so far, and either the
    means to derive its keys (until the first record) or its two ends of the data channel."""

    session_id: bytes
    pseudonym: bytes
    settings: AnalysisSettings
    opened_at: float
    window: int
    _traffic_keys: TrafficKeys | None = field(repr=False)
    _ends: tuple[Receiver, Sender] | None = field(default=None, repr=False)
    records: int = 0
    state: SessionState = SessionState.UNCONFIRMED

    def ends(self) -> tuple[Receiver, Sender]:
        """The MEC's receiving end (device to MEC) and sending end (acknowledgements), derived
        on first use; SK is forgotten then."""
        if self._ends is None:
            assert self._traffic_keys is not None  # one of the two is always set
            keys = SessionKeys(self.session_id, self._traffic_keys())
            self._ends = (
                Receiver(keys, Direction.UPLINK, self.window),
                Sender(keys, Direction.DOWNLINK),
            )
            self._traffic_keys = None
        return self._ends


class SessionTable:
    """Every live session of this MEC, by session id.

    Unconfirmed and confirmed sessions are kept apart, each in the order it entered its state,
    so that ending the expired ones costs only those ones: a handshake load opens a session
    per handshake, and most of them may never be confirmed.
    """

    def __init__(
        self, limits: SessionLimits, clock: Callable[[], float], metrics: Metrics | None = None
    ) -> None:
        self.limits = limits
        self._clock = clock
        self._metrics = metrics
        self._unconfirmed: OrderedDict[bytes, DataSession] = OrderedDict()
        self._confirmed: OrderedDict[bytes, DataSession] = OrderedDict()

    def open(
        self,
        session_id: bytes,
        traffic_keys: TrafficKeys,
        pseudonym: bytes,
        settings: AnalysisSettings,
    ) -> None:
        """A key agreement completed: hold its session, unconfirmed; ``traffic_keys`` derives
        its keys when the first record arrives."""
        self.sweep()
        while len(self._unconfirmed) + len(self._confirmed) >= self.limits.max_sessions:
            oldest = self._unconfirmed or self._confirmed
            oldest.popitem(last=False)
        self._unconfirmed[session_id] = DataSession(
            session_id, pseudonym, settings, self._clock(), self.limits.window, traffic_keys
        )
        self._publish()

    def find(self, session_id: bytes) -> tuple[DataSession | None, str]:
        """The live session named ``session_id``, or None and why (``unknown_session`` or
        ``expired``; an expired session is dropped)."""
        session = self._unconfirmed.get(session_id) or self._confirmed.get(session_id)
        if session is None:
            return None, "unknown_session"
        if self._ended(session, self._clock()):
            self._holding(session).pop(session_id)
            self._publish()
            return None, "expired"
        return session, ""

    def confirm(self, session: DataSession) -> None:
        """A valid record arrived: count it; the first one confirms the session."""
        session.records += 1
        if session.state is SessionState.UNCONFIRMED:
            del self._unconfirmed[session.session_id]
            session.state = SessionState.CONFIRMED
            self._confirmed[session.session_id] = session
            self._publish()

    def close_analysis(self, pseudonym: bytes) -> int:
        """End every session of the analysis ``pseudonym`` (it moved to another node): a
        record of any of them is refused from now on. Returns how many ended."""
        ended = 0
        for sessions in (self._unconfirmed, self._confirmed):
            for session_id in [
                session_id
                for session_id, session in sessions.items()
                if session.pseudonym == pseudonym
            ]:
                del sessions[session_id]
                ended += 1
        if ended:
            self._publish()
        return ended

    def sweep(self) -> None:
        """Drop the ended sessions at the front of each state's order (the oldest ones)."""
        now = self._clock()
        dropped = False
        for sessions in (self._unconfirmed, self._confirmed):
            while sessions and self._ended(next(iter(sessions.values())), now):
                sessions.popitem(last=False)
                dropped = True
        if dropped:
            self._publish()

    def counts(self) -> dict[SessionState, int]:
        return {
            SessionState.CONFIRMED: len(self._confirmed),
            SessionState.UNCONFIRMED: len(self._unconfirmed),
        }

    def sessions(self) -> list[DataSession]:
        return [*self._unconfirmed.values(), *self._confirmed.values()]

    def _holding(self, session: DataSession) -> OrderedDict[bytes, DataSession]:
        return self._unconfirmed if session.state is SessionState.UNCONFIRMED else self._confirmed

    def _ended(self, session: DataSession, now: float) -> bool:
        age = now - session.opened_at
        if session.state is SessionState.UNCONFIRMED and age > self.limits.unconfirmed_ttl:
            return True
        return age > self.limits.max_age or session.records >= self.limits.max_records

    def _publish(self) -> None:
        if self._metrics is not None:
            for state, count in self.counts().items():
                self._metrics.sessions(state.value, count)
