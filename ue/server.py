"""``mec5g ue serve``: the UE emulator process."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass
from pathlib import Path

from mec5g.runtime.grpc_server import TlsOptions, channel, start_server, wait_for_termination
from mec5g.runtime.holder_store import open_holder_store
from mec5g.runtime.metrics import Metrics
from mec5g.ue.control_service import UeControlService
from mec5g.ue.fleet import DeviceFleet, RetryPolicy, drive_continuously
from mec5g.v1 import mec_key_agreement_pb2_grpc, ue_control_pb2, ue_control_pb2_grpc

LOG = logging.getLogger("mec5g.ue")
SERVICE_NAME = ue_control_pb2.DESCRIPTOR.services_by_name["UeControlService"].full_name


@dataclass(frozen=True)
class UeConfig:
    listen: str
    mec_target: str
    state: Path
    import_file: Path | None
    metrics_port: int
    policy: RetryPolicy
    load_concurrency: int
    load_pause: float
    tls: TlsOptions
    mec_tls: TlsOptions


async def serve(config: UeConfig) -> None:
    store = open_holder_store(config.state, config.import_file, "device")
    metrics = Metrics("ue")
    metrics.serve(config.metrics_port)
    mec_channel = channel(config.mec_target, config.mec_tls)
    fleet = DeviceFleet(
        store,
        mec_key_agreement_pb2_grpc.MecKeyAgreementServiceStub(mec_channel),
        metrics,
        config.policy,
    )
    service = UeControlService(fleet, config.mec_target)
    server, port = await start_server(
        config.listen,
        [
            lambda server: ue_control_pb2_grpc.add_UeControlServiceServicer_to_server(
                service, server
            )
        ],
        [SERVICE_NAME],
        config.tls,
    )
    LOG.info(
        "UE serving control on port %d with %d devices, MEC at %s",
        port,
        len(fleet.names),
        config.mec_target,
    )
    stop = asyncio.Event()
    load = asyncio.create_task(
        drive_continuously(fleet, config.load_concurrency, config.load_pause, stop)
    )
    try:
        await wait_for_termination(server)
    finally:
        stop.set()
        with contextlib.suppress(Exception):
            await asyncio.wait_for(load, config.policy.rpc_timeout + 1)
        await mec_channel.close()
        store.close()
