"""``mec5g.v1.MecAlertsService`` and raising emergencies: the MEC's part of phase 6.

Watches: a user's app starts the anonymous key agreement (purpose WATCH) on a server stream; the
TTP vouches the analysis pseudonym and the watch's id (``mec.anonymous_responder``), and the
first message finishes the agreement. The MEC keeps the watch under the pseudonym and id and
knows nothing else of who watches. Raising: after each record the data service hands the new
score here; when ``core.emergency`` calls it a new emergency, a task (so the device's record is
answered without waiting) signs the emergency with the node's ECQV key and sends it to the
TTP's ``EmergencyService`` with the ids of the pseudonym's watches. Every watch the TTP names as
involved then receives the alert sealed under its session key with the watch's next number and
signed (``core.user_access.seal_report``), with the TTP's sealed context beside it. A TTP that
cannot be reached is logged and counted; the emergency is raised again at the next higher level
only.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import grpc

from mec5g.core import user_access, user_crypto
from mec5g.core.anonymous_agreement import Purpose, Session
from mec5g.core.emergency import Emergencies
from mec5g.core.errors import AuthenticationFailed
from mec5g.core.operations import counting
from mec5g.core.primitives import random_bytes
from mec5g.core.user_access import Vouched
from mec5g.mec.analysis import Evaluation
from mec5g.mec.analysis_service import wire_level
from mec5g.mec.anonymous_responder import AnonymousResponder, Refusal, Responder, unauthenticated
from mec5g.runtime.metrics import EMERGENCY, USER_REQUEST, Metrics
from mec5g.runtime.user_requests import NONCE_BYTES, emergency_method
from mec5g.v1 import emergency_pb2, emergency_pb2_grpc, mec_alerts_pb2, mec_alerts_pb2_grpc

LOG = logging.getLogger("mec5g.mec")


@dataclass
class _Watch:
    """An open watch: its session with the watcher, the number of its last alert, its queue."""

    session: Session
    sent: int = 0
    queue: asyncio.Queue[mec_alerts_pb2.WatchResponse] = field(default_factory=asyncio.Queue)


class MecAlertsService(mec_alerts_pb2_grpc.MecAlertsServiceServicer):
    """Watches by pseudonym, and the emergencies raised to the TTP and delivered to them."""

    def __init__(
        self,
        responder: AnonymousResponder,
        emergencies: Emergencies,
        ttp: emergency_pb2_grpc.EmergencyServiceStub,
        metrics: Metrics,
        ttp_timeout: float,
    ) -> None:
        self._responder = responder
        self._emergencies = emergencies
        self._ttp = ttp
        self._metrics = metrics
        self._ttp_timeout = ttp_timeout
        self._watches: dict[bytes, dict[bytes, _Watch]] = {}
        self._raising: set[asyncio.Task[None]] = set()
        self.raised = 0  # emergencies raised since the MEC started

    def watching(self) -> int:
        """Open watches, for tests and the summary."""
        return sum(len(watches) for watches in self._watches.values())

    async def Watch(  # noqa: N802 - gRPC method name
        self, request: mec_alerts_pb2.WatchRequest, context: grpc.aio.ServicerContext
    ) -> AsyncIterator[mec_alerts_pb2.WatchResponse]:
        started = time.perf_counter()
        refusal: Refusal | None = None
        try:
            node = self._responder.require_identity()
            result = await self._responder.agree(Purpose.WATCH, request.m1, USER_REQUEST)
            vouched = Vouched.decode(result.vouched, Purpose.WATCH)
        except AuthenticationFailed:
            refusal = unauthenticated("bad_answer")
        except Refusal as refused:
            refusal = refused
        # Opening a watch is a user request (phase 5's agreement); raising is phase 6.
        outcome = refusal.outcome if refusal is not None else "accepted"
        self._metrics.observe(USER_REQUEST, outcome, time.perf_counter() - started)
        if refusal is not None:
            await refusal.abort(context)
        watches = self._watches.setdefault(vouched.pseudonym, {})
        watch = watches[vouched.watch_id] = _Watch(result.session)
        try:
            yield mec_alerts_pb2.WatchResponse(m4=result.m4, mec_certificate=node.certificate)
            while True:
                yield await watch.queue.get()
        finally:
            del watches[vouched.watch_id]
            if not watches:
                del self._watches[vouched.pseudonym]

    def analysed(self, pseudonym: bytes, evaluation: Evaluation) -> None:
        """After each record: raise the analysis's emergency if this score starts one or
        raises its level. Without the node's identity nothing can be raised or delivered."""
        node = self._responder.node
        if node is None or not self._emergencies.observe(pseudonym, evaluation.score):
            return
        self.raised += 1
        task = asyncio.get_running_loop().create_task(self._raise(node, pseudonym, evaluation))
        self._raising.add(task)
        task.add_done_callback(self._raising.discard)

    async def _raise(self, node: Responder, pseudonym: bytes, evaluation: Evaluation) -> None:
        started = time.perf_counter()
        watches = dict(self._watches.get(pseudonym, {}))
        score = evaluation.score
        raised_at = int(time.time() * 1000)
        with counting() as signing:
            body = emergency_pb2.EmergencyBody(
                nonce=random_bytes(NONCE_BYTES),
                raised_at_unix_ms=raised_at,
                pseudonym=pseudonym,
                level=wire_level(score.level),
                aggregate=score.aggregate,
                watch_ids=list(watches),
            ).SerializeToString()
            signature = user_crypto.sign(
                node.identity.pair, emergency_method(), node.identity.name, body
            )
        self._metrics.count_operations(EMERGENCY, signing)
        request = emergency_pb2.RaiseEmergencyRequest(
            node=node.identity.name, body=body, signature=signature
        )
        self._metrics.sent("emergency", 0, request.ByteSize())
        try:
            answer = await self._ttp.RaiseEmergency(request, timeout=self._ttp_timeout)
        except grpc.aio.AioRpcError as error:
            LOG.warning("the TTP did not take an emergency: %s", error.code().name)
            self._metrics.observe(EMERGENCY, "ttp_error", time.perf_counter() - started)
            return
        alert = mec_alerts_pb2.Emergency(
            pseudonym=pseudonym.hex(),
            level=wire_level(score.level),
            aggregate=score.aggregate,
            points={parameter.value: points for parameter, points in score.points.items()},
            raised_at_unix_ms=raised_at,
        ).SerializeToString()
        with counting() as sealing:
            for involved in answer.involved:
                watch = watches.get(involved.watch_id)
                if watch is None:
                    continue
                watch.sent += 1
                sealed, alert_signature = user_access.seal_report(
                    node.identity.pair, watch.session, watch.sent, alert
                )
                delivery = mec_alerts_pb2.WatchResponse(
                    sealed_alert=sealed,
                    mec_certificate=node.certificate,
                    signature=alert_signature,
                    sealed_context=involved.sealed_context,
                    sequence=watch.sent,
                )
                self._metrics.sent("alert", 0, delivery.ByteSize())
                watch.queue.put_nowait(delivery)
        self._metrics.count_operations(EMERGENCY, sealing)
        self._metrics.observe(EMERGENCY, "success", time.perf_counter() - started)
        LOG.info("emergency raised: %d of %d watches involved", len(answer.involved), len(watches))

    async def drain(self) -> None:
        """Wait for the emergencies being raised (on shutdown)."""
        await asyncio.gather(*self._raising, return_exceptions=True)
