"""``mec5g.v1.TtpKeyAgreementService``: the MEC sends M2, the TTP answers M3 and the handle.

Statuses (DESIGN.md decision 4): INVALID_ARGUMENT naming the field and its size for malformed
input; UNAUTHENTICATED with one fixed message for every refusal, whose reason goes to this
process's log and the ``mec5g_ttp_refusals_total`` metric only; UNAVAILABLE when the key store
cannot commit (then no record changed and no M3 left).

A request with a handover indication (a device arriving from another MEC node) is answered the
same way, and gets a transfer ticket beside M3 when ``tickets`` can issue one
(``ttp.transfer_tickets``).
"""

from __future__ import annotations

import logging
import time

import grpc

from mec5g.core import handover, ttp_role
from mec5g.core.errors import MalformedField, RefusalReason
from mec5g.core.messages import M2
from mec5g.core.primitives import local_fingerprint
from mec5g.runtime.group_commit import StoreUnavailable
from mec5g.runtime.metrics import KEY_AGREEMENT, Metrics
from mec5g.runtime.status import (
    abort_malformed,
    abort_unauthenticated,
    require_version,
    wire_version,
)
from mec5g.ttp.stores import RecordStore
from mec5g.ttp.transfer_tickets import TransferTickets
from mec5g.v1 import ttp_key_agreement_pb2, ttp_key_agreement_pb2_grpc

LOG = logging.getLogger("mec5g.ttp")


class TtpKeyAgreementService(ttp_key_agreement_pb2_grpc.TtpKeyAgreementServiceServicer):
    """Thin adapter between gRPC and the key store's ``answer`` (either backend)."""

    def __init__(
        self, store: RecordStore, metrics: Metrics, tickets: TransferTickets | None = None
    ) -> None:
        self._store = store
        self._metrics = metrics
        self._tickets = tickets

    async def Verify(  # noqa: N802 - gRPC method name
        self,
        request: ttp_key_agreement_pb2.VerifyRequest,
        context: grpc.aio.ServicerContext,
    ) -> ttp_key_agreement_pb2.VerifyResponse:
        started = time.perf_counter()
        version = await require_version(context, request.version)
        try:
            m2 = M2.parse(request.m2)
        except MalformedField as error:
            self._metrics.observe(KEY_AGREEMENT, "malformed", time.perf_counter() - started)
            await abort_malformed(context, error)
        if len(request.handover_indication) > handover.MAX_INDICATION_BYTES:
            self._metrics.observe(KEY_AGREEMENT, "malformed", time.perf_counter() - started)
            await context.abort(
                grpc.StatusCode.INVALID_ARGUMENT,
                f"handover_indication must be at most {handover.MAX_INDICATION_BYTES} bytes, "
                f"got {len(request.handover_indication)}",
            )
        try:
            store_started = time.perf_counter()
            result = await self._store.answer(m2, version)
            self._metrics.store_call("answer", time.perf_counter() - store_started)
        except StoreUnavailable:
            LOG.exception("key store could not commit")
            self._metrics.observe(KEY_AGREEMENT, "store_error", time.perf_counter() - started)
            await context.abort(grpc.StatusCode.UNAVAILABLE, "key store unavailable")
        if isinstance(result, ttp_role.Refused):
            LOG.info(
                "refused did_i=%s did_m=%s reason=%s",
                local_fingerprint(m2.m1.did_i),
                local_fingerprint(m2.did_m),
                result.reason.value,
            )
            self._metrics.refusals.labels(result.reason.value).inc()
            if result.stale_record is not None:
                kind = "device" if result.reason is RefusalReason.STALE_DEVICE_COUNTER else "mec"
                self._metrics.stale_counters.labels(
                    "ttp", kind, f"{kind}-{result.stale_record}"
                ).inc()
            self._metrics.observe(KEY_AGREEMENT, "refused", time.perf_counter() - started)
            await abort_unauthenticated(context)
        self._metrics.observe(KEY_AGREEMENT, "accepted", time.perf_counter() - started)
        response = ttp_key_agreement_pb2.VerifyResponse(
            version=wire_version(version),
            m3=result.m3.to_bytes(),
            analysis_handle=result.analysis_handle,
            analysis_settings=result.analysis_settings,
        )
        if request.handover_indication and self._tickets is not None:
            response.transfer_ticket = await self._tickets.ticket_for(
                request.handover_indication, m2, version, result
            )
        self._metrics.sent("M3", len(response.m3), response.ByteSize())
        return response
