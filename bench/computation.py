"""``mec5g bench computation``: each entity's computation per handshake, median and p99 over many
runs (10,000 by default), for every registered scheme, with the operations counted in Table 1's
units beside the paper's own Table 1.

One scheme at a time runs ``runs`` complete handshakes in this process (after a short warm-up);
each entity's part is timed alone in CPU time (``bench.schemes``). No I/O is involved: the TTP's
records are in memory here, and ``bench growth`` measures the durable store.
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from typing import Any

from mec5g.bench import paper
from mec5g.bench.progress import Progress
from mec5g.bench.results import PartResult, Table, microseconds
from mec5g.bench.schemes import ENTITIES, SCHEMES, Scheme
from mec5g.core.operations import Ledger, Origin

WARMUP_RUNS = 20


def operations_per_handshake(total: Ledger, runs: int) -> dict[str, dict[str, float]]:
    """A ledger summed over ``runs`` handshakes as mean counts by origin, then unit."""
    by_origin: dict[str, dict[str, float]] = {}
    for (operation, origin), times in sorted(
        total.items(), key=lambda item: (item[0][1].value, item[0][0].value)
    ):
        units = by_origin.setdefault(origin.value, {})
        units[operation.value] = units.get(operation.value, 0.0) + times / runs
    return by_origin


def measure(scheme: Scheme, runs: int, progress: Progress | None = None) -> dict[str, Any]:
    """``runs`` handshakes of ``scheme``: per entity the CPU time's median, p99 and mean, and the
    operations per handshake (when the scheme counts them)."""
    if runs < 2:
        raise ValueError("--runs must be at least 2 (a p99 needs a distribution)")
    for _ in range(WARMUP_RUNS):
        scheme.handshake()
    samples: dict[str, list[float]] = {entity: [] for entity in scheme.entities}
    totals: dict[str, Ledger] = {entity: Ledger() for entity in scheme.entities}
    counted = False
    for _ in range(runs):
        handshake = scheme.handshake()
        for entity in scheme.entities:
            samples[entity].append(handshake.seconds[entity])
        for entity, ledger in handshake.operations.items():
            totals[entity].update(ledger)
            counted = True
        if progress is not None:
            progress.advance()
    entities: dict[str, Any] = {}
    for entity, seconds in samples.items():
        cuts = statistics.quantiles(seconds, n=100, method="inclusive")
        entities[entity] = {
            "median_us": 1e6 * statistics.median(seconds),
            "p99_us": 1e6 * cuts[98],
            "mean_us": 1e6 * statistics.fmean(seconds),
            "operations": operations_per_handshake(totals[entity], runs) if counted else None,
        }
    return {"title": scheme.title, "runs": runs, "entities": entities}


def run(scheme_names: Sequence[str], runs: int, *, show_progress: bool) -> PartResult:
    schemes: dict[str, Any] = {}
    for name in scheme_names:
        progress = Progress(f"computation {name}", runs, enabled=show_progress)
        schemes[name] = measure(SCHEMES[name](), runs, progress)
        progress.close()
    return PartResult(
        "computation",
        "Computation per entity and handshake",
        {"runs": runs, "schemes": schemes, "paper_table_1": paper.TABLE_1},
        _tables(schemes),
    )


def _tables(schemes: dict[str, Any]) -> list[Table]:
    rows = []
    for name, measured in schemes.items():
        for entity in ENTITIES:
            figures = measured["entities"].get(entity)
            if figures is None:
                rows.append([name, entity, "-", "-", "-", "no such party", ""])
                continue
            operations = figures["operations"]
            if operations is None:
                counted, additions = "not counted (OpenSSL)", ""
            else:
                counted = paper.notation(operations.get(Origin.PAPER.value, {}))
                additions = ", ".join(
                    f"{origin} {paper.notation(units)}"
                    for origin, units in operations.items()
                    if origin != Origin.PAPER.value
                )
            rows.append(
                [
                    name,
                    entity,
                    microseconds(figures["median_us"] / 1e6),
                    microseconds(figures["p99_us"] / 1e6),
                    microseconds(figures["mean_us"] / 1e6),
                    counted,
                    additions,
                ]
            )
    measured_table = Table(
        "Measured: CPU time per handshake",
        ["scheme", "entity", "median", "p99", "mean", "operations", "our additions"],
        rows,
        "Each entity's computations timed alone (CPU time), in one process, no I/O. "
        "Operations in Table 1's units (Th hash, Ts symmetric, Tm point multiplication, "
        "Ta point addition); our additions to the scheme are counted apart, by origin "
        "(SPEC.md). The TTP's pseudonym HMAC is memoised per analysis and MEC node, so it "
        "is spent during the warm-up and not counted here.",
    )
    reconstructed = schemes.get(paper.BASELINE_SCHEME)
    paper_rows = []
    for entity in ENTITIES:
        row = [entity, paper.notation(paper.TABLE_1[paper.BASELINE][entity])]
        if reconstructed is not None:
            counted = reconstructed["entities"][entity]["operations"]
            row.append(paper.notation(counted.get(Origin.PAPER.value, {})))
        row.append(paper.notation(paper.TABLE_1[paper.THIS][entity]))
        paper_rows.append(row)
    headers = ["entity", f"{paper.BASELINE} (published)"]
    if reconstructed is not None:
        headers.append(f"{paper.BASELINE} as reconstructed ({paper.BASELINE_SCHEME}), counted")
    headers.append("this scheme (published)")
    paper_table = Table(
        "The paper's Table 1",
        headers,
        paper_rows,
        f"{paper.BASELINE}'s exact steps are not published in the paper; {paper.BASELINE_SCHEME} "
        "is a reconstruction of its family (core/anonymous_agreement.py) and its natural counts "
        "differ from the published ones: docs/evaluation.md says where and why.",
    )
    ratio_rows = []
    ours = schemes.get(paper.THIS)
    for name, measured in schemes.items():
        if name == paper.THIS or ours is None:
            continue
        for entity, figures in measured["entities"].items():
            ratio_rows.append(
                [
                    name,
                    entity,
                    f"{figures['median_us'] / ours['entities'][entity]['median_us']:,.1f}x",
                ]
            )
    tables = [measured_table, paper_table]
    if ratio_rows:
        tables.append(
            Table(
                f"Other schemes' median against {paper.THIS}'s",
                ["scheme", "entity", "median / ours"],
                ratio_rows,
            )
        )
    return tables
