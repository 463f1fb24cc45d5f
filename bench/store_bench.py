"""``mec5g bench store``: the key store's answers per second and latency, SQLite and PostgreSQL.

Every request is a first attempt of its own device with its own MEC credential, so every one is
accepted and writes two records; ``in_flight`` requests run at once. SQLite runs as one store
(one replica). PostgreSQL runs with 1, 2 and 3 store instances (replicas, each with its own
connection pool) on one database, the requests dealt round-robin over them.

What this measures and what it cannot: the replicas share this process, its event loop and the
machine's cores with the database server, so on a small machine more replicas cannot show more
throughput; the figures show the cost per operation and that replicas do not lose correctness
(the tests check that), not scaling.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from pathlib import Path

from mec5g.core import device_role, mec_role
from mec5g.core.credentials import Credential, HolderState, RecordRule
from mec5g.core.messages import M2
from mec5g.core.records import RecordKind
from mec5g.core.ttp_role import Accepted
from mec5g.ttp.stores import RecordStore, StoreLocation, open_key_store

_RULE = RecordRule.COUNTER


@dataclass(frozen=True)
class StoreRun:
    backend: str
    replicas: int
    answered: int
    seconds: float
    latencies: list[float]

    @property
    def rate(self) -> float:
        return self.answered / self.seconds

    def percentile(self, fraction: float) -> float:
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]

    def render(self) -> str:
        return (
            f"{self.backend:<10} replicas {self.replicas}: {self.rate:8.0f} answers/s; "
            f"answer latency p50 {self.percentile(0.5) * 1e3:6.2f} ms, "
            f"p99 {self.percentile(0.99) * 1e3:6.2f} ms ({self.answered} answers)"
        )


def _requests(store: RecordStore, count: int, prefix: str) -> list[M2]:
    """``count`` first attempts, each of a fresh device with a fresh MEC credential."""
    devices = store.enrol(
        RecordKind.DEVICE, [f"{prefix}-dev-{n:06d}" for n in range(count)], "bench", _RULE
    )
    mecs = store.enrol(
        RecordKind.MEC, [f"{prefix}-mec/cred-{n:06d}" for n in range(count)], "bench-mec", _RULE
    )
    requests = []
    for device, mec in zip(devices.values(), mecs.values(), strict=True):
        requests.append(_m2(device, mec))
    return requests


def _m2(device: Credential, mec: Credential) -> M2:
    _, device_attempt = HolderState(device, _RULE).begin_attempt()
    _, mec_attempt = HolderState(mec, _RULE).begin_attempt()
    return mec_role.forward(mec_attempt, device_role.start(device_attempt).m1.to_bytes()).m2


async def _run(
    backend: str, replicas: list[RecordStore], requests: list[M2], in_flight: int
) -> StoreRun:
    latencies: list[float] = []
    pending = iter(enumerate(requests))

    async def worker() -> None:
        for index, m2 in pending:
            started = time.perf_counter()
            result = await replicas[index % len(replicas)].answer(m2, int(_RULE))
            latencies.append(time.perf_counter() - started)
            if not isinstance(result, Accepted):
                raise AssertionError(f"benchmark request refused: {result.reason}")

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(in_flight)))
    return StoreRun(backend, len(replicas), len(requests), time.perf_counter() - started, latencies)


async def run(
    sqlite_path: Path, store_url: str | None, requests: int, in_flight: int
) -> list[StoreRun]:
    """SQLite with one replica, then PostgreSQL (when ``store_url``) with 1, 2 and 3."""
    setups: list[tuple[str, StoreLocation, int]] = [("sqlite", sqlite_path, 1)]
    if store_url is not None:
        setups += [("postgresql", store_url, replicas) for replicas in (1, 2, 3)]
    runs = []
    for backend, location, count in setups:
        replicas = [open_key_store(location) for _ in range(count)]
        try:
            prepared = _requests(replicas[0], requests, f"{backend}-{count}")
            runs.append(await _run(backend, replicas, prepared, in_flight))
        finally:
            for replica in replicas:
                await replica.aclose()
    return runs
