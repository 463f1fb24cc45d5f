"""``mec5g.v1.UeControlService``: operators drive the UE emulator with grpcurl.

``Attach`` runs one key agreement for a named device, or the next in turn; ``Status`` counts the
devices waiting for the ramp-up, attached and streaming, and lists every device (unless asked for
the counters only) by name with fingerprints only, its sensor, patient and data session.
``CheckIn`` sends a patient app's check-in through the patient's first device; ``InjectEvent``
starts a deterioration event in a patient's sensor models. An unknown device or patient gets
NOT_FOUND naming it; an unset level of consciousness or an unknown event INVALID_ARGUMENT; a UE
that holds no device yet answers FAILED_PRECONDITION.
"""

from __future__ import annotations

import math
from typing import cast

import grpc

from mec5g.core.news2 import Consciousness
from mec5g.core.primitives import local_fingerprint
from mec5g.ue.fleet import DeviceFleet, DeviceView, NoDevices, Outcome
from mec5g.ue.handover import terminal_id
from mec5g.ue.sensors import EVENTS
from mec5g.ue.streaming import Streamer
from mec5g.v1 import ue_control_pb2, ue_control_pb2_grpc, vitals_pb2


def wire_outcome(outcome: Outcome) -> ue_control_pb2.AttachOutcome:
    """Our outcome as the proto enum (the values are the same by construction)."""
    return cast(ue_control_pb2.AttachOutcome, int(outcome))


class UeControlService(ue_control_pb2_grpc.UeControlServiceServicer):
    """Thin adapter between gRPC and the device fleet."""

    def __init__(self, fleet: DeviceFleet, streamer: Streamer, ue_name: str = "") -> None:
        """``ue_name`` names the patients' terminals (empty: the UE has no MEC platform)."""
        self._fleet = fleet
        self._streamer = streamer
        self._ue_name = ue_name

    async def Attach(  # noqa: N802 - gRPC method name
        self, request: ue_control_pb2.AttachRequest, context: grpc.aio.ServicerContext
    ) -> ue_control_pb2.AttachResponse:
        if request.device and request.device not in self._fleet:
            await context.abort(
                grpc.StatusCode.NOT_FOUND, f"device {request.device!r} is not on this UE"
            )
        try:
            report = await self._fleet.attach(request.device or None)
        except NoDevices as error:
            await context.abort(grpc.StatusCode.FAILED_PRECONDITION, str(error))
        return ue_control_pb2.AttachResponse(
            device=report.device,
            outcome=wire_outcome(report.outcome),
            latency_us=report.latency_us,
            sk_fingerprint=report.sk_fingerprint,
            credential_epoch=report.credential_epoch,
            attempts=report.attempts,
        )

    async def Status(  # noqa: N802 - gRPC method name
        self, request: ue_control_pb2.StatusRequest, context: grpc.aio.ServicerContext
    ) -> ue_control_pb2.StatusResponse:
        views = self._fleet.views()
        schedule = self._streamer.schedule
        default = self._fleet.links.default
        return ue_control_pb2.StatusResponse(
            mec_target=default.target if default is not None else "",
            devices=[] if request.summary_only else [self._device_status(v) for v in views],
            attaches_succeeded=self._fleet.succeeded,
            attaches_failed=self._fleet.failed,
            records_acknowledged=self._streamer.acknowledged,
            records_failed=self._streamer.failed,
            sessions_renewed=self._streamer.renewed,
            devices_total=len(views),
            devices_waiting=schedule.waiting if schedule is not None else 0,
            devices_attached=self._fleet.active_sessions,
            devices_streaming=sum(
                1 for view in views if view.session is not None and view.session.confirmed
            ),
        )

    def _device_status(self, view: DeviceView) -> ue_control_pb2.DeviceStatus:
        placement = self._streamer.placements[view.name]
        status = ue_control_pb2.DeviceStatus(
            device=view.name,
            credential_epoch=view.state.epoch,
            did_fingerprint=local_fingerprint(view.state.credential.did),
            attempt_counter=view.state.counter,
            last_outcome=wire_outcome(view.last_outcome),
            last_sk_fingerprint=view.last_sk_fingerprint,
            sensor=cast(vitals_pb2.SensorKind, int(placement.kind)),
            patient=placement.patient,
            serving_mec_host=self._fleet.links.serving(view.name).mec_host,
            terminal=terminal_id(self._ue_name, placement.patient) if self._ue_name else "",
        )
        session = view.session
        if session is not None:
            status.session_active = True
            status.session_records = session.end.sent
            status.session_age_seconds = self._fleet.clock() - session.started
            status.session_confirmed = session.confirmed
        return status

    async def CheckIn(  # noqa: N802 - gRPC method name
        self, request: ue_control_pb2.CheckInRequest, context: grpc.aio.ServicerContext
    ) -> ue_control_pb2.CheckInResponse:
        if request.consciousness not in Consciousness._value2member_map_:
            await context.abort(
                grpc.StatusCode.INVALID_ARGUMENT,
                "consciousness must be set: CONSCIOUSNESS_ALERT, _CONFUSION, _VOICE, _PAIN or "
                "_UNRESPONSIVE",
            )
        try:
            device, acknowledged = await self._streamer.check_in(
                request.patient, Consciousness(request.consciousness), request.supplemental_oxygen
            )
        except KeyError:
            await context.abort(
                grpc.StatusCode.NOT_FOUND, f"patient {request.patient} is not on this UE"
            )
            raise  # unreachable: abort raises
        return ue_control_pb2.CheckInResponse(device=device, acknowledged=acknowledged)

    async def InjectEvent(  # noqa: N802 - gRPC method name
        self, request: ue_control_pb2.InjectEventRequest, context: grpc.aio.ServicerContext
    ) -> ue_control_pb2.InjectEventResponse:
        if request.event not in EVENTS:
            await context.abort(
                grpc.StatusCode.INVALID_ARGUMENT,
                f"event must be one of {', '.join(sorted(EVENTS))}, got {request.event!r}",
            )
        times = (request.onset_seconds, request.duration_seconds)
        if not all(math.isfinite(value) and value >= 0 for value in times):
            await context.abort(
                grpc.StatusCode.INVALID_ARGUMENT,
                "onset_seconds and duration_seconds must be finite and not negative",
            )
        try:
            self._streamer.inject(
                request.patient, request.event, request.onset_seconds, request.duration_seconds
            )
        except KeyError:
            await context.abort(
                grpc.StatusCode.NOT_FOUND, f"patient {request.patient} is not on this UE"
            )
        return ue_control_pb2.InjectEventResponse()
