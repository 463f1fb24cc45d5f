"""``mec5g mec serve``: the MEC edge process, and ``start`` for whoever embeds it.

With a MEC platform (``--platform``), the node registers there as a MEC app instance of its MEC
host (the name in its ECQV identity), offers its services for discovery, can receive patients
moving from other nodes and hand its own over (``mec.context_transfer``; the paper's scheme
only, whose key agreement carries the handover), and ends when the platform terminates it
(``mec.app_enablement``).
"""

from __future__ import annotations

import contextlib
import logging
import time
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

import grpc

from mec5g.core.emergency import Emergencies, EmergencyThreshold
from mec5g.mec.alerts_service import MecAlertsService
from mec5g.mec.analysis import Analyses, AnalysisLimits
from mec5g.mec.analysis_service import AnalysisService
from mec5g.mec.anonymous_responder import AnonymousResponder
from mec5g.mec.anonymous_service import MecAnonymousKeyAgreementService
from mec5g.mec.app_enablement import AppEnablement, OfferedService
from mec5g.mec.context_transfer import SERVICE_NAME as CONTEXT_SERVICE_NAME
from mec5g.mec.context_transfer import ContextFetcher, MecContextTransferService
from mec5g.mec.credential_pool import CredentialPool
from mec5g.mec.data_service import MecDataService
from mec5g.mec.results_service import MecResultsService
from mec5g.mec.service import MecKeyAgreementService
from mec5g.mec.sessions import SessionLimits, SessionTable
from mec5g.runtime.grpc_server import TlsOptions, channel, start_server, wait_for_termination
from mec5g.runtime.holder_store import HolderStore, open_holder_store
from mec5g.runtime.metrics import Metrics
from mec5g.runtime.rate_limit import PER_SOURCE, RatePolicy, limits, peer_host
from mec5g.runtime.scheme import Scheme
from mec5g.runtime.wallet import Wallet
from mec5g.v1 import (
    analysis_pb2,
    analysis_pb2_grpc,
    anonymous_key_agreement_pb2,
    anonymous_key_agreement_pb2_grpc,
    emergency_pb2_grpc,
    mec_alerts_pb2,
    mec_alerts_pb2_grpc,
    mec_context_transfer_pb2_grpc,
    mec_data_pb2,
    mec_data_pb2_grpc,
    mec_key_agreement_pb2,
    mec_key_agreement_pb2_grpc,
    mec_results_pb2,
    mec_results_pb2_grpc,
    ttp_key_agreement_pb2_grpc,
)

LOG = logging.getLogger("mec5g.mec")
SERVICE_NAME = mec_key_agreement_pb2.DESCRIPTOR.services_by_name["MecKeyAgreementService"].full_name
DATA_SERVICE_NAME = mec_data_pb2.DESCRIPTOR.services_by_name["MecDataService"].full_name
ANALYSIS_SERVICE_NAME = analysis_pb2.DESCRIPTOR.services_by_name["AnalysisService"].full_name
ALERTS_SERVICE_NAME = mec_alerts_pb2.DESCRIPTOR.services_by_name["MecAlertsService"].full_name
RESULTS_SERVICE_NAME = mec_results_pb2.DESCRIPTOR.services_by_name["MecResultsService"].full_name
ANONYMOUS_SERVICE_NAME = anonymous_key_agreement_pb2.DESCRIPTOR.services_by_name[
    "MecAnonymousKeyAgreementService"
].full_name
# The service answering the devices' key agreement of each scheme: health checks wait for it.
SERVICE_NAMES = {Scheme.BRAEKEN2021: SERVICE_NAME, Scheme.BASELINE36: ANONYMOUS_SERVICE_NAME}
AGREE_METHODS = {
    Scheme.BRAEKEN2021: f"/{SERVICE_NAME}/Agree",
    Scheme.BASELINE36: f"/{ANONYMOUS_SERVICE_NAME}/AgreeAnonymously",
}


def offered_services(scheme: Scheme) -> list[OfferedService]:
    """What the node offers at the MEC platform (MEC 011 service registration)."""
    return [
        OfferedService(SERVICE_NAMES[scheme], "key-agreement", "Key agreement (phase 3)"),
        OfferedService(DATA_SERVICE_NAME, "data-ingest", "Sealed data records (phase 4)"),
        OfferedService(ANALYSIS_SERVICE_NAME, "analysis", "Analyses by pseudonym (phase 4)"),
        OfferedService(RESULTS_SERVICE_NAME, "user-access", "Results for users (phase 5)"),
        OfferedService(ALERTS_SERVICE_NAME, "user-access", "Emergency watches (phase 6)"),
        OfferedService(CONTEXT_SERVICE_NAME, "app-mobility", "User context transfer"),
    ]


@dataclass(frozen=True)
class MecConfig:
    listen: str
    ttp_target: str
    state: Path
    import_file: Path | None = None
    metrics_port: int = 0
    lease_wait: float = 2.0
    ttp_timeout: float = 3.0
    tls: TlsOptions = field(default_factory=TlsOptions)
    ttp_tls: TlsOptions = field(default_factory=TlsOptions)
    # Per caller address: one UE process or one attacker; high enough for a local UE swarm.
    rate_per_source: RatePolicy = PER_SOURCE
    health_listen: str | None = None
    sessions: SessionLimits = field(default_factory=SessionLimits)
    analysis: AnalysisLimits = field(default_factory=AnalysisLimits)
    # The node's ECQV wallet; without it, user requests and watches (phases 5, 6) are refused
    # and the baseline [36] cannot run.
    identity: Path | None = None
    emergency: EmergencyThreshold = field(default_factory=EmergencyThreshold)
    # The devices' key agreement: the paper's scheme, or [36] (anonymous key agreement).
    scheme: Scheme = Scheme.BRAEKEN2021
    # The MEC platform (MEC 011/021), or None: no discovery, no handover to or from this node.
    platform: str | None = None
    platform_tls: TlsOptions = field(default_factory=TlsOptions)
    # Where UEs and other nodes reach this node; default 127.0.0.1 and the listening port.
    advertise: str | None = None
    # The client side towards other MEC nodes (context transfer) and its bound.
    peer_tls: TlsOptions = field(default_factory=TlsOptions)
    transfer_timeout: float = 3.0


@dataclass
class RunningMec:
    """A started MEC: its credential store and pool (none under [36], which needs no
    credentials), TTP channel, metrics and gRPC server."""

    store: HolderStore
    pool: CredentialPool | None
    ttp_channel: grpc.aio.Channel
    metrics: Metrics
    server: grpc.aio.Server
    port: int
    sessions: SessionTable
    analyses: Analyses
    alerts: MecAlertsService
    fetcher: ContextFetcher
    platform: AppEnablement | None = None

    @property
    def target(self) -> str:
        return f"127.0.0.1:{self.port}"

    async def close(self, grace: float | None = None) -> None:
        await self.server.stop(grace)
        if self.pool is not None:
            await self.pool.drain()
        await self.alerts.drain()
        await self.fetcher.close()
        if self.platform is not None:
            await self.platform.close()
        await self.ttp_channel.close()
        self.store.close()


async def start(config: MecConfig) -> RunningMec:
    if config.scheme is Scheme.BASELINE36 and config.identity is None:
        raise ValueError("--scheme baseline36 needs the node's ECQV identity (--identity)")
    if config.platform is not None and config.identity is None:
        raise ValueError("a MEC node on a MEC platform needs its ECQV identity (--identity)")
    async with contextlib.AsyncExitStack() as cleanup:
        store = open_holder_store(config.state, config.import_file, "mec")
        cleanup.callback(store.close)
        metrics = Metrics("mec")
        metrics.running(config.scheme.value)
        # The TTP may be several replicas on one PostgreSQL store: spread M2s over them.
        ttp_channel = channel(config.ttp_target, config.ttp_tls, metrics, balanced=True)
        cleanup.push_async_callback(ttp_channel.close)
        metrics.serve(config.metrics_port)
        sessions = SessionTable(config.sessions, time.monotonic, metrics)
        analyses = Analyses(config.analysis, time.monotonic)
        identity = Wallet.read(config.identity) if config.identity is not None else None
        if identity is not None and identity.role != "mec":
            raise ValueError(f"{config.identity} is a {identity.role}'s wallet, not a MEC node's")
        responder = AnonymousResponder(
            identity,
            anonymous_key_agreement_pb2_grpc.TtpAnonymousKeyAgreementServiceStub(ttp_channel),
            metrics,
            config.ttp_timeout,
        )
        emergencies = Emergencies(config.emergency)
        alerts = MecAlertsService(
            responder,
            emergencies,
            emergency_pb2_grpc.EmergencyServiceStub(ttp_channel),
            metrics,
            config.ttp_timeout,
        )
        fetcher = ContextFetcher(
            identity,
            analyses,
            emergencies,
            metrics,
            timeout=config.transfer_timeout,
            tls=config.peer_tls,
        )
        cleanup.push_async_callback(fetcher.close)
        pool = None
        if config.scheme is Scheme.BRAEKEN2021:
            pool = CredentialPool(store, config.lease_wait, metrics)
            key_agreement = partial(
                mec_key_agreement_pb2_grpc.add_MecKeyAgreementServiceServicer_to_server,
                MecKeyAgreementService(
                    pool,
                    ttp_key_agreement_pb2_grpc.TtpKeyAgreementServiceStub(ttp_channel),
                    metrics,
                    sessions,
                    ttp_timeout=config.ttp_timeout,
                    fetcher=fetcher,
                ),
            )
        else:
            key_agreement = partial(
                anonymous_key_agreement_pb2_grpc.add_MecAnonymousKeyAgreementServiceServicer_to_server,
                MecAnonymousKeyAgreementService(responder, metrics, sessions),
            )
        server, port = await start_server(
            config.listen,
            [
                key_agreement,
                partial(
                    mec_data_pb2_grpc.add_MecDataServiceServicer_to_server,
                    MecDataService(sessions, analyses, metrics, alerts.analysed),
                ),
                partial(
                    analysis_pb2_grpc.add_AnalysisServiceServicer_to_server,
                    AnalysisService(analyses),
                ),
                partial(
                    mec_results_pb2_grpc.add_MecResultsServiceServicer_to_server,
                    MecResultsService(analyses, responder, metrics),
                ),
                partial(mec_alerts_pb2_grpc.add_MecAlertsServiceServicer_to_server, alerts),
                partial(
                    mec_context_transfer_pb2_grpc.add_MecContextTransferServiceServicer_to_server,
                    MecContextTransferService(identity, analyses, sessions, emergencies, metrics),
                ),
            ],
            [offered.name for offered in offered_services(config.scheme)],
            config.tls,
            metrics,
            limits(
                AGREE_METHODS[config.scheme],
                [("per_source", config.rate_per_source, lambda _, context: peer_host(context))],
            ),
        )
        cleanup.push_async_callback(server.stop, None)
        platform = None
        if config.platform is not None and identity is not None:
            # Attached once the server listens: discovery must never name a closed port.
            platform = await AppEnablement.attach(
                config.platform,
                identity.identity,
                config.advertise or f"127.0.0.1:{port}",
                offered_services(config.scheme),
                tls=config.platform_tls,
                metrics=metrics,
            )
            fetcher.find_service = platform.find
        cleanup.pop_all()
    return RunningMec(
        store,
        pool,
        ttp_channel,
        metrics,
        server,
        port,
        sessions,
        analyses,
        alerts,
        fetcher,
        platform,
    )


async def serve(config: MecConfig) -> None:
    running = await start(config)
    LOG.info(
        "MEC serving %s on port %d with %d credentials, TTP at %s",
        config.scheme.value,
        running.port,
        running.pool.size if running.pool is not None else 0,
        config.ttp_target,
    )
    try:
        await wait_for_termination(
            running.server,
            health_listen=config.health_listen,
            service_names=[SERVICE_NAMES[config.scheme]],
            stop=running.platform.terminated if running.platform is not None else None,
        )
    finally:
        await running.close()
