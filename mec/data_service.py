"""``mec5g.v1.MecDataService``: devices submit sealed data records; the MEC analyses them.

For each record: find the session by the id in the clear header, check its lifetime, open the
record (anti-replay window, then the tag), parse the reading or check-in, confirm the session,
answer with a sealed acknowledgement, and add the payload to the session's analysis.

Statuses: INVALID_ARGUMENT for a record no sender could have made valid (size, version, purpose)
or an authentic payload that does not parse, naming the field; UNAUTHENTICATED with one fixed
message for every other refusal (unknown or ended session, replay, too old, tampered), whose
reason goes only to ``mec5g_data_records_total{outcome}``. A record refused for authentication
changes nothing; an authentic one whose payload does not parse has used its sequence number.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

import grpc

from mec5g.core.data_channel import Purpose, parse_header
from mec5g.core.errors import AuthenticationFailed, MalformedInput
from mec5g.core.operations import counting
from mec5g.core.readings import CheckIn, Reading
from mec5g.mec.analysis import Analyses, Evaluation
from mec5g.mec.sessions import SessionTable
from mec5g.runtime.metrics import ANALYSIS, DATA, Metrics
from mec5g.runtime.status import AUTHENTICATION_FAILED
from mec5g.v1 import mec_data_pb2, mec_data_pb2_grpc

LOG = logging.getLogger("mec5g.mec")


class MecDataService(mec_data_pb2_grpc.MecDataServiceServicer):
    """Thin adapter between gRPC, the session table, ``core.data_channel`` and the analyses."""

    def __init__(
        self,
        sessions: SessionTable,
        analyses: Analyses,
        metrics: Metrics,
        analysed: Callable[[bytes, Evaluation], None],
    ) -> None:
        """``analysed`` receives every new score (phase 6 raises emergencies from them)."""
        self._sessions = sessions
        self._analyses = analyses
        self._metrics = metrics
        self._analysed = analysed

    async def Submit(  # noqa: N802 - gRPC method name
        self, request: mec_data_pb2.SubmitRequest, context: grpc.aio.ServicerContext
    ) -> mec_data_pb2.SubmitResponse:
        started = time.perf_counter()
        purpose = "unknown"
        try:
            header = parse_header(request.record)
            purpose = header.purpose.name.lower()
            session, why = self._sessions.find(header.session_id)
            if session is None:
                raise AuthenticationFailed(why)
            with counting() as ledger:
                try:
                    receiver, sender = session.ends()
                    opened = receiver.open(request.record)
                    payload: Reading | CheckIn = (
                        CheckIn.parse(opened.payload)
                        if opened.purpose is Purpose.CHECK_IN
                        else Reading.parse(opened.payload)
                    )
                    ack = sender.seal(Purpose.ACK, opened.sequence.to_bytes(8, "big"))
                finally:
                    self._metrics.count_operations(DATA, ledger)
        except MalformedInput as error:
            self._refused(purpose, "malformed", started)
            await context.abort(grpc.StatusCode.INVALID_ARGUMENT, str(error))
            raise  # unreachable: abort raises
        except AuthenticationFailed as failure:
            self._refused(purpose, str(failure.reason), started)
            await context.abort(grpc.StatusCode.UNAUTHENTICATED, AUTHENTICATION_FAILED)
            raise  # unreachable: abort raises
        self._sessions.confirm(session)
        self._metrics.data_record(purpose, "accepted")
        self._metrics.observe(DATA, "accepted", time.perf_counter() - started)
        analysed = time.perf_counter()
        with counting() as ledger:
            recorded = self._analyses.record(
                session.pseudonym, session.settings.spo2_scale, payload
            )
        self._metrics.count_operations(ANALYSIS, ledger)  # no cryptography: computation time
        score = recorded.evaluation.score
        alert = recorded.alert.name.lower() if recorded.alert is not None else None
        self._metrics.news2(score.aggregate, score.complete, alert)
        self._metrics.observe(ANALYSIS, "accepted", time.perf_counter() - analysed)
        self._analysed(session.pseudonym, recorded.evaluation)
        response = mec_data_pb2.SubmitResponse(ack=ack)
        self._metrics.sent("ack", 0, response.ByteSize())
        return response

    def _refused(self, purpose: str, reason: str, started: float) -> None:
        LOG.debug("data record refused: %s", reason)
        self._metrics.data_record(purpose, reason)
        outcome = "malformed" if reason == "malformed" else "refused"
        self._metrics.observe(DATA, outcome, time.perf_counter() - started)
