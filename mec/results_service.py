"""``mec5g.v1.MecResultsService``: the MEC's part of phase 5 (``core.user_access``).

A user's app starts the anonymous key agreement (purpose RESULTS) with its request sealed to the
TTP; the TTP vouches the analysis pseudonym (``mec.anonymous_responder``). The MEC answers M4 with
the analysis's results sealed under the session key and signed with this node's ECQV key. It
learns the pseudonym and two ephemerals, nothing about who asks. Statuses: those of the
agreement (``anonymous_responder.Refusal``: UNAUTHENTICATED with one fixed message, its reason in
a metric label; PERMISSION_DENIED as the TTP decided; INVALID_ARGUMENT; FAILED_PRECONDITION
without the node's ECQV identity; UNAVAILABLE), and NOT_FOUND for a pseudonym the MEC holds no
analysis under.
"""

from __future__ import annotations

import grpc

from mec5g.core import user_access
from mec5g.core.anonymous_agreement import Purpose
from mec5g.core.errors import AuthenticationFailed
from mec5g.core.operations import counting
from mec5g.core.user_access import Vouched
from mec5g.mec.analysis import Analyses
from mec5g.mec.analysis_service import describe
from mec5g.mec.anonymous_responder import AnonymousResponder, Refusal, answer, unauthenticated
from mec5g.runtime.metrics import USER_REQUEST, Metrics
from mec5g.v1 import mec_results_pb2, mec_results_pb2_grpc


class MecResultsService(mec_results_pb2_grpc.MecResultsServiceServicer):
    """Answers authorised results requests with the analysis, sealed and signed."""

    def __init__(self, analyses: Analyses, responder: AnonymousResponder, metrics: Metrics) -> None:
        self._analyses = analyses
        self._responder = responder
        self._metrics = metrics

    async def GetResults(  # noqa: N802 - gRPC method name
        self, request: mec_results_pb2.GetResultsRequest, context: grpc.aio.ServicerContext
    ) -> mec_results_pb2.GetResultsResponse:
        return await answer(context, self._metrics, USER_REQUEST, lambda: self._answer(request.m1))

    async def _answer(self, m1: bytes) -> mec_results_pb2.GetResultsResponse:
        """M4 and the sealed, signed report (number 1 of the session)."""
        result = await self._responder.agree(Purpose.RESULTS, m1, USER_REQUEST)
        node = self._responder.require_identity()
        try:
            vouched = Vouched.decode(result.vouched, Purpose.RESULTS)
        except AuthenticationFailed:
            raise unauthenticated("bad_answer") from None
        analysis = self._analyses.get(vouched.pseudonym)
        if analysis is None:
            raise Refusal(
                "not_found", grpc.StatusCode.NOT_FOUND, "no analysis under that pseudonym"
            )
        report = describe(self._analyses, analysis).SerializeToString()
        with counting() as ledger:
            sealed, signature = user_access.seal_report(
                node.identity.pair, result.session, 1, report
            )
        self._metrics.count_operations(USER_REQUEST, ledger)
        return mec_results_pb2.GetResultsResponse(
            m4=result.m4,
            sealed_report=sealed,
            mec_certificate=node.certificate,
            signature=signature,
        )
