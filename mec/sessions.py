"""The MEC's data sessions (phase 4): one per completed key agreement, found by session id.

A session is opened when the MEC sends M4, with the traffic keys, the session id
(``core.data_channel``), the analysis pseudonym and the analysis settings from the TTP; it holds
no identity of the device. It stays *unconfirmed* until the device's first valid data record
(SPEC.md, "A late or diverted M1 gives a MEC a session no device completes"); an unconfirmed
session not confirmed within ``unconfirmed_ttl`` is dropped.

Lifetime: a session ends after ``max_records`` records or ``max_age`` seconds, whichever comes
first; the device renews it earlier by running key agreement again (its own, lower limits), and a
record of an ended session is refused like any authentication failure. Memory is bounded by
``max_sessions``: beyond it the oldest unconfirmed session goes first, then the oldest.

The clock is injected, so tests move time instead of waiting.
"""

from __future__ import annotations

import enum
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

from mec5g.core.data_channel import DEFAULT_WINDOW, Direction, Receiver, Sender, SessionKeys
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


@dataclass
class DataSession:
    """One session as the MEC holds it: keys, the analysis it feeds, and its use so far."""

    pseudonym: bytes
    settings: AnalysisSettings
    receiver: Receiver
    sender: Sender
    opened_at: float
    records: int = 0
    state: SessionState = SessionState.UNCONFIRMED

    def __repr__(self) -> str:
        return f"DataSession(state={self.state.value}, records={self.records})"


class SessionTable:
    """Every live session of this MEC, by session id."""

    def __init__(
        self, limits: SessionLimits, clock: Callable[[], float], metrics: Metrics | None = None
    ) -> None:
        self.limits = limits
        self._clock = clock
        self._metrics = metrics
        self._sessions: OrderedDict[bytes, DataSession] = OrderedDict()
        self._confirmed = 0  # kept as sessions change, so that counting costs nothing per record

    def open(self, keys: SessionKeys, pseudonym: bytes, settings: AnalysisSettings) -> None:
        """A key agreement completed: hold its session, unconfirmed."""
        now = self._clock()
        self.sweep()
        while len(self._sessions) >= self.limits.max_sessions:
            self._evict_one()
        self._sessions[keys.session_id] = DataSession(
            pseudonym,
            settings,
            Receiver(keys, Direction.UPLINK, self.limits.window),
            Sender(keys, Direction.DOWNLINK),
            now,
        )
        self._publish()

    def find(self, session_id: bytes) -> tuple[DataSession | None, str]:
        """The live session named ``session_id``, or None and why (``unknown_session`` or
        ``expired``; an expired session is dropped)."""
        session = self._sessions.get(session_id)
        if session is None:
            return None, "unknown_session"
        if self._ended(session, self._clock()):
            self._drop(session_id)
            return None, "expired"
        return session, ""

    def confirm(self, session: DataSession) -> None:
        """A valid record arrived: count it; the first one confirms the session."""
        session.records += 1
        if session.state is SessionState.UNCONFIRMED:
            session.state = SessionState.CONFIRMED
            self._confirmed += 1
            self._publish()

    def sweep(self) -> None:
        """Drop every ended session."""
        now = self._clock()
        for session_id in [sid for sid, s in self._sessions.items() if self._ended(s, now)]:
            self._drop(session_id)

    def counts(self) -> dict[SessionState, int]:
        return {
            SessionState.CONFIRMED: self._confirmed,
            SessionState.UNCONFIRMED: len(self._sessions) - self._confirmed,
        }

    def sessions(self) -> list[DataSession]:
        return list(self._sessions.values())

    def _ended(self, session: DataSession, now: float) -> bool:
        age = now - session.opened_at
        if session.state is SessionState.UNCONFIRMED and age > self.limits.unconfirmed_ttl:
            return True
        return age > self.limits.max_age or session.records >= self.limits.max_records

    def _evict_one(self) -> None:
        victim = next(
            (sid for sid, s in self._sessions.items() if s.state is SessionState.UNCONFIRMED),
            next(iter(self._sessions)),
        )
        self._drop(victim)

    def _drop(self, session_id: bytes) -> None:
        if self._sessions.pop(session_id).state is SessionState.CONFIRMED:
            self._confirmed -= 1
        self._publish()

    def _publish(self) -> None:
        if self._metrics is not None:
            for state, count in self.counts().items():
                self._metrics.sessions(state.value, count)
