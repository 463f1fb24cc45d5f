"""``mec5g.v1.UeControlService``: operators drive the UE emulator with grpcurl.

``Attach`` runs one key agreement for a named device, or the next in turn; ``Status`` lists every
device by name with fingerprints only. An unknown device name gets NOT_FOUND naming it; a UE
that holds no device yet answers FAILED_PRECONDITION.
"""

from __future__ import annotations

from typing import cast

import grpc

from mec5g.core.primitives import local_fingerprint
from mec5g.ue.fleet import DeviceFleet, NoDevices, Outcome
from mec5g.v1 import ue_control_pb2, ue_control_pb2_grpc


def wire_outcome(outcome: Outcome) -> ue_control_pb2.AttachOutcome:
    """Our outcome as the proto enum (the values are the same by construction)."""
    return cast(ue_control_pb2.AttachOutcome, int(outcome))


class UeControlService(ue_control_pb2_grpc.UeControlServiceServicer):
    """Thin adapter between gRPC and the device fleet."""

    def __init__(self, fleet: DeviceFleet, mec_target: str) -> None:
        self._fleet = fleet
        self._mec_target = mec_target

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
        return ue_control_pb2.StatusResponse(
            mec_target=self._mec_target,
            devices=[
                ue_control_pb2.DeviceStatus(
                    device=view.name,
                    credential_epoch=view.state.epoch,
                    did_fingerprint=local_fingerprint(view.state.credential.did),
                    attempt_counter=view.state.counter,
                    last_outcome=wire_outcome(view.last_outcome),
                    last_sk_fingerprint=view.last_sk_fingerprint,
                )
                for view in self._fleet.views()
            ],
            attaches_succeeded=self._fleet.succeeded,
            attaches_failed=self._fleet.failed,
        )
