"""``mec5g mec serve``: the MEC edge process."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

from mec5g.mec.credential_pool import CredentialPool
from mec5g.mec.service import MecKeyAgreementService
from mec5g.runtime.grpc_server import TlsOptions, channel, start_server, wait_for_termination
from mec5g.runtime.holder_store import open_holder_store
from mec5g.runtime.metrics import Metrics
from mec5g.v1 import mec_key_agreement_pb2, mec_key_agreement_pb2_grpc, ttp_key_agreement_pb2_grpc

LOG = logging.getLogger("mec5g.mec")
SERVICE_NAME = mec_key_agreement_pb2.DESCRIPTOR.services_by_name["MecKeyAgreementService"].full_name


@dataclass(frozen=True)
class MecConfig:
    listen: str
    ttp_target: str
    state: Path
    import_file: Path | None
    metrics_port: int
    lease_wait: float
    ttp_timeout: float
    tls: TlsOptions
    ttp_tls: TlsOptions


async def serve(config: MecConfig) -> None:
    store = open_holder_store(config.state, config.import_file, "mec")
    pool = CredentialPool(store, config.lease_wait)
    metrics = Metrics("mec")
    metrics.serve(config.metrics_port)
    ttp_channel = channel(config.ttp_target, config.ttp_tls)
    service = MecKeyAgreementService(
        pool,
        ttp_key_agreement_pb2_grpc.TtpKeyAgreementServiceStub(ttp_channel),
        metrics,
        ttp_timeout=config.ttp_timeout,
    )
    server, port = await start_server(
        config.listen,
        [
            lambda server: mec_key_agreement_pb2_grpc.add_MecKeyAgreementServiceServicer_to_server(
                service, server
            )
        ],
        [SERVICE_NAME],
        config.tls,
    )
    LOG.info(
        "MEC serving on port %d with %d credentials, TTP at %s", port, pool.size, config.ttp_target
    )
    try:
        await wait_for_termination(server)
    finally:
        await pool.drain()
        await ttp_channel.close()
        store.close()
