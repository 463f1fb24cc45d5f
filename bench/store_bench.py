"""``mec5g bench store``: the store's answers per second and latency, SQLite and PostgreSQL, and
each store operation's latency alone.

Every request is a first attempt of its own device with its own MEC credential, so every one is
accepted and writes two records; ``in_flight`` requests run at once. SQLite runs as one store
(one replica). PostgreSQL runs with 1, 2 and 3 store instances (replicas, each with its own
connection pool) on one database, the requests dealt round-robin over them.

Then each operation the TTP's store performs runs alone, one after the other, on each backend:
issuing an enrolment code, registering (the ECQV issue included), creating an analysis of one
device, issuing a watch grant (its signature included) and answering a key agreement. A user
request's signature check is left out (it is a signature, not storage): the operations are
given the authenticated request directly.

What this measures and what it cannot: the replicas share this process, its event loop and the
machine's cores with the database server, so on a small machine more replicas cannot show more
throughput; the figures show the cost per operation and that replicas do not lose correctness
(the tests check that), not scaling.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from mec5g.core import device_role, ecqv, mec_role
from mec5g.core.anonymous_agreement import Purpose
from mec5g.core.credentials import Credential, HolderState, RecordRule
from mec5g.core.messages import M2
from mec5g.core.primitives import random_bytes
from mec5g.core.profiles import AccessPolicy, PatientAttributes, Role
from mec5g.core.records import RecordKind
from mec5g.core.ttp_role import Accepted
from mec5g.ttp.registry import DeviceRequest, Registry, SignedRequest
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

    def render(self) -> str:
        return (
            f"{self.backend:<10} replicas {self.replicas}: {self.rate:8.0f} answers/s; "
            f"answer latency p50 {percentile(self.latencies, 0.5) * 1e3:6.2f} ms, "
            f"p99 {percentile(self.latencies, 0.99) * 1e3:6.2f} ms ({self.answered} answers)"
        )


@dataclass(frozen=True)
class OperationLatency:
    """One store operation's latencies, each run alone."""

    backend: str
    operation: str
    latencies: list[float]

    def render(self) -> str:
        return (
            f"{self.backend:<10} {self.operation:<28} p50 "
            f"{percentile(self.latencies, 0.5) * 1e3:7.2f} ms, p99 "
            f"{percentile(self.latencies, 0.99) * 1e3:7.2f} ms ({len(self.latencies)} runs)"
        )


def percentile(samples: list[float], fraction: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


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


@dataclass(frozen=True)
class StoreReport:
    runs: list[StoreRun]
    operations: list[OperationLatency]

    def as_dict(self) -> dict[str, object]:
        return {
            "answers": [
                {
                    "backend": run.backend,
                    "replicas": run.replicas,
                    "answers_per_second": run.rate,
                    "p50_ms": percentile(run.latencies, 0.5) * 1e3,
                    "p99_ms": percentile(run.latencies, 0.99) * 1e3,
                }
                for run in self.runs
            ],
            "operations": [
                {
                    "backend": operation.backend,
                    "operation": operation.operation,
                    "p50_ms": percentile(operation.latencies, 0.5) * 1e3,
                    "p99_ms": percentile(operation.latencies, 0.99) * 1e3,
                    "runs": len(operation.latencies),
                }
                for operation in self.operations
            ],
        }

    def render(self) -> str:
        return "\n".join(
            [
                *(run.render() for run in self.runs),
                "Each operation alone (one at a time):",
                *(operation.render() for operation in self.operations),
            ]
        )


async def run(
    sqlite_path: Path, store_url: str | None, requests: int, in_flight: int, rounds: int
) -> StoreReport:
    """SQLite with one replica, then PostgreSQL (when ``store_url``) with 1, 2 and 3; then each
    operation ``rounds`` times alone on each backend."""
    setups: list[tuple[str, StoreLocation, int]] = [("sqlite", sqlite_path, 1)]
    if store_url is not None:
        setups += [("postgresql", store_url, replicas) for replicas in (1, 2, 3)]
    tag = random_bytes(3).hex()  # names of this run's own: a database may be used again
    runs = []
    for backend, location, count in setups:
        replicas = [open_key_store(location) for _ in range(count)]
        try:
            prepared = _requests(replicas[0], requests, f"{tag}-{backend}-{count}")
            runs.append(await _run(backend, replicas, prepared, in_flight))
        finally:
            for replica in replicas:
                await replica.aclose()
    operations = []
    for backend, location in dict.fromkeys((backend, location) for backend, location, _ in setups):
        operations += await operation_latencies(backend, location, rounds, tag)
    return StoreReport(runs, operations)


@contextlib.contextmanager
def _timed(latencies: list[float]) -> Iterator[None]:
    started = time.perf_counter()
    yield
    latencies.append(time.perf_counter() - started)


async def operation_latencies(
    backend: str, location: StoreLocation, rounds: int, tag: str
) -> list[OperationLatency]:
    """Each store operation ``rounds`` times, alone, on the store at ``location``, with names
    (users, node, devices) starting with ``tag``."""
    node = f"{tag}-node"
    code, register, create, grant, answer = (
        "issue enrolment code",
        "register (ECQV issue)",
        "create analysis, 1 device",
        "authorise a watch",
        "key agreement answer",
    )
    timings: dict[str, list[float]] = {name: [] for name in (code, register, create, grant, answer)}
    store = open_key_store(location)
    registry = Registry(location)
    try:
        _, register_node = registry.mec_identity(node, ecqv.request(node)[1])
        with registry.database.transaction() as connection:
            register_node(connection)
        for number in range(rounds):
            user = f"{tag}-user-{number:05d}"
            point = ecqv.request(user)[1]
            with _timed(timings[code]):
                issued = registry.issue_enrolment_code(user, Role.PATIENT, 600)
            with _timed(timings[register]):
                registry.register(issued, user, Role.PATIENT, point, PatientAttributes())
            patient = registry.user(user)
            assert patient is not None
            with _timed(timings[create]):
                analysis, _, _ = registry.create_analysis(
                    SignedRequest(patient, random_bytes(16), time.time()),
                    [DeviceRequest("ecg", None)],
                    AccessPolicy(),
                )
            requester = ecqv.public_key(ecqv.random_scalar())
            signed = SignedRequest(patient, random_bytes(16), time.time())
            with _timed(timings[grant]):
                registry.authorise(signed, Purpose.WATCH, analysis, node, requester)
        for m2 in _requests(store, rounds, f"{tag}-alone"):
            with _timed(timings[answer]):
                result = await store.answer(m2, int(_RULE))
            if not isinstance(result, Accepted):
                raise AssertionError(f"benchmark request refused: {result.reason}")
    finally:
        registry.close()
        await store.aclose()
    return [OperationLatency(backend, name, samples) for name, samples in timings.items()]
