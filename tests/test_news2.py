"""NEWS2 (core/news2.py) against the hand-written table tests/vectors/news2_cases.json.

The table gives, for every band of chart 1 of the RCP's NEWS2 (2017), the values on both sides of
each boundary (and values that round onto them), both SpO2 scales on air and on oxygen, and whole
sets of observations with their aggregate, alert level (chart 2) and missing parameters.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from mec5g.core import news2
from mec5g.core.news2 import AlertLevel, Consciousness, Observations, Parameter, SpO2Scale

TABLE: dict[str, Any] = json.loads(
    (Path(__file__).parent / "vectors" / "news2_cases.json").read_text()
)


def _only(parameter: Parameter, **observation: Any) -> int:
    result = news2.score(Observations(**observation))
    return result.points[parameter]


@pytest.mark.parametrize(
    ("parameter", "value", "points"),
    [
        (parameter, value, points)
        for parameter, rows in TABLE["bands"].items()
        for value, points in rows
    ],
)
def test_band_boundaries(parameter: str, value: float, points: int) -> None:
    assert _only(Parameter(parameter), **{parameter: value}) == points


@pytest.mark.parametrize(
    ("scale", "spo2", "on_oxygen", "points"),
    [
        (SpO2Scale(int(name[-1])), spo2, on_oxygen, points)
        for name, rows in TABLE["spo2"].items()
        for spo2, on_oxygen, points in rows
    ],
)
def test_spo2_scales(scale: SpO2Scale, spo2: float, on_oxygen: bool, points: int) -> None:
    assert news2.spo2_points(spo2, scale, on_oxygen) == points
    result = news2.score(Observations(spo2=spo2, supplemental_oxygen=on_oxygen), scale)
    assert result.points[Parameter.SPO2] == points


@pytest.mark.parametrize(("on_oxygen", "points"), TABLE["oxygen"])
def test_air_or_oxygen(on_oxygen: bool, points: int) -> None:
    assert _only(Parameter.SUPPLEMENTAL_OXYGEN, supplemental_oxygen=on_oxygen) == points


@pytest.mark.parametrize(("level", "points"), TABLE["consciousness"])
def test_consciousness(level: str, points: int) -> None:
    assert _only(Parameter.CONSCIOUSNESS, consciousness=Consciousness[level]) == points


@pytest.mark.parametrize("case", TABLE["cases"], ids=[case["name"] for case in TABLE["cases"]])
def test_whole_cases(case: dict[str, Any]) -> None:
    observed = dict(case["observations"])
    if "consciousness" in observed:
        observed["consciousness"] = Consciousness[observed["consciousness"]]
    result = news2.score(Observations(**observed), SpO2Scale(case["scale"]))
    assert result.aggregate == case["aggregate"]
    assert result.level is AlertLevel[case["level"]]
    assert [parameter.value for parameter in result.missing] == case["missing"]
    assert result.complete is (not case["missing"])


def test_levels_follow_chart_2_thresholds() -> None:
    """Chart 2 alone: 0 none, 1-4 low, a single 3 below 5 urgent ward-based, 5-6 urgent, 7+."""
    assert news2.alert_level(0, []) is AlertLevel.NONE
    assert news2.alert_level(4, [1, 1, 2]) is AlertLevel.LOW
    assert news2.alert_level(3, [3]) is AlertLevel.URGENT_WARD
    assert news2.alert_level(5, [3, 2]) is AlertLevel.URGENT
    assert news2.alert_level(6, [2, 2, 2]) is AlertLevel.URGENT
    assert news2.alert_level(7, [3, 3, 1]) is AlertLevel.EMERGENCY


def test_not_a_number_is_refused() -> None:
    with pytest.raises(ValueError, match="not a number"):
        news2.score(Observations(pulse=float("nan")))
