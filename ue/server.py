"""``mec5g ue serve``: the UE emulator process, and ``start`` for whoever embeds it.

Its devices attach through a fixed MEC (``--mec``) or, with a MEC platform (``--platform``),
through the MEC that the platform's discovery names on ``--mec-host``; with a platform the UE is
also its patients' device application at the Application Mobility Service, and follows them when
they move to another MEC host (``ue.handover``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

import grpc

from mec5g.runtime.device_identities import DeviceIdentities, IdentityStore
from mec5g.runtime.grpc_server import TlsOptions, channel, start_server, wait_for_termination
from mec5g.runtime.holder_store import HolderStore, open_holder_store
from mec5g.runtime.metrics import Metrics
from mec5g.runtime.scheme import Scheme
from mec5g.ue.control_service import UeControlService
from mec5g.ue.fleet import Baseline36, DeviceFleet, RetryPolicy, drive_continuously
from mec5g.ue.handover import MobilityAgent
from mec5g.ue.provisioning_service import UeProvisioningService
from mec5g.ue.serving import MecLink, MecLinks, NotDiscovered
from mec5g.ue.streaming import Streamer, StreamPolicy
from mec5g.v1 import (
    anonymous_key_agreement_pb2_grpc,
    mec_service_mgmt_pb2_grpc,
    ue_control_pb2,
    ue_control_pb2_grpc,
    ue_provisioning_pb2,
    ue_provisioning_pb2_grpc,
)

LOG = logging.getLogger("mec5g.ue")
SERVICE_NAME = ue_control_pb2.DESCRIPTOR.services_by_name["UeControlService"].full_name
PROVISIONING_SERVICE_NAME = ue_provisioning_pb2.DESCRIPTOR.services_by_name[
    "UeProvisioningService"
].full_name


@dataclass(frozen=True)
class UeConfig:
    listen: str
    mec_target: str
    state: Path
    import_file: Path | None = None
    metrics_port: int = 0
    policy: RetryPolicy = field(default_factory=RetryPolicy)
    load_concurrency: int = 0
    load_pause: float = 0.0
    tls: TlsOptions = field(default_factory=TlsOptions)
    mec_tls: TlsOptions = field(default_factory=TlsOptions)
    seed: int | None = None
    health_listen: str | None = None
    stream: StreamPolicy = field(default_factory=StreamPolicy)
    # The devices' key agreement; [36] also needs the MEC node's identity, which M1 names.
    scheme: Scheme = Scheme.BRAEKEN2021
    mec_node: str | None = None
    # The MEC platform: the devices' MEC is discovered on ``mec_host`` (any host when empty)
    # instead of ``mec_target``, and patients follow mobility events.
    platform: str | None = None
    platform_tls: TlsOptions = field(default_factory=TlsOptions)
    mec_host: str = ""
    # The UE's name at the platform: its patients' terminals are "<name>/patient-<n>".
    name: str = "ue-1"
    discovery_timeout: float = 20.0


@dataclass
class RunningUe:
    """A started UE: its device store and fleet, MEC channel, metrics, server and load."""

    store: HolderStore
    fleet: DeviceFleet
    streamer: Streamer
    links: MecLinks
    metrics: Metrics
    server: grpc.aio.Server
    port: int
    load: asyncio.Task[None]
    stop_load: asyncio.Event
    rpc_timeout: float
    agent: MobilityAgent | None = None
    platform_channel: grpc.aio.Channel | None = None

    @property
    def target(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def mec_channel(self) -> grpc.aio.Channel:
        """The channel to the MEC the UE started with."""
        assert self.links.default is not None  # set by start
        return self.links.channel(self.links.default.target)

    async def close(self, grace: float | None = None) -> None:
        self.stop_load.set()
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self.load, self.rpc_timeout + 1)
        await self.server.stop(grace)
        await self.links.close()
        if self.platform_channel is not None:
            await self.platform_channel.close()
        self.store.close()


async def _discovered(
    links: MecLinks, platform: grpc.aio.Channel, mec_host: str, timeout: float
) -> MecLink:
    """The MEC on ``mec_host`` from the platform's discovery, waiting up to ``timeout`` for a
    node that is still starting."""
    stub = mec_service_mgmt_pb2_grpc.MecServiceMgmtServiceStub(platform)
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        try:
            return await links.discover(stub, mec_host)
        except (NotDiscovered, grpc.aio.AioRpcError) as error:
            if asyncio.get_running_loop().time() > deadline:
                raise NotDiscovered(f"no MEC found through the platform: {error}") from None
        await asyncio.sleep(0.2)


def _identities(config: UeConfig) -> IdentityStore:
    """The devices' ECQV identities in the UE's state, with the enrolment file's new ones."""
    identities = IdentityStore(config.state)
    held = DeviceIdentities.read(config.import_file) if config.import_file else None
    if held is not None:
        added = identities.import_identities(held)
        LOG.info("imported %d new device identities from %s", added, config.import_file)
    return identities


async def start(config: UeConfig) -> RunningUe:
    if config.scheme is Scheme.BASELINE36 and not config.mec_node:
        raise ValueError("--scheme baseline36 needs the MEC node's identity (--mec-node)")
    async with contextlib.AsyncExitStack() as cleanup:
        store = open_holder_store(config.state, config.import_file, "device")
        cleanup.callback(store.close)
        identities = _identities(config)
        metrics = Metrics("ue")
        metrics.running(config.scheme.value)
        metrics.serve(config.metrics_port)
        links = MecLinks(config.mec_tls, metrics)
        cleanup.push_async_callback(links.close)
        platform = None
        if config.platform is not None:
            platform = channel(config.platform, config.platform_tls, metrics)
            cleanup.push_async_callback(platform.close)
            links.default = await _discovered(
                links, platform, config.mec_host, config.discovery_timeout
            )
        else:
            links.default = links.link(config.mec_target)
        baseline36 = None
        if config.scheme is Scheme.BASELINE36 and config.mec_node:
            baseline36 = Baseline36(
                identities.load(),
                config.mec_node,
                anonymous_key_agreement_pb2_grpc.MecAnonymousKeyAgreementServiceStub(
                    links.channel(links.default.target)
                ),
            )
        fleet = DeviceFleet(
            store, links, metrics, config.policy, random.Random(config.seed), baseline36=baseline36
        )
        seed = config.seed if config.seed is not None else random.SystemRandom().getrandbits(32)
        streamer = Streamer(fleet, metrics, config.stream, seed)
        agent = (
            MobilityAgent(config.name, platform, fleet, streamer, metrics)
            if platform is not None
            else None
        )
        service = UeControlService(fleet, streamer, config.name if agent else "")
        provisioning = UeProvisioningService(fleet)
        server, port = await start_server(
            config.listen,
            [
                partial(ue_control_pb2_grpc.add_UeControlServiceServicer_to_server, service),
                partial(
                    ue_provisioning_pb2_grpc.add_UeProvisioningServiceServicer_to_server,
                    provisioning,
                ),
            ],
            [SERVICE_NAME, PROVISIONING_SERVICE_NAME],
            config.tls,
            metrics,
        )
        cleanup.pop_all()
    stop_load = asyncio.Event()

    async def background() -> None:
        """The handshake load, the data streams and the mobility agent, until ``stop_load``."""
        await asyncio.gather(
            drive_continuously(fleet, config.load_concurrency, config.load_pause, stop_load),
            streamer.run(stop_load, random.Random(seed)),
            *([agent.run(stop_load)] if agent is not None else []),
        )

    load = asyncio.create_task(background())
    return RunningUe(
        store,
        fleet,
        streamer,
        links,
        metrics,
        server,
        port,
        load,
        stop_load,
        config.policy.rpc_timeout,
        agent,
        platform,
    )


async def serve(config: UeConfig) -> None:
    running = await start(config)
    LOG.info(
        "UE serving control on port %d with %d devices running %s, MEC at %s",
        running.port,
        len(running.fleet.names),
        config.scheme.value,
        running.links.default.target if running.links.default else "?",
    )
    try:
        await wait_for_termination(
            running.server, health_listen=config.health_listen, service_names=[SERVICE_NAME]
        )
    finally:
        await running.close()
