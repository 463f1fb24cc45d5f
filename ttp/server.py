"""``mec5g ttp serve``: the TTP process, and ``start`` for whoever embeds it (tests, tools).

It serves the devices' key agreement of its ``--scheme`` (phase 3: the paper's scheme, or the
public-key baseline [36] through the anonymous key agreement), registration (phase 1),
monitoring initialisation with the analyses' life cycle (phase 2), users' requests (phases 5
and 6, the anonymous key agreement) and emergencies, all on one port and one database: a SQLite
file, or a PostgreSQL database shared by several replicas (``--store-url``), which then serve
every one of these alike.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from functools import partial

import grpc

from mec5g.core.credentials import RecordRule
from mec5g.core.messages import M2_BYTES
from mec5g.core.primitives import IDENTITY_BYTES
from mec5g.runtime.grpc_server import TlsOptions, start_server, wait_for_termination
from mec5g.runtime.metrics import KEY_AGREEMENT, Metrics
from mec5g.runtime.rate_limit import PER_DEVICE, PER_MEC, RatePolicy, limits, peer_identity
from mec5g.runtime.scheme import Scheme
from mec5g.ttp.anonymous_service import TtpAnonymousKeyAgreementService
from mec5g.ttp.at_rest import MasterKey
from mec5g.ttp.emergency_service import EmergencyService
from mec5g.ttp.postgres_store import is_url
from mec5g.ttp.registration_service import MonitoringService, RegistrationService
from mec5g.ttp.registry import Registry
from mec5g.ttp.service import TtpKeyAgreementService
from mec5g.ttp.stores import RecordStore, StoreLocation, open_key_store
from mec5g.ttp.transfer_tickets import TransferTickets
from mec5g.v1 import (
    anonymous_key_agreement_pb2,
    anonymous_key_agreement_pb2_grpc,
    emergency_pb2,
    emergency_pb2_grpc,
    monitoring_pb2,
    monitoring_pb2_grpc,
    registration_pb2,
    registration_pb2_grpc,
    ttp_key_agreement_pb2,
    ttp_key_agreement_pb2_grpc,
)

LOG = logging.getLogger("mec5g.ttp")
SERVICE_NAME = ttp_key_agreement_pb2.DESCRIPTOR.services_by_name["TtpKeyAgreementService"].full_name
REGISTRATION_SERVICE_NAME = registration_pb2.DESCRIPTOR.services_by_name[
    "RegistrationService"
].full_name
MONITORING_SERVICE_NAME = monitoring_pb2.DESCRIPTOR.services_by_name["MonitoringService"].full_name
EMERGENCY_SERVICE_NAME = emergency_pb2.DESCRIPTOR.services_by_name["EmergencyService"].full_name
ANONYMOUS_SERVICE_NAME = anonymous_key_agreement_pb2.DESCRIPTOR.services_by_name[
    "TtpAnonymousKeyAgreementService"
].full_name
# The service answering the devices' key agreement of each scheme: health checks wait for it.
SERVICE_NAMES = {Scheme.BRAEKEN2021: SERVICE_NAME, Scheme.BASELINE36: ANONYMOUS_SERVICE_NAME}


@dataclass(frozen=True)
class TtpConfig:
    listen: str
    # A SQLite file, or a PostgreSQL URL shared with other replicas.
    store: StoreLocation
    metrics_port: int = 0
    tls: TlsOptions = field(default_factory=TlsOptions)
    device_rule: RecordRule = RecordRule.COUNTER
    # Per MEC (its certificate name under mutual TLS, else its address) and per device DIDi.
    rate_per_mec: RatePolicy = PER_MEC
    rate_per_device: RatePolicy = PER_DEVICE
    health_listen: str | None = None
    # Seals the DKs at rest (``mec5g.ttp.at_rest``); None keeps them in the clear.
    master_key: MasterKey | None = None
    # The devices' key agreement: the paper's scheme, or [36] (anonymous key agreement).
    scheme: Scheme = Scheme.BRAEKEN2021


VERIFY_METHOD = f"/{SERVICE_NAME}/Verify"
VOUCH_METHOD = f"/{ANONYMOUS_SERVICE_NAME}/Vouch"


def _device_identity(request: ttp_key_agreement_pb2.VerifyRequest, _: object) -> bytes | None:
    """DIDi, the first field of M2; a malformed M2 is left to the service to refuse."""
    return bytes(request.m2[:IDENTITY_BYTES]) if len(request.m2) == M2_BYTES else None


@dataclass
class RunningTtp:
    """A started TTP: its key store, registry, metrics and gRPC server."""

    store: RecordStore
    registry: Registry
    metrics: Metrics
    server: grpc.aio.Server
    port: int

    @property
    def target(self) -> str:
        return f"127.0.0.1:{self.port}"

    async def close(self, grace: float | None = None) -> None:
        await self.server.stop(grace)
        self.registry.close()
        await self.store.aclose()


async def start(config: TtpConfig) -> RunningTtp:
    metrics = Metrics("ttp")
    metrics.running(config.scheme.value)
    store = open_key_store(
        config.store, partial(metrics.count_operations, KEY_AGREEMENT), config.master_key
    )
    try:
        registry = Registry(
            config.store, device_rule=config.device_rule, master_key=config.master_key
        )
    except BaseException:
        await store.aclose()
        raise
    metrics.serve(config.metrics_port)
    registrations = []
    service_names = []
    if config.scheme is Scheme.BRAEKEN2021:
        registrations.append(
            partial(
                ttp_key_agreement_pb2_grpc.add_TtpKeyAgreementServiceServicer_to_server,
                TtpKeyAgreementService(store, metrics, TransferTickets(registry, metrics)),
            )
        )
        service_names.append(SERVICE_NAME)
    registrations += [
        partial(
            registration_pb2_grpc.add_RegistrationServiceServicer_to_server,
            RegistrationService(registry, metrics),
        ),
        partial(
            monitoring_pb2_grpc.add_MonitoringServiceServicer_to_server,
            MonitoringService(registry, metrics),
        ),
        partial(
            anonymous_key_agreement_pb2_grpc.add_TtpAnonymousKeyAgreementServiceServicer_to_server,
            TtpAnonymousKeyAgreementService(registry, metrics, config.scheme),
        ),
        partial(
            emergency_pb2_grpc.add_EmergencyServiceServicer_to_server,
            EmergencyService(registry, metrics),
        ),
    ]
    service_names += [
        REGISTRATION_SERVICE_NAME,
        MONITORING_SERVICE_NAME,
        ANONYMOUS_SERVICE_NAME,
        EMERGENCY_SERVICE_NAME,
    ]
    per_mec = ("per_mec", config.rate_per_mec, lambda _, context: peer_identity(context))
    try:
        server, port = await start_server(
            config.listen,
            registrations,
            service_names,
            config.tls,
            metrics,
            limits(
                VERIFY_METHOD,
                [per_mec, ("per_device", config.rate_per_device, _device_identity)],
            )
            + limits(VOUCH_METHOD, [per_mec]),
        )
    except BaseException:
        registry.close()
        await store.aclose()
        raise
    return RunningTtp(store, registry, metrics, server, port)


async def serve(config: TtpConfig) -> None:
    running = await start(config)
    LOG.info(
        "TTP serving %s on port %d, key store %s, metrics :%d",
        config.scheme.value,
        running.port,
        "PostgreSQL" if is_url(config.store) else config.store,
        config.metrics_port,
    )
    try:
        await wait_for_termination(
            running.server,
            health_listen=config.health_listen,
            service_names=[SERVICE_NAMES[config.scheme]],
        )
    finally:
        await running.close()
