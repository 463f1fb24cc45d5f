"""A small progress bar on standard error for the long benchmark runs.

Hand-written rather than a dependency: one line, redrawn at most ten times a second, and only when
standard error is a terminal and the caller did not ask for ``--json`` (machines read stdout, and a
redirected log should not fill up with carriage returns).
"""

from __future__ import annotations

import sys
import time
from typing import TextIO

_WIDTH = 30
_REDRAW_SECONDS = 0.1


class Progress:
    """Counts work done towards a total and draws ``label [#####.....] 42% done/total``."""

    def __init__(
        self, label: str, total: int, *, enabled: bool, stream: TextIO | None = None
    ) -> None:
        self.label = label
        self.total = max(total, 1)
        self.done = 0
        self._stream = stream if stream is not None else sys.stderr
        self._enabled = enabled
        self._drawn_at = 0.0

    def advance(self, amount: int = 1) -> None:
        self.done = min(self.done + amount, self.total)
        now = time.monotonic()
        if self._enabled and (now - self._drawn_at >= _REDRAW_SECONDS or self.done == self.total):
            self._drawn_at = now
            self._draw()

    def close(self) -> None:
        """End the line, so that what is printed next starts on a fresh one."""
        if self._enabled:
            self._draw()
            self._stream.write("\n")
            self._stream.flush()

    def _draw(self) -> None:
        filled = _WIDTH * self.done // self.total
        share = 100 * self.done // self.total
        bar = "#" * filled + "." * (_WIDTH - filled)
        self._stream.write(f"\r{self.label} [{bar}] {share:3d}% {self.done}/{self.total}")
        self._stream.flush()


def wanted(json_output: bool, stream: TextIO | None = None) -> bool:
    """Draw progress only on a terminal, and never when the output is JSON."""
    stream = stream if stream is not None else sys.stderr
    return not json_output and stream.isatty()
