"""``mec5g.v1.MecAppSupportService`` (ETSI MEC 011 mec_app_support) and
``mec5g.v1.MecAppLcmService`` (the operator's termination, as MEC 010-2's app_lcm has it).

Thin adapters over ``edge_platform.instances``. The termination subscription is a server
stream: its first message confirms the subscription, a later one carries the
AppTerminationNotification; the stream ending tells the platform the instance is gone (its
services turn INACTIVE), as a liveness signal that ETSI's callbacks do not give. One
subscription per instance. Statuses: INVALID_ARGUMENT for a malformed name, UNAUTHENTICATED with
one fixed message for a missing or wrong token, NOT_FOUND for an unknown instance,
ALREADY_EXISTS for a second subscription, FAILED_PRECONDITION for a terminating instance.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator

import grpc

from mec5g.edge_platform.instances import Instances, Refused, answer, bearer_token
from mec5g.v1 import mec_app_support_pb2, mec_app_support_pb2_grpc

LOG = logging.getLogger("mec5g.platform")


class MecAppSupportService(mec_app_support_pb2_grpc.MecAppSupportServiceServicer):
    """MEC 011's application support for the instances of every MEC host."""

    def __init__(self, instances: Instances) -> None:
        self._instances = instances

    async def RegisterApplication(  # noqa: N802 - gRPC method name
        self,
        request: mec_app_support_pb2.RegisterApplicationRequest,
        context: grpc.aio.ServicerContext,
    ) -> mec_app_support_pb2.RegisterApplicationResponse:
        instance, token = await answer(
            context, lambda: self._instances.register(request.app_name, request.mec_host)
        )
        LOG.info(
            "instance %s of %s registered on MEC host %s",
            instance.instance_id,
            instance.app_name,
            instance.mec_host,
        )
        return mec_app_support_pb2.RegisterApplicationResponse(
            app_instance_id=instance.instance_id, access_token=token
        )

    async def ConfirmReady(  # noqa: N802 - gRPC method name
        self, request: mec_app_support_pb2.ConfirmReadyRequest, context: grpc.aio.ServicerContext
    ) -> mec_app_support_pb2.ConfirmReadyResponse:
        def confirm() -> None:
            instance = self._instances.authenticated(request.app_instance_id, bearer_token(context))
            self._instances.confirm_ready(instance)

        await answer(context, confirm)
        return mec_app_support_pb2.ConfirmReadyResponse()

    async def SubscribeAppTermination(  # noqa: N802 - gRPC method name
        self,
        request: mec_app_support_pb2.SubscribeAppTerminationRequest,
        context: grpc.aio.ServicerContext,
    ) -> AsyncIterator[mec_app_support_pb2.SubscribeAppTerminationResponse]:
        def subscribe() -> None:
            instance = self._instances.authenticated(request.app_instance_id, bearer_token(context))
            if instance.subscribed:
                raise Refused(
                    grpc.StatusCode.ALREADY_EXISTS,
                    "this instance holds a termination subscription already",
                )
            if instance.terminating:
                raise Refused(grpc.StatusCode.FAILED_PRECONDITION, "the instance is terminating")
            instance.subscribed = True

        await answer(context, subscribe)
        instance = self._instances.get(request.app_instance_id)
        try:
            yield mec_app_support_pb2.SubscribeAppTerminationResponse(
                subscription_id=f"{instance.instance_id}/termination"
            )
            while True:
                notification = await instance.notifications.get()
                yield mec_app_support_pb2.SubscribeAppTerminationResponse(notification=notification)
        finally:
            instance.subscribed = False
            if not instance.terminating:
                LOG.warning(
                    "instance %s on %s went away: its services are INACTIVE",
                    instance.instance_id,
                    instance.mec_host,
                )

    async def ConfirmTermination(  # noqa: N802 - gRPC method name
        self,
        request: mec_app_support_pb2.ConfirmTerminationRequest,
        context: grpc.aio.ServicerContext,
    ) -> mec_app_support_pb2.ConfirmTerminationResponse:
        def confirm() -> None:
            instance = self._instances.authenticated(request.app_instance_id, bearer_token(context))
            self._instances.confirm_termination(instance)

        await answer(context, confirm)
        LOG.info("instance %s confirmed its termination", request.app_instance_id)
        return mec_app_support_pb2.ConfirmTerminationResponse()


class MecAppLcmService(mec_app_support_pb2_grpc.MecAppLcmServiceServicer):
    """The operator ends an instance gracefully."""

    def __init__(self, instances: Instances) -> None:
        self._instances = instances

    async def TerminateAppInstance(  # noqa: N802 - gRPC method name
        self,
        request: mec_app_support_pb2.TerminateAppInstanceRequest,
        context: grpc.aio.ServicerContext,
    ) -> mec_app_support_pb2.TerminateAppInstanceResponse:
        notified = await answer(
            context,
            lambda: self._instances.terminate(
                request.app_instance_id, request.graceful_termination_timeout
            ),
        )
        LOG.info("instance %s terminated (notified: %s)", request.app_instance_id, notified)
        return mec_app_support_pb2.TerminateAppInstanceResponse(notified=notified)
