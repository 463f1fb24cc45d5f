"""The device's sensor model: emulated vital signs, per patient, seeded and reproducible.

Every value is ``baseline + daily drift + noise + deterioration``, clamped to what the sensor can
report:

- the baseline is drawn once per patient from a plausible adult range (a resting heart rate of
  60-85 bpm, SpO2 95-99 %, ...), so patients differ from each other;
- the daily drift is a sine with a 24-hour period and a per-patient phase (the circadian rhythm
  of temperature, heart rate and blood pressure; meals for glucose; traffic for air quality);
- the noise is Gaussian with a per-kind spread;
- deterioration events (sepsis, respiratory failure, hypoglycaemia, fever, smoke) shift several
  vital signs of one patient together, developing over an onset time, lasting, then wearing off.

Randomness comes from ``random.Random`` seeded with the UE's seed and the device or patient name
(Python seeds a str through SHA-512, the same on every run and platform), so a run is reproducible
and one device's draws never depend on how others interleave. These models emulate data for a
testbed; they make no clinical claim.
"""

from __future__ import annotations

import math
import random
from collections.abc import Sequence
from dataclasses import dataclass, field

from mec5g.core.readings import Reading, SensorKind

DAY_SECONDS = 86400.0

# The order in which a patient's devices get their kinds (see ``assign``).
KIND_ORDER = (
    SensorKind.SPO2,
    SensorKind.HEART_RATE,
    SensorKind.RESPIRATION_RATE,
    SensorKind.BLOOD_PRESSURE,
    SensorKind.BODY_TEMPERATURE,
    SensorKind.GLUCOSE,
    SensorKind.AIR_QUALITY,
)


@dataclass(frozen=True)
class _Profile:
    """Per-kind model: baseline range per value, noise, daily amplitude, and sensor limits."""

    baseline: tuple[tuple[float, float], ...]
    noise: tuple[float, ...]
    daily: tuple[float, ...]
    limits: tuple[float, float]
    decimals: int


PROFILES = {
    SensorKind.SPO2: _Profile(((95.0, 99.0),), (0.6,), (0.5,), (50.0, 100.0), 0),
    SensorKind.HEART_RATE: _Profile(((60.0, 85.0),), (2.5,), (6.0,), (25.0, 220.0), 0),
    SensorKind.RESPIRATION_RATE: _Profile(((12.0, 18.0),), (0.8,), (1.5,), (4.0, 60.0), 0),
    SensorKind.BLOOD_PRESSURE: _Profile(
        ((110.0, 135.0), (68.0, 85.0)), (4.0, 3.0), (8.0, 5.0), (40.0, 260.0), 0
    ),
    SensorKind.BODY_TEMPERATURE: _Profile(((36.4, 37.0),), (0.08,), (0.3,), (30.0, 43.0), 1),
    SensorKind.GLUCOSE: _Profile(((4.5, 6.5),), (0.25,), (1.0,), (1.0, 30.0), 1),
    SensorKind.AIR_QUALITY: _Profile(((4.0, 15.0),), (1.5,), (5.0,), (0.0, 1000.0), 0),
}

# Full effect of each event, per kind and value (blood pressure: systolic, diastolic).
EVENTS: dict[str, dict[SensorKind, tuple[float, ...]]] = {
    "sepsis": {
        SensorKind.HEART_RATE: (45.0,),
        SensorKind.RESPIRATION_RATE: (11.0,),
        SensorKind.BODY_TEMPERATURE: (2.6,),
        SensorKind.BLOOD_PRESSURE: (-42.0, -25.0),
        SensorKind.SPO2: (-5.0,),
    },
    "respiratory_failure": {
        SensorKind.SPO2: (-12.0,),
        SensorKind.RESPIRATION_RATE: (13.0,),
        SensorKind.HEART_RATE: (30.0,),
    },
    "hypoglycaemia": {SensorKind.GLUCOSE: (-3.2,), SensorKind.HEART_RATE: (20.0,)},
    "fever": {SensorKind.BODY_TEMPERATURE: (2.0,), SensorKind.HEART_RATE: (15.0,)},
    "smoke": {SensorKind.AIR_QUALITY: (250.0,), SensorKind.RESPIRATION_RATE: (4.0,)},
}


@dataclass(frozen=True)
class Deterioration:
    """An event of one patient: develops over ``onset`` seconds from ``start`` (model time),
    lasts ``duration`` seconds at full effect (0: for ever), then wears off over ``onset``."""

    event: str
    start: float
    onset: float = 0.0
    duration: float = 0.0

    def __post_init__(self) -> None:
        if self.event not in EVENTS:
            raise ValueError(f"unknown event {self.event!r}; known: {', '.join(sorted(EVENTS))}")
        if not all(math.isfinite(value) and value >= 0 for value in (self.onset, self.duration)):
            raise ValueError("onset and duration are finite and not negative")

    def intensity(self, t: float) -> float:
        """0 before the event, rising to 1 over the onset, 1 while it lasts, then falling."""
        elapsed = t - self.start
        if elapsed < 0:
            return 0.0
        if elapsed < self.onset:
            return elapsed / self.onset
        if not self.duration:
            return 1.0
        over = elapsed - self.onset - self.duration
        if over <= 0:
            return 1.0
        return max(0.0, 1.0 - over / self.onset) if self.onset else 0.0


@dataclass
class PatientModel:
    """One patient's baselines and daily phase, and the events injected so far."""

    seed: int
    patient: int
    events: list[Deterioration] = field(default_factory=list)

    def __post_init__(self) -> None:
        rng = random.Random(f"mec5g/patient/{self.seed}/{self.patient}")
        self.phase = rng.uniform(0.0, DAY_SECONDS)
        self.baselines = {
            kind: tuple(rng.uniform(low, high) for low, high in profile.baseline)
            for kind, profile in PROFILES.items()
        }

    def inject(self, event: Deterioration) -> None:
        self.events.append(event)

    def effect(self, kind: SensorKind, t: float) -> tuple[float, ...]:
        total = [0.0] * kind.value_count
        for event in self.events:
            shift = EVENTS[event.event].get(kind)
            if shift is not None:
                weight = event.intensity(t)
                total = [value + weight * delta for value, delta in zip(total, shift, strict=True)]
        return tuple(total)


class SensorModel:
    """One device's sensor: reads its patient's model at model time ``t`` with its own noise."""

    def __init__(self, patient: PatientModel, kind: SensorKind, device: str) -> None:
        self.patient = patient
        self.kind = kind
        self._profile = PROFILES[kind]
        self._rng = random.Random(f"mec5g/sensor/{patient.seed}/{device}")

    def read(self, t: float, taken_at: float) -> Reading:
        """The reading at model time ``t`` (seconds since the model started), stamped
        ``taken_at`` (the device clock)."""
        profile = self._profile
        drift = math.sin(2 * math.pi * (t + self.patient.phase) / DAY_SECONDS)
        low, high = profile.limits
        values = tuple(
            round(
                min(high, max(low, base + amplitude * drift + self._rng.gauss(0.0, noise) + shift)),
                profile.decimals,
            )
            for base, amplitude, noise, shift in zip(
                self.patient.baselines[self.kind],
                profile.daily,
                profile.noise,
                self.patient.effect(self.kind, t),
                strict=True,
            )
        )
        return Reading(self.kind, taken_at, values)


def kind_name(kind: SensorKind) -> str:
    """``blood-pressure`` for BLOOD_PRESSURE: how device names and scenario files name a kind."""
    return kind.name.lower().replace("_", "-")


KINDS_BY_NAME = {kind_name(kind): kind for kind in KIND_ORDER}


def kind_named(device: str) -> SensorKind | None:
    """The kind a device's name ends with (``alice/dev-03-respiration-rate``), if any."""
    return next((kind for name, kind in KINDS_BY_NAME.items() if device.endswith(f"-{name}")), None)


@dataclass(frozen=True)
class Placement:
    """Which patient (numbered from 1) a device belongs to, and its sensor kind."""

    patient: int
    kind: SensorKind


def assign(names: Sequence[str], devices_per_patient: int) -> dict[str, Placement]:
    """Group devices, in name order, into patients of ``devices_per_patient``; a device whose
    name ends with a kind (``kind_name``) emulates that kind, the others get the kinds of
    ``KIND_ORDER`` in turn. ``mec5g up`` enrols each group as one analysis at the TTP, so that
    the MEC combines one patient's devices."""
    if devices_per_patient < 1:
        raise ValueError("a patient has at least one device")
    return {
        name: Placement(
            index // devices_per_patient + 1,
            kind_named(name) or KIND_ORDER[index % devices_per_patient % len(KIND_ORDER)],
        )
        for index, name in enumerate(sorted(names))
    }
