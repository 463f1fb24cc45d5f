"""``mec5g.v1.MecResultsService``: the MEC's part of phase 5 (``core.user_access``).

The holder of a TTP grant gets the granted analysis's results, sealed to the grant's one-time key
and signed with this node's ECQV key. The MEC learns the pseudonym and that one-time key, nothing
about who asks. Statuses: UNAUTHENTICATED with one fixed message for any grant that fails (its
reason goes to this process's log and a metric label), INVALID_ARGUMENT for malformed fields,
NOT_FOUND for a pseudonym the MEC holds no analysis under, FAILED_PRECONDITION when the node was
started without its ECQV identity (``mec5g mec serve --identity``).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

import grpc

from mec5g.core import user_access
from mec5g.core.errors import AuthenticationFailed, InvalidField, MalformedField
from mec5g.core.operations import counting
from mec5g.core.user_access import SpentGrants
from mec5g.mec.analysis import Analyses
from mec5g.mec.analysis_service import describe
from mec5g.runtime.metrics import USER_REQUEST, Metrics
from mec5g.runtime.status import abort_unauthenticated
from mec5g.runtime.wallet import Wallet
from mec5g.v1 import mec_results_pb2, mec_results_pb2_grpc

LOG = logging.getLogger("mec5g.mec")


class MecResultsService(mec_results_pb2_grpc.MecResultsServiceServicer):
    """Answers grants; ``clock`` is wall time, which grant expiries are in (injected for tests)."""

    def __init__(
        self,
        analyses: Analyses,
        identity: Wallet | None,
        metrics: Metrics,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._analyses = analyses
        self._identity = identity
        self._metrics = metrics
        self._clock = clock
        self._spent = SpentGrants()

    async def GetResults(  # noqa: N802 - gRPC method name
        self, request: mec_results_pb2.GetResultsRequest, context: grpc.aio.ServicerContext
    ) -> mec_results_pb2.GetResultsResponse:
        started = time.perf_counter()

        def done(outcome: str) -> None:
            self._metrics.observe(USER_REQUEST, outcome, time.perf_counter() - started)

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
                response = self._answer(identity, request)
            self._metrics.count_operations(USER_REQUEST, ledger)
        except (MalformedField, InvalidField) as error:
            done("malformed")
            await context.abort(grpc.StatusCode.INVALID_ARGUMENT, str(error))
            raise AssertionError("unreachable: abort raises") from None
        except AuthenticationFailed as failure:
            LOG.info("results request refused: %s", failure.reason)
            done(failure.reason)
            await abort_unauthenticated(context)
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
        now = self._clock()
        grant = user_access.verify_grant(
            identity.ca_public, identity.identity, request.grant, request.grant_signature, now
        )
        self._spent.spend(grant, now)
        analysis = self._analyses.get(grant.pseudonym)
        if analysis is None:
            return None
        sealed, signature = user_access.seal_report(
            identity.pair, request.grant, describe(self._analyses, analysis).SerializeToString()
        )
        return mec_results_pb2.GetResultsResponse(
            sealed_report=sealed, mec_certificate=identity.certificate, signature=signature
        )
