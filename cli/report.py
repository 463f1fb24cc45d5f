"""``mec5g report``: the paper's Tables 1 and 2 beside the live ones, read from metrics.

The figures come from one snapshot of the counters, taken either from a Prometheus server (its
HTTP API, summed over every scraped process) or straight from the local testbed's metrics
endpoints (``mec5g up``: 9151 TTP, 9152 MEC, 9153 UE). Both sources give the same samples, and
every figure below is computed from them the way docs/metrics.md's queries compute it, so the
report and a dashboard never disagree. Plots are in ``report_plots``.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import urllib.parse
import urllib.request
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from mec5g.bench.paper import notation, number
from mec5g.core.messages import M1_BYTES, M2_BYTES, M3_BYTES, M4_BYTES
from mec5g.runtime.scrape import scrape
from mec5g.testbed import METRICS_PORTS

# The paper's Table 1 for its own scheme (section 7.1), per entity and handshake, and Table 2
# (section 7.2), bits per message. Our roles: the device is the UE.
PAPER_TABLE_1 = {"ue": "2Th", "mec": "2Th", "ttp": "3Th"}
PAPER_TABLE_2 = {"M1": 8 * M1_BYTES, "M2": 8 * M2_BYTES, "M3": 8 * M3_BYTES, "M4": 8 * M4_BYTES}
ENTITY_NAMES = {"ue": "device", "mec": "MEC", "ttp": "TTP"}
SUCCESS_OUTCOMES = frozenset({"accepted", "success"})
KEY_AGREEMENT = "key_agreement"

_FAMILIES = (
    "mec5g_phase_results_total",
    "mec5g_operations_total",
    "mec5g_message_bytes_total",
    "mec5g_computation_seconds_total",
    "mec5g_phase_duration_seconds_bucket",
)

Labels = tuple[tuple[str, str], ...]


class SourceError(Exception):
    """The metrics could not be read; the message says from where and why."""


@dataclass
class Snapshot:
    """Samples of the families the report reads, summed over processes: name -> labels -> value."""

    samples: dict[str, dict[Labels, float]] = field(default_factory=lambda: defaultdict(dict))

    def add(self, name: str, labels: Mapping[str, str], value: float) -> None:
        key = tuple(sorted((k, v) for k, v in labels.items() if k not in ("instance", "job")))
        family = self.samples[name]
        family[key] = family.get(key, 0.0) + value

    def select(self, name: str, **wanted: str) -> Iterable[tuple[dict[str, str], float]]:
        for key, value in self.samples.get(name, {}).items():
            labels = dict(key)
            if all(labels.get(k) == v for k, v in wanted.items()):
                yield labels, value


def from_endpoints(targets: Iterable[str], timeout: float = 5.0) -> Snapshot:
    """Scrape ``host:port`` metrics endpoints directly (the local testbed)."""
    snapshot = Snapshot()
    for target in targets:
        try:
            samples = list(scrape(target, timeout))
        except OSError as error:
            raise SourceError(f"cannot read http://{target}/metrics: {error}") from error
        for sample in samples:
            if sample.name in _FAMILIES:
                snapshot.add(sample.name, sample.labels, sample.value)
    return snapshot


def from_prometheus(url: str, timeout: float = 10.0) -> Snapshot:
    """Read the same families from a Prometheus server's HTTP API (instant queries)."""
    snapshot = Snapshot()
    for name in _FAMILIES:
        query = urllib.parse.urlencode({"query": name})
        endpoint = f"{url.rstrip('/')}/api/v1/query?{query}"
        try:
            with urllib.request.urlopen(endpoint, timeout=timeout) as response:  # noqa: S310
                body = json.load(response)
        except (OSError, ValueError) as error:
            raise SourceError(f"cannot query {endpoint}: {error}") from error
        if body.get("status") != "success":
            raise SourceError(f"Prometheus refused {name}: {body.get('error', body)}")
        for sample in body["data"]["result"]:
            labels = {k: v for k, v in sample["metric"].items() if k != "__name__"}
            snapshot.add(name, labels, float(sample["value"][1]))
    return snapshot


def successes(snapshot: Snapshot, role: str, phase: str = KEY_AGREEMENT) -> float:
    return sum(
        value
        for labels, value in snapshot.select("mec5g_phase_results_total", role=role, phase=phase)
        if labels.get("outcome") in SUCCESS_OUTCOMES
    )


@dataclass(frozen=True)
class EntityCost:
    """One row of the live Table 1."""

    role: str
    handshakes: float
    paper: str
    measured: dict[str, float]  # unit -> operations of the paper's scheme per handshake
    additions: dict[str, dict[str, float]]  # origin -> unit -> operations per handshake
    computation_us: float | None


@dataclass(frozen=True)
class MessageSize:
    """One row of the live Table 2."""

    message: str
    paper_bits: int
    measured_bits: float | None
    extension_bits: float | None


@dataclass(frozen=True)
class Report:
    handshakes: float
    table_1: list[EntityCost]
    table_2: list[MessageSize]
    latency: dict[tuple[str, str], tuple[float, float]]  # (role, phase) -> (p50, p99) seconds


def table_1(snapshot: Snapshot) -> list[EntityCost]:
    rows = []
    for role, paper in PAPER_TABLE_1.items():
        runs = successes(snapshot, role)
        by_origin: dict[str, dict[str, float]] = defaultdict(lambda: defaultdict(float))
        for labels, value in snapshot.select(
            "mec5g_operations_total", role=role, phase=KEY_AGREEMENT
        ):
            by_origin[labels["origin"]][labels["operation"]] += value / runs if runs else 0.0
        seconds = sum(
            value
            for _, value in snapshot.select(
                "mec5g_computation_seconds_total", role=role, phase=KEY_AGREEMENT
            )
        )
        rows.append(
            EntityCost(
                role,
                runs,
                paper,
                dict(by_origin.pop("paper", {})),
                {origin: dict(counts) for origin, counts in sorted(by_origin.items())},
                1e6 * seconds / runs if runs else None,
            )
        )
    return rows


def table_2(snapshot: Snapshot) -> list[MessageSize]:
    handshakes = successes(snapshot, "ue")
    rows = []
    for message, paper_bits in PAPER_TABLE_2.items():
        sent = {
            labels["origin"]: value
            for labels, value in snapshot.select("mec5g_message_bytes_total", message=message)
        }
        rows.append(
            MessageSize(
                message,
                paper_bits,
                8 * sent.get("paper", 0.0) / handshakes if handshakes else None,
                8 * sent.get("ours", 0.0) / handshakes if handshakes else None,
            )
        )
    return rows


def histograms(snapshot: Snapshot) -> dict[tuple[str, str], list[tuple[float, float]]]:
    """Cumulative bucket counts (upper bound, count) per (role, phase), all outcomes together."""
    buckets: dict[tuple[str, str], dict[float, float]] = defaultdict(lambda: defaultdict(float))
    for labels, value in snapshot.select("mec5g_phase_duration_seconds_bucket"):
        buckets[(labels["role"], labels["phase"])][float(labels["le"])] += value
    return {key: sorted(bounds.items()) for key, bounds in sorted(buckets.items())}


def quantile(q: float, cumulative: list[tuple[float, float]]) -> float:
    """``histogram_quantile`` as Prometheus computes it: linear within the bucket."""
    total = cumulative[-1][1]
    if total == 0:
        return math.nan
    rank = q * total
    lower_bound, lower_count = 0.0, 0.0
    for bound, count in cumulative:
        if count >= rank:
            if math.isinf(bound):
                return lower_bound
            width = count - lower_count
            return lower_bound + (bound - lower_bound) * (
                (rank - lower_count) / width if width else 0
            )
        lower_bound, lower_count = bound, count
    return lower_bound


def build(snapshot: Snapshot) -> Report:
    latency = {
        key: (quantile(0.5, cumulative), quantile(0.99, cumulative))
        for key, cumulative in histograms(snapshot).items()
        if cumulative and cumulative[-1][1] > 0
    }
    return Report(successes(snapshot, "ue"), table_1(snapshot), table_2(snapshot), latency)


def render(report: Report) -> str:
    """The report as markdown tables."""
    lines = [
        f"Key agreements completed (device side): {report.handshakes:.0f}",
        "",
        "Table 1: computation per entity and key agreement",
        "",
        "| entity | paper | measured (paper's scheme) | our additions | CPU µs/handshake |",
        "|---|---|---|---|---|",
    ]
    for row in report.table_1:
        additions = ", ".join(
            f"{origin} {notation(counts)}" for origin, counts in row.additions.items()
        )
        measured = notation(row.measured) if row.handshakes else "-"
        cpu = "-" if row.computation_us is None else f"{row.computation_us:.1f}"
        lines.append(
            f"| {ENTITY_NAMES[row.role]} | {row.paper} | {measured} | {additions or '-'} | {cpu} |"
        )
    lines += [
        "",
        "Table 2: bits per message and key agreement",
        "",
        "| message | paper | measured (paper's fields) | our extensions on the wire |",
        "|---|---|---|---|",
    ]
    for size in report.table_2:
        measured = "-" if size.measured_bits is None else number(size.measured_bits)
        extension = "-" if size.extension_bits is None else number(size.extension_bits)
        lines.append(f"| {size.message} | {size.paper_bits} | {measured} | {extension} |")
    paper_total = sum(PAPER_TABLE_2.values())
    measured_total = sum(size.measured_bits or 0.0 for size in report.table_2)
    lines.append(f"| total | {paper_total} | {number(measured_total)} | |")
    lines += ["", "Latency per role and phase (all outcomes)", ""]
    lines += ["| role | phase | p50 ms | p99 ms |", "|---|---|---|---|"]
    for (role, phase), (p50, p99) in report.latency.items():
        lines.append(f"| {role} | {phase} | {1e3 * p50:.3f} | {1e3 * p99:.3f} |")
    return "\n".join(lines)


def add_report_parser(commands: Any) -> None:
    report = commands.add_parser(
        "report", help="the paper's Tables 1 and 2 beside the live ones, and PNG plots"
    )
    source = report.add_mutually_exclusive_group()
    source.add_argument("--prometheus", metavar="URL", help="read a Prometheus server's API")
    source.add_argument(
        "--targets",
        metavar="HOST:PORT",
        nargs="+",
        help="metrics endpoints to scrape (default: the local testbed's 9151, 9152, 9153)",
    )
    report.add_argument("--port-offset", type=int, default=0, help="as given to mec5g up")
    report.add_argument("--out", type=Path, default=Path("mec5g-report"), help="plot folder")
    report.add_argument("--no-plots", action="store_true", help="print the tables only")
    report.add_argument("--json", action="store_true", help="the figures as JSON")
    report.set_defaults(handler=_run)


def _run(args: argparse.Namespace) -> int:
    try:
        if args.prometheus:
            snapshot = from_prometheus(args.prometheus)
        else:
            targets = args.targets or [
                f"127.0.0.1:{port + args.port_offset}" for port in METRICS_PORTS.values()
            ]
            snapshot = from_endpoints(targets)
    except SourceError as error:
        print(f"mec5g report: {error}", file=sys.stderr)
        return 2
    report = build(snapshot)
    if args.json:
        print(json.dumps(asdict(report) | {"latency": _latency_json(report)}, indent=1))
    else:
        print(render(report))
    if not args.no_plots:
        from mec5g.report_plots import write_plots

        try:
            written = write_plots(report, snapshot, args.out)
        except RuntimeError as error:
            print(f"mec5g report: {error}", file=sys.stderr)
            return 2
        print("plots: " + ", ".join(str(path) for path in written), file=sys.stderr)
    return 0


def _latency_json(report: Report) -> list[dict[str, Any]]:
    return [
        {"role": role, "phase": phase, "p50_seconds": p50, "p99_seconds": p99}
        for (role, phase), (p50, p99) in report.latency.items()
    ]
