"""``mec5g.v1.MecAnonymousKeyAgreementService``: a device's key agreement under the public-key
baseline [36] (``mec5g mec serve --scheme baseline36``).

For each M1: the anonymous key agreement with the TTP (``mec.anonymous_responder``), purpose
``DEVICE_SESSION``; the TTP vouches the device's analysis pseudonym and settings
(``core.handle.vouched_analysis``), which is all the MEC learns of the device. The completed
agreement opens a phase-4 data session (``mec.sessions``) under the agreed key, salted with M1
and M4 as the paper's scheme's sessions are, unconfirmed until the device's first valid record:
so readings, NEWS2 and emergencies run unchanged under either scheme.

Statuses: as ``anonymous_responder.Refusal`` says (INVALID_ARGUMENT, UNAUTHENTICATED with one
fixed message, FAILED_PRECONDITION, UNAVAILABLE).
"""

from __future__ import annotations

from functools import partial

import grpc

from mec5g.core import data_channel
from mec5g.core.anonymous_agreement import Purpose
from mec5g.core.errors import AuthenticationFailed
from mec5g.core.handle import vouched_analysis
from mec5g.core.operations import counting
from mec5g.mec.anonymous_responder import AnonymousResponder, answer, unauthenticated
from mec5g.mec.sessions import SessionTable
from mec5g.runtime.metrics import DATA, KEY_AGREEMENT, Metrics
from mec5g.runtime.scheme import BASELINE36_DATA_VERSION
from mec5g.v1 import anonymous_key_agreement_pb2, anonymous_key_agreement_pb2_grpc


class MecAnonymousKeyAgreementService(
    anonymous_key_agreement_pb2_grpc.MecAnonymousKeyAgreementServiceServicer
):
    """Thin adapter between gRPC, the responder and the data sessions."""

    def __init__(
        self, responder: AnonymousResponder, metrics: Metrics, sessions: SessionTable
    ) -> None:
        self._responder = responder
        self._metrics = metrics
        self._sessions = sessions

    async def AgreeAnonymously(  # noqa: N802 - gRPC method name
        self,
        request: anonymous_key_agreement_pb2.AgreeAnonymouslyRequest,
        context: grpc.aio.ServicerContext,
    ) -> anonymous_key_agreement_pb2.AgreeAnonymouslyResponse:
        return await answer(context, self._metrics, KEY_AGREEMENT, lambda: self._agree(request.m1))

    async def _agree(self, m1: bytes) -> anonymous_key_agreement_pb2.AgreeAnonymouslyResponse:
        result = await self._responder.agree(Purpose.DEVICE_SESSION, m1, KEY_AGREEMENT)
        try:
            pseudonym, settings = vouched_analysis(result.vouched)
        except AuthenticationFailed:
            raise unauthenticated("bad_answer") from None
        with counting() as ledger:
            # The session keeps the extracted secret, not K, M1 or M4.
            secret = data_channel.session_secret(result.session.key, m1, result.m4)
            session_id = data_channel.session_id(secret, BASELINE36_DATA_VERSION)
        self._metrics.count_operations(DATA, ledger)
        traffic_keys = partial(data_channel.traffic_keys, secret, BASELINE36_DATA_VERSION)
        self._sessions.open(session_id, traffic_keys, pseudonym, settings)
        response = anonymous_key_agreement_pb2.AgreeAnonymouslyResponse(m4=result.m4)
        self._metrics.sent("M4", len(response.m4), response.ByteSize())
        return response
