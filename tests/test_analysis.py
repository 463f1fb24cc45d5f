"""The MEC's analyses (mec/analysis.py): all devices of an analysis combined into NEWS2, stale and
missing readings handled explicitly, trends, bounded retention, alerts on entering a level.

The clock is a plain variable the test moves: nothing waits.
"""

from __future__ import annotations

import pytest

from mec5g.core.news2 import AlertLevel, Consciousness, Parameter, SpO2Scale
from mec5g.core.readings import CheckIn, Reading, SensorKind
from mec5g.mec.analysis import Analyses, AnalysisLimits

PSEUDONYM = bytes(range(32))
HEALTHY = {
    SensorKind.RESPIRATION_RATE: (16.0,),
    SensorKind.SPO2: (97.0,),
    SensorKind.BLOOD_PRESSURE: (122.0, 80.0),
    SensorKind.HEART_RATE: (72.0,),
    SensorKind.BODY_TEMPERATURE: (36.9,),
}


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _analyses(**limits: float) -> tuple[Analyses, Clock]:
    clock = Clock()
    return Analyses(AnalysisLimits(**limits), clock), clock  # type: ignore[arg-type]


def _feed(analyses: Analyses, values: dict[SensorKind, tuple[float, ...]]) -> None:
    for kind, reading in values.items():
        analyses.record(PSEUDONYM, SpO2Scale.SCALE_1, Reading(kind, 0.0, reading))


def _check_in(analyses: Analyses, level: Consciousness, oxygen: bool = False) -> AlertLevel | None:
    return analyses.record(PSEUDONYM, SpO2Scale.SCALE_1, CheckIn(level, oxygen, 0.0)).alert


def test_all_devices_and_the_check_in_make_one_complete_score() -> None:
    analyses, _ = _analyses()
    _feed(analyses, HEALTHY)
    _check_in(analyses, Consciousness.ALERT)
    analysis = analyses.get(PSEUDONYM)
    assert analysis is not None
    assert analysis.current is not None
    assert analysis.current.score.complete
    assert analysis.current.score.aggregate == 0
    assert analysis.current.score.level is AlertLevel.NONE
    assert analysis.records == 6


def test_missing_parameters_are_listed_and_the_score_is_a_lower_bound() -> None:
    analyses, _ = _analyses()
    recorded = analyses.record(
        PSEUDONYM, SpO2Scale.SCALE_1, Reading(SensorKind.HEART_RATE, 0.0, (135.0,))
    )
    assert recorded.evaluation.score.points == {Parameter.PULSE: 3}
    assert recorded.evaluation.unscored == tuple(
        parameter for parameter in Parameter if parameter is not Parameter.PULSE
    )
    assert recorded.alert is AlertLevel.URGENT_WARD


def test_stale_readings_are_left_out_and_named() -> None:
    analyses, clock = _analyses(stale_after=60.0)
    _feed(analyses, HEALTHY)
    _check_in(analyses, Consciousness.VOICE)
    clock.now += 61.0
    recorded = analyses.record(
        PSEUDONYM, SpO2Scale.SCALE_1, Reading(SensorKind.HEART_RATE, 0.0, (72.0,))
    )
    evaluation = recorded.evaluation
    assert set(evaluation.stale) == set(Parameter) - {Parameter.PULSE}
    assert evaluation.unscored == ()
    assert evaluation.score.aggregate == 0, "the stale VOICE check-in no longer counts"


def test_entering_a_higher_level_is_an_alert_once() -> None:
    analyses, _ = _analyses()
    _feed(analyses, HEALTHY)
    assert _check_in(analyses, Consciousness.ALERT) is None
    assert _check_in(analyses, Consciousness.CONFUSION) is AlertLevel.URGENT_WARD
    assert _check_in(analyses, Consciousness.CONFUSION) is None, "no new alert at the same level"
    sepsis = {
        SensorKind.RESPIRATION_RATE: (26.0,),
        SensorKind.BLOOD_PRESSURE: (88.0, 55.0),
    }
    alerts = [
        analyses.record(PSEUDONYM, SpO2Scale.SCALE_1, Reading(kind, 0.0, values)).alert
        for kind, values in sepsis.items()
    ]
    assert alerts == [AlertLevel.URGENT, AlertLevel.EMERGENCY]


def test_the_spo2_scale_of_the_analysis_is_applied() -> None:
    analyses, _ = _analyses()
    recorded = analyses.record(PSEUDONYM, SpO2Scale.SCALE_2, Reading(SensorKind.SPO2, 0.0, (89.0,)))
    assert recorded.evaluation.score.points[Parameter.SPO2] == 0
    recorded = analyses.record(PSEUDONYM, SpO2Scale.SCALE_1, Reading(SensorKind.SPO2, 0.0, (89.0,)))
    assert recorded.evaluation.score.points[Parameter.SPO2] == 3


def test_trend_slope_is_per_hour() -> None:
    analyses, clock = _analyses()
    for step in range(10):
        analyses.record(
            PSEUDONYM,
            SpO2Scale.SCALE_1,
            Reading(SensorKind.GLUCOSE, 0.0, (5.0 + 0.1 * step,)),
        )
        clock.now += 360.0  # a tenth of an hour
    analysis = analyses.get(PSEUDONYM)
    assert analysis is not None
    trend = analysis.trend(SensorKind.GLUCOSE)
    assert trend is not None
    assert trend.slope_per_hour == pytest.approx(1.0)
    assert trend.mean == pytest.approx(5.45)
    assert trend.samples == 10
    assert analysis.trend(SensorKind.AIR_QUALITY) is None


def test_retention_is_bounded_by_count_age_and_analyses() -> None:
    analyses, clock = _analyses(samples_per_kind=5, retention_seconds=100.0, max_analyses=2)
    for _ in range(8):
        _feed(analyses, {SensorKind.HEART_RATE: (70.0,)})
    analysis = analyses.get(PSEUDONYM)
    assert analysis is not None
    assert len(analysis.series[SensorKind.HEART_RATE]) == 5
    clock.now += 101.0
    _feed(analyses, {SensorKind.SPO2: (97.0,)})
    assert SensorKind.HEART_RATE not in analysis.series, "older than the retention"
    for other in (b"\x01" * 32, b"\x02" * 32):
        analyses.record(other, SpO2Scale.SCALE_1, Reading(SensorKind.SPO2, 0.0, (97.0,)))
    assert len(analyses) == 2
    assert analyses.get(PSEUDONYM) is None, "the least recently updated analysis went first"
