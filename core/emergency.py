"""Phase 6, emergencies (paper section 4.1, step 6): when the MEC raises one, pure.

The threshold follows the issue and NEWS2 chart 2: an aggregate of 7 or more, or 3 points in any
single parameter; both numbers are settings of the MEC. ``Emergencies`` decides per analysis
pseudonym whether a new score is a new emergency: the first score over the threshold, or a
higher level than the one raised last, in one episode; a score under the threshold ends the
episode. So a patient who stays in an emergency raises it once per level, not once per reading.
"""

from __future__ import annotations

from dataclasses import dataclass

from mec5g.core.news2 import AlertLevel, Score


@dataclass(frozen=True)
class EmergencyThreshold:
    """When a NEWS2 score is an emergency."""

    aggregate: int = 7
    single_parameter: int = 3

    def reached(self, score: Score) -> bool:
        return score.aggregate >= self.aggregate or any(
            points >= self.single_parameter for points in score.points.values()
        )


class Emergencies:
    """The level raised last per analysis in an emergency; analyses out of one are forgotten,
    so the table holds only the analyses in an emergency now."""

    def __init__(self, threshold: EmergencyThreshold) -> None:
        self.threshold = threshold
        self._raised: dict[bytes, AlertLevel] = {}

    def __len__(self) -> int:
        return len(self._raised)

    def observe(self, pseudonym: bytes, score: Score) -> bool:
        """Whether ``score`` of analysis ``pseudonym`` is to be raised as an emergency."""
        if not self.threshold.reached(score):
            self._raised.pop(pseudonym, None)
            return False
        last = self._raised.get(pseudonym)
        if last is not None and score.level <= last:
            return False
        self._raised[pseudonym] = score.level
        return True

    def take(self, pseudonym: bytes) -> AlertLevel | None:
        """Forget and return the level raised last for ``pseudonym`` (its analysis moves to
        another node, and its episode with it)."""
        return self._raised.pop(pseudonym, None)

    def restore(self, pseudonym: bytes, level: AlertLevel) -> None:
        """Continue an episode that began at another node at ``level``."""
        self._raised[pseudonym] = level
