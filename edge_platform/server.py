"""``mec5g platform serve``: the emulated MEC platform process, and ``start`` for whoever embeds
it (tests, ``mec5g up``).

One process serves every MEC host of the testbed, each under its name, as AdvantEDGE runs one
application enablement and one application mobility service per sandbox: MEC 011's
``MecAppSupportService`` and ``MecServiceMgmtService``, the operator's ``MecAppLcmService``, MEC
021's ``AppMobilityService`` and the emulated network's ``MobilityEventService``, on one port
with reflection and health like every mec5g server. Everything is in memory (the apps register
again when it restarts); keep its port on the operator's network.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from functools import partial

import grpc

from mec5g.edge_platform.app_mobility import AppMobility, AppMobilityService, MobilityEventService
from mec5g.edge_platform.app_support import MecAppLcmService, MecAppSupportService
from mec5g.edge_platform.instances import Instances
from mec5g.edge_platform.service_mgmt import MecServiceMgmtService
from mec5g.runtime.grpc_server import TlsOptions, start_server, wait_for_termination
from mec5g.runtime.metrics import Metrics
from mec5g.v1 import (
    app_mobility_pb2,
    app_mobility_pb2_grpc,
    mec_app_support_pb2,
    mec_app_support_pb2_grpc,
    mec_service_mgmt_pb2,
    mec_service_mgmt_pb2_grpc,
)

LOG = logging.getLogger("mec5g.platform")
SERVICE_NAME = mec_service_mgmt_pb2.DESCRIPTOR.services_by_name["MecServiceMgmtService"].full_name
APP_SUPPORT_SERVICE_NAME = mec_app_support_pb2.DESCRIPTOR.services_by_name[
    "MecAppSupportService"
].full_name
APP_LCM_SERVICE_NAME = mec_app_support_pb2.DESCRIPTOR.services_by_name["MecAppLcmService"].full_name
APP_MOBILITY_SERVICE_NAME = app_mobility_pb2.DESCRIPTOR.services_by_name[
    "AppMobilityService"
].full_name
MOBILITY_EVENT_SERVICE_NAME = app_mobility_pb2.DESCRIPTOR.services_by_name[
    "MobilityEventService"
].full_name


@dataclass(frozen=True)
class PlatformConfig:
    listen: str
    metrics_port: int = 0
    tls: TlsOptions = field(default_factory=TlsOptions)
    health_listen: str | None = None


@dataclass
class RunningPlatform:
    """A started platform: its directory of instances, mobility state, metrics and server."""

    instances: Instances
    mobility: AppMobility
    metrics: Metrics
    server: grpc.aio.Server
    port: int

    @property
    def target(self) -> str:
        return f"127.0.0.1:{self.port}"

    async def close(self, grace: float | None = None) -> None:
        await self.server.stop(grace)


async def start(config: PlatformConfig) -> RunningPlatform:
    metrics = Metrics("platform")
    instances = Instances()
    mobility = AppMobility(instances, metrics)
    metrics.serve(config.metrics_port)
    server, port = await start_server(
        config.listen,
        [
            partial(
                mec_app_support_pb2_grpc.add_MecAppSupportServiceServicer_to_server,
                MecAppSupportService(instances),
            ),
            partial(
                mec_app_support_pb2_grpc.add_MecAppLcmServiceServicer_to_server,
                MecAppLcmService(instances),
            ),
            partial(
                mec_service_mgmt_pb2_grpc.add_MecServiceMgmtServiceServicer_to_server,
                MecServiceMgmtService(instances),
            ),
            partial(
                app_mobility_pb2_grpc.add_AppMobilityServiceServicer_to_server,
                AppMobilityService(mobility),
            ),
            partial(
                app_mobility_pb2_grpc.add_MobilityEventServiceServicer_to_server,
                MobilityEventService(mobility),
            ),
        ],
        [
            SERVICE_NAME,
            APP_SUPPORT_SERVICE_NAME,
            APP_LCM_SERVICE_NAME,
            APP_MOBILITY_SERVICE_NAME,
            MOBILITY_EVENT_SERVICE_NAME,
        ],
        config.tls,
        metrics,
    )
    return RunningPlatform(instances, mobility, metrics, server, port)


async def serve(config: PlatformConfig) -> None:
    running = await start(config)
    LOG.info("MEC platform serving on port %d", running.port)
    try:
        await wait_for_termination(
            running.server, health_listen=config.health_listen, service_names=[SERVICE_NAME]
        )
    finally:
        await running.close()
