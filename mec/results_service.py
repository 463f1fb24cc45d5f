"""``mec5g.v1.MecResultsService``: the MEC's part of phase 5 (``core.user_access``).

The holder of a TTP grant gets the granted analysis's results, sealed to the grant's one-time key
and signed with this node's ECQV key. The MEC learns the pseudonym and that one-time key, nothing
about who asks. Statuses: UNAUTHENTICATED with one fixed message for any grant that fails (its
reason goes to this process's log and a metric label), INVALID_ARGUMENT for malformed fields,
NOT_FOUND for a pseudonym the MEC holds no analysis under, FAILED_PRECONDITION when the node was
started without its ECQV identity (``mec5g mec serve --identity``).
"""

from __future__ import annotations

import time

import grpc

from mec5g.core import user_access
from mec5g.core.errors import AuthenticationFailed, InvalidField, MalformedField
from mec5g.core.operations import counting
from mec5g.core.user_access import GrantPurpose
from mec5g.mec.analysis import Analyses
from mec5g.mec.analysis_service import describe
from mec5g.mec.grants import GrantGate, outcome
from mec5g.runtime.metrics import USER_REQUEST, Metrics
from mec5g.runtime.wallet import Wallet
from mec5g.v1 import mec_results_pb2, mec_results_pb2_grpc


class MecResultsService(mec_results_pb2_grpc.MecResultsServiceServicer):
    """Answers results grants with the granted analysis, sealed and signed."""

    def __init__(self, analyses: Analyses, gate: GrantGate, metrics: Metrics) -> None:
        self._analyses = analyses
        self._gate = gate
        self._metrics = metrics

    async def GetResults(  # noqa: N802 - gRPC method name
        self, request: mec_results_pb2.GetResultsRequest, context: grpc.aio.ServicerContext
    ) -> mec_results_pb2.GetResultsResponse:
        started = time.perf_counter()

        def done(outcome: str) -> None:
            self._metrics.observe(USER_REQUEST, outcome, time.perf_counter() - started)

        identity = self._gate.identity
        if identity is None:
            done("no_identity")
            await self._gate.no_identity(context)
        try:
            with counting() as ledger:
                response = self._answer(identity, request)
            self._metrics.count_operations(USER_REQUEST, ledger)
        except (MalformedField, InvalidField, AuthenticationFailed) as error:
            done(outcome(error))
            await self._gate.refuse(context, error, "results request")
        if response is None:
            done("not_found")
            await context.abort(grpc.StatusCode.NOT_FOUND, "no analysis under that pseudonym")
            raise AssertionError("unreachable: abort raises")
        done("accepted")
        return response

    def _answer(
        self, identity: Wallet, request: mec_results_pb2.GetResultsRequest
    ) -> mec_results_pb2.GetResultsResponse | None:
        """The sealed and signed report, or None for a pseudonym the MEC holds nothing under;
        a genuine grant is spent either way."""
        grant = self._gate.admit(
            identity, GrantPurpose.RESULTS, request.grant, request.grant_signature
        )
        analysis = self._analyses.get(grant.pseudonym)
        if analysis is None:
            return None
        sealed, signature = user_access.seal_report(
            identity.pair, request.grant, describe(self._analyses, analysis).SerializeToString()
        )
        return mec_results_pb2.GetResultsResponse(
            sealed_report=sealed, mec_certificate=identity.certificate, signature=signature
        )
