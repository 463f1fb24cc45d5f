"""``mec5g bench concurrency``: end-to-end handshakes per second and latency over real gRPC, at
several concurrencies, for each live scheme (the paper's and the public-key baseline [36], side by
side in one run), against the bare echo chain of the same shape.

It is ``bench handshake`` (``handshake_bench.run_curve``) at each concurrency in turn, with one set
of processes per topology: client, MEC and TTP as three processes on localhost, each scheme over
its own SQLite store.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

from mec5g.bench import handshake_bench
from mec5g.bench.progress import Progress
from mec5g.bench.results import PartResult, Table

DEFAULT_CONCURRENCIES = (1, 4, 16, 64, 128)


def run(
    devices: int,
    concurrencies: Sequence[int],
    duration: float,
    *,
    schemes: Sequence[str] = handshake_bench.LIVE_SCHEMES,
    mec_credentials: int,
    show_progress: bool,
) -> PartResult:
    slices = handshake_bench.slices_per_level(duration, handshake_bench.SLICE_SECONDS)
    topologies = len(set(schemes)) + 1
    progress = Progress(
        "concurrency", topologies * slices * len(concurrencies), enabled=show_progress
    )
    reports = asyncio.run(
        handshake_bench.run_curve(
            devices,
            concurrencies,
            duration,
            schemes=schemes,
            mec_credentials=mec_credentials,
            on_slice=progress.advance,
        )
    )
    progress.close()
    levels: list[dict[str, Any]] = [report.as_dict() for report in reports]
    rows = []
    for level in levels:
        measured = [(name, figures) for name, figures in level["schemes"].items()]
        for name, figures in [*measured, ("echo chain", level["echo"])]:
            between = level["baseline36_to_braeken2021"]
            rows.append(
                [
                    str(level["concurrency"]),
                    name,
                    f"{figures['per_second']:,.0f}",
                    f"{figures['p50_ms']:.2f}",
                    f"{figures['p99_ms']:.2f}",
                    f"{figures['completed']:,} / {figures['failed']:,}",
                    f"{figures['ratio']:.3f}" if "ratio" in figures else "",
                    f"{between:.3f}" if between is not None and name == "baseline36" else "",
                ]
            )
    table = Table(
        "Handshakes over gRPC by scheme, against the echo chain, by concurrency",
        [
            "concurrency",
            "topology",
            "per second",
            "p50 ms",
            "p99 ms",
            "ok / failed",
            "ratio to echo",
            "baseline36 / braeken2021",
        ],
        rows,
        f"{devices:,} devices per scheme, K = {mec_credentials} MEC credentials (braeken2021), "
        f"{duration:g} s per topology and concurrency, measured in rotating slices of one run. "
        "The echo chain has the same processes and services and the paper's message sizes, "
        "without cryptography or storage.",
    )
    return PartResult(
        "concurrency",
        "End-to-end handshakes over gRPC by scheme and concurrency",
        {
            "devices": devices,
            "mec_credentials": mec_credentials,
            "duration": duration,
            "schemes": list(dict.fromkeys(schemes)),
            "levels": levels,
        },
        [table],
    )
