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

Randomness is seeded with the UE's seed and the device or patient name, so a run is reproducible
and one device's draws never depend on how others interleave. A patient's baselines come from
``random.Random`` (Python seeds a str through SHA-512, the same on every run and platform). A
device's noise is counter-based: the n-th reading's draws come from BLAKE2b keyed with the
device's seed over n, so that a device keeps 16 bytes and a counter rather than a Mersenne
Twister of 2.5 KB (a UE emulates 10,000 devices and more). These models emulate data for a
testbed; they make no clinical claim.
"""

from __future__ import annotations

import hashlib
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


def standard_normals(seed: bytes, index: int, count: int) -> list[float]:
    """``count`` standard normal draws, the ``index``-th of the stream named ``seed``: BLAKE2b
    keyed with ``seed`` over ``index`` gives two 64-bit uniforms per draw, turned into a normal
    by Box-Muller."""
    digest = hashlib.blake2b(index.to_bytes(8, "big"), key=seed, digest_size=16 * count).digest()
    draws = []
    for offset in range(0, 16 * count, 16):
        # u1 in (0, 1], so that its logarithm is finite; u2 in [0, 1).
        u1 = (int.from_bytes(digest[offset : offset + 8], "big") + 1) / 2**64
        u2 = int.from_bytes(digest[offset + 8 : offset + 16], "big") / 2**64
        draws.append(math.sqrt(-2.0 * math.log(u1)) * math.cos(2.0 * math.pi * u2))
    return draws


class SensorModel:
    """One device's sensor: reads its patient's model at model time ``t`` with its own noise."""

    __slots__ = ("_reads", "_seed", "kind", "patient")

    def __init__(self, patient: PatientModel, kind: SensorKind, device: str) -> None:
        self.patient = patient
        self.kind = kind
        name = f"mec5g/sensor/{patient.seed}/{device}".encode()
        self._seed = hashlib.blake2b(name, digest_size=16).digest()
        self._reads = 0

    def read(self, t: float, taken_at: float) -> Reading:
        """The reading at model time ``t`` (seconds since the model started), stamped
        ``taken_at`` (the device clock)."""
        profile = PROFILES[self.kind]
        drift = math.sin(2 * math.pi * (t + self.patient.phase) / DAY_SECONDS)
        low, high = profile.limits
        normals = standard_normals(self._seed, self._reads, self.kind.value_count)
        self._reads += 1
        values = tuple(
            round(
                min(high, max(low, base + amplitude * drift + normal * noise + shift)),
                profile.decimals,
            )
            for base, amplitude, noise, shift, normal in zip(
                self.patient.baselines[self.kind],
                profile.daily,
                profile.noise,
                self.patient.effect(self.kind, t),
                normals,
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


@dataclass(frozen=True, slots=True)
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
