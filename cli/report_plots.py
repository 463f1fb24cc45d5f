"""PNG plots of a ``mec5g report``: latency distribution per phase, cost per entity.

matplotlib is the optional ``report`` extra: the tables need nothing beyond the core install.
The Agg backend renders to files only, so no display is needed.
"""

from __future__ import annotations

from pathlib import Path

from mec5g.bench.paper import UNITS
from mec5g.bench.plots import pyplot
from mec5g.report import ENTITY_NAMES, Report, Snapshot, histograms


def write_plots(report: Report, snapshot: Snapshot, directory: Path) -> list[Path]:
    """Write latency.png and cost.png into ``directory``; returns their paths."""
    plt = pyplot()
    directory.mkdir(parents=True, exist_ok=True)
    written = []

    per_phase = histograms(snapshot)
    phases = sorted({phase for _, phase in per_phase})
    figure, axes = plt.subplots(
        len(phases) or 1, 1, figsize=(8, 3.5 * max(len(phases), 1)), squeeze=False
    )
    for axis, phase in zip(axes[:, 0], phases, strict=False):
        for (role, bucket_phase), cumulative in per_phase.items():
            if bucket_phase != phase or not cumulative or cumulative[-1][1] == 0:
                continue
            bounds = [bound for bound, _ in cumulative if bound != float("inf")]
            counts = [count for _, count in cumulative[: len(bounds)]]
            share = [
                (count - previous) / cumulative[-1][1]
                for count, previous in zip(counts, [0.0, *counts[:-1]], strict=True)
            ]
            axis.step(
                [1e3 * b for b in bounds], share, where="pre", label=ENTITY_NAMES.get(role, role)
            )
        axis.set_xscale("log")
        axis.set_xlabel("latency, ms (bucket upper bound)")
        axis.set_ylabel("share of runs")
        axis.set_title(f"{phase}: latency distribution per role")
        axis.legend()
    figure.tight_layout()
    latency = directory / "latency.png"
    figure.savefig(latency, dpi=100)
    plt.close(figure)
    written.append(latency)

    figure, (cpu_axis, ops_axis) = plt.subplots(1, 2, figsize=(11, 4))
    rows = [row for row in report.table_1 if row.handshakes]
    names = [ENTITY_NAMES[row.role] for row in rows]
    cpu_axis.bar(names, [row.computation_us or 0.0 for row in rows], color="tab:blue")
    cpu_axis.set_ylabel("CPU µs per key agreement")
    cpu_axis.set_title("Computation per entity (measured)")
    bottoms = [0.0] * len(rows)
    origins = ["paper", *sorted({o for row in rows for o in row.additions})]
    for origin in origins:
        heights = [
            sum(
                (row.measured if origin == "paper" else row.additions.get(origin, {})).get(u, 0.0)
                for u in UNITS
            )
            for row in rows
        ]
        ops_axis.bar(names, heights, bottom=bottoms, label=origin)
        bottoms = [b + h for b, h in zip(bottoms, heights, strict=True)]
    ops_axis.set_ylabel("operations per key agreement (Th + Ts)")
    ops_axis.set_title("Operations: the paper's scheme and our additions")
    ops_axis.legend(fontsize="small")
    figure.tight_layout()
    cost = directory / "cost.png"
    figure.savefig(cost, dpi=100)
    plt.close(figure)
    written.append(cost)
    return written
