"""The transcript of an attacked run: every message that crossed an attacked link, what the
attacker did with it, and every status the upstream party answered, as JSON Lines.

One object per line, in the order things happened: ``{"seq", "t", "link", "call", "method",
"direction", "action", "payload"}`` for a message (payload in hex; action ``forward``,
``modify``, ``drop``, ``withhold``, ``inject`` or ``to-attacker``) and ``{"seq", "t", "link",
"call", "method", "status", "details"}`` for a refused or failed call. ``t`` is seconds since the
transcript began. Session keys never appear: only what travels on the links does.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

import grpc

if TYPE_CHECKING:
    from mec5g.attacker.link import Message


class Transcript:
    """Entries kept in memory, and written to ``path`` line by line when one is given."""

    def __init__(self, path: Path | None = None) -> None:
        self.entries: list[dict[str, Any]] = []
        self._started = time.monotonic()
        self._file: IO[str] | None = path.open("w", encoding="utf-8") if path else None

    def message(self, message: Message, action: str) -> None:
        self._add(
            {
                "link": message.link,
                "call": message.call,
                "method": message.method,
                "direction": message.direction,
                "action": action,
                "payload": message.payload.hex(),
            }
        )

    def status(
        self, link: str, method: str, call: int, code: grpc.StatusCode, details: str
    ) -> None:
        self._add(
            {
                "link": link,
                "call": call,
                "method": method,
                "status": code.name,
                "details": details,
            }
        )

    def _add(self, entry: dict[str, Any]) -> None:
        entry = {"seq": len(self.entries), "t": round(time.monotonic() - self._started, 6)} | entry
        self.entries.append(entry)
        if self._file is not None:
            self._file.write(json.dumps(entry) + "\n")

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None


def read(path: Path) -> list[dict[str, Any]]:
    """A transcript file's entries, for offline analysis."""
    with path.open(encoding="utf-8") as lines:
        return [json.loads(line) for line in lines if line.strip()]
