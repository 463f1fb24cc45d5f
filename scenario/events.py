"""The timeline of a running scenario: its events in time order, and the follow-ups some of them
schedule when they happen (a degraded link getting its profile back, a failed node restarting).

Times are seconds since every process of the scenario serves. The runner (``runner.py``) sleeps
until ``next_at``, takes what is ``due`` and carries it out; carrying out an event may ``add`` a
follow-up.
"""

from __future__ import annotations

import heapq
import itertools
from dataclasses import dataclass

from mec5g.runtime.link_emulation import LinkProfile
from mec5g.scenario.model import Event


@dataclass(frozen=True)
class Restore:
    """Links get back the profiles they had before a degradation."""

    at: float
    profiles: tuple[tuple[str, LinkProfile], ...]  # (link, profile)


@dataclass(frozen=True)
class Restart:
    """A failed node starts again on its state."""

    at: float
    node: str


Action = Event | Restore | Restart


class Timeline:
    """Actions by time; equal times keep the order they were added in."""

    def __init__(self, events: tuple[Event, ...]) -> None:
        self._order = itertools.count()
        self._heap: list[tuple[float, int, Action]] = []
        for event in events:
            self.add(event)

    def add(self, action: Action) -> None:
        heapq.heappush(self._heap, (action.at, next(self._order), action))

    def next_at(self) -> float | None:
        return self._heap[0][0] if self._heap else None

    def due(self, elapsed: float) -> list[Action]:
        """Every action whose time has come, in time order, taken off the timeline."""
        taken = []
        while self._heap and self._heap[0][0] <= elapsed:
            taken.append(heapq.heappop(self._heap)[2])
        return taken
