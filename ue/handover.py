"""A patient moving to another MEC node, at the UE: the device side of MEC 021's mobility
procedure (ours in its details; docs/topology.md).

``hand_over`` moves one patient's devices from their MEC (the source) to ``target``:

1. **Cut.** Every device of the patient holds its records from now on (``Streamer.hold``), and
   the records already in flight finish (``quiesce``): after this, the source receives nothing
   more from the patient, and every reading it accepted was acknowledged to its device.
2. **Switch.** The devices' serving MEC becomes the target and their sessions at the source are
   forgotten (the source ends them when it hands the analysis over). The patient's carrier device
   runs key agreement at the target with the handover indication naming the source; the TTP
   answers the target a ticket, and the target fetches the analysis context from the source
   before it answers M4 (``mec.context_transfer``).
3. **Resume.** The held records are sent to the target, each device's in order; then streaming
   goes on as usual. With nothing held, the carrier takes a fresh reading at once, so that the
   interruption is measured by the protocol and not by the reading period.

So every reading is analysed exactly once: a reading the source acknowledged is in the context
it exported (the export ends the patient's sessions there in the same step, so the source
accepts nothing after it), every later reading was held and goes to the target, and a record of
an old session is refused by both nodes. If the carrier cannot agree a session at the target,
the devices go back to the source, which still holds the analysis, and the held records go
there. (As at any time, a record whose call fails is counted failed and not sent again.)

The interruption is from the last record the source acknowledged (the start of the handover if
none) to the first the target acknowledged; its key-agreement part is the carrier's attach at
the target, context transfer included. Both go to ``mec5g_handover_interruption_seconds``.

``MobilityAgent`` is the UE as its terminals' device application at the platform's Application
Mobility Service: each patient is a terminal, ``<UE name>/patient-<n>``; on an
INTERHOST_MOVEOUT_TRIGGERED notification for one, it hands the patient over to the MEC the
platform's discovery names on the target host, and reports the outcome and its measurement by
updating its registration (USER_CONTEXT_TRANSFER_COMPLETED, or NOT_TRANSFERRED if it failed).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from dataclasses import dataclass

import grpc

from mec5g.runtime.metrics import HANDOVER, Metrics
from mec5g.ue.fleet import DeviceFleet, Outcome
from mec5g.ue.serving import MecLink, NotDiscovered
from mec5g.ue.streaming import Streamer
from mec5g.v1 import app_mobility_pb2, app_mobility_pb2_grpc, mec_service_mgmt_pb2_grpc

LOG = logging.getLogger("mec5g.ue")
CALL_TIMEOUT = 5.0
RESUBSCRIBE_SECONDS = 1.0


class CannotHandOver(ValueError):
    """The patient cannot move there: no MEC host known for its MEC, or the same host."""


@dataclass(frozen=True)
class HandoverReport:
    """What one patient's move did and measured."""

    patient: int
    devices: int
    source: str
    target: str
    moved: bool  # False: the target refused the carrier; the patient stayed at the source
    interruption: float
    key_agreement: float
    held: int

    def measurement(self) -> app_mobility_pb2.HandoverMeasurement:
        return app_mobility_pb2.HandoverMeasurement(
            interruption_seconds=self.interruption,
            key_agreement_seconds=self.key_agreement,
            readings_buffered=self.held,
            devices=self.devices,
            source_mec_host=self.source,
            target_mec_host=self.target,
        )


def terminal_id(ue_name: str, patient: int) -> str:
    """The terminal of a UE's patient at the platform: ``<UE name>/patient-<n>``."""
    return f"{ue_name}/patient-{patient}"


async def hand_over(
    fleet: DeviceFleet, streamer: Streamer, metrics: Metrics, patient: int, target: MecLink
) -> HandoverReport:
    """Move ``patient``'s devices to ``target`` (see the module's docstring)."""
    started = time.perf_counter()
    names = streamer.devices_of(patient)
    carrier = streamer.carrier_of(patient)
    source = fleet.links.serving(carrier)
    if not source.mec_host or source.mec_host == target.mec_host:
        raise CannotHandOver(
            f"patient {patient} is served by MEC host {source.mec_host or '(unnamed)'!r}: "
            f"it cannot move to {target.mec_host!r}"
        )
    streamer.hold(names)
    try:
        await streamer.quiesce(names)
        last_source_ack = streamer.last_ack.get(patient, started)
        streamer.watch_arrival(patient)
        await fleet.move(names, target)
        attach_started = time.perf_counter()
        attached = await fleet.attach(carrier, handover_from=source.mec_host)
        key_agreement = time.perf_counter() - attach_started
        moved = attached.outcome is Outcome.SUCCESS
        if not moved:
            LOG.warning(
                "patient %d stays at %s: the carrier's attach at %s ended %s",
                patient,
                source.mec_host,
                target.mec_host,
                attached.outcome.name,
            )
            await fleet.move(names, source)
    finally:
        held = await streamer.release(names)
    if not held:
        await streamer.read_and_send(carrier)
    interruption = (streamer.arrival(patient) or time.perf_counter()) - last_source_ack
    report = HandoverReport(
        patient,
        len(names),
        source.mec_host,
        target.mec_host,
        moved,
        interruption,
        key_agreement,
        held,
    )
    metrics.observe(HANDOVER, "success" if moved else "stayed", time.perf_counter() - started)
    if moved:
        metrics.interruption(interruption, key_agreement)
    LOG.info(
        "patient %d: %s -> %s %s, interruption %.1f ms (key agreement %.1f ms), %d held",
        patient,
        source.mec_host,
        target.mec_host,
        "moved" if moved else "NOT moved",
        1e3 * interruption,
        1e3 * key_agreement,
        held,
    )
    return report


class MobilityAgent:
    """The UE's terminals at the MEC platform's Application Mobility Service."""

    def __init__(
        self,
        name: str,
        platform: grpc.aio.Channel,
        fleet: DeviceFleet,
        streamer: Streamer,
        metrics: Metrics,
    ) -> None:
        self.name = name
        self._fleet = fleet
        self._streamer = streamer
        self._metrics = metrics
        self._mobility = app_mobility_pb2_grpc.AppMobilityServiceStub(platform)
        self._discovery = mec_service_mgmt_pb2_grpc.MecServiceMgmtServiceStub(platform)
        self._registration = ""
        self._states: dict[int, app_mobility_pb2.AmsDeviceInformation] = {}
        self._moving: dict[int, asyncio.Lock] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self.reports: list[HandoverReport] = []

    def _terminal(self, patient: int) -> app_mobility_pb2.AmsAssociateId:
        return app_mobility_pb2.AmsAssociateId(
            type=app_mobility_pb2.ASSOCIATE_ID_TYPE_TERMINAL_ID,
            value=terminal_id(self.name, patient),
        )

    def _patient(self, associate_id: app_mobility_pb2.AmsAssociateId) -> int | None:
        prefix = f"{self.name}/patient-"
        value = associate_id.value
        if associate_id.type != app_mobility_pb2.ASSOCIATE_ID_TYPE_TERMINAL_ID:
            return None
        if not value.startswith(prefix) or not value[len(prefix) :].isdigit():
            return None
        patient = int(value[len(prefix) :])
        return (
            patient if patient in {p.patient for p in self._streamer.placements.values()} else None
        )

    def _registration_info(self) -> app_mobility_pb2.AmsRegistrationInfo:
        for placement in self._streamer.placements.values():
            self._states.setdefault(
                placement.patient,
                app_mobility_pb2.AmsDeviceInformation(
                    associate_id=self._terminal(placement.patient),
                    app_mobility_service_level=(
                        app_mobility_pb2.APP_MOBILITY_SERVICE_LEVEL_WITHOUT_CONFIRMATION
                    ),
                    context_transfer_state=app_mobility_pb2.CONTEXT_TRANSFER_STATE_NOT_TRANSFERRED,
                ),
            )
        return app_mobility_pb2.AmsRegistrationInfo(
            app_mobility_service_id=self._registration,
            service_consumer_id=app_mobility_pb2.AmsServiceConsumerId(mep_id=self.name),
            device_information=[self._states[patient] for patient in sorted(self._states)],
        )

    async def run(self, stop: asyncio.Event) -> None:
        """Register, then follow mobility notifications until ``stop``; a lost platform is
        retried every ``RESUBSCRIBE_SECONDS``."""
        while not stop.is_set():
            try:
                await self._follow(stop)
            except grpc.aio.AioRpcError as error:
                LOG.warning("MEC platform unreachable (%s); retrying", error.code().name)
                self._registration = ""
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), RESUBSCRIBE_SECONDS)
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    async def _follow(self, stop: asyncio.Event) -> None:
        if not self._registration:
            registered = await self._mobility.RegisterAppMobilityService(
                app_mobility_pb2.RegisterAppMobilityServiceRequest(
                    registration_info=self._registration_info()
                ),
                timeout=CALL_TIMEOUT,
            )
            self._registration = registered.registration_info.app_mobility_service_id
        notifications = self._mobility.SubscribeMobilityProcedure(
            app_mobility_pb2.SubscribeMobilityProcedureRequest(
                filter_criteria=app_mobility_pb2.MobilityProcedureFilterCriteria(
                    mobility_status=[app_mobility_pb2.MOBILITY_STATUS_INTERHOST_MOVEOUT_TRIGGERED]
                )
            )
        )
        stopping = asyncio.ensure_future(stop.wait())
        try:
            while True:
                reading = asyncio.ensure_future(notifications.read())
                await asyncio.wait({reading, stopping}, return_when=asyncio.FIRST_COMPLETED)
                if stopping.done():
                    reading.cancel()
                    notifications.cancel()
                    return
                message = reading.result()
                if message is grpc.aio.EOF:
                    return
                if message.HasField("notification"):
                    self._start(message.notification)
        finally:
            stopping.cancel()

    def _start(self, notification: app_mobility_pb2.MobilityProcedureNotification) -> None:
        self._streamer.place()  # devices provisioned since the streams last looked
        for associate_id in notification.associate_id:
            patient = self._patient(associate_id)
            if patient is not None:
                task = asyncio.create_task(self._move(patient, notification.target_app_info))
                self._tasks.add(task)
                task.add_done_callback(self._tasks.discard)

    async def _move(self, patient: int, target: app_mobility_pb2.AmsTargetAppInfo) -> None:
        async with self._moving.setdefault(patient, asyncio.Lock()):
            report: HandoverReport | None = None
            try:
                link = await self._fleet.links.discover(self._discovery, target.mec_host)
                report = await hand_over(self._fleet, self._streamer, self._metrics, patient, link)
                self.reports.append(report)
            except (NotDiscovered, CannotHandOver, grpc.aio.AioRpcError) as error:
                LOG.warning("patient %d cannot move to %s: %s", patient, target.mec_host, error)
            state = self._states.get(patient) or app_mobility_pb2.AmsDeviceInformation(
                associate_id=self._terminal(patient)
            )
            state.context_transfer_state = (
                app_mobility_pb2.CONTEXT_TRANSFER_STATE_USER_CONTEXT_TRANSFER_COMPLETED
                if report is not None and report.moved
                else app_mobility_pb2.CONTEXT_TRANSFER_STATE_NOT_TRANSFERRED
            )
            # A measurement says "this move is over" (an empty one: it failed before it began).
            state.handover.CopyFrom(
                report.measurement()
                if report is not None
                else app_mobility_pb2.HandoverMeasurement(target_mec_host=target.mec_host)
            )
            self._states[patient] = state
            with contextlib.suppress(grpc.aio.AioRpcError):
                await self._mobility.UpdateAppMobilityService(
                    app_mobility_pb2.UpdateAppMobilityServiceRequest(
                        registration_info=self._registration_info()
                    ),
                    timeout=CALL_TIMEOUT,
                )
            # The next move starts from NOT_TRANSFERRED.
            state.context_transfer_state = app_mobility_pb2.CONTEXT_TRANSFER_STATE_NOT_TRANSFERRED
            state.ClearField("handover")
