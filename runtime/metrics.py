"""Prometheus metrics of one process: one registry, names ``mec5g_*``, units in the name.

This is the basic set every process exports (DESIGN.md decision 6): a duration histogram and a
result counter per role and phase, labelled by outcome. Labels never carry a key, an identity or
a personal attribute; refusal reasons appear on the TTP only.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import grpc
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, start_http_server
from prometheus_client.metrics import MetricWrapperBase

from mec5g.core.operations import Ledger, Operation, Origin
from mec5g.runtime.compute_emulation import ComputeEmulation, installed

KEY_AGREEMENT = "key_agreement"  # phase 3; the phase label of every key-agreement metric
DATA = "data"  # phase 4: sealing, sending, receiving and opening data records
ANALYSIS = "analysis"  # phase 4: the MEC's analysis of the records it accepted
USER_REQUEST = "user_request"  # phase 5: grants at the TTP, sealed results at the MEC
EMERGENCY = "emergency"  # phase 6: raising, deciding who is involved, delivering alerts
HANDOVER = "handover"  # a patient's move between MEC nodes: ticket, context transfer, switch

# 50 µs to 10 s: resolves a core-only handshake and a lossy radio link alike.
DURATION_BUCKETS = (
    0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01,
    0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
)  # fmt: skip


@dataclass
class Metrics:
    """The metric families of one process, registered in its own registry."""

    role: str
    registry: CollectorRegistry = field(default_factory=CollectorRegistry)
    # The process's compute emulation, if any (runtime/compute_emulation.py).
    compute: ComputeEmulation | None = field(default_factory=installed)

    def __post_init__(self) -> None:
        self._children: dict[tuple[MetricWrapperBase, tuple[str, ...]], Any] = {}
        self._operation_children: dict[tuple[str, tuple[Operation, Origin]], Any] = {}
        self.phase_duration = Histogram(
            "mec5g_phase_duration_seconds",
            "Wall time of one protocol phase as seen by this role, by outcome.",
            ["role", "phase", "outcome"],
            buckets=DURATION_BUCKETS,
            registry=self.registry,
        )
        self.phase_results = Counter(
            "mec5g_phase_results",
            "Protocol phase runs by outcome.",
            ["role", "phase", "outcome"],
            registry=self.registry,
        )
        self.operations = Counter(
            "mec5g_operations",
            "Cryptographic operations in the paper's Table 1 units (Th hash, Ts symmetric, "
            "Tm point multiplication, Ta point addition); origin paper, or the addition of ours.",
            ["role", "phase", "operation", "origin"],
            registry=self.registry,
        )
        self.computation = Counter(
            "mec5g_computation_seconds",
            "Time spent computing (the core's role functions), apart from waiting; divide its rate "
            "by the phase's result rate for the computation cost per run.",
            ["role", "phase"],
            registry=self.registry,
        )
        self.emulated_computation = Counter(
            "mec5g_emulated_computation_seconds",
            "Computation time on the hardware of the process's compute profile: per counted "
            "computation the larger of its real time and its operations' cost there (the "
            "process waits the difference before its next message leaves). Only with a compute "
            "profile.",
            ["role", "phase"],
            registry=self.registry,
        )
        self.compute_profile = Gauge(
            "mec5g_compute_profile_info",
            "1 for the compute profile this process emulates (profile name, and the cores "
            "computing at once, 'unlimited' for a UE whose devices each have their own).",
            ["role", "profile", "cores"],
            registry=self.registry,
        )
        if self.compute is not None:
            cores = "unlimited" if self.compute.cores is None else str(self.compute.cores)
            self.compute_profile.labels(self.role, self.compute.profile.name, cores).set(1)
        self.message_bytes = Counter(
            "mec5g_message_bytes",
            "Bytes of protocol messages this role sent: origin paper for the paper's bytes "
            "(Table 2), ours for everything else on the wire (version, handle, protobuf framing).",
            ["role", "message", "origin"],
            registry=self.registry,
        )
        self.store_duration = Histogram(
            "mec5g_store_duration_seconds",
            "Wall time of a durable key-store or holder-store operation, commit included.",
            ["role", "operation"],
            buckets=DURATION_BUCKETS,
            registry=self.registry,
        )
        self.mec_credentials = Gauge(
            "mec5g_mec_credentials",
            "The MEC's credentials by state: busy (leased by a handshake) or free.",
            ["role", "state"],
            registry=self.registry,
        )
        self.grpc_handled = Counter(
            "mec5g_grpc_handled",
            "gRPC calls completed, by side (server or client), service, method and status code.",
            ["role", "side", "service", "method", "code"],
            registry=self.registry,
        )
        self.grpc_duration = Histogram(
            "mec5g_grpc_duration_seconds",
            "Latency of gRPC calls, by side (server or client), service and method.",
            ["role", "side", "service", "method"],
            buckets=DURATION_BUCKETS,
            registry=self.registry,
        )
        self.data_sessions = Gauge(
            "mec5g_data_sessions",
            "Live phase-4 data sessions by state (MEC: unconfirmed until the first valid record, "
            "confirmed; UE: active).",
            ["role", "state"],
            registry=self.registry,
        )
        self.data_records = Counter(
            "mec5g_data_records",
            "Phase-4 data records by purpose (reading, check_in) and outcome: accepted, or the "
            "reason the MEC refused it (unknown_session, expired, replay, too_old, tampered, "
            "wrong_session, malformed); at the UE acknowledged, refused, bad_ack, unavailable.",
            ["role", "purpose", "outcome"],
            registry=self.registry,
        )
        self.news2_score = Histogram(
            "mec5g_news2_score",
            "NEWS2 aggregate of every analysis evaluation, by completeness (a partial score is a "
            "lower bound).",
            ["role", "complete"],
            buckets=tuple(range(21)),
            registry=self.registry,
        )
        self.alerts = Counter(
            "mec5g_news2_alerts",
            "Analyses entering a NEWS2 alert level (urgent_ward, urgent, emergency) from a lower "
            "one.",
            ["role", "level"],
            registry=self.registry,
        )
        self.refusals = Counter(
            "mec5g_ttp_refusals",
            "Key-agreement requests the TTP refused, by internal reason (never sent to peers).",
            ["reason"],
            registry=self.registry,
        )
        self.rate_limited = Counter(
            "mec5g_rate_limited",
            "Requests refused with RESOURCE_EXHAUSTED by a rate limit, by limit (per_source, "
            "per_mec, per_device); the key itself (an address, a DID) is never a label.",
            ["role", "limit"],
            registry=self.registry,
        )
        self.handover_interruption = Histogram(
            "mec5g_handover_interruption_seconds",
            "A patient's move to another MEC node as its devices saw it: part total is from the "
            "last record the source accepted to the first the target accepted, part "
            "key_agreement the key agreement at the target within it (context transfer "
            "included).",
            ["role", "part"],
            buckets=DURATION_BUCKETS,
            registry=self.registry,
        )
        self.scheme = Gauge(
            "mec5g_scheme_info",
            "The device key agreement this process runs (--scheme): 1 for its scheme. Phases 5 "
            "and 6 run the anonymous key agreement whatever the scheme.",
            ["role", "scheme"],
            registry=self.registry,
        )
        self.stale_counters = Counter(
            "mec5g_ttp_stale_counters",
            "Requests the TTP refused for a stale counter, per credential: a replay or a cloned "
            "device or MEC credential. credential is the key store's record number (kind-N), "
            "which names no person; only credentials that presented one appear.",
            ["role", "kind", "credential"],
            registry=self.registry,
        )

    def _child(self, family: MetricWrapperBase, *labels: str) -> Any:
        """The labelled child of ``family``, looked up once (``labels()`` costs a lock and a
        dict per call, on every handshake of every process)."""
        key = (family, labels)
        child = self._children.get(key)
        if child is None:
            child = self._children[key] = family.labels(self.role, *labels)
        return child

    def running(self, scheme: str) -> None:
        """Say which device key agreement this process runs."""
        self._child(self.scheme, scheme).set(1)

    def observe(self, phase: str, outcome: str, seconds: float) -> None:
        self._child(self.phase_duration, phase, outcome).observe(seconds)
        self._child(self.phase_results, phase, outcome).inc()

    def count_operations(self, phase: str, ledger: Ledger) -> None:
        """Add a counted block's operations and computation time (and its emulated time, which
        the task then owes, under a compute profile).

        Every handshake adds about ten of these per role: the labelled children are found by the
        ledger's own key (enum members hash by identity), not by their label strings.
        """
        self._child(self.computation, phase).inc(ledger.seconds)
        if self.compute is not None:
            self._child(self.emulated_computation, phase).inc(self.compute.charge(ledger))
        children = self._operation_children
        for key, times in ledger.items():
            child = children.get((phase, key))
            if child is None:
                operation, origin = key
                child = children[(phase, key)] = self._child(
                    self.operations, phase, operation.value, origin.value
                )
            child.inc(times)

    def sent(self, message: str, paper_bytes: int, wire_bytes: int) -> None:
        """A protocol message left this role: ``paper_bytes`` of it are the paper's."""
        self._child(self.message_bytes, message, "paper").inc(paper_bytes)
        self._child(self.message_bytes, message, "ours").inc(wire_bytes - paper_bytes)

    def data_record(self, purpose: str, outcome: str) -> None:
        self._child(self.data_records, purpose, outcome).inc()

    def sessions(self, state: str, count: int) -> None:
        self._child(self.data_sessions, state).set(count)

    def news2(self, aggregate: int, complete: bool, alert: str | None) -> None:
        self._child(self.news2_score, "true" if complete else "false").observe(aggregate)
        if alert is not None:
            self._child(self.alerts, alert).inc()

    def interruption(self, total: float, key_agreement: float) -> None:
        self._child(self.handover_interruption, "total").observe(total)
        self._child(self.handover_interruption, "key_agreement").observe(key_agreement)

    def store_call(self, operation: str, seconds: float) -> None:
        self._child(self.store_duration, operation).observe(seconds)

    def grpc_call(
        self, side: str, service: str, method: str, code: grpc.StatusCode, seconds: float
    ) -> None:
        self._child(self.grpc_handled, side, service, method, code.name).inc()
        self._child(self.grpc_duration, side, service, method).observe(seconds)

    def serve(self, port: int, address: str = "0.0.0.0") -> None:  # noqa: S104 - a pod's scrape port
        """Expose /metrics over HTTP; port 0 turns it off."""
        if port:
            start_http_server(port, addr=address, registry=self.registry)
