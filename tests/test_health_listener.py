"""The plaintext health-only listener (``--health-listen``) for servers behind TLS.

Kubernetes' native gRPC probes cannot speak TLS, so a TTP under mutual TLS is probed on a second,
plaintext port that carries ``grpc.health.v1`` and nothing else: it reports the main server's
services while that server runs and goes away with it.
"""

from __future__ import annotations

import asyncio
import socket

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from mec5g.runtime.grpc_server import start_server, wait_for_termination, wait_serving

SERVICE = "mec5g.v1.TtpKeyAgreementService"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


async def test_health_listener_reports_the_main_server_and_nothing_else() -> None:
    server, _ = await start_server("127.0.0.1:0", [], [SERVICE])
    health_port = free_port()
    serving = asyncio.create_task(
        wait_for_termination(
            server, 0, health_listen=f"127.0.0.1:{health_port}", service_names=[SERVICE]
        )
    )
    target = f"127.0.0.1:{health_port}"
    await wait_serving(target, SERVICE, timeout=10)
    async with grpc.aio.insecure_channel(target) as probe:
        with pytest.raises(grpc.aio.AioRpcError) as unknown:
            await health_pb2_grpc.HealthStub(probe).Check(
                health_pb2.HealthCheckRequest(service="mec5g.v1.Other"), timeout=2
            )
        assert unknown.value.code() == grpc.StatusCode.NOT_FOUND
        with pytest.raises(grpc.aio.AioRpcError) as refused:
            await probe.unary_unary(f"/{SERVICE}/VerifyAndAnswer")(b"", timeout=2)
        assert refused.value.code() == grpc.StatusCode.UNIMPLEMENTED
    await server.stop(None)
    await asyncio.wait_for(serving, 10)
    async with grpc.aio.insecure_channel(target) as probe:
        with pytest.raises(grpc.aio.AioRpcError) as gone:
            await health_pb2_grpc.HealthStub(probe).Check(
                health_pb2.HealthCheckRequest(service=SERVICE), timeout=1
            )
        assert gone.value.code() == grpc.StatusCode.UNAVAILABLE
