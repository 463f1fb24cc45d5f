"""What a device's data records carry (phase 4): sensor readings and patient check-ins.

Fixed binary layouts, big-endian, parsed with every length and code checked; they travel only
inside sealed data records (``data_channel``), so nothing here is ever seen in the clear.

- reading:  kind (1 byte) ‖ taken_at (float64, seconds of the device clock) ‖ values (float64
  each; how many is fixed by the kind: two for blood pressure, one otherwise)
- check-in: consciousness (1 byte, ACVPU 1-5) ‖ supplemental oxygen (1 byte, 0 or 1) ‖ taken_at

Neither names the patient or the device: the MEC learns which analysis a record belongs to from
the session it arrives in (the analysis pseudonym, SPEC.md "Analysis handle").
"""

from __future__ import annotations

import enum
import math
import struct
from dataclasses import dataclass

from mec5g.core.errors import MalformedField, MalformedInput
from mec5g.core.news2 import Consciousness


class SensorKind(enum.IntEnum):
    """The device kinds the paper names (section 1); values are the proto's ``SensorKind``."""

    SPO2 = 1  # %
    HEART_RATE = 2  # beats per minute, derived from an ECG
    RESPIRATION_RATE = 3  # breaths per minute
    BLOOD_PRESSURE = 4  # systolic, diastolic mmHg
    BODY_TEMPERATURE = 5  # °C
    GLUCOSE = 6  # mmol/L
    AIR_QUALITY = 7  # PM2.5 µg/m³

    @property
    def value_count(self) -> int:
        return 2 if self is SensorKind.BLOOD_PRESSURE else 1


_READING_HEAD = struct.Struct(">Bd")
_VALUE = struct.Struct(">d")
_CHECK_IN = struct.Struct(">BBd")
CHECK_IN_BYTES = _CHECK_IN.size


@dataclass(frozen=True, slots=True)
class Reading:
    """One measurement of one sensor."""

    kind: SensorKind
    taken_at: float
    values: tuple[float, ...]

    def __post_init__(self) -> None:
        if len(self.values) != self.kind.value_count:
            raise ValueError(f"{self.kind.name} takes {self.kind.value_count} values")

    def to_bytes(self) -> bytes:
        return _READING_HEAD.pack(self.kind, self.taken_at) + b"".join(
            _VALUE.pack(value) for value in self.values
        )

    @classmethod
    def parse(cls, data: bytes) -> Reading:
        if len(data) < _READING_HEAD.size:
            raise MalformedField("reading", _READING_HEAD.size + _VALUE.size, len(data))
        code, taken_at = _READING_HEAD.unpack_from(data)
        if code not in SensorKind._value2member_map_:
            raise MalformedInput("reading.kind", f"reading.kind {code} is not a sensor kind")
        kind = SensorKind(code)
        expected = _READING_HEAD.size + kind.value_count * _VALUE.size
        if len(data) != expected:
            raise MalformedField("reading", expected, len(data))
        values = tuple(
            _VALUE.unpack_from(data, _READING_HEAD.size + index * _VALUE.size)[0]
            for index in range(kind.value_count)
        )
        if not all(math.isfinite(value) for value in (taken_at, *values)):
            raise MalformedInput("reading", "reading values must be finite numbers")
        return cls(kind, taken_at, values)


@dataclass(frozen=True, slots=True)
class CheckIn:
    """What the patient or carer app reports that no sensor measures (NEWS2's ACVPU, oxygen)."""

    consciousness: Consciousness
    supplemental_oxygen: bool
    taken_at: float

    def to_bytes(self) -> bytes:
        return _CHECK_IN.pack(self.consciousness, int(self.supplemental_oxygen), self.taken_at)

    @classmethod
    def parse(cls, data: bytes) -> CheckIn:
        if len(data) != CHECK_IN_BYTES:
            raise MalformedField("check_in", CHECK_IN_BYTES, len(data))
        consciousness, oxygen, taken_at = _CHECK_IN.unpack(data)
        if consciousness not in Consciousness._value2member_map_:
            raise MalformedInput("check_in.consciousness", "check_in.consciousness must be 1-5")
        if oxygen not in (0, 1) or not math.isfinite(taken_at):
            raise MalformedInput("check_in", "check_in oxygen must be 0 or 1, time finite")
        return cls(Consciousness(consciousness), bool(oxygen), taken_at)
