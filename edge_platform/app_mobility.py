"""``mec5g.v1.AppMobilityService`` (ETSI MEC 021 amsi) and ``mec5g.v1.MobilityEventService``
(the emulated radio network moving a terminal, as AdvantEDGE's scenario mobility events do).

Who registers: MEC app instances (``service_consumer_id.app_instance_id``), to be handover
targets; they list no terminals, because their users are anonymous to them. A UE's device
application (``service_consumer_id.mep_id``, the UE's name) lists its terminals, one per patient,
by an opaque terminal id that names no person.

A mobility procedure: ``SendMobilityEvent(terminal, host)`` picks the serving instance of ``host``
registered here, remembers the move and notifies INTERHOST_MOVEOUT_TRIGGERED with the target's
details; the terminal's device application hands its devices over (key agreement at the target,
the analysis context moving from node to node) and updates its registration: the terminal
USER_CONTEXT_TRANSFER_COMPLETED ends the procedure with INTERHOST_MOVEOUT_COMPLETED, still
NOT_TRANSFERRED with a measurement (the terminal's report that its move is over) with
INTERHOST_MOVEOUT_FAILED; either carries the terminal's measurement. A terminal listed
NOT_TRANSFERRED without one is still moving.
The platform counts the procedures that ended in
``mec5g_phase_results_total{role="platform",phase="handover"}`` (``accepted``: completed, or
``failed``), timed from the trigger.

Registration ids are random and act as capabilities; the service is meant for the operator's
network, as the rest of the platform.
"""

from __future__ import annotations

import logging
import secrets
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass

import grpc

from mec5g.core.profiles import check_name
from mec5g.edge_platform.instances import AppInstance, Instances, Refused, answer
from mec5g.edge_platform.subscriptions import SubscriberTooSlow, Subscriptions
from mec5g.runtime.metrics import HANDOVER, Metrics
from mec5g.v1 import app_mobility_pb2, app_mobility_pb2_grpc

LOG = logging.getLogger("mec5g.platform")
MAX_ASSOCIATE_ID = 128
MAX_TERMINALS = 10_000
Notification = app_mobility_pb2.MobilityProcedureNotification
_TRIGGERED = app_mobility_pb2.MOBILITY_STATUS_INTERHOST_MOVEOUT_TRIGGERED
_COMPLETED = app_mobility_pb2.MOBILITY_STATUS_INTERHOST_MOVEOUT_COMPLETED
_FAILED = app_mobility_pb2.MOBILITY_STATUS_INTERHOST_MOVEOUT_FAILED
_TRANSFERRED = app_mobility_pb2.CONTEXT_TRANSFER_STATE_USER_CONTEXT_TRANSFER_COMPLETED
_NOT_TRANSFERRED = app_mobility_pb2.CONTEXT_TRANSFER_STATE_NOT_TRANSFERRED

TerminalKey = tuple[int, str]


def _terminal(associate_id: app_mobility_pb2.AmsAssociateId, field: str) -> TerminalKey:
    if associate_id.type not in app_mobility_pb2.AssociateIdType.values() or not associate_id.type:
        raise Refused(grpc.StatusCode.INVALID_ARGUMENT, f"{field}.type must be set")
    value = associate_id.value
    if not 0 < len(value) <= MAX_ASSOCIATE_ID or not value.isprintable():
        raise Refused(
            grpc.StatusCode.INVALID_ARGUMENT,
            f"{field}.value must be 1 to {MAX_ASSOCIATE_ID} printable characters",
        )
    return associate_id.type, value


@dataclass
class _Move:
    target: app_mobility_pb2.AmsTargetAppInfo
    triggered: float


class AppMobility:
    """Registrations, moves in progress and subscriptions of the Application Mobility Service."""

    def __init__(self, instances: Instances, metrics: Metrics) -> None:
        self._instances = instances
        self._metrics = metrics
        self._registrations: dict[str, app_mobility_pb2.AmsRegistrationInfo] = {}
        self._moves: dict[TerminalKey, _Move] = {}
        self.subscriptions: Subscriptions[Notification] = Subscriptions()

    def _checked(
        self, info: app_mobility_pb2.AmsRegistrationInfo
    ) -> app_mobility_pb2.AmsRegistrationInfo:
        consumer = info.service_consumer_id
        if bool(consumer.app_instance_id) == bool(consumer.mep_id):
            raise Refused(
                grpc.StatusCode.INVALID_ARGUMENT,
                "service_consumer_id needs exactly one of app_instance_id and mep_id",
            )
        if consumer.app_instance_id:
            self._instances.get(consumer.app_instance_id)
        else:
            check_name(consumer.mep_id, "service_consumer_id.mep_id")
        if len(info.device_information) > MAX_TERMINALS:
            raise Refused(
                grpc.StatusCode.INVALID_ARGUMENT, f"at most {MAX_TERMINALS} device_information"
            )
        for device in info.device_information:
            _terminal(device.associate_id, "device_information.associate_id")
        stored = app_mobility_pb2.AmsRegistrationInfo()
        stored.CopyFrom(info)
        return stored

    def register(
        self, info: app_mobility_pb2.AmsRegistrationInfo
    ) -> app_mobility_pb2.AmsRegistrationInfo:
        stored = self._checked(info)
        stored.app_mobility_service_id = secrets.token_hex(16)
        self._registrations[stored.app_mobility_service_id] = stored
        return stored

    def update(
        self, info: app_mobility_pb2.AmsRegistrationInfo
    ) -> app_mobility_pb2.AmsRegistrationInfo:
        """Replace a registration; end the mobility procedures its terminals report on."""
        if info.app_mobility_service_id not in self._registrations:
            raise Refused(
                grpc.StatusCode.NOT_FOUND,
                f"no app mobility service {info.app_mobility_service_id!r}",
            )
        stored = self._checked(info)
        self._registrations[stored.app_mobility_service_id] = stored
        for device in stored.device_information:
            key = _terminal(device.associate_id, "device_information.associate_id")
            move = self._moves.get(key)
            state = device.context_transfer_state
            reported = state == _TRANSFERRED or (
                state == _NOT_TRANSFERRED and device.HasField("handover")
            )
            if move is None or not reported:
                continue
            del self._moves[key]
            status, outcome = (
                (_COMPLETED, "accepted") if state == _TRANSFERRED else (_FAILED, "failed")
            )
            self._metrics.observe(HANDOVER, outcome, time.perf_counter() - move.triggered)
            self._notify(device.associate_id, status, move.target, device.handover)
        return stored

    def deregister(self, app_mobility_service_id: str) -> None:
        if self._registrations.pop(app_mobility_service_id, None) is None:
            raise Refused(
                grpc.StatusCode.NOT_FOUND, f"no app mobility service {app_mobility_service_id!r}"
            )

    def _registered(self, instance: AppInstance) -> bool:
        return any(
            info.service_consumer_id.app_instance_id == instance.instance_id
            for info in self._registrations.values()
        )

    @staticmethod
    def _target(instance: AppInstance) -> app_mobility_pb2.AmsTargetAppInfo:
        addresses = {
            (address.host, address.port): address
            for info in instance.services.values()
            for address in info.transport_info.endpoint
        }
        return app_mobility_pb2.AmsTargetAppInfo(
            app_instance_id=instance.instance_id,
            comm_interface=list(addresses.values()),
            mec_host=instance.mec_host,
        )

    def move(
        self, associate_id: app_mobility_pb2.AmsAssociateId, mec_host: str
    ) -> app_mobility_pb2.AmsTargetAppInfo:
        """The emulated network moves a terminal to ``mec_host``: notify TRIGGERED."""
        key = _terminal(associate_id, "associate_id")
        check_name(mec_host, "target_mec_host")
        candidates = [
            instance
            for instance in self._instances.serving_on(mec_host)
            if self._registered(instance)
        ]
        if not candidates:
            raise Refused(
                grpc.StatusCode.NOT_FOUND,
                f"no ready application instance on MEC host {mec_host!r} takes mobility",
            )
        target = self._target(candidates[0])
        self._moves[key] = _Move(target, time.perf_counter())
        self._notify(associate_id, _TRIGGERED, target)
        return target

    def _notify(
        self,
        associate_id: app_mobility_pb2.AmsAssociateId,
        status: app_mobility_pb2.MobilityStatus,
        target: app_mobility_pb2.AmsTargetAppInfo,
        measured: app_mobility_pb2.HandoverMeasurement | None = None,
    ) -> None:
        LOG.info(
            "terminal %s: %s to %s",
            associate_id.value,
            app_mobility_pb2.MobilityStatus.Name(status),
            target.mec_host,
        )
        notification = Notification(
            time_stamp=time.time(),
            associate_id=[associate_id],
            mobility_status=status,
            target_app_info=target,
        )
        if measured is not None:
            notification.handover.CopyFrom(measured)
        self.subscriptions.publish(notification)

    def adjacent(self, app_instance_id: str) -> list[app_mobility_pb2.AdjacentAppInstanceInfo]:
        asking = self._instances.get(app_instance_id)
        return [
            app_mobility_pb2.AdjacentAppInstanceInfo(
                app_instance_id=target.app_instance_id,
                comm_interface=target.comm_interface,
                mec_host=target.mec_host,
            )
            for target in (
                self._target(instance)
                for instance in self._instances
                if instance.serving
                and instance.app_name == asking.app_name
                and instance.mec_host != asking.mec_host
            )
        ]


def _matches(
    criteria: app_mobility_pb2.MobilityProcedureFilterCriteria,
) -> tuple[set[TerminalKey], set[int]]:
    terminals = {
        _terminal(associate_id, "filter_criteria.associate_id")
        for associate_id in criteria.associate_id
    }
    return terminals, set(criteria.mobility_status)


class AppMobilityService(app_mobility_pb2_grpc.AppMobilityServiceServicer):
    """Thin adapter over ``AppMobility``."""

    def __init__(self, mobility: AppMobility) -> None:
        self._mobility = mobility

    async def RegisterAppMobilityService(  # noqa: N802 - gRPC method name
        self,
        request: app_mobility_pb2.RegisterAppMobilityServiceRequest,
        context: grpc.aio.ServicerContext,
    ) -> app_mobility_pb2.RegisterAppMobilityServiceResponse:
        stored = await answer(context, lambda: self._mobility.register(request.registration_info))
        return app_mobility_pb2.RegisterAppMobilityServiceResponse(registration_info=stored)

    async def UpdateAppMobilityService(  # noqa: N802 - gRPC method name
        self,
        request: app_mobility_pb2.UpdateAppMobilityServiceRequest,
        context: grpc.aio.ServicerContext,
    ) -> app_mobility_pb2.UpdateAppMobilityServiceResponse:
        stored = await answer(context, lambda: self._mobility.update(request.registration_info))
        return app_mobility_pb2.UpdateAppMobilityServiceResponse(registration_info=stored)

    async def DeregisterAppMobilityService(  # noqa: N802 - gRPC method name
        self,
        request: app_mobility_pb2.DeregisterAppMobilityServiceRequest,
        context: grpc.aio.ServicerContext,
    ) -> app_mobility_pb2.DeregisterAppMobilityServiceResponse:
        await answer(context, lambda: self._mobility.deregister(request.app_mobility_service_id))
        return app_mobility_pb2.DeregisterAppMobilityServiceResponse()

    async def SubscribeMobilityProcedure(  # noqa: N802 - gRPC method name
        self,
        request: app_mobility_pb2.SubscribeMobilityProcedureRequest,
        context: grpc.aio.ServicerContext,
    ) -> AsyncIterator[app_mobility_pb2.SubscribeMobilityProcedureResponse]:
        criteria = request.filter_criteria
        terminals, statuses = await answer(context, lambda: _matches(criteria))

        def wanted(notification: Notification) -> bool:
            about = {(item.type, item.value) for item in notification.associate_id}
            return (
                criteria.app_instance_id in ("", notification.target_app_info.app_instance_id)
                and (not terminals or bool(terminals & about))
                and (not statuses or notification.mobility_status in statuses)
            )

        subscription = self._mobility.subscriptions.open(wanted)
        try:
            yield app_mobility_pb2.SubscribeMobilityProcedureResponse(
                subscription_id=subscription.subscription_id
            )
            async for notification in subscription.items():
                yield app_mobility_pb2.SubscribeMobilityProcedureResponse(notification=notification)
        except SubscriberTooSlow:
            await context.abort(
                grpc.StatusCode.RESOURCE_EXHAUSTED,
                "subscription ended: too many notifications left unread",
            )
        finally:
            self._mobility.subscriptions.close(subscription)

    async def ListAdjacentAppInstances(  # noqa: N802 - gRPC method name
        self,
        request: app_mobility_pb2.ListAdjacentAppInstancesRequest,
        context: grpc.aio.ServicerContext,
    ) -> app_mobility_pb2.ListAdjacentAppInstancesResponse:
        found = await answer(context, lambda: self._mobility.adjacent(request.app_instance_id))
        return app_mobility_pb2.ListAdjacentAppInstancesResponse(adjacent_app_instance_info=found)


class MobilityEventService(app_mobility_pb2_grpc.MobilityEventServiceServicer):
    """The emulated radio network: terminals move between MEC hosts' coverage."""

    def __init__(self, mobility: AppMobility) -> None:
        self._mobility = mobility

    async def SendMobilityEvent(  # noqa: N802 - gRPC method name
        self,
        request: app_mobility_pb2.SendMobilityEventRequest,
        context: grpc.aio.ServicerContext,
    ) -> app_mobility_pb2.SendMobilityEventResponse:
        target = await answer(
            context, lambda: self._mobility.move(request.associate_id, request.target_mec_host)
        )
        return app_mobility_pb2.SendMobilityEventResponse(target_app_info=target)
