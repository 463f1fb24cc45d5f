"""``mec5g ttp serve``: the TTP process."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

from mec5g.runtime.grpc_server import TlsOptions, start_server, wait_for_termination
from mec5g.runtime.metrics import Metrics
from mec5g.ttp.keystore import KeyStore
from mec5g.ttp.service import TtpKeyAgreementService
from mec5g.v1 import ttp_key_agreement_pb2, ttp_key_agreement_pb2_grpc

LOG = logging.getLogger("mec5g.ttp")
SERVICE_NAME = ttp_key_agreement_pb2.DESCRIPTOR.services_by_name["TtpKeyAgreementService"].full_name


@dataclass(frozen=True)
class TtpConfig:
    listen: str
    store: Path
    metrics_port: int
    tls: TlsOptions


async def serve(config: TtpConfig) -> None:
    store = KeyStore(config.store)
    metrics = Metrics("ttp")
    metrics.serve(config.metrics_port)
    service = TtpKeyAgreementService(store, metrics)
    server, port = await start_server(
        config.listen,
        [
            lambda server: ttp_key_agreement_pb2_grpc.add_TtpKeyAgreementServiceServicer_to_server(
                service, server
            )
        ],
        [SERVICE_NAME],
        config.tls,
    )
    LOG.info(
        "TTP serving on port %d, key store %s, metrics :%d", port, config.store, config.metrics_port
    )
    try:
        await wait_for_termination(server)
    finally:
        store.close()
