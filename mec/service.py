"""``mec5g.v1.MecKeyAgreementService``: a device sends M1, the MEC answers M4.

For each request: lease a credential, persist its next counter, compute M2, ask the TTP (bounded
by ``ttp_timeout``), check M3 and open the analysis handle and settings, answer M4, and store the
successor. The completed handshake opens a phase-4 data session (``mec.sessions``), unconfirmed
until the device's first valid data record.

A device arriving from another MEC node adds a handover indication for the TTP, forwarded
unread; when the TTP answers a transfer ticket beside M3, the MEC fetches the analysis context
from the node left (``mec.context_transfer``) before it answers M4, so that the device's first
record here finds the history in place. A failed fetch is counted and does not fail the
handshake.

Statuses: INVALID_ARGUMENT for malformed input; UNAUTHENTICATED with one fixed message whether the
TTP refused or M3/the handle failed here; RESOURCE_EXHAUSTED when every credential stayed busy past
the lease wait; UNAVAILABLE when the TTP could not be reached or did not answer in time, or the
MEC's own store could not commit. In every failing case the leased credential keeps its stored
state, which the TTP still accepts with the next counter.
"""

from __future__ import annotations

import asyncio
import logging
import time
from functools import partial

import grpc

from mec5g.core import data_channel, handover, mec_role
from mec5g.core.credentials import Attempt
from mec5g.core.errors import AuthenticationFailed, MalformedField
from mec5g.core.handle import AnalysisSettings
from mec5g.core.messages import M1, M3
from mec5g.core.operations import counting
from mec5g.core.primitives import fingerprint, local_fingerprint
from mec5g.mec.context_transfer import ContextFetcher
from mec5g.mec.credential_pool import CredentialPool, PoolExhausted
from mec5g.mec.sessions import SessionTable
from mec5g.runtime.group_commit import StoreUnavailable
from mec5g.runtime.holder_store import HolderConflict
from mec5g.runtime.metrics import DATA, KEY_AGREEMENT, Metrics
from mec5g.runtime.status import AUTHENTICATION_FAILED, version_problem, wire_version
from mec5g.v1 import (
    mec_key_agreement_pb2,
    mec_key_agreement_pb2_grpc,
    scheme_pb2,
    ttp_key_agreement_pb2,
    ttp_key_agreement_pb2_grpc,
)

LOG = logging.getLogger("mec5g.mec")


class MecKeyAgreementService(mec_key_agreement_pb2_grpc.MecKeyAgreementServiceServicer):
    """Thin adapter between gRPC, the credential pool and ``core.mec_role``."""

    def __init__(
        self,
        pool: CredentialPool,
        ttp: ttp_key_agreement_pb2_grpc.TtpKeyAgreementServiceStub,
        metrics: Metrics,
        sessions: SessionTable,
        *,
        ttp_timeout: float,
        fetcher: ContextFetcher | None = None,
    ) -> None:
        self._pool = pool
        self._fetcher = fetcher
        self._sessions = sessions
        self._ttp = ttp
        self._metrics = metrics
        self._ttp_timeout = ttp_timeout

    async def Agree(  # noqa: N802 - gRPC method name
        self,
        request: mec_key_agreement_pb2.AgreeRequest,
        context: grpc.aio.ServicerContext,
    ) -> mec_key_agreement_pb2.AgreeResponse:
        started = time.perf_counter()
        outcome = "error"
        try:
            response = await self._agree(request, started)
            outcome = "accepted"
            return response
        except _Failure as failure:
            outcome = failure.outcome
            await context.abort(failure.code, failure.message)
            raise  # unreachable: abort raises
        finally:
            self._metrics.observe(KEY_AGREEMENT, outcome, time.perf_counter() - started)

    async def _agree(
        self,
        request: mec_key_agreement_pb2.AgreeRequest,
        started: float,
    ) -> mec_key_agreement_pb2.AgreeResponse:
        problem = version_problem(request.version)
        if problem is not None:
            raise _Failure("malformed", grpc.StatusCode.INVALID_ARGUMENT, problem)
        version = wire_version(request.version)
        try:
            m1 = M1.parse(request.m1)
        except MalformedField as error:
            raise _Failure("malformed", grpc.StatusCode.INVALID_ARGUMENT, str(error)) from None
        if len(request.handover_indication) > handover.MAX_INDICATION_BYTES:
            raise _Failure(
                "malformed",
                grpc.StatusCode.INVALID_ARGUMENT,
                f"handover_indication must be at most {handover.MAX_INDICATION_BYTES} bytes, "
                f"got {len(request.handover_indication)}",
            )
        try:
            name = await self._pool.lease()
        except PoolExhausted:
            raise _Failure(
                "busy",
                grpc.StatusCode.RESOURCE_EXHAUSTED,
                f"all {self._pool.size} MEC credentials stayed busy; retry later",
            ) from None
        try:
            attempt = await self._pool.begin_attempt(name)
        except asyncio.CancelledError:
            raise  # the pool returns the lease once the counter write has landed
        except (StoreUnavailable, HolderConflict):
            self._pool.release_unused(name)
            LOG.exception("could not persist the counter of %s", name)
            raise _Failure(
                "store_error", grpc.StatusCode.UNAVAILABLE, "MEC credential store unavailable"
            ) from None
        try:
            result, settings, ticket = await self._run_attempt(
                attempt, request.m1, version, request.handover_indication
            )
        except BaseException:
            # The attempt is over (refused, timed out, cancelled): the credential keeps its
            # stored state, which the TTP still accepts with the next counter.
            self._pool.end_then_release(name)
            raise
        self._pool.adopt_then_release(name, attempt, result.successor)
        if LOG.isEnabledFor(logging.DEBUG):  # the fingerprints cost two hashes per handshake
            LOG.debug(
                "session sk_fp=%s analysis_fp=%s",
                fingerprint(result.session_key),
                local_fingerprint(result.analysis_pseudonym),
            )
        with counting() as ledger:
            # The session keeps the extracted secret, not SK, M1 or M4 (which names DIDi).
            secret = data_channel.session_secret(
                result.session_key, m1.to_bytes(), result.m4.to_bytes()
            )
            session_id = data_channel.session_id(secret, version)
        self._metrics.count_operations(DATA, ledger)
        if ticket is not None and self._fetcher is not None:
            await self._fetcher.fetch(*ticket, result.analysis_pseudonym)
        traffic_keys = partial(data_channel.traffic_keys, secret, version)
        self._sessions.open(session_id, traffic_keys, result.analysis_pseudonym, settings)
        response = mec_key_agreement_pb2.AgreeResponse(version=version, m4=result.m4.to_bytes())
        self._metrics.sent("M4", len(response.m4), response.ByteSize())
        return response

    async def _run_attempt(
        self, attempt: Attempt, m1: bytes, version: scheme_pb2.SchemeVersion, indication: bytes
    ) -> tuple[mec_role.MecResult, AnalysisSettings, tuple[bytes, bytes] | None]:
        """M2 to the TTP (bounded by the TTP timeout), then M3, the handle, the settings and any
        transfer ticket (ticket, TTP signature) checked."""
        with counting() as ledger:
            session = mec_role.forward(attempt, m1)
        self._metrics.count_operations(KEY_AGREEMENT, ledger)
        request = ttp_key_agreement_pb2.VerifyRequest(
            version=version, m2=session.m2.to_bytes(), handover_indication=indication
        )
        self._metrics.sent("M2", len(request.m2), request.ByteSize())
        try:
            answer = await self._ttp.Verify(request, timeout=self._ttp_timeout)
        except grpc.aio.AioRpcError as error:
            if error.code() == grpc.StatusCode.UNAUTHENTICATED:
                raise _Unauthenticated("refused_by_ttp") from None
            if error.code() == grpc.StatusCode.INVALID_ARGUMENT:
                # The MEC checked M1 and built M2 itself: this is a bug between MEC and TTP.
                LOG.error("TTP refused a request as malformed: %s", error.details())
                raise _Failure(
                    "ttp_rejected", grpc.StatusCode.INTERNAL, "internal error between MEC and TTP"
                ) from None
            LOG.warning("TTP call failed: %s", error.code().name)
            raise _Failure(
                "ttp_unavailable", grpc.StatusCode.UNAVAILABLE, "TTP unavailable"
            ) from None
        if answer.version != version:
            LOG.warning("answer from the TTP carries version %d, not %d", answer.version, version)
            raise _Unauthenticated("bad_answer")
        try:
            with counting() as ledger:
                result = mec_role.finish(session, answer.m3, answer.analysis_handle, version)
                settings = mec_role.open_settings(
                    session, answer.m3, answer.analysis_settings, version
                )
                ticket = (
                    handover.open_ticket(
                        answer.transfer_ticket,
                        c3_m=session.c3,
                        c4_m=session.c4,
                        version=version,
                        m2=session.m2,
                        m3=M3.parse(answer.m3),
                    )
                    if answer.transfer_ticket
                    else None
                )
                return result, settings, ticket
        except (AuthenticationFailed, MalformedField) as error:
            LOG.warning("answer from the TTP failed verification (%s)", error)
            raise _Unauthenticated("bad_answer") from None
        finally:
            self._metrics.count_operations(KEY_AGREEMENT, ledger)


class _Failure(Exception):
    def __init__(self, outcome: str, code: grpc.StatusCode, message: str) -> None:
        super().__init__(message)
        self.outcome = outcome
        self.code = code
        self.message = message


class _Unauthenticated(_Failure):
    def __init__(self, outcome: str) -> None:
        super().__init__(outcome, grpc.StatusCode.UNAUTHENTICATED, AUTHENTICATION_FAILED)
