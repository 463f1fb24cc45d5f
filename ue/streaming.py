"""Phase 4 at the UE: devices stream sealed readings to the MEC and renew their sessions.

Each device reads its sensor model (``ue.sensors``) every ``interval`` seconds and sends the
reading as one sealed record (``MecDataService.Submit``, unary: each record gets its own
acknowledgement, the device learns at once when the MEC refuses, and every call is counted by the
same interceptors as the key agreement). Before sending, a device without a session, or whose
session reached ``session_records`` records or ``session_seconds`` seconds, runs key agreement
again. A refused record, a bad or missing acknowledgement, or an unreachable MEC ends the session;
the next record starts a new one.

One task drives every device's stream from a schedule (``ue.schedule``): new devices start at
the ramp-up's pace (their first record attaches them), then each is due every ``interval``
seconds; at most ``max_in_flight`` sends are under way toward the MEC at once (one HTTP/2
channel carries them all), and due devices wait for a free slot. With ramp-up and no interval,
the devices attach at the ramp-up's pace and stream nothing.

Each device sends one record at a time (its lock covers the session and the call), to the MEC that
agreed its session. While its patient moves to another MEC (``ue.handover``) a device's records
are *held*: kept in order, then sent to the new MEC once its devices are switched.

Check-ins (the NEWS2 level of consciousness and supplemental oxygen, which no sensor measures)
come from the patient's app. The app has no channel to the MEC of its own here: it hands the
check-in to the patient's first device, which sends it through its own sealed channel as a record
of purpose check-in, so it carries no identity either. The device repeats the latest check-in
every ``check_in_every`` readings, so that the MEC does not see it go stale.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from dataclasses import dataclass, field

import grpc

from mec5g.core.data_channel import Purpose
from mec5g.core.errors import AuthenticationFailed, MalformedInput
from mec5g.core.news2 import Consciousness
from mec5g.core.operations import counting
from mec5g.core.readings import CheckIn
from mec5g.runtime.metrics import DATA, Metrics
from mec5g.ue.fleet import DataSession, DeviceFleet, DeviceLocks, Outcome
from mec5g.ue.schedule import RampUp, StreamSchedule
from mec5g.ue.sensors import Deterioration, PatientModel, Placement, SensorModel, assign
from mec5g.v1 import mec_data_pb2

LOG = logging.getLogger("mec5g.ue")


@dataclass(frozen=True)
class StreamPolicy:
    """How devices stream (interval 0: only on demand) and when they renew their sessions."""

    interval: float = 0.0
    session_records: int = 100
    session_seconds: float = 300.0
    check_in_every: int = 30
    devices_per_patient: int = 7
    rpc_timeout: float = 5.0
    ramp_up: RampUp = field(default_factory=RampUp)
    max_in_flight: int = 64

    def __post_init__(self) -> None:
        if min(
            self.session_records, self.check_in_every, self.devices_per_patient, self.max_in_flight
        ) < 1 or (self.session_seconds <= 0 or self.interval < 0):
            raise ValueError(
                "session lifetimes, the check-in period, devices per patient and sends in flight "
                "must be positive, the interval not negative"
            )


class Streamer:
    """The devices' data streams, their sensor models and their patients' apps."""

    def __init__(
        self, fleet: DeviceFleet, metrics: Metrics, policy: StreamPolicy, seed: int
    ) -> None:
        self._fleet = fleet
        self._metrics = metrics
        self._policy = policy
        self._origin = fleet.clock()
        self._seed = seed
        self.placements: dict[str, Placement] = {}
        self._patients: dict[int, PatientModel] = {}
        self._sensors: dict[str, SensorModel] = {}
        self._carriers: dict[int, str] = {}
        self._check_ins: dict[int, CheckIn] = {}
        # Readings each carrier sent since its patient's check-in was last acknowledged; set so
        # that a carrier's first reading is followed by a check-in.
        self._since_check_in: dict[int, int] = {}
        self._locks = DeviceLocks()
        self.schedule: StreamSchedule | None = None  # while ``run`` drives the streams
        # Records of devices whose patient is moving to another MEC, in order.
        self._held: dict[str, list[tuple[Purpose, bytes]]] = {}
        self.place()
        self.acknowledged = 0
        self.failed = 0
        self.renewed = 0
        self.taken = 0  # sensor readings taken, sent or not
        # perf_counter() of each patient's latest acknowledged record, and of the first one
        # acknowledged since a handover began watching for it (``ue.handover`` times its
        # interruption with them); per patient, not per device, to keep a swarm small.
        self.last_ack: dict[int, float] = {}
        self._arrivals: dict[int, float | None] = {}

    def place(self) -> list[str]:
        """Group the fleet's devices into patients and give each new device its sensor model;
        returns the devices new since the last call. Devices the patient app provisions while
        the UE runs join here."""
        names = self._fleet.names
        new = [name for name in names if name not in self.placements]
        if not new:
            return []
        self.placements = assign(names, self._policy.devices_per_patient)
        for patient in sorted({placement.patient for placement in self.placements.values()}):
            if patient not in self._patients:
                self._patients[patient] = PatientModel(self._seed, patient)
                self._check_ins[patient] = CheckIn(Consciousness.ALERT, False, time.time())
                self._since_check_in[patient] = self._policy.check_in_every - 1
            self._carriers[patient] = min(
                name for name, p in self.placements.items() if p.patient == patient
            )
        for name in new:
            placement = self.placements[name]
            self._sensors[name] = SensorModel(
                self._patients[placement.patient], placement.kind, name
            )
        return new

    def devices_of(self, patient: int) -> list[str]:
        """The patient's devices, in name order (KeyError for an unknown patient)."""
        if patient not in self._patients:
            raise KeyError(patient)
        return sorted(name for name, p in self.placements.items() if p.patient == patient)

    def carrier_of(self, patient: int) -> str:
        """The device that carries the patient's check-ins."""
        return self._carriers[patient]

    def hold(self, names: list[str]) -> None:
        """From now on, keep the records of ``names`` instead of sending them."""
        for name in names:
            self._held.setdefault(name, [])

    async def quiesce(self, names: list[str]) -> None:
        """Wait until no record of ``names`` is in flight (after ``hold``, none will start)."""
        for name in names:
            async with self._locks.hold(name):
                pass

    async def release(self, names: list[str]) -> int:
        """Send the held records of ``names``, each device's in order, and send again as
        usual; the number of records that were held."""

        async def flush(name: str) -> int:
            async with self._locks.hold(name):
                records = self._held.pop(name, [])
                for purpose, payload in records:
                    await self._send(name, purpose, payload)
                return len(records)

        return sum(await asyncio.gather(*(flush(name) for name in names)))

    def watch_arrival(self, patient: int) -> None:
        """Note the next record of ``patient`` acknowledged from now on (``arrival``)."""
        self._arrivals[patient] = None

    def arrival(self, patient: int) -> float | None:
        """When the first record of ``patient`` since ``watch_arrival`` was acknowledged;
        stops watching."""
        return self._arrivals.pop(patient, None)

    def model_time(self) -> float:
        return self._fleet.clock() - self._origin

    def inject(self, patient: int, event: str, onset: float, duration: float) -> None:
        """Start ``event`` now in ``patient``'s model (ValueError for unknown ones)."""
        if patient not in self._patients:
            raise KeyError(patient)
        self._patients[patient].inject(Deterioration(event, self.model_time(), onset, duration))

    async def check_in(
        self, patient: int, consciousness: Consciousness, oxygen: bool
    ) -> tuple[str, bool]:
        """The patient's app reports; its first device carries the check-in. Returns that
        device and whether the MEC acknowledged it."""
        carrier = self._carriers[patient]  # KeyError for an unknown patient
        self._check_ins[patient] = CheckIn(consciousness, oxygen, time.time())
        return carrier, await self._send_check_in(patient)

    async def read_and_send(self, name: str) -> bool:
        """One reading of ``name``'s sensor, sent; the carrier repeats its patient's check-in
        every ``check_in_every`` readings."""
        reading = self._sensors[name].read(self.model_time(), time.time())
        self.taken += 1
        acknowledged = await self.send(name, Purpose.READING, reading.to_bytes())
        patient = self.placements[name].patient
        if acknowledged and self._carriers[patient] == name:
            self._since_check_in[patient] += 1
            if self._since_check_in[patient] >= self._policy.check_in_every:
                latest = self._check_ins[patient]
                self._check_ins[patient] = CheckIn(
                    latest.consciousness, latest.supplemental_oxygen, time.time()
                )
                await self._send_check_in(patient)
        return acknowledged

    async def _send_check_in(self, patient: int) -> bool:
        carrier = self._carriers[patient]
        payload = self._check_ins[patient].to_bytes()
        acknowledged = await self.send(carrier, Purpose.CHECK_IN, payload)
        if acknowledged:
            self._since_check_in[patient] = 0
        return acknowledged

    async def send(self, name: str, purpose: Purpose, payload: bytes) -> bool:
        """Send one record from ``name``, renewing its session first when due; True once the
        MEC acknowledged it. While the device is held, the record is kept for later: False."""
        async with self._locks.hold(name):
            held = self._held.get(name)
            if held is not None:
                held.append((purpose, payload))
                return False
            return await self._send(name, purpose, payload)

    async def _send(self, name: str, purpose: Purpose, payload: bytes) -> bool:
        """``send`` with the device's lock held."""
        session = await self._session(name)
        if session is None:
            self._count(purpose, "no_session", None)
            return False
        started = time.perf_counter()
        with counting() as ledger:
            sequence, record = session.end.seal(purpose, payload)
        self._metrics.count_operations(DATA, ledger)
        request = mec_data_pb2.SubmitRequest(record=record)
        self._metrics.sent("record", 0, request.ByteSize())
        try:
            response = await session.mec.data.Submit(request, timeout=self._policy.rpc_timeout)
        except grpc.aio.AioRpcError as error:
            refused = error.code() in (
                grpc.StatusCode.UNAUTHENTICATED,
                grpc.StatusCode.INVALID_ARGUMENT,
            )
            self._fleet.end_session(name, session)
            self._count(purpose, "refused" if refused else "unavailable", started)
            return False
        try:
            with counting() as ledger:
                session.end.check_ack(response.ack, sequence)
        except (AuthenticationFailed, MalformedInput):
            self._fleet.end_session(name, session)
            self._count(purpose, "bad_ack", started)
            return False
        finally:
            self._metrics.count_operations(DATA, ledger)
        session.confirmed = True
        acknowledged_at = time.perf_counter()
        patient = self.placements[name].patient
        self.last_ack[patient] = acknowledged_at
        if patient in self._arrivals and self._arrivals[patient] is None:
            self._arrivals[patient] = acknowledged_at
        self._count(purpose, "acknowledged", started)
        return True

    async def _session(self, name: str) -> DataSession | None:
        """The device's session, agreed first if it has none or its lifetime is over. The
        caller holds the device's lock, so that a reading and a check-in never both re-key."""
        view = self._fleet.view(name)
        session = view.session
        renewing = session is not None and (
            session.end.sent >= self._policy.session_records
            or self._fleet.clock() - session.started >= self._policy.session_seconds
        )
        if session is not None and renewing:
            self._fleet.end_session(name, session)
            session = None
        if session is None:
            report = await self._fleet.attach(name)
            if report.outcome is not Outcome.SUCCESS:
                return None
            if renewing:
                self.renewed += 1
            session = view.session
        return session

    def _count(self, purpose: Purpose, outcome: str, started: float | None) -> None:
        if outcome == "acknowledged":
            self.acknowledged += 1
        else:
            self.failed += 1
        self._metrics.data_record(purpose.name.lower(), outcome)
        if started is not None:
            # The phase's outcomes follow every phase's: a UE's successful run is "success".
            phase_outcome = "success" if outcome == "acknowledged" else outcome
            self._metrics.observe(DATA, phase_outcome, time.perf_counter() - started)

    async def run(self, stop: asyncio.Event, rng: random.Random) -> None:
        """Stream every device on the schedule until ``stop`` is set (see the module's
        docstring); devices provisioned meanwhile join it."""
        policy = self._policy
        if not policy.interval and not policy.ramp_up.paced:
            return
        schedule = self.schedule = StreamSchedule(policy.interval, policy.ramp_up, rng)
        schedule.add(self.placements, self._fleet.clock())
        slots = asyncio.Semaphore(policy.max_in_flight)
        sending: set[asyncio.Task[None]] = set()
        while not stop.is_set():
            if len(self._fleet) != len(self.placements):
                schedule.add(self.place(), self._fleet.clock())
            await slots.acquire()
            now = self._fleet.clock()
            due = schedule.pop_due(now)
            if due is None:
                slots.release()
                upcoming = schedule.next_due()
                # Wake for the next due device; at least once a second for new devices.
                pause = 1.0 if upcoming is None else min(1.0, max(upcoming - now, 0.0))
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), pause)
                continue
            name, when = due
            task = asyncio.create_task(self._beat(schedule, name, when, slots))
            sending.add(task)
            task.add_done_callback(sending.discard)
        await asyncio.gather(*sending)

    async def _beat(
        self, schedule: StreamSchedule, name: str, due: float, slots: asyncio.Semaphore
    ) -> None:
        """One device's turn: its next reading, or with no interval its attach alone."""
        try:
            if self._policy.interval:
                await self.read_and_send(name)
            else:
                async with self._locks.hold(name):
                    await self._session(name)
        except Exception:
            # One failed record must not silently end a device's stream.
            LOG.exception("device %s: streaming failed", name)
        finally:
            slots.release()
        if self._policy.interval:
            schedule.again(name, due, self._fleet.clock())
