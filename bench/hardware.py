"""``mec5g bench hardware``: the paper's Figure 4, emulated: each entity's computation time on the
paper's hardware (section 7.1: a Zolertia RE-mote device, a Raspberry Pi 3B+ MEC, an i7-8750H
TTP), from operation counts and per-operation costs.

Emulated time = sum over operations of (times counted) x (cost per operation on that hardware).
The costs are parameters in profile files (``bench/profiles/*.json``, or ``--profiles DIR``), one
per entity, read by ``runtime/compute_profile.py`` (the testbed's compute emulation reads the
same files). Every figure carries either a ``source`` (where it was published) or an
``assumption`` (why that value, when no published figure is at hand): ``load_profile`` refuses a
figure with neither or both. The paper took its figures from its reference [35], which is not in
our copy of the paper, so the shipped profiles are assumptions throughout; a user with [35]'s
figures drops them in and gets the paper's Figure 4.

Columns: [36] from the paper's Table 1 counts, [36] as reconstructed here (``baseline36``, its
counted operations), this scheme from the paper's Table 1 counts, and this scheme as this project
runs it (its counted operations, our additions included), with the real CPU time of both
measured on this machine beside.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from mec5g.bench import paper
from mec5g.bench.computation import measure
from mec5g.bench.progress import Progress
from mec5g.bench.results import PartResult, Table, microseconds
from mec5g.bench.schemes import ENTITIES, Baseline36, Braeken2021
from mec5g.runtime.compute_profile import Figure, Profile, ProfileError, load_profile

PROFILES = Path(__file__).parent / "profiles"
__all__ = ["PROFILES", "Figure", "Profile", "ProfileError", "load_profile", "load_profiles", "run"]


def load_profiles(directory: Path = PROFILES) -> dict[str, Profile]:
    """One profile per entity from ``directory``'s ``*.json`` files."""
    profiles: dict[str, Profile] = {}
    for path in sorted(directory.glob("*.json")):
        profile = load_profile(path)
        if profile.entity in profiles:
            raise ProfileError(f"{directory}: two profiles for the {profile.entity}")
        profiles[profile.entity] = profile
    missing = [entity for entity in ENTITIES if entity not in profiles]
    if missing:
        raise ProfileError(f"{directory}: no profile for {', '.join(missing)}")
    return {entity: profiles[entity] for entity in ENTITIES}


def _as_run(operations: Mapping[str, Mapping[str, float]]) -> dict[str, float]:
    """Counted operations of every origin (the paper's and our additions) summed per unit."""
    totals: dict[str, float] = {}
    for units in operations.values():
        for unit, times in units.items():
            totals[unit] = totals.get(unit, 0.0) + times
    return totals


def run(runs: int, profiles_directory: Path, *, show_progress: bool) -> PartResult:
    profiles = load_profiles(profiles_directory)
    progress = Progress("hardware (measuring this scheme)", runs, enabled=show_progress)
    measured = measure(Braeken2021(), runs, progress)
    progress.close()
    progress = Progress(
        f"hardware (measuring {paper.BASELINE_SCHEME})", runs, enabled=show_progress
    )
    reconstructed = measure(Baseline36(), runs, progress)
    progress.close()
    entities: dict[str, Any] = {}
    for entity in ENTITIES:
        profile = profiles[entity]
        counted = measured["entities"][entity]["operations"]
        baseline = profile.emulated_us(paper.TABLE_1[paper.BASELINE][entity])
        baseline_counted = profile.emulated_us(
            _as_run(reconstructed["entities"][entity]["operations"])
        )
        ours_paper = profile.emulated_us(paper.TABLE_1[paper.THIS][entity])
        ours_as_run = profile.emulated_us(_as_run(counted))
        entities[entity] = {
            "profile": profile.name,
            "paper_hardware": paper.FIGURE_4_HARDWARE[entity],
            "hardware": profile.hardware,
            "emulated_us": {
                f"{paper.BASELINE} (Table 1 counts)": baseline,
                f"{paper.BASELINE} as reconstructed (counted)": baseline_counted,
                "this scheme (Table 1 counts)": ours_paper,
                "this scheme as run (with our additions)": ours_as_run,
            },
            "measured_here_median_us": measured["entities"][entity]["median_us"],
            "baseline_measured_here_median_us": reconstructed["entities"][entity]["median_us"],
            "baseline_over_this": baseline / ours_paper,
            "reconstructed_over_as_run": baseline_counted / ours_as_run,
        }
    profile_data = {
        entity: {
            "name": profile.name,
            "hardware": profile.hardware,
            "hardware_source": profile.hardware_source,
            "operations": {
                unit: {
                    "microseconds": figure.microseconds,
                    "source": figure.source,
                    "assumption": figure.assumption,
                }
                for unit, figure in profile.operations.items()
            },
        }
        for entity, profile in profiles.items()
    }
    return PartResult(
        "hardware",
        "Figure 4, emulated: computation time on the paper's hardware",
        {
            "runs": runs,
            "profiles_directory": str(profiles_directory),
            "entities": entities,
            "profiles": profile_data,
        },
        _tables(entities, profiles),
    )


def _tables(entities: dict[str, Any], profiles: dict[str, Profile]) -> list[Table]:
    rows = []
    for entity, figures in entities.items():
        emulated = list(figures["emulated_us"].values())
        rows.append(
            [
                entity,
                figures["paper_hardware"],
                *(microseconds(value / 1e6) for value in emulated),
                f"{figures['baseline_over_this']:,.0f}x",
                f"{figures['reconstructed_over_as_run']:,.0f}x",
                microseconds(figures["measured_here_median_us"] / 1e6),
                microseconds(figures["baseline_measured_here_median_us"] / 1e6),
            ]
        )
    first = next(iter(entities.values()))
    emulated_table = Table(
        "Emulated computation time per handshake",
        [
            "entity",
            "hardware (the paper's words)",
            *first["emulated_us"],
            f"{paper.BASELINE} / this (Table 1)",
            f"{paper.BASELINE} reconstructed / this as run",
            "this scheme measured here (median CPU)",
            f"{paper.BASELINE_SCHEME} measured here (median CPU)",
        ],
        rows,
        f"{paper.BASELINE} is emulated twice: from the paper's Table 1 counts, and from the "
        f"operations its reconstruction ({paper.BASELINE_SCHEME}) counted. 'As run' adds our "
        "additions (counter nonce, analysis handle), costed in the same units (an HMAC as Th, "
        "an AEAD as Ts). The last two columns are real CPU time on this machine, for scale.",
    )
    profile_rows = []
    for entity, profile in profiles.items():
        for unit, figure in profile.operations.items():
            origin = (
                f"source: {figure.source}"
                if figure.source is not None
                else f"assumption: {figure.assumption}"
            )
            profile_rows.append([entity, profile.name, unit, f"{figure.microseconds:g}", origin])
    profile_table = Table(
        "Per-operation costs (profile files)",
        ["entity", "profile", "operation", "µs", "where the figure comes from"],
        profile_rows,
        "Hardware per entity as the paper names it (section 7.1). Replace a profile's figures "
        "with published ones (and their source) to sharpen the emulation: "
        "`mec5g bench hardware --profiles DIR`.",
    )
    return [emulated_table, profile_table]
