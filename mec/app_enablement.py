"""The MEC app's side of the MEC platform (ETSI MEC 011's Mp1, MEC 021): registration, service
registration, readiness, termination, and discovery of the other nodes' services.

``attach`` runs MEC 011's start-up in order: RegisterApplication (the platform assigns the
appInstanceId and a bearer token), SubscribeAppTermination (a task holds the stream open: its
end tells the platform the instance is gone), ConfirmReady, RegisterAppService for each service
the node offers (gRPC at the advertised endpoint; from here on UEs discover them), and
RegisterAppMobilityService (MEC 021: the node can be a handover target). A node that cannot
attach does not start.

Termination: the platform's AppTerminationNotification sets ``terminated``; ``mec serve`` then
stops serving within the notification's graceful timeout and ``close`` withdraws the services,
confirms the termination and ends the subscription. A platform that goes away later is logged;
the node keeps serving the devices that know it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass
from typing import cast

import grpc

from mec5g.runtime.grpc_server import TlsOptions, channel
from mec5g.runtime.mec_platform import (
    bearer,
    discover_endpoint,
    endpoint_address,
    grpc_transport,
)
from mec5g.runtime.metrics import Metrics
from mec5g.v1 import (
    app_mobility_pb2,
    app_mobility_pb2_grpc,
    mec_app_support_pb2,
    mec_app_support_pb2_grpc,
    mec_service_mgmt_pb2,
    mec_service_mgmt_pb2_grpc,
)

LOG = logging.getLogger("mec5g.mec")
APP_NAME = "mec5g-mec"
CALL_TIMEOUT = 5.0


@dataclass(frozen=True)
class OfferedService:
    """One gRPC service the node registers: its full name and MEC 011 category."""

    name: str
    category: str
    title: str

    def info(self, advertise: str) -> mec_service_mgmt_pb2.MecServiceInfo:
        return mec_service_mgmt_pb2.MecServiceInfo(
            ser_name=self.name,
            ser_category=mec_service_mgmt_pb2.MecCategoryRef(
                href=f"mec5g/{self.category}", id=self.category, name=self.title, version="v1"
            ),
            version="v1",
            state=mec_service_mgmt_pb2.MEC_SERVICE_STATE_ACTIVE,
            transport_info=grpc_transport([endpoint_address(advertise)]),
            serializer=mec_service_mgmt_pb2.MEC_SERIALIZER_TYPE_PROTOBUF3,
            scope_of_locality=mec_service_mgmt_pb2.MEC_LOCALITY_TYPE_MEC_SYSTEM,
        )


class AppEnablement:
    """One MEC app instance attached to the platform."""

    def __init__(
        self, platform: grpc.aio.Channel, mec_host: str, instance_id: str, token: str
    ) -> None:
        self.mec_host = mec_host
        self.instance_id = instance_id
        self._channel = platform
        self._token = token
        self._support = mec_app_support_pb2_grpc.MecAppSupportServiceStub(platform)
        self._services = mec_service_mgmt_pb2_grpc.MecServiceMgmtServiceStub(platform)
        self._mobility = app_mobility_pb2_grpc.AppMobilityServiceStub(platform)
        self._service_ids: list[str] = []
        self._mobility_id = ""
        self._watching: asyncio.Task[None] | None = None
        self.terminated = asyncio.Event()
        self.graceful_timeout = 0.0
        self._action = 0  # the notification's AppTerminationOperationAction

    @classmethod
    async def attach(
        cls,
        platform_target: str,
        mec_host: str,
        advertise: str,
        services: list[OfferedService],
        *,
        tls: TlsOptions | None = None,
        metrics: Metrics | None = None,
    ) -> AppEnablement:
        """Register this instance, its services and readiness; raise on any refusal."""
        platform = channel(platform_target, tls, metrics)
        try:
            registered = await mec_app_support_pb2_grpc.MecAppSupportServiceStub(
                platform
            ).RegisterApplication(
                mec_app_support_pb2.RegisterApplicationRequest(
                    app_name=APP_NAME, mec_host=mec_host
                ),
                timeout=CALL_TIMEOUT,
            )
            app = cls(platform, mec_host, registered.app_instance_id, registered.access_token)
            await app._start(advertise, services)
        except BaseException:
            await platform.close()
            raise
        LOG.info(
            "registered with the MEC platform at %s as instance %s of MEC host %s",
            platform_target,
            app.instance_id,
            mec_host,
        )
        return app

    async def _start(self, advertise: str, services: list[OfferedService]) -> None:
        metadata = bearer(self._token)
        subscription = self._support.SubscribeAppTermination(
            mec_app_support_pb2.SubscribeAppTerminationRequest(app_instance_id=self.instance_id),
            metadata=metadata,
        )
        await subscription.read()  # the confirmation: from here the platform can reach us
        self._watching = asyncio.create_task(self._watch(subscription))
        await self._support.ConfirmReady(
            mec_app_support_pb2.ConfirmReadyRequest(app_instance_id=self.instance_id),
            metadata=metadata,
            timeout=CALL_TIMEOUT,
        )
        for offered in services:
            answer = await self._services.RegisterAppService(
                mec_service_mgmt_pb2.RegisterAppServiceRequest(
                    app_instance_id=self.instance_id, service_info=offered.info(advertise)
                ),
                metadata=metadata,
                timeout=CALL_TIMEOUT,
            )
            self._service_ids.append(answer.service_info.ser_instance_id)
        registration = await self._mobility.RegisterAppMobilityService(
            app_mobility_pb2.RegisterAppMobilityServiceRequest(
                registration_info=app_mobility_pb2.AmsRegistrationInfo(
                    service_consumer_id=app_mobility_pb2.AmsServiceConsumerId(
                        app_instance_id=self.instance_id
                    )
                )
            ),
            timeout=CALL_TIMEOUT,
        )
        self._mobility_id = registration.registration_info.app_mobility_service_id

    async def _watch(
        self,
        subscription: grpc.aio.UnaryStreamCall[
            mec_app_support_pb2.SubscribeAppTerminationRequest,
            mec_app_support_pb2.SubscribeAppTerminationResponse,
        ],
    ) -> None:
        try:
            while (message := await subscription.read()) is not grpc.aio.EOF:
                assert isinstance(message, mec_app_support_pb2.SubscribeAppTerminationResponse)
                if message.HasField("notification"):
                    notification = message.notification
                    self.graceful_timeout = float(notification.max_graceful_timeout)
                    self._action = int(notification.operation_action)
                    LOG.info(
                        "the MEC platform terminates this instance (%d s to end gracefully)",
                        notification.max_graceful_timeout,
                    )
                    self.terminated.set()
        except grpc.aio.AioRpcError as error:
            if error.code() != grpc.StatusCode.CANCELLED:
                LOG.warning("MEC platform subscription ended: %s", error.code().name)

    async def find(self, ser_name: str, mec_host: str) -> str | None:
        """Where ``ser_name`` of MEC host ``mec_host`` listens, through discovery."""
        return await discover_endpoint(self._services, ser_name, mec_host)

    async def close(self) -> None:
        """Withdraw the services and the mobility registration; confirm a termination."""
        metadata = bearer(self._token)
        with contextlib.suppress(grpc.aio.AioRpcError):
            for service_id in self._service_ids:
                await self._services.DeregisterAppService(
                    mec_service_mgmt_pb2.DeregisterAppServiceRequest(
                        app_instance_id=self.instance_id, ser_instance_id=service_id
                    ),
                    metadata=metadata,
                    timeout=CALL_TIMEOUT,
                )
            if self._mobility_id:
                await self._mobility.DeregisterAppMobilityService(
                    app_mobility_pb2.DeregisterAppMobilityServiceRequest(
                        app_mobility_service_id=self._mobility_id
                    ),
                    timeout=CALL_TIMEOUT,
                )
            if self.terminated.is_set():
                await self._support.ConfirmTermination(
                    mec_app_support_pb2.ConfirmTerminationRequest(
                        app_instance_id=self.instance_id,
                        operation_action=cast(
                            mec_app_support_pb2.AppTerminationOperationAction, self._action
                        ),
                    ),
                    metadata=metadata,
                    timeout=CALL_TIMEOUT,
                )
        if self._watching is not None:
            self._watching.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._watching
        await self._channel.close()
