"""The device's sensor model (ue/sensors.py): seeded and reproducible, patients differ,
readings stay within what a sensor reports, and injected deterioration moves the vital signs."""

from __future__ import annotations

import pytest

from mec5g.core.readings import Reading, SensorKind
from mec5g.ue.sensors import (
    KIND_ORDER,
    PROFILES,
    Deterioration,
    PatientModel,
    SensorModel,
    assign,
    kind_name,
    kind_named,
    standard_normals,
)


def _series(
    seed: int, patient: int, kind: SensorKind, device: str, count: int = 50
) -> list[Reading]:
    model = SensorModel(PatientModel(seed, patient), kind, device)
    return [model.read(60.0 * step, 1000.0 + step) for step in range(count)]


@pytest.mark.parametrize("kind", list(SensorKind))
def test_same_seed_same_readings_other_seed_other_readings(kind: SensorKind) -> None:
    assert _series(7, 1, kind, "dev-0001") == _series(7, 1, kind, "dev-0001")
    assert _series(7, 1, kind, "dev-0001") != _series(8, 1, kind, "dev-0001")


def test_one_devices_draws_do_not_depend_on_another_devices() -> None:
    patient = PatientModel(3, 1)
    alone = SensorModel(patient, SensorKind.HEART_RATE, "dev-a")
    expected = [alone.read(t, t).values for t in range(10)]
    interleaved = SensorModel(PatientModel(3, 1), SensorKind.HEART_RATE, "dev-a")
    other = SensorModel(PatientModel(3, 1), SensorKind.SPO2, "dev-b")
    seen = []
    for t in range(10):
        other.read(t, t)
        seen.append(interleaved.read(t, t).values)
    assert seen == expected


def test_patients_have_their_own_baselines() -> None:
    baselines = {PatientModel(1, patient).baselines[SensorKind.HEART_RATE] for patient in range(20)}
    assert len(baselines) == 20


@pytest.mark.parametrize("kind", list(SensorKind))
def test_readings_stay_within_sensor_limits_and_near_baseline(kind: SensorKind) -> None:
    low, high = PROFILES[kind].limits
    for reading in _series(11, 2, kind, "dev-x", count=500):
        assert len(reading.values) == kind.value_count
        assert all(low <= value <= high for value in reading.values)
    ranges = PROFILES[kind].baseline
    first = [reading.values[0] for reading in _series(11, 2, kind, "dev-x", count=500)]
    mean = sum(first) / len(first)
    spread = PROFILES[kind].daily[0] + 3 * PROFILES[kind].noise[0]
    assert ranges[0][0] - spread <= mean <= ranges[0][1] + spread


def test_sepsis_develops_over_its_onset_and_wears_off() -> None:
    patient = PatientModel(5, 1)
    before = patient.effect(SensorKind.HEART_RATE, 99.0)
    patient.inject(Deterioration("sepsis", start=100.0, onset=50.0, duration=200.0))
    assert before == (0.0,)
    assert patient.effect(SensorKind.HEART_RATE, 125.0) == pytest.approx((22.5,))
    assert patient.effect(SensorKind.HEART_RATE, 200.0) == pytest.approx((45.0,))
    assert patient.effect(SensorKind.BLOOD_PRESSURE, 200.0) == pytest.approx((-42.0, -25.0))
    assert patient.effect(SensorKind.HEART_RATE, 375.0) == pytest.approx((22.5,))
    assert patient.effect(SensorKind.HEART_RATE, 400.0) == (0.0,)
    assert patient.effect(SensorKind.GLUCOSE, 200.0) == (0.0,)


def test_respiratory_failure_lowers_spo2_readings() -> None:
    quiet = _series(9, 1, SensorKind.SPO2, "dev-1", count=20)
    patient = PatientModel(9, 1)
    patient.inject(Deterioration("respiratory_failure", start=0.0))
    model = SensorModel(patient, SensorKind.SPO2, "dev-1")
    ill = [model.read(60.0 * step, 1000.0 + step) for step in range(20)]
    assert max(r.values[0] for r in ill) < min(r.values[0] for r in quiet)


def test_unknown_event_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown event"):
        Deterioration("plague", start=0.0)


def test_devices_are_grouped_into_patients_in_name_order() -> None:
    names = [f"dev-{n:04d}" for n in range(9, 0, -1)]
    placed = assign(names, 7)
    assert [placed[f"dev-{n:04d}"].patient for n in range(1, 10)] == [1] * 7 + [2] * 2
    assert [placed[f"dev-{n:04d}"].kind for n in range(1, 8)] == list(KIND_ORDER)
    assert placed["dev-0008"].kind is KIND_ORDER[0]


def test_a_device_named_for_a_kind_emulates_that_kind() -> None:
    """A scenario's patient lists its devices' kinds; the device names carry them."""
    names = ["carol/carol-01-glucose", "carol/carol-02-spo2", "carol/carol-03-heart-rate"]
    placed = assign(names, 3)
    assert [placed[name].kind for name in names] == [
        SensorKind.GLUCOSE,
        SensorKind.SPO2,
        SensorKind.HEART_RATE,
    ]
    assert {placement.patient for placement in placed.values()} == {1}
    assert kind_named("dev-0003") is None
    assert all(kind_named(f"x-{kind_name(kind)}") is kind for kind in KIND_ORDER)


def test_counter_based_noise_is_standard_normal_and_reproducible() -> None:
    draws = [value for index in range(2000) for value in standard_normals(b"k" * 16, index, 2)]
    mean = sum(draws) / len(draws)
    variance = sum((value - mean) ** 2 for value in draws) / len(draws)
    assert abs(mean) < 0.1
    assert 0.9 < variance < 1.1
    assert sum(abs(value) > 3 for value in draws) < 0.01 * len(draws)
    assert standard_normals(b"k" * 16, 5, 2) == standard_normals(b"k" * 16, 5, 2)
    assert standard_normals(b"k" * 16, 5, 1) != standard_normals(b"j" * 16, 5, 1)
