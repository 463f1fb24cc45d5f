"""``mec5g.v1.MecServiceMgmtService``: ETSI MEC 011's mec_service_mgmt (service registration
and discovery), a thin adapter over ``edge_platform.instances``.

Registering and withdrawing need the instance's bearer token; listing an instance's services
and discovery are open (UEs discover their MEC here). Discovery answers the ACTIVE services of
serving instances only, by MEC host and name, ``is_local`` set for the host asked about.
"""

from __future__ import annotations

import grpc

from mec5g.edge_platform.instances import Instances, answer, bearer_token
from mec5g.runtime.mec_platform import grpc_transport
from mec5g.v1 import mec_service_mgmt_pb2, mec_service_mgmt_pb2_grpc


class MecServiceMgmtService(mec_service_mgmt_pb2_grpc.MecServiceMgmtServiceServicer):
    """MEC 011's service management for the instances of every MEC host."""

    def __init__(self, instances: Instances) -> None:
        self._instances = instances

    async def RegisterAppService(  # noqa: N802 - gRPC method name
        self,
        request: mec_service_mgmt_pb2.RegisterAppServiceRequest,
        context: grpc.aio.ServicerContext,
    ) -> mec_service_mgmt_pb2.RegisterAppServiceResponse:
        def register() -> mec_service_mgmt_pb2.MecServiceInfo:
            instance = self._instances.authenticated(request.app_instance_id, bearer_token(context))
            return self._instances.add_service(instance, request.service_info)

        stored = await answer(context, register)
        return mec_service_mgmt_pb2.RegisterAppServiceResponse(service_info=stored)

    async def ListAppServices(  # noqa: N802 - gRPC method name
        self,
        request: mec_service_mgmt_pb2.ListAppServicesRequest,
        context: grpc.aio.ServicerContext,
    ) -> mec_service_mgmt_pb2.ListAppServicesResponse:
        instance = await answer(context, lambda: self._instances.get(request.app_instance_id))
        return mec_service_mgmt_pb2.ListAppServicesResponse(
            service_info=[instance.listed(info) for info in instance.services.values()]
        )

    async def DeregisterAppService(  # noqa: N802 - gRPC method name
        self,
        request: mec_service_mgmt_pb2.DeregisterAppServiceRequest,
        context: grpc.aio.ServicerContext,
    ) -> mec_service_mgmt_pb2.DeregisterAppServiceResponse:
        def deregister() -> None:
            instance = self._instances.authenticated(request.app_instance_id, bearer_token(context))
            self._instances.remove_service(instance, request.ser_instance_id)

        await answer(context, deregister)
        return mec_service_mgmt_pb2.DeregisterAppServiceResponse()

    async def ListServices(  # noqa: N802 - gRPC method name
        self, request: mec_service_mgmt_pb2.ListServicesRequest, context: grpc.aio.ServicerContext
    ) -> mec_service_mgmt_pb2.ListServicesResponse:
        return mec_service_mgmt_pb2.ListServicesResponse(
            service_info=self._instances.discover(request)
        )

    async def ListTransports(  # noqa: N802 - gRPC method name
        self,
        request: mec_service_mgmt_pb2.ListTransportsRequest,
        context: grpc.aio.ServicerContext,
    ) -> mec_service_mgmt_pb2.ListTransportsResponse:
        return mec_service_mgmt_pb2.ListTransportsResponse(transport_info=[grpc_transport([])])
