"""The National Early Warning Score 2 (NEWS2), pure: seven parameters in, scores and a level out.

Source: Royal College of Physicians, *National Early Warning Score (NEWS) 2: Standardising the
assessment of acute-illness severity in the NHS*, updated report of a working party, London,
RCP 2017; chart 1 ("The NEWS scoring system") for the bands and chart 2 ("NEWS thresholds and
triggers") for the clinical response. Each band table below names its chart row.

Values are rounded the way a chart is filled in before they are scored: respiration rate, SpO2,
systolic blood pressure and pulse to whole numbers, temperature to one decimal (half up, so
35.05 °C is charted 35.1). The chart's bands then cover every charted value without gaps.

Any parameter may be missing: ``score`` then sums the parameters present and says which are
missing. A partial aggregate is a lower bound of the full one, so the alert level it gives is a
lower bound too (a 3 in any present parameter, or a partial sum of 7, already stands).
"""

from __future__ import annotations

import enum
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal

# A band is (lowest charted value, highest charted value, score); bounds inclusive, None = open.
_Band = tuple[float | None, float | None, int]


def _band_score(bands: Sequence[_Band], value: float) -> int:
    for low, high, points in bands:
        if (low is None or value >= low) and (high is None or value <= high):
            return points
    raise ValueError(f"no NEWS2 band holds {value}")  # the tables below leave no gaps


# Chart 1, row "Respiration rate (per minute)".
_RESPIRATION = ((None, 8, 3), (9, 11, 1), (12, 20, 0), (21, 24, 2), (25, None, 3))
# Chart 1, row "SpO2 Scale 1 (%)".
_SPO2_SCALE_1 = ((None, 91, 3), (92, 93, 2), (94, 95, 1), (96, None, 0))
# Chart 1, row "SpO2 Scale 2 (%)", up to 92 %, and from 93 % breathing air.
_SPO2_SCALE_2_LOW = ((None, 83, 3), (84, 85, 2), (86, 87, 1), (88, 92, 0))
# Chart 1, row "SpO2 Scale 2 (%)", from 93 % on oxygen: 93-94, 95-96, >=97 on oxygen.
_SPO2_SCALE_2_ON_OXYGEN = ((93, 94, 1), (95, 96, 2), (97, None, 3))
# Chart 1, row "Air or oxygen?": oxygen 2, air 0.
_OXYGEN_POINTS = 2
# Chart 1, row "Systolic blood pressure (mmHg)".
_SYSTOLIC = ((None, 90, 3), (91, 100, 2), (101, 110, 1), (111, 219, 0), (220, None, 3))
# Chart 1, row "Pulse (per minute)".
_PULSE = ((None, 40, 3), (41, 50, 1), (51, 90, 0), (91, 110, 1), (111, 130, 2), (131, None, 3))
# Chart 1, row "Temperature (°C)".
_TEMPERATURE = (
    (None, 35.0, 3),
    (35.1, 36.0, 1),
    (36.1, 38.0, 0),
    (38.1, 39.0, 1),
    (39.1, None, 2),
)
# Chart 1, row "Consciousness": Alert 0; new Confusion, Voice, Pain, Unresponsive 3.
_NOT_ALERT_POINTS = 3


class Consciousness(enum.IntEnum):
    """ACVPU (RCP 2017, chart 1): Alert, new Confusion, responds to Voice, to Pain, Unresponsive."""

    ALERT = 1
    CONFUSION = 2
    VOICE = 3
    PAIN = 4
    UNRESPONSIVE = 5


class SpO2Scale(enum.IntEnum):
    """Scale 1 for most patients; scale 2 for hypercapnic respiratory failure, target 88-92 %,
    chosen by a clinician (RCP 2017, chart 1 footnote)."""

    SCALE_1 = 1
    SCALE_2 = 2


class AlertLevel(enum.IntEnum):
    """Chart 2's clinical risk and response, ordered by severity."""

    NONE = 0  # aggregate 0: routine monitoring, minimum 12-hourly
    LOW = 1  # aggregate 1-4: ward-based response
    URGENT_WARD = 2  # 3 in a single parameter (aggregate below 5): urgent ward-based response
    URGENT = 3  # aggregate 5-6: urgent response
    EMERGENCY = 4  # aggregate 7 or more: emergency response


class Parameter(enum.Enum):
    """The seven NEWS2 physiological parameters."""

    RESPIRATION_RATE = "respiration_rate"
    SPO2 = "spo2"
    SUPPLEMENTAL_OXYGEN = "supplemental_oxygen"
    SYSTOLIC_BP = "systolic_bp"
    PULSE = "pulse"
    CONSCIOUSNESS = "consciousness"
    TEMPERATURE = "temperature"


@dataclass(frozen=True, slots=True)
class Observations:
    """One set of observations; None where a parameter is missing."""

    respiration_rate: float | None = None
    spo2: float | None = None
    supplemental_oxygen: bool | None = None
    systolic_bp: float | None = None
    pulse: float | None = None
    consciousness: Consciousness | None = None
    temperature: float | None = None


@dataclass(frozen=True, slots=True)
class Score:
    """A NEWS2 result: points per present parameter, their sum, and what was missing."""

    points: dict[Parameter, int]
    missing: tuple[Parameter, ...]
    aggregate: int = field(init=False)
    level: AlertLevel = field(init=False)

    def __post_init__(self) -> None:
        aggregate = sum(self.points.values())
        object.__setattr__(self, "aggregate", aggregate)
        object.__setattr__(self, "level", alert_level(aggregate, self.points.values()))

    @property
    def complete(self) -> bool:
        return not self.missing


def _whole(value: float) -> int:
    if not math.isfinite(value):
        raise ValueError(f"observation {value} is not a number")
    return int(Decimal(repr(value)).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def _tenths(value: float) -> float:
    if not math.isfinite(value):
        raise ValueError(f"observation {value} is not a number")
    return float(Decimal(repr(value)).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP))


def spo2_points(spo2: float, scale: SpO2Scale, supplemental_oxygen: bool) -> int:
    """Chart 1's SpO2 rows. On scale 2, 93 % or more scores 0 on air and 1-3 on oxygen."""
    charted = _whole(spo2)
    if scale is SpO2Scale.SCALE_1:
        return _band_score(_SPO2_SCALE_1, charted)
    if charted >= 93:
        return _band_score(_SPO2_SCALE_2_ON_OXYGEN, charted) if supplemental_oxygen else 0
    return _band_score(_SPO2_SCALE_2_LOW, charted)


def score(observations: Observations, scale: SpO2Scale = SpO2Scale.SCALE_1) -> Score:
    """Score every present parameter (chart 1) and derive the alert level (chart 2).

    Scale 2's SpO2 row depends on whether the patient is on oxygen: with that unknown, SpO2 at
    93 % or more is reported missing rather than guessed.
    """
    o = observations
    points: dict[Parameter, int] = {}
    if o.respiration_rate is not None:
        points[Parameter.RESPIRATION_RATE] = _band_score(_RESPIRATION, _whole(o.respiration_rate))
    if o.spo2 is not None and (
        scale is SpO2Scale.SCALE_1 or o.supplemental_oxygen is not None or _whole(o.spo2) < 93
    ):
        points[Parameter.SPO2] = spo2_points(o.spo2, scale, bool(o.supplemental_oxygen))
    if o.supplemental_oxygen is not None:
        points[Parameter.SUPPLEMENTAL_OXYGEN] = _OXYGEN_POINTS if o.supplemental_oxygen else 0
    if o.systolic_bp is not None:
        points[Parameter.SYSTOLIC_BP] = _band_score(_SYSTOLIC, _whole(o.systolic_bp))
    if o.pulse is not None:
        points[Parameter.PULSE] = _band_score(_PULSE, _whole(o.pulse))
    if o.consciousness is not None:
        alert = o.consciousness is Consciousness.ALERT
        points[Parameter.CONSCIOUSNESS] = 0 if alert else _NOT_ALERT_POINTS
    if o.temperature is not None:
        points[Parameter.TEMPERATURE] = _band_score(_TEMPERATURE, _tenths(o.temperature))
    missing = tuple(parameter for parameter in Parameter if parameter not in points)
    return Score(points, missing)


def alert_level(aggregate: int, points: Iterable[int]) -> AlertLevel:
    """Chart 2: 7+ emergency, 5-6 urgent, a single 3 urgent ward-based, 1-4 low, 0 none."""
    if aggregate >= 7:
        return AlertLevel.EMERGENCY
    if aggregate >= 5:
        return AlertLevel.URGENT
    if any(value >= 3 for value in points):
        return AlertLevel.URGENT_WARD
    return AlertLevel.LOW if aggregate else AlertLevel.NONE
