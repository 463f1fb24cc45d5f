"""The results folder of ``mec5g bench``: each part writes ``<part>.md``, ``<part>.json`` and PNGs.

A part hands back a ``PartResult`` (its JSON-ready data and its tables); ``write`` adds what makes
a figure reproducible and comparable (the command that produced it, when, on what machine) and
writes the files. The same JSON is what ``--json`` prints, so machines and readers see one thing.
"""

from __future__ import annotations

import datetime
import json
import os
import platform
import shlex
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

DEFAULT_OUT = Path("results")


@dataclass(frozen=True)
class Table:
    """One markdown table; ``note`` is printed under it (sources, caveats)."""

    title: str
    headers: Sequence[str]
    rows: Sequence[Sequence[str]]
    note: str = ""

    def markdown(self) -> str:
        lines = [
            f"## {self.title}",
            "",
            "| " + " | ".join(self.headers) + " |",
            "|" + "|".join("---" for _ in self.headers) + "|",
        ]
        lines += ["| " + " | ".join(row) + " |" for row in self.rows]
        if self.note:
            lines += ["", self.note]
        return "\n".join(lines)


@dataclass
class PartResult:
    """What one benchmark part measured."""

    part: str
    title: str
    data: dict[str, Any]
    tables: list[Table] = field(default_factory=list)


Plotter = Callable[[dict[str, Any], Path], list[Path]]


def machine() -> dict[str, Any]:
    """What a reader needs to weigh the figures: the machine they came from."""
    return {
        "platform": platform.platform(),
        "processor": platform.machine(),
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
    }


def command_line(argv: Sequence[str] | None = None) -> str:
    """The ``mec5g`` command as it was typed, to print beside every figure."""
    arguments = sys.argv[1:] if argv is None else argv
    return shlex.join(["mec5g", *arguments])


def document(result: PartResult, command: str) -> dict[str, Any]:
    """The part's JSON: its data plus the command, the time and the machine."""
    return {
        "part": result.part,
        "command": command,
        "measured_at": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "machine": machine(),
        **result.data,
    }


def write(
    result: PartResult, out: Path, command: str, plotter: Plotter | None
) -> tuple[dict[str, Any], list[Path]]:
    """Write ``<part>.json``, the PNGs (unless ``plotter`` is None) and ``<part>.md`` into ``out``.

    Returns the JSON document and the paths written.
    """
    out.mkdir(parents=True, exist_ok=True)
    data = document(result, command)
    json_path = out / f"{result.part}.json"
    json_path.write_text(json.dumps(data, indent=1) + "\n")
    plots = plotter(data, out) if plotter is not None else []
    lines = [
        f"# {result.title}",
        "",
        f"Reproduce: `{command}`",
        "",
        f"Measured {data['measured_at']} on {data['machine']['platform']}, "
        f"{data['machine']['cpus']} CPUs, Python {data['machine']['python']}. "
        f"Machine-readable: [{json_path.name}]({json_path.name}).",
    ]
    for table in result.tables:
        lines += ["", table.markdown()]
    for plot in plots:
        lines += ["", f"![{plot.stem}]({plot.name})"]
    markdown_path = out / f"{result.part}.md"
    markdown_path.write_text("\n".join(lines) + "\n")
    return data, [markdown_path, json_path, *plots]


def microseconds(seconds: float) -> str:
    """A duration for a table: µs (one decimal below 1,000), ms from 10,000 µs on."""
    value = 1e6 * seconds
    if value >= 10_000:
        return f"{value / 1e3:,.1f} ms"
    return f"{value:,.1f} µs" if value < 1000 else f"{value:,.0f} µs"
