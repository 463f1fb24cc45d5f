"""Moving a patient to another MEC host, from outside the processes: ``move_patient`` sends the
emulated network's mobility event to the MEC platform and waits for the end of the mobility
procedure (MEC 021: INTERHOST_MOVEOUT_COMPLETED or _FAILED) with the UE's measurement.

It is the one entry point for a handover: ``mec5g up``'s story, ``mec5g platform move``, ``mec5g
bench handover`` and scenario files all call it. The UE must run with the same platform
(``ue serve --platform``); its patient ``n`` is the terminal ``<UE name>/patient-<n>``.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

import grpc

from mec5g.runtime.grpc_server import TlsOptions, channel
from mec5g.ue.handover import terminal_id
from mec5g.v1 import app_mobility_pb2, app_mobility_pb2_grpc


@dataclass(frozen=True)
class MoveOutcome:
    """How a patient's move ended and what its UE measured."""

    completed: bool
    source: str
    target: str
    devices: int
    interruption_seconds: float
    key_agreement_seconds: float
    readings_buffered: int

    def describe(self) -> str:
        if not self.completed:
            return f"handover to {self.target} FAILED ({self.devices} devices stay)"
        return (
            f"{self.devices} devices {self.source} -> {self.target}: interruption "
            f"{1e3 * self.interruption_seconds:.1f} ms (key agreement and context transfer "
            f"{1e3 * self.key_agreement_seconds:.1f} ms), {self.readings_buffered} readings "
            "held and delivered"
        )


async def move_patient(
    platform: str,
    patient: int,
    target_mec_host: str,
    *,
    ue_name: str = "ue-1",
    timeout: float = 30.0,
    tls: TlsOptions | None = None,
) -> MoveOutcome:
    """Move UE ``ue_name``'s patient ``patient`` into the coverage of ``target_mec_host`` and
    wait for the end of its mobility procedure. Raises TimeoutError after ``timeout`` seconds,
    grpc.aio.AioRpcError when the platform refuses (NOT_FOUND: no ready MEC on that host)."""
    terminal = app_mobility_pb2.AmsAssociateId(
        type=app_mobility_pb2.ASSOCIATE_ID_TYPE_TERMINAL_ID, value=terminal_id(ue_name, patient)
    )
    async with channel(platform, tls) as opened:
        mobility = app_mobility_pb2_grpc.AppMobilityServiceStub(opened)
        events = app_mobility_pb2_grpc.MobilityEventServiceStub(opened)
        async with asyncio.timeout(timeout):
            # Subscribed before the event, so that the end of the procedure cannot be missed.
            procedure = mobility.SubscribeMobilityProcedure(
                app_mobility_pb2.SubscribeMobilityProcedureRequest(
                    filter_criteria=app_mobility_pb2.MobilityProcedureFilterCriteria(
                        associate_id=[terminal],
                        mobility_status=[
                            app_mobility_pb2.MOBILITY_STATUS_INTERHOST_MOVEOUT_COMPLETED,
                            app_mobility_pb2.MOBILITY_STATUS_INTERHOST_MOVEOUT_FAILED,
                        ],
                    )
                )
            )
            try:
                await procedure.read()  # the subscription's confirmation
                await events.SendMobilityEvent(
                    app_mobility_pb2.SendMobilityEventRequest(
                        associate_id=terminal, target_mec_host=target_mec_host
                    )
                )
                while (message := await procedure.read()) is not grpc.aio.EOF:
                    assert isinstance(message, app_mobility_pb2.SubscribeMobilityProcedureResponse)
                    if message.HasField("notification"):
                        return _outcome(message.notification, target_mec_host)
            finally:
                procedure.cancel()
    raise ConnectionError("the MEC platform ended the mobility subscription")


def _outcome(
    notification: app_mobility_pb2.MobilityProcedureNotification, target: str
) -> MoveOutcome:
    measured = notification.handover
    return MoveOutcome(
        completed=notification.mobility_status
        == app_mobility_pb2.MOBILITY_STATUS_INTERHOST_MOVEOUT_COMPLETED,
        source=measured.source_mec_host,
        target=measured.target_mec_host or target,
        devices=measured.devices,
        interruption_seconds=measured.interruption_seconds,
        key_agreement_seconds=measured.key_agreement_seconds,
        readings_buffered=measured.readings_buffered,
    )
