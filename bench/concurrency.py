"""``mec5g bench concurrency``: end-to-end handshakes per second and latency over real gRPC, at
several concurrencies, against the bare echo chain of the same shape.

It is ``bench handshake`` (``handshake_bench.run_curve``) at each concurrency in turn, with one set
of processes: client, MEC and TTP as three processes on localhost, the durable SQLite key store.
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
    mec_credentials: int,
    show_progress: bool,
) -> PartResult:
    slices = handshake_bench.slices_per_level(duration, handshake_bench.SLICE_SECONDS)
    progress = Progress("concurrency", 2 * slices * len(concurrencies), enabled=show_progress)
    reports = asyncio.run(
        handshake_bench.run_curve(
            devices,
            concurrencies,
            duration,
            mec_credentials=mec_credentials,
            on_slice=progress.advance,
        )
    )
    progress.close()
    levels: list[dict[str, Any]] = [report.as_dict() for report in reports]
    rows = []
    for level in levels:
        for topology in ("handshake", "echo"):
            figures = level[topology]
            rows.append(
                [
                    str(level["concurrency"]),
                    "handshake" if topology == "handshake" else "echo chain",
                    f"{figures['per_second']:,.0f}",
                    f"{figures['p50_ms']:.2f}",
                    f"{figures['p99_ms']:.2f}",
                    f"{figures['completed']:,} / {figures['failed']:,}",
                    f"{level['ratio']:.3f}" if topology == "handshake" else "",
                ]
            )
    table = Table(
        "Handshakes over gRPC against the echo chain, by concurrency",
        ["concurrency", "topology", "per second", "p50 ms", "p99 ms", "ok / failed", "ratio"],
        rows,
        f"{devices:,} devices, K = {mec_credentials} MEC credentials, {duration:g} s per "
        "topology and concurrency, measured in alternating slices. The echo chain has the same "
        "processes, services and payload sizes, without cryptography or storage.",
    )
    return PartResult(
        "concurrency",
        "End-to-end handshakes over gRPC by concurrency",
        {
            "devices": devices,
            "mec_credentials": mec_credentials,
            "duration": duration,
            "levels": levels,
        },
        [table],
    )
