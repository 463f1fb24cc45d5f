"""The MEC's analyses (phase 4; paper section 4.1, step 4): per analysis pseudonym, the latest
vital signs of all its devices, their trends, the patient's check-in, and NEWS2.

An analysis is known only by its per-MEC pseudonym (SPEC.md "Analysis handle"): nothing here
names a patient or a device. Readings are timed by the MEC's own clock when they arrive, not by
the device's stamp (device clocks are neither trusted nor synchronised).

- **Missing and stale.** NEWS2 is computed from the latest reading of each parameter that is
  fresher than ``stale_after``; a parameter never received is *missing*, one too old is *stale*;
  both are listed and left out, and the aggregate and level are then lower bounds
  (``core.news2``). Glucose and air quality are kept as trends; NEWS2 does not use them.
- **Bounded retention.** Per kind at most ``samples_per_kind`` readings, none older than
  ``retention_seconds``; at most ``history_points`` past scores; at most ``max_analyses``
  analyses, the least recently updated dropped first.
- **Alerts.** ``record`` reports when an analysis enters a level of urgent ward-based response
  or higher from a lower one, so that phase 6 can raise the emergency.
- **Moving.** When the patient moves to another MEC node, ``take`` hands the analysis over and
  forgets it here; the other node ``install``s it under its own pseudonym
  (``mec.context_transfer``).
"""

from __future__ import annotations

from collections import OrderedDict, deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from mec5g.core import news2
from mec5g.core.news2 import AlertLevel, Observations, Parameter, Score, SpO2Scale
from mec5g.core.readings import CheckIn, Reading, SensorKind

# Which NEWS2 parameter each sensor kind gives (blood pressure: its first value, systolic).
PARAMETER_OF_KIND = {
    SensorKind.RESPIRATION_RATE: Parameter.RESPIRATION_RATE,
    SensorKind.SPO2: Parameter.SPO2,
    SensorKind.BLOOD_PRESSURE: Parameter.SYSTOLIC_BP,
    SensorKind.HEART_RATE: Parameter.PULSE,
    SensorKind.BODY_TEMPERATURE: Parameter.TEMPERATURE,
}
_CHECK_IN_PARAMETERS = (Parameter.CONSCIOUSNESS, Parameter.SUPPLEMENTAL_OXYGEN)


@dataclass(frozen=True)
class AnalysisLimits:
    """Staleness and retention bounds (see the module's docstring)."""

    stale_after: float = 900.0
    samples_per_kind: int = 240
    retention_seconds: float = 6 * 3600.0
    history_points: int = 240
    max_analyses: int = 10000


@dataclass(frozen=True, slots=True)
class Sample:
    received: float
    values: tuple[float, ...]


@dataclass(frozen=True, slots=True)
class Trend:
    """The retained readings of one kind, summarised."""

    latest: Sample
    samples: int
    mean: float
    slope_per_hour: float


@dataclass(frozen=True, slots=True)
class Evaluation:
    """A NEWS2 result with what was left out as stale (``score.missing`` includes those)."""

    at: float
    score: Score
    stale: tuple[Parameter, ...]

    @property
    def unscored(self) -> tuple[Parameter, ...]:
        """Missing but not stale: never received, or not scorable yet (core.news2.score)."""
        return tuple(parameter for parameter in self.score.missing if parameter not in self.stale)


@dataclass
class Analysis:
    """One analysis as this MEC sees it."""

    pseudonym: bytes
    spo2_scale: SpO2Scale
    series: dict[SensorKind, deque[Sample]] = field(default_factory=dict)
    check_in: tuple[float, CheckIn] | None = None
    history: deque[Evaluation] = field(default_factory=deque)
    current: Evaluation | None = None
    records: int = 0

    def trend(self, kind: SensorKind) -> Trend | None:
        samples = self.series.get(kind)
        if not samples:
            return None
        firsts = [(sample.received, sample.values[0]) for sample in samples]
        mean = sum(value for _, value in firsts) / len(firsts)
        mean_time = sum(time for time, _ in firsts) / len(firsts)
        spread = sum((time - mean_time) ** 2 for time, _ in firsts)
        slope = (
            sum((time - mean_time) * (value - mean) for time, value in firsts) / spread
            if spread
            else 0.0
        )
        return Trend(samples[-1], len(samples), mean, slope * 3600.0)

    def evaluate(self, now: float, limits: AnalysisLimits) -> Evaluation:
        """NEWS2 from the latest fresh value of every parameter."""
        fresh: dict[Parameter, float] = {}
        stale: list[Parameter] = []
        for kind, parameter in PARAMETER_OF_KIND.items():
            samples = self.series.get(kind)
            if samples:
                if now - samples[-1].received > limits.stale_after:
                    stale.append(parameter)
                else:
                    fresh[parameter] = samples[-1].values[0]
        consciousness = oxygen = None
        if self.check_in is not None:
            received, check_in = self.check_in
            if now - received > limits.stale_after:
                stale.extend(_CHECK_IN_PARAMETERS)
            else:
                consciousness, oxygen = check_in.consciousness, check_in.supplemental_oxygen
        observations = Observations(
            respiration_rate=fresh.get(Parameter.RESPIRATION_RATE),
            spo2=fresh.get(Parameter.SPO2),
            supplemental_oxygen=oxygen,
            systolic_bp=fresh.get(Parameter.SYSTOLIC_BP),
            pulse=fresh.get(Parameter.PULSE),
            consciousness=consciousness,
            temperature=fresh.get(Parameter.TEMPERATURE),
        )
        return Evaluation(now, news2.score(observations, self.spo2_scale), tuple(stale))


@dataclass(frozen=True, slots=True)
class Recorded:
    """What one record changed: the new evaluation, and the alert level entered, if any."""

    evaluation: Evaluation
    alert: AlertLevel | None


class Analyses:
    """Every analysis of this MEC, bounded; the clock is injected so tests need no waiting."""

    def __init__(self, limits: AnalysisLimits, clock: Callable[[], float]) -> None:
        self.limits = limits
        self._clock = clock
        self._analyses: OrderedDict[bytes, Analysis] = OrderedDict()

    def __len__(self) -> int:
        return len(self._analyses)

    def __iter__(self) -> Iterator[Analysis]:
        return iter(list(self._analyses.values()))

    def get(self, pseudonym: bytes) -> Analysis | None:
        return self._analyses.get(pseudonym)

    def now(self) -> float:
        return self._clock()

    def take(self, pseudonym: bytes) -> Analysis | None:
        """Remove and return the analysis of ``pseudonym`` (it moves to another node)."""
        return self._analyses.pop(pseudonym, None)

    def install(self, analysis: Analysis) -> None:
        """Hold ``analysis`` (one moved here, its times on this clock), replacing any held under
        its pseudonym, within this node's limits, and score it afresh."""
        now = self._clock()
        for kind, samples in analysis.series.items():
            analysis.series[kind] = deque(samples, maxlen=self.limits.samples_per_kind)
        while len(analysis.history) > self.limits.history_points:
            analysis.history.popleft()
        self._trim(analysis, now)
        analysis.current = analysis.evaluate(now, self.limits)
        self._analyses[analysis.pseudonym] = analysis
        self._analyses.move_to_end(analysis.pseudonym)
        while len(self._analyses) > self.limits.max_analyses:
            self._analyses.popitem(last=False)

    def record(self, pseudonym: bytes, scale: SpO2Scale, payload: Reading | CheckIn) -> Recorded:
        """Add one reading or check-in to its analysis and re-evaluate NEWS2."""
        now = self._clock()
        analysis = self._analyses.get(pseudonym)
        if analysis is None:
            analysis = self._analyses[pseudonym] = Analysis(pseudonym, scale)
            while len(self._analyses) > self.limits.max_analyses:
                self._analyses.popitem(last=False)
        else:
            self._analyses.move_to_end(pseudonym)
            analysis.spo2_scale = scale  # the latest session's settings from the TTP stand
        analysis.records += 1
        if isinstance(payload, CheckIn):
            analysis.check_in = (now, payload)
        else:
            samples = analysis.series.setdefault(
                payload.kind, deque(maxlen=self.limits.samples_per_kind)
            )
            samples.append(Sample(now, payload.values))
        self._trim(analysis, now)
        previous = analysis.current
        evaluation = analysis.current = analysis.evaluate(now, self.limits)
        if previous is None or _headline(previous) != _headline(evaluation):
            analysis.history.append(evaluation)  # the history keeps changes only
            while len(analysis.history) > self.limits.history_points:
                analysis.history.popleft()
        before = previous.score.level if previous is not None else AlertLevel.NONE
        level = evaluation.score.level
        entered = level if level >= AlertLevel.URGENT_WARD and level > before else None
        return Recorded(evaluation, entered)

    def _trim(self, analysis: Analysis, now: float) -> None:
        horizon = now - self.limits.retention_seconds
        for kind in list(analysis.series):
            samples = analysis.series[kind]
            while samples and samples[0].received < horizon:
                samples.popleft()
            if not samples:
                del analysis.series[kind]
        if analysis.check_in is not None and analysis.check_in[0] < horizon:
            analysis.check_in = None
        while analysis.history and analysis.history[0].at < horizon:
            analysis.history.popleft()


def _headline(evaluation: Evaluation) -> tuple[object, ...]:
    score = evaluation.score
    return score.aggregate, score.level, score.missing
