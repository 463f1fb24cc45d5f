"""When each of a UE's devices sends next: ramp-up admission, then a steady cadence.

A swarm of 10,000 devices must neither attach in the same millisecond (every attach is a key
agreement through the MEC and the TTP) nor keep 10,000 tasks asleep. One heap holds every
device's next due time, and one task (``Streamer.run``) sends for the devices that are due.

- **Admission.** Devices new to the schedule (at start, or provisioned later) start one after
  the other: at ``RampUp.rate`` devices per second, or each batch of new devices spread evenly
  over ``RampUp.seconds``. A device's first send attaches it (key agreement), so this paces
  the attaches. Without ramp-up, each device starts at a random point of its first interval.
- **Cadence.** After each send a device is due one interval after its previous due time, so it
  keeps its phase; a device that fell a whole interval or more behind skips the beats it missed
  rather than sending them in a burst.

Pure: the caller passes the time and the random generator.
"""

from __future__ import annotations

import heapq
import math
import random
from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True)
class RampUp:
    """How fast new devices start: ``rate`` per second, or each batch over ``seconds``; both 0
    means no pacing. At most one of them is set."""

    rate: float = 0.0
    seconds: float = 0.0

    def __post_init__(self) -> None:
        if not all(math.isfinite(value) and value >= 0 for value in (self.rate, self.seconds)):
            raise ValueError("the ramp-up rate and seconds are finite and not negative")
        if self.rate and self.seconds:
            raise ValueError("give a ramp-up rate or ramp-up seconds, not both")

    @property
    def paced(self) -> bool:
        return bool(self.rate or self.seconds)

    def spacing(self, batch: int) -> float:
        """Seconds between two starts in a batch of ``batch`` new devices."""
        if self.rate:
            return 1.0 / self.rate
        return self.seconds / batch if self.seconds and batch else 0.0


class StreamSchedule:
    """Every device's next due time, earliest first."""

    def __init__(self, interval: float, ramp_up: RampUp, rng: random.Random) -> None:
        self._interval = interval
        self._ramp_up = ramp_up
        self._rng = rng
        self._due: list[tuple[float, str]] = []
        self._next_start = -math.inf
        self._waiting: set[str] = set()  # admitted, first send not due yet
        self.started = 0  # devices whose first send came due

    @property
    def waiting(self) -> int:
        """Devices whose start the ramp-up (or their first interval) still holds back."""
        return len(self._waiting)

    def add(self, names: Iterable[str], now: float) -> None:
        """Schedule devices new to the UE, in the given order."""
        batch = list(names)
        spacing = self._ramp_up.spacing(len(batch))
        start = max(now, self._next_start)
        for name in batch:
            if self._ramp_up.paced:
                due = start
                start += spacing
            else:
                due = now + self._rng.uniform(0.0, self._interval)
            self._waiting.add(name)
            heapq.heappush(self._due, (due, name))
        if self._ramp_up.paced:
            self._next_start = start

    def next_due(self) -> float | None:
        """When the earliest device is due, or None for an empty schedule."""
        return self._due[0][0] if self._due else None

    def pop_due(self, now: float) -> tuple[str, float] | None:
        """The earliest device if it is due at ``now``, with its due time; it leaves the
        schedule until ``again``."""
        if not self._due or self._due[0][0] > now:
            return None
        due, name = heapq.heappop(self._due)
        if name in self._waiting:
            self._waiting.discard(name)
            self.started += 1
        return name, due

    def again(self, name: str, due: float, now: float) -> None:
        """``name`` sent for ``due``: due again one interval later, or at the first beat of its
        phase after ``now`` if that is already past."""
        following = due + self._interval
        if following < now:
            following += self._interval * math.ceil((now - following) / self._interval)
        heapq.heappush(self._due, (following, name))
