"""A patient's analysis moving between MEC nodes (``core.handover``): the source node's
``mec5g.v1.MecContextTransferService``, the target node's fetch, and the context between them.

Source. The target presents the TTP's ticket; once the ticket and the target's signature check
out and the nonce is spent, the source opens its own pseudonym of the analysis and, in one step
with no wait inside (so no record of the analysis can be accepted half-way), ends every data
session of the analysis, takes the analysis and its emergency episode out of its tables and
answers the context sealed to the target's one-time key. From then on a record of any of those
sessions is refused like any record of an unknown session: nothing the source accepted is
missing from the context, and nothing it accepts later could be.

Target. After a key agreement whose TTP answer carried a ticket, before answering M4, the target
finds the source's ``MecContextTransferService`` through the MEC platform's discovery, fetches
the context (bounded by ``timeout``) and installs it under its own pseudonym, the one of the same
handshake. The device's first record at the target therefore finds the history in place. A
fetch that fails (no platform, source gone, refusal, a bad answer) is logged and counted and the
analysis starts afresh at the target: the device's readings are not affected, only the history.

The context carries times as ages at the moment of export, since the two nodes' clocks are not
compared; the target rebases them on its own clock (the transfer's own latency, milliseconds,
makes them that much younger). It names no patient, device or pseudonym. Outcomes go to
``mec5g_phase_results_total{phase="handover"}``: at the source ``accepted`` (exported),
``not_found``, ``malformed``, ``no_identity`` or the refusal's reason; at the target
``accepted`` (imported), ``no_context``, ``source_unknown``, ``source_unavailable``,
``refused``, ``bad_context``, ``no_identity``, ``no_platform``, ``error``.
"""

from __future__ import annotations

import logging
import math
import time
from collections import deque
from collections.abc import Awaitable, Callable
from typing import cast

import grpc

from mec5g.core import handover
from mec5g.core.emergency import Emergencies
from mec5g.core.errors import AuthenticationFailed, InvalidField, MalformedField, MalformedInput
from mec5g.core.news2 import AlertLevel, Consciousness, Parameter, Score, SpO2Scale
from mec5g.core.operations import counting
from mec5g.core.primitives import local_fingerprint
from mec5g.core.readings import CheckIn, SensorKind
from mec5g.mec.analysis import Analyses, Analysis, Evaluation, Sample
from mec5g.mec.analysis_service import wire_level
from mec5g.mec.sessions import SessionTable
from mec5g.runtime.grpc_server import TlsOptions, channel
from mec5g.runtime.metrics import HANDOVER, Metrics
from mec5g.runtime.status import abort_unauthenticated
from mec5g.runtime.wallet import Wallet
from mec5g.v1 import (
    mec_context_transfer_pb2,
    mec_context_transfer_pb2_grpc,
    vitals_pb2,
)

LOG = logging.getLogger("mec5g.mec")
SERVICE_NAME = mec_context_transfer_pb2.DESCRIPTOR.services_by_name[
    "MecContextTransferService"
].full_name
# Far above any node's limits (240 samples per kind, 240 scores), far below a memory problem.
MAX_CONTEXT_ITEMS = 10_000

# Where the source's ``MecContextTransferService`` listens: (service name, MEC host) -> target.
FindService = Callable[[str, str], Awaitable[str | None]]


# -- the context ------------------------------------------------------------------------------


def export_context(analysis: Analysis, now: float, emergency: AlertLevel | None) -> bytes:
    """``analysis`` as the target will rebuild it, times as ages at ``now``."""
    context = mec_context_transfer_pb2.AnalysisContext(
        spo2_scale=cast(vitals_pb2.SpO2Scale, int(analysis.spo2_scale)),
        records=analysis.records,
        emergency_level=wire_level(emergency),
    )
    for kind, samples in analysis.series.items():
        context.series.append(
            mec_context_transfer_pb2.ContextSeries(
                kind=cast(vitals_pb2.SensorKind, int(kind)),
                samples=[
                    mec_context_transfer_pb2.ContextSample(
                        age_seconds=now - sample.received, values=sample.values
                    )
                    for sample in samples
                ],
            )
        )
    if analysis.check_in is not None:
        received, check_in = analysis.check_in
        context.check_in.CopyFrom(
            mec_context_transfer_pb2.ContextCheckIn(
                age_seconds=now - received,
                consciousness=cast(vitals_pb2.Consciousness, int(check_in.consciousness)),
                supplemental_oxygen=check_in.supplemental_oxygen,
                taken_at=check_in.taken_at,
            )
        )
    for point in analysis.history:
        context.history.append(
            mec_context_transfer_pb2.ContextEvaluation(
                age_seconds=now - point.at,
                points={
                    parameter.value: points for parameter, points in point.score.points.items()
                },
                missing=[parameter.value for parameter in point.score.missing],
                stale=[parameter.value for parameter in point.stale],
            )
        )
    serialized: bytes = context.SerializeToString()
    return serialized


def _age(value: float, field: str) -> float:
    if not math.isfinite(value) or value < 0:
        raise MalformedInput(field, f"{field} must be a finite, non-negative number of seconds")
    return value


def _parameters(names: list[str], field: str) -> tuple[Parameter, ...]:
    try:
        return tuple(Parameter(name) for name in names)
    except ValueError:
        raise MalformedInput(field, f"{field} must name NEWS2 parameters") from None


def import_context(raw: bytes, pseudonym: bytes, now: float) -> tuple[Analysis, AlertLevel | None]:
    """Rebuild an exported analysis under ``pseudonym``, its times on the clock that reads
    ``now``; MalformedInput for a context that does not parse or holds impossible values."""
    context = mec_context_transfer_pb2.AnalysisContext()
    try:
        context.ParseFromString(raw)
    except Exception:  # protobuf's DecodeError, among others
        raise MalformedInput("context", "context must be a serialized AnalysisContext") from None
    sizes = [len(series.samples) for series in context.series]
    if len(context.series) > len(SensorKind) or max(sizes, default=0) > MAX_CONTEXT_ITEMS:
        raise MalformedInput("context.series", f"at most {MAX_CONTEXT_ITEMS} samples per kind")
    if len(context.history) > MAX_CONTEXT_ITEMS:
        raise MalformedInput("context.history", f"at most {MAX_CONTEXT_ITEMS} evaluations")
    if context.spo2_scale not in SpO2Scale._value2member_map_:
        raise MalformedInput("context.spo2_scale", "context.spo2_scale must be 1 or 2")
    analysis = Analysis(pseudonym, SpO2Scale(context.spo2_scale), records=context.records)
    for series in context.series:
        if series.kind not in SensorKind._value2member_map_ or SensorKind(series.kind) in (
            analysis.series
        ):
            raise MalformedInput("context.series.kind", "one series per known sensor kind")
        kind = SensorKind(series.kind)
        samples: deque[Sample] = deque()
        for sample in series.samples:
            values = tuple(sample.values)
            if len(values) != kind.value_count or not all(math.isfinite(v) for v in values):
                raise MalformedInput(
                    "context.series.samples.values", f"{kind.value_count} finite values"
                )
            samples.append(Sample(now - _age(sample.age_seconds, "age_seconds"), values))
        analysis.series[kind] = samples
    if context.HasField("check_in"):
        check_in = context.check_in
        if check_in.consciousness not in Consciousness._value2member_map_:
            raise MalformedInput("context.check_in.consciousness", "ACVPU 1-5")
        if not math.isfinite(check_in.taken_at):
            raise MalformedInput("context.check_in.taken_at", "a finite time")
        analysis.check_in = (
            now - _age(check_in.age_seconds, "check_in.age_seconds"),
            CheckIn(
                Consciousness(check_in.consciousness),
                check_in.supplemental_oxygen,
                check_in.taken_at,
            ),
        )
    for point in context.history:
        points = dict(
            zip(
                _parameters(list(point.points), "context.history.points"),
                point.points.values(),
                strict=True,
            )
        )
        score = Score(points, _parameters(list(point.missing), "context.history.missing"))
        analysis.history.append(
            Evaluation(
                now - _age(point.age_seconds, "history.age_seconds"),
                score,
                _parameters(list(point.stale), "context.history.stale"),
            )
        )
    level = context.emergency_level
    if level and level - 1 not in AlertLevel._value2member_map_:
        raise MalformedInput("context.emergency_level", "a NEWS2 alert level")
    return analysis, AlertLevel(level - 1) if level else None


# -- the source node ----------------------------------------------------------------------------


class MecContextTransferService(mec_context_transfer_pb2_grpc.MecContextTransferServiceServicer):
    """Hands an analysis over to the node a TTP ticket names, and forgets it here."""

    def __init__(
        self,
        identity: Wallet | None,
        analyses: Analyses,
        sessions: SessionTable,
        emergencies: Emergencies,
        metrics: Metrics,
        clock: Callable[[], float] = time.time,
    ) -> None:
        """``clock`` is wall time, which ticket expiries are in."""
        self._identity = identity
        self._analyses = analyses
        self._sessions = sessions
        self._emergencies = emergencies
        self._metrics = metrics
        self._clock = clock
        self._spent = handover.SpentTickets()

    async def TransferContext(  # noqa: N802 - gRPC method name
        self,
        request: mec_context_transfer_pb2.TransferContextRequest,
        context: grpc.aio.ServicerContext,
    ) -> mec_context_transfer_pb2.TransferContextResponse:
        started = time.perf_counter()

        def done(outcome: str) -> None:
            self._metrics.observe(HANDOVER, outcome, time.perf_counter() - started)

        identity = self._identity
        if identity is None:
            done("no_identity")
            await context.abort(
                grpc.StatusCode.FAILED_PRECONDITION,
                "this MEC node has no ECQV identity: start it with --identity",
            )
            raise AssertionError("unreachable: abort raises")
        try:
            with counting() as ledger:
                response = self._hand_over(identity, request)
            self._metrics.count_operations(HANDOVER, ledger)
        except (MalformedField, InvalidField) as error:
            done("malformed")
            await context.abort(grpc.StatusCode.INVALID_ARGUMENT, str(error))
            raise AssertionError("unreachable: abort raises") from None
        except AuthenticationFailed as failure:
            LOG.info("context transfer refused: %s", failure.reason)
            done(failure.reason)
            await abort_unauthenticated(context)
        if response is None:
            done("not_found")
            await context.abort(
                grpc.StatusCode.NOT_FOUND, "no analysis under the ticket's pseudonym"
            )
            raise AssertionError("unreachable: abort raises")
        done("accepted")
        return response

    def _hand_over(
        self, identity: Wallet, request: mec_context_transfer_pb2.TransferContextRequest
    ) -> mec_context_transfer_pb2.TransferContextResponse | None:
        """The sealed context, or None when no analysis is held under the ticket's pseudonym;
        a genuine ticket is spent either way. No await: the export is one step."""
        now = self._clock()
        ticket = handover.check_request(
            identity.ca_public,
            identity.identity,
            request.ticket,
            request.ticket_signature,
            request.target_key,
            request.target_certificate,
            request.target_signature,
            now,
        )
        self._spent.spend(ticket, now)
        pseudonym = handover.open_pseudonym(identity.pair, ticket)
        ended = self._sessions.close_analysis(pseudonym)
        level = self._emergencies.take(pseudonym)
        analysis = self._analyses.take(pseudonym)
        LOG.info(
            "analysis %s moves to %s: %d sessions ended, %s",
            local_fingerprint(pseudonym),
            ticket.target,
            ended,
            "context exported" if analysis is not None else "nothing held",
        )
        if analysis is None:
            return None
        sealed, signature = handover.seal_context(
            identity.pair,
            identity.identity,
            request.ticket,
            request.target_key,
            export_context(analysis, self._analyses.now(), level),
        )
        return mec_context_transfer_pb2.TransferContextResponse(
            sealed_context=sealed,
            source_certificate=identity.certificate,
            source_signature=signature,
        )


# -- the target node ----------------------------------------------------------------------------


class ContextFetcher:
    """Fetches a moved analysis's context from the node a ticket names, and installs it."""

    def __init__(
        self,
        identity: Wallet | None,
        analyses: Analyses,
        emergencies: Emergencies,
        metrics: Metrics,
        *,
        timeout: float,
        tls: TlsOptions | None = None,
    ) -> None:
        self._identity = identity
        # The platform's discovery, set once the node is attached; None without a platform.
        self.find_service: FindService | None = None
        self._analyses = analyses
        self._emergencies = emergencies
        self._metrics = metrics
        self._timeout = timeout
        self._tls = tls
        self._channels: dict[str, grpc.aio.Channel] = {}

    async def fetch(self, ticket: bytes, signature: bytes, pseudonym: bytes) -> str:
        """Fetch and install the context ``ticket`` grants under ``pseudonym``; the outcome
        (``accepted`` or why not). Never raises for the source's or the network's
        failures: the key agreement goes on either way."""
        started = time.perf_counter()
        try:
            outcome = await self._fetch(ticket, signature, pseudonym)
        except Exception:
            # A bug here must not cost the device its key agreement: count it, go on.
            LOG.exception("context fetch failed")
            outcome = "error"
        self._metrics.observe(HANDOVER, outcome, time.perf_counter() - started)
        if outcome != "accepted":
            LOG.warning(
                "analysis %s: context not transferred (%s)", local_fingerprint(pseudonym), outcome
            )
        return outcome

    async def _fetch(self, ticket: bytes, signature: bytes, pseudonym: bytes) -> str:
        identity = self._identity
        if identity is None:
            return "no_identity"
        if self.find_service is None:
            return "no_platform"
        try:
            source = handover.Ticket.decode(ticket).source
        except InvalidField:
            return "bad_context"  # sealed by the TTP for this handshake: cannot happen
        target = await self.find_service(SERVICE_NAME, source)
        if target is None:
            return "source_unknown"
        with counting() as ledger:
            ephemeral = handover.ephemeral_key()
            request = mec_context_transfer_pb2.TransferContextRequest(
                ticket=ticket,
                ticket_signature=signature,
                target_key=ephemeral.public,
                target_certificate=identity.certificate,
                target_signature=handover.sign_request(
                    identity.pair, identity.identity, ticket, ephemeral.public
                ),
            )
        self._metrics.count_operations(HANDOVER, ledger)
        stub = mec_context_transfer_pb2_grpc.MecContextTransferServiceStub(self._channel(target))
        try:
            response = await stub.TransferContext(request, timeout=self._timeout)
        except grpc.aio.AioRpcError as error:
            if error.code() == grpc.StatusCode.NOT_FOUND:
                return "no_context"
            if error.code() in (grpc.StatusCode.UNAUTHENTICATED, grpc.StatusCode.INVALID_ARGUMENT):
                return "refused"
            return "source_unavailable"
        try:
            with counting() as ledger:
                raw = handover.open_context(
                    ephemeral,
                    identity.ca_public,
                    ticket,
                    response.source_certificate,
                    response.sealed_context,
                    response.source_signature,
                )
            analysis, level = import_context(raw, pseudonym, self._analyses.now())
        except (AuthenticationFailed, MalformedInput, InvalidField) as error:
            LOG.warning("context from %s refused: %s", source, error)
            return "bad_context"
        finally:
            self._metrics.count_operations(HANDOVER, ledger)
        self._analyses.install(analysis)
        if level is not None:
            self._emergencies.restore(pseudonym, level)
        return "accepted"

    def _channel(self, target: str) -> grpc.aio.Channel:
        if target not in self._channels:
            self._channels[target] = channel(target, self._tls, self._metrics)
        return self._channels[target]

    async def close(self) -> None:
        for opened in self._channels.values():
            await opened.close()
        self._channels.clear()
