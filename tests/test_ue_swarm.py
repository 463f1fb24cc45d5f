"""A UE swarm: the schedule that ramps devices up and keeps their cadence (pure), a few hundred
devices ramped up through a real TTP, MEC and UE on localhost, and the batched enrolment that
makes a swarm usable. (10,000 devices are the benchmark's, ``mec5g bench swarm``.)"""

from __future__ import annotations

import asyncio
import contextlib
import json
import random
import time
from pathlib import Path

import pytest
from grpc_stack import start_mec, start_ttp, start_ue

from mec5g.core.credentials import RecordRule
from mec5g.runtime.holder_store import EnrolmentFile, HolderStore
from mec5g.testbed import enrol_testbed
from mec5g.ttp.enrolment import enrol_device_analyses
from mec5g.ttp.keystore import EnrolmentRefused, KeyStore
from mec5g.ue.schedule import RampUp, StreamSchedule
from mec5g.ue.streaming import StreamPolicy
from mec5g.v1 import ue_control_pb2

BOUND = 120.0  # seconds a ramp-up may take at most here; a bound against hanging


def _first_dues(schedule: StreamSchedule, count: int) -> list[tuple[str, float]]:
    popped = [schedule.pop_due(float("inf")) for _ in range(count)]
    assert all(item is not None for item in popped)
    return [item for item in popped if item is not None]


def test_a_ramp_up_rate_starts_devices_one_after_the_other() -> None:
    schedule = StreamSchedule(10.0, RampUp(rate=4.0), random.Random(1))
    schedule.add([f"d{index}" for index in range(8)], now=100.0)
    assert schedule.waiting == 8
    assert schedule.pop_due(100.0) == ("d0", 100.0)
    assert schedule.pop_due(100.2) is None, "the next start is a quarter second later"
    assert schedule.waiting == 7
    rest = _first_dues(schedule, 7)
    assert [due for _, due in rest] == [100.0 + 0.25 * index for index in range(1, 8)]
    assert [name for name, _ in rest] == [f"d{index}" for index in range(1, 8)]
    assert schedule.waiting == 0
    assert schedule.started == 8
    # Devices provisioned later queue behind the ramp-up, not beside it.
    schedule.add(["late"], now=100.5)
    assert _first_dues(schedule, 1) == [("late", 102.0)]


def test_ramp_up_seconds_spread_each_batch_and_without_ramp_up_the_interval_does() -> None:
    spread = StreamSchedule(10.0, RampUp(seconds=2.0), random.Random(1))
    spread.add(["a", "b", "c", "d"], now=0.0)
    assert [due for _, due in _first_dues(spread, 4)] == [0.0, 0.5, 1.0, 1.5]
    unpaced = StreamSchedule(10.0, RampUp(), random.Random(1))
    unpaced.add([f"d{index}" for index in range(200)], now=50.0)
    dues = [due for _, due in _first_dues(unpaced, 200)]
    assert all(50.0 <= due <= 60.0 for due in dues)
    assert max(dues) - min(dues) > 8.0, "spread over the interval, not bunched"


def test_a_device_keeps_its_phase_but_a_late_one_does_not_burst() -> None:
    schedule = StreamSchedule(10.0, RampUp(rate=1.0), random.Random(1))
    schedule.add(["a"], now=0.0)
    assert schedule.pop_due(0.0) == ("a", 0.0)
    schedule.again("a", 0.0, now=0.3)  # the send took 0.3 s
    assert schedule.next_due() == 10.0
    assert schedule.pop_due(10.0) == ("a", 10.0)
    schedule.again("a", 10.0, now=35.0)  # the UE fell far behind
    assert schedule.next_due() == 40.0, "the next beat of its phase, not the two it missed"


@pytest.mark.parametrize(
    ("rate", "seconds"), [(-1.0, 0.0), (0.0, float("nan")), (2.0, 3.0)], ids=str
)
def test_impossible_ramp_ups_are_refused(rate: float, seconds: float) -> None:
    with pytest.raises(ValueError, match="ramp-up"):
        RampUp(rate, seconds)


async def test_a_few_hundred_devices_ramp_up_through_real_servers_and_all_stream(
    tmp_path: Path,
) -> None:
    devices, rate = 210, 150.0
    enrol_testbed(tmp_path, devices, 4, RecordRule.COUNTER, per_patient=7)
    stream = StreamPolicy(interval=30.0, ramp_up=RampUp(rate=rate), max_in_flight=16)
    async with contextlib.AsyncExitStack() as stack:
        ttp = await start_ttp(stack, tmp_path / "ttp.db")
        mec = await start_mec(
            stack, tmp_path / "mec.db", tmp_path / "mec-enrolment.json", ttp.target
        )
        started = time.monotonic()  # before the UE's schedule starts: elapsed is an upper bound
        ue = await start_ue(stack, tmp_path / "ue.db", None, mec.target, stream=stream)
        summary = ue_control_pb2.StatusRequest(summary_only=True)
        while True:
            status = await ue.stub.Status(summary)
            elapsed = time.monotonic() - started
            assert status.devices_total == devices
            assert not status.devices
            begun = devices - status.devices_waiting
            assert begun <= 1 + rate * elapsed + 1, "the ramp-up paces the starts"
            assert status.devices_attached <= begun
            if status.devices_streaming == devices:
                break
            assert elapsed < BOUND, f"only {status.devices_streaming} of {devices} streaming"
            await asyncio.sleep(0.1)
        assert elapsed >= (devices - 1) / rate, "the last device cannot start before its turn"
        assert status.devices_waiting == 0
        assert status.devices_attached == devices
        assert status.attaches_failed == 0
        assert status.records_failed == 0
        assert status.records_acknowledged >= devices
        assert len(mec.analyses) == devices // 7, "one analysis per patient of seven devices"
        full = await ue.stub.Status(ue_control_pb2.StatusRequest())
        assert len(full.devices) == devices
        assert all(device.session_confirmed for device in full.devices)


def test_many_analyses_enrol_in_one_batch(tmp_path: Path) -> None:
    files = [tmp_path / f"a{index}.json" for index in range(3)]
    enrolments = enrol_device_analyses(
        tmp_path / "ttp.db", [("a0", 2, files[0]), ("a1", 3, files[1]), ("a2", 1, files[2])]
    )
    assert [EnrolmentFile.read(path).owner for path in files] == ["a0", "a1", "a2"]
    assert [sorted(EnrolmentFile.read(path).credentials) for path in files] == [
        ["dev-0001", "dev-0002"],
        ["dev-0003", "dev-0004", "dev-0005"],
        ["dev-0006"],
    ]
    assert [EnrolmentFile.read(path) for path in files] == enrolments
    store = KeyStore(tmp_path / "ttp.db")
    try:
        owners = {stored.label: stored.record.owner for stored in store.records()}
    finally:
        store.close()
    assert owners == {f"dev-{n:04d}": f"a{(n > 2) + (n > 5)}" for n in range(1, 7)}
    assert not list(tmp_path.glob("*.partial"))


def test_a_batch_that_fails_leaves_no_record_and_no_file(tmp_path: Path) -> None:
    enrol_device_analyses(tmp_path / "ttp.db", [("a0", 2, tmp_path / "a0.json")])
    clash = [("b0", 1, tmp_path / "b0.json"), ("b1", 2, tmp_path / "b1.json")]
    with pytest.raises(EnrolmentRefused, match="enrolled already"):
        enrol_device_analyses(tmp_path / "ttp.db", clash, first=2)  # dev-0002 exists
    assert sorted(path.name for path in tmp_path.glob("*.json*")) == ["a0.json"]
    store = KeyStore(tmp_path / "ttp.db")
    try:
        assert sorted(stored.label for stored in store.records()) == ["dev-0001", "dev-0002"]
    finally:
        store.close()
    with pytest.raises(EnrolmentRefused, match=r"a0\.json"):
        enrol_device_analyses(tmp_path / "ttp.db", [("c", 1, tmp_path / "a0.json")], first=9)


def test_the_testbed_enrols_patients_of_seven_into_the_ue(tmp_path: Path) -> None:
    enrol_testbed(tmp_path, 16, 2, RecordRule.COUNTER, per_patient=7)
    files = sorted(tmp_path.glob("ue-enrolment-*.json"))
    assert [json.loads(path.read_text())["owner"] for path in files] == [
        "patient-001",
        "patient-002",
        "patient-003",
    ]
    holders = HolderStore(tmp_path / "ue.db")
    try:
        assert len(holders.load()) == 16
    finally:
        holders.close()
