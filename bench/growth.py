"""``mec5g bench growth``: how the TTP behaves as registered devices grow, 10^3 to 10^6 by default.

One durable SQLite key store grows in steps; at each size:

- the TTP's answer rate in-process: ``KeyStore.answer`` (group commit, ``synchronous=FULL``) with
  ``in_flight`` requests outstanding, on this process's one event loop and one writer thread;
  requests are prepared outside the timed region (``core_bench.Workload``);
- the store's bytes per device: ``page_count * page_size`` after ``wal_checkpoint(TRUNCATE)``,
  divided by the devices enrolled, with the share of devices that hold a pending credential (a
  device that has completed a handshake; its record is larger by the pending DID, DK and index
  entry). Every sampled device answers at least once per size, so while the sample holds every
  device (10^3 and 10^4 by default) every record is rotated, as in steady operation;
- unless ``end_to_end`` is off, the end-to-end rate over gRPC: the real TTP and MEC processes over
  the same store, the client loading them at ``concurrency`` (``handshake_bench.start_scheme``).

The load comes from a uniform random sample of the enrolled devices (reservoir sampling), so
that records are read and written all over the table, as a large deployment's are; only the
sample's credentials are kept in memory.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import sqlite3
import tempfile
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from mec5g.bench import handshake_bench
from mec5g.bench.core_bench import Workload
from mec5g.bench.progress import Progress
from mec5g.bench.results import PartResult, Table
from mec5g.core.credentials import Credential, HolderState, RecordRule
from mec5g.core.messages import M2
from mec5g.core.records import RecordKind
from mec5g.core.ttp_role import Accepted
from mec5g.runtime.grpc_server import tune_collector
from mec5g.ttp.enrolment import DEFAULT_ANALYSIS, enrol_mec
from mec5g.ttp.keystore import KeyStore

DEFAULT_SIZES = (1_000, 10_000, 100_000, 1_000_000)
ENROL_CHUNK = 10_000
_RULE = RecordRule.COUNTER


def store_bytes(path: Path) -> int:
    """The store's size with its write-ahead log folded in: page_count * page_size."""
    connection = sqlite3.connect(path)
    try:
        connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        pages = connection.execute("PRAGMA page_count").fetchone()[0]
        page_size = connection.execute("PRAGMA page_size").fetchone()[0]
        return int(pages) * int(page_size)
    finally:
        connection.close()


def _rotated_devices(path: Path) -> int:
    """Devices whose record holds a pending credential (they completed a handshake)."""
    connection = sqlite3.connect(path)
    try:
        query = (
            "SELECT count(*) FROM credential_records WHERE kind = 'device' "
            "AND pending_did IS NOT NULL"
        )
        return int(connection.execute(query).fetchone()[0])
    finally:
        connection.close()


async def answer_rate(
    store: KeyStore,
    workload: Workload,
    seconds: float,
    in_flight: int,
    *,
    at_least: int = 0,
    chunk: int = 5_000,
) -> tuple[int, float, float]:
    """Answer prepared requests, ``in_flight`` at a time, for at least ``seconds`` of timed work
    and ``at_least`` requests; returns how many were answered, in how many seconds, and the CPU
    seconds this process spent on them (event loop and writer thread together: on a shared
    machine a steadier figure than the rate)."""
    version = int(_RULE)
    timed = 0.0
    cpu = 0.0
    answered = 0
    while timed < seconds or answered < at_least:
        pending = iter(workload.requests(chunk))

        async def worker(requests: Iterator[M2]) -> None:
            # Each worker submits the next request before yielding, so requests reach the
            # committer in the order they were prepared (each counter after the one before).
            for m2 in requests:
                result = await store.answer(m2, version)
                if not isinstance(result, Accepted):
                    raise AssertionError(f"benchmark request refused: {result.reason}")

        started, cpu_started = time.perf_counter(), time.process_time()
        await asyncio.gather(*(worker(pending) for _ in range(in_flight)))
        timed += time.perf_counter() - started
        cpu += time.process_time() - cpu_started
        answered += chunk
    return answered, timed, cpu


class _GrowingStore:
    """A key store enrolled in chunks, keeping a uniform sample of the devices' credentials."""

    def __init__(self, path: Path, sample_size: int, seed: int) -> None:
        self.path = path
        self.store = KeyStore(path)
        self.devices = 0
        self.sample: list[HolderState] = []
        self._sample_size = sample_size
        self._random = random.Random(seed)  # which devices are sampled, not a secret

    def grow_to(self, size: int, progress: Progress) -> float:
        """Enrol devices up to ``size``; returns the seconds it took."""
        started = time.perf_counter()
        while self.devices < size:
            count = min(ENROL_CHUNK, size - self.devices)
            issued = {
                f"dev-{self.devices + number:07d}": Credential.generate()
                for number in range(1, count + 1)
            }
            self.store.enrol(RecordKind.DEVICE, issued, DEFAULT_ANALYSIS, _RULE)
            for credential in issued.values():
                self.devices += 1
                if len(self.sample) < self._sample_size:
                    self.sample.append(HolderState(credential, _RULE))
                else:
                    slot = self._random.randrange(self.devices)
                    if slot < self._sample_size:
                        self.sample[slot] = HolderState(credential, _RULE)
            progress.advance(count)
        return time.perf_counter() - started


async def _end_to_end(
    workdir: Path, growing: _GrowingStore, concurrency: int, seconds: float
) -> dict[str, Any]:
    async with contextlib.AsyncExitStack() as stack:
        topology = await handshake_bench.start_scheme(
            stack, workdir, growing.path, workdir / "mec.json", growing.sample
        )
        await topology.run_slice(concurrency, min(1.0, seconds), measured=False)
        await topology.run_slice(concurrency, seconds, measured=True)
        result = topology.take_result()
    return {
        "per_second": result.per_second,
        "p50_ms": result.p50_ms,
        "p99_ms": result.p99_ms,
        "completed": result.completed,
        "failed": result.failed,
    }


async def _measure(
    sizes: Sequence[int],
    *,
    seconds: float,
    in_flight: int,
    sample: int,
    mec_credentials: int,
    end_to_end: bool,
    concurrency: int,
    show_progress: bool,
    seed: int,
) -> list[dict[str, Any]]:
    points = []
    with tempfile.TemporaryDirectory(prefix="mec5g-growth-") as directory:
        workdir = Path(directory)
        # The MEC process's credentials first: opening a key store touches its file, which would
        # drop this process's SQLite locks if the growing store were open already.
        enrol_mec(workdir / "ttp.db", workdir / "mec.json", "mec-bench", mec_credentials)
        growing = _GrowingStore(workdir / "ttp.db", sample, seed)
        try:
            in_process_mecs = [
                HolderState(credential, _RULE)
                for credential in growing.store.enrol(
                    RecordKind.MEC,
                    [f"mec-inprocess/cred-{n:03d}" for n in range(mec_credentials)],
                    "mec-inprocess",
                    _RULE,
                ).values()
            ]
            workload = Workload(growing.sample, in_process_mecs)
            for size in sizes:
                progress = Progress(f"growth: enrol {size:,}", size, enabled=show_progress)
                progress.advance(growing.devices)
                enrol_seconds = growing.grow_to(size, progress)
                progress.close()
                # The collector as the TTP process sets it once serving (the sample's and the
                # store's objects frozen out of full collections).
                tune_collector()
                # Untimed: one chunk to warm the caches (SQLite's, the statement cache) first.
                await answer_rate(
                    growing.store, workload, 0.0, in_flight, at_least=1, chunk=4 * in_flight
                )
                # One request per sampled device at least: while the sample holds every device,
                # every record is rotated (holds a pending credential), as in steady operation.
                answered, timed, cpu = await answer_rate(
                    growing.store, workload, seconds, in_flight, at_least=len(growing.sample)
                )
                point: dict[str, Any] = {
                    "devices": size,
                    "enrol_seconds": enrol_seconds,
                    "in_process": {
                        "answered": answered,
                        "seconds": timed,
                        "per_second": answered / timed,
                        "cpu_us_per_answer": 1e6 * cpu / answered,
                        "in_flight": in_flight,
                    },
                }
                if end_to_end:
                    point["end_to_end"] = await _end_to_end(
                        workdir, growing, min(concurrency, len(growing.sample)), seconds
                    )
                total = store_bytes(growing.path)
                point["store_bytes"] = total
                point["bytes_per_device"] = total / size
                point["rotated_share"] = _rotated_devices(growing.path) / size
                points.append(point)
        finally:
            growing.store.close()
    return points


def run(
    sizes: Sequence[int],
    *,
    seconds: float,
    in_flight: int,
    sample: int,
    mec_credentials: int,
    end_to_end: bool,
    concurrency: int,
    show_progress: bool,
    seed: int = 0,
) -> PartResult:
    if list(sizes) != sorted(set(sizes)) or sizes[0] < 1:
        raise ValueError("--sizes must be increasing positive numbers")
    points = asyncio.run(
        _measure(
            sizes,
            seconds=seconds,
            in_flight=in_flight,
            sample=sample,
            mec_credentials=mec_credentials,
            end_to_end=end_to_end,
            concurrency=concurrency,
            show_progress=show_progress,
            seed=seed,
        )
    )
    first = points[0]
    rows = []
    for point in points:
        in_process = point["in_process"]["per_second"]
        row = [
            f"{point['devices']:,}",
            f"{in_process:,.0f}",
            f"{in_process / first['in_process']['per_second']:.2f}",
            f"{point['in_process']['cpu_us_per_answer']:,.0f}",
        ]
        if end_to_end:
            e2e = point["end_to_end"]
            row += [
                f"{e2e['per_second']:,.0f}",
                f"{e2e['per_second'] / first['end_to_end']['per_second']:.2f}",
                f"{e2e['p50_ms']:.2f} / {e2e['p99_ms']:.2f}",
            ]
        row += [
            f"{point['bytes_per_device']:,.1f}",
            f"{100 * point['rotated_share']:.1f} %",
            f"{point['enrol_seconds']:,.1f}",
        ]
        rows.append(row)
    headers = ["devices", "in-process answers/s", "vs first", "CPU µs per answer"]
    if end_to_end:
        headers += ["end-to-end handshakes/s", "vs first", "p50 / p99 ms"]
    headers += ["store bytes / device", "devices rotated", "enrol s"]
    table = Table(
        "TTP answer rate and store size by registered devices",
        headers,
        rows,
        f"In-process: KeyStore.answer with {in_flight} in flight, durable SQLite (WAL, "
        f"synchronous=FULL, group commit), {seconds:g} s of timed work per size, load from a "
        f"random sample of {sample:,} devices and {mec_credentials} MEC credentials. CPU µs per "
        "answer: this process's CPU time (event loop and writer thread) over the answers, "
        "steadier than the rate on a shared machine; one core's worth of it answers about "
        "10^6 / that many per second, waiting for fsync aside. "
        f"End-to-end: TTP and MEC processes over the same store, concurrency {concurrency}. "
        "Store bytes: page_count * page_size after a WAL checkpoint, over devices enrolled "
        "(a rotated device also holds a pending credential).",
    )
    return PartResult(
        "growth",
        "Growth with registered devices",
        {
            "sizes": list(sizes),
            "seconds": seconds,
            "in_flight": in_flight,
            "sample": sample,
            "mec_credentials": mec_credentials,
            "concurrency": concurrency,
            "points": points,
        },
        [table],
    )
