"""``mec5g.v1.AnalysisService``: the MEC's analyses by pseudonym, for grpcurl and dashboards.

Not authorised yet: phase 5 (user requests by authorised doctors, with their ECQV identities)
will restrict it. It names analyses only by their per-MEC pseudonyms, which is all the MEC knows.
Statuses: INVALID_ARGUMENT for a pseudonym that is not 64 hexadecimal digits, NOT_FOUND for one
the MEC holds no analysis under.
"""

from __future__ import annotations

from typing import cast

import grpc

from mec5g.core.handle import PSEUDONYM_BYTES
from mec5g.core.news2 import AlertLevel
from mec5g.core.readings import SensorKind
from mec5g.mec.analysis import Analyses, Analysis, Evaluation
from mec5g.v1 import analysis_pb2, analysis_pb2_grpc, vitals_pb2


def wire_level(level: AlertLevel | None) -> vitals_pb2.AlertLevel:
    """Our level as the proto enum, which keeps 0 for "no score yet"."""
    return cast(vitals_pb2.AlertLevel, 0 if level is None else int(level) + 1)


def _news2(evaluation: Evaluation | None) -> analysis_pb2.News2Score:
    if evaluation is None:
        return analysis_pb2.News2Score()
    score = evaluation.score
    return analysis_pb2.News2Score(
        aggregate=score.aggregate,
        level=wire_level(score.level),
        complete=score.complete,
        missing=[parameter.value for parameter in evaluation.unscored],
        stale=[parameter.value for parameter in evaluation.stale],
        points={parameter.value: points for parameter, points in score.points.items()},
    )


def describe(analyses: Analyses, analysis: Analysis) -> analysis_pb2.GetAnalysisResponse:
    """One analysis in full, as GetAnalysis answers it and as phase 5 seals it to a user."""
    now = analyses.now()
    limits = analyses.limits
    response = analysis_pb2.GetAnalysisResponse(
        pseudonym=analysis.pseudonym.hex(),
        spo2_scale=cast(vitals_pb2.SpO2Scale, int(analysis.spo2_scale)),
        news2=_news2(analysis.current),
        records=analysis.records,
    )
    for kind in SensorKind:
        trend = analysis.trend(kind)
        if trend is None:
            continue
        age = now - trend.latest.received
        response.vital_signs.append(
            analysis_pb2.VitalSignTrend(
                kind=cast(vitals_pb2.SensorKind, int(kind)),
                latest=trend.latest.values,
                age_seconds=age,
                stale=age > limits.stale_after,
                samples=trend.samples,
                mean=trend.mean,
                slope_per_hour=trend.slope_per_hour,
            )
        )
    if analysis.check_in is not None:
        received, check_in = analysis.check_in
        response.check_in.CopyFrom(
            analysis_pb2.CheckInState(
                consciousness=cast(vitals_pb2.Consciousness, int(check_in.consciousness)),
                supplemental_oxygen=check_in.supplemental_oxygen,
                age_seconds=now - received,
                stale=now - received > limits.stale_after,
            )
        )
    response.score_history.extend(
        analysis_pb2.ScorePoint(
            age_seconds=now - point.at,
            aggregate=point.score.aggregate,
            level=wire_level(point.score.level),
        )
        for point in analysis.history
    )
    return response


class AnalysisService(analysis_pb2_grpc.AnalysisServiceServicer):
    """Thin adapter between gRPC and the MEC's analyses."""

    def __init__(self, analyses: Analyses) -> None:
        self._analyses = analyses

    async def ListScores(  # noqa: N802 - gRPC method name
        self, request: analysis_pb2.ListScoresRequest, context: grpc.aio.ServicerContext
    ) -> analysis_pb2.ListScoresResponse:
        def severity(analysis: Analysis) -> tuple[int, int]:
            current = analysis.current
            return (int(current.score.level), current.score.aggregate) if current else (-1, -1)

        return analysis_pb2.ListScoresResponse(
            analyses=[
                analysis_pb2.ScoreSummary(
                    pseudonym=analysis.pseudonym.hex(),
                    news2=_news2(analysis.current),
                    records=analysis.records,
                )
                for analysis in sorted(self._analyses, key=severity, reverse=True)
            ]
        )

    async def GetAnalysis(  # noqa: N802 - gRPC method name
        self, request: analysis_pb2.GetAnalysisRequest, context: grpc.aio.ServicerContext
    ) -> analysis_pb2.GetAnalysisResponse:
        try:
            pseudonym = bytes.fromhex(request.pseudonym)
        except ValueError:
            pseudonym = b""
        if len(pseudonym) != PSEUDONYM_BYTES:
            await context.abort(
                grpc.StatusCode.INVALID_ARGUMENT,
                f"pseudonym must be {2 * PSEUDONYM_BYTES} hexadecimal digits "
                f"({PSEUDONYM_BYTES} bytes), got {len(request.pseudonym)} characters",
            )
        analysis = self._analyses.get(pseudonym)
        if analysis is None:
            await context.abort(grpc.StatusCode.NOT_FOUND, "no analysis under that pseudonym")
            raise AssertionError("unreachable: abort raises")
        return describe(self._analyses, analysis)
