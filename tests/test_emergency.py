"""When the MEC raises an emergency (``core.emergency``): the threshold and one raise per level
and episode."""

from __future__ import annotations

import pytest

from mec5g.core.emergency import Emergencies, EmergencyThreshold
from mec5g.core.news2 import AlertLevel, Parameter, Score


def _score(**points: int) -> Score:
    return Score({Parameter(name): value for name, value in points.items()}, ())


@pytest.mark.parametrize(
    ("points", "reached"),
    [
        ({"pulse": 2, "temperature": 2, "spo2": 2}, False),  # 6: urgent, not an emergency
        ({"pulse": 2, "temperature": 2, "spo2": 3}, True),  # 7
        ({"respiration_rate": 3}, True),  # a single 3
        ({"pulse": 2, "spo2": 2}, False),
    ],
)
def test_the_default_threshold_is_seven_or_a_single_three(
    points: dict[str, int], reached: bool
) -> None:
    assert EmergencyThreshold().reached(_score(**points)) is reached


def test_the_threshold_is_a_setting() -> None:
    strict = EmergencyThreshold(aggregate=5, single_parameter=4)
    assert strict.reached(_score(pulse=3, spo2=2))
    assert not strict.reached(_score(pulse=3))


def test_an_emergency_is_raised_once_per_level_and_episode() -> None:
    emergencies = Emergencies(EmergencyThreshold())
    single = _score(respiration_rate=3)
    assert single.level is AlertLevel.URGENT_WARD
    severe = _score(respiration_rate=3, pulse=2, spo2=2)
    assert severe.level is AlertLevel.EMERGENCY
    seen = [
        emergencies.observe(b"a", score)
        for score in (_score(), single, single, severe, severe, single, _score(), single)
    ]
    assert seen == [False, True, False, True, False, False, False, True]
    assert emergencies.observe(b"b", severe), "analyses are apart"
    assert len(emergencies) == 2
    emergencies.observe(b"b", _score())
    assert len(emergencies) == 1, "an analysis out of its emergency is forgotten"
