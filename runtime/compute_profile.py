"""Compute profiles: one kind of hardware and what each of Table 1's operations costs on it.

A profile file (JSON; the shipped ones are ``bench/profiles/*.json``) names the hardware, the
entity it stands for in the paper (device, mec or ttp), where that choice comes from, and per
operation (Th hash, Ts symmetric, Tm point multiplication, Ta point addition) a cost in
microseconds with either a ``source`` (where it was published) or an ``assumption`` (why that
value). ``mec5g bench hardware`` emulates the paper's Figure 4 with them; the testbed's compute
emulation (``runtime/compute_emulation.py``) slows a node down to them.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from mec5g.core.operations import Ledger

ENTITIES = ("device", "mec", "ttp")
UNITS = ("Tm", "Ta", "Ts", "Th")  # Table 1's order


class ProfileError(ValueError):
    """A profile file that cannot be used: the message names the file and the figure."""


@dataclass(frozen=True)
class Figure:
    """One per-operation cost and where it comes from (exactly one of the two is set)."""

    microseconds: float
    source: str | None
    assumption: str | None


@dataclass(frozen=True)
class Profile:
    """One entity's hardware and the cost of each of Table 1's operations on it."""

    name: str
    entity: str
    hardware: str
    hardware_source: str
    operations: dict[str, Figure]

    def emulated_us(self, counts: Mapping[str, float]) -> float:
        """Microseconds the counted operations take on this hardware."""
        return sum(times * self.operations[unit].microseconds for unit, times in counts.items())

    def ledger_seconds(self, ledger: Ledger) -> float:
        """Seconds a counted block's operations (of every origin) take on this hardware."""
        return 1e-6 * sum(
            times * self.operations[operation.value].microseconds
            for (operation, _), times in ledger.items()
        )


def load_profile(path: Path) -> Profile:
    """Read and check one profile file."""
    try:
        raw = json.loads(path.read_text())
    except (OSError, ValueError) as error:
        raise ProfileError(f"{path}: {error}") from error
    try:
        entity = raw["entity"]
        if entity not in ENTITIES:
            raise ProfileError(f"{path}: entity {entity!r} is none of {', '.join(ENTITIES)}")
        figures = {}
        for unit in UNITS:
            figure = raw["operations"][unit]
            source, assumption = figure.get("source"), figure.get("assumption")
            if (source is None) == (assumption is None) or not (source or assumption):
                raise ProfileError(
                    f"{path}: {unit} needs exactly one of 'source' (where it was published) "
                    "or 'assumption' (why this value)"
                )
            cost = float(figure["microseconds"])
            if cost <= 0:
                raise ProfileError(f"{path}: {unit} costs {cost} µs")
            figures[unit] = Figure(cost, source, assumption)
        unknown = set(raw["operations"]) - set(UNITS)
        if unknown:
            raise ProfileError(f"{path}: unknown operations {', '.join(sorted(unknown))}")
        return Profile(raw["name"], entity, raw["hardware"], raw["hardware_source"], figures)
    except (KeyError, TypeError, ValueError) as error:
        if isinstance(error, ProfileError):
            raise
        raise ProfileError(f"{path}: missing or malformed {error}") from error
