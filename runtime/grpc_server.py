"""Start-up of every mec5g gRPC server and client channel: reflection, health, TLS, no retries.

Every server carries server reflection (so grpcurl needs no .proto files) and the standard
``grpc.health.v1`` service (grpcurl and Kubernetes native gRPC probes). TLS and mutual TLS are
options on every server and client, off by default so that plain grpcurl works locally.
Key-agreement calls must never be resent (SPEC.md "Attempts"), so client channels turn gRPC's
transparent retries off.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import signal
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection

from mec5g.runtime.compute_emulation import ComputeClientInterceptor, ComputeServerInterceptor
from mec5g.runtime.grpc_metrics import ClientMetricsInterceptor, ServerMetricsInterceptor
from mec5g.runtime.metrics import Metrics
from mec5g.runtime.rate_limit import Limit, RateLimitInterceptor
from mec5g.runtime.request_guard import MAX_REQUEST_BYTES, RequestGuardInterceptor

LOG = logging.getLogger("mec5g.runtime")
HEALTH_SERVICE = health_pb2.DESCRIPTOR.services_by_name["Health"].full_name


@dataclass(frozen=True)
class TlsOptions:
    """Certificates for one end of a connection; all empty means plaintext.

    Server: ``cert``/``key`` turn TLS on; ``ca`` additionally requires client certificates
    signed by it (mutual TLS). Client: ``ca`` verifies the server; ``cert``/``key`` present a
    client certificate; ``server_name`` overrides the name checked in the server certificate.
    """

    cert: Path | None = None
    key: Path | None = None
    ca: Path | None = None
    server_name: str | None = None

    def __post_init__(self) -> None:
        if (self.cert is None) != (self.key is None):
            raise ValueError("TLS needs both a certificate and its private key")
        if self.server_name is not None and not (self.cert or self.ca):
            raise ValueError("a TLS server name needs TLS (a CA or a certificate)")

    @property
    def enabled(self) -> bool:
        return self.cert is not None or self.ca is not None

    def server_credentials(self) -> grpc.ServerCredentials:
        if self.cert is None or self.key is None:
            raise ValueError("a TLS server needs both --tls-cert and --tls-key")
        pair = [(self.key.read_bytes(), self.cert.read_bytes())]
        if self.ca is None:
            return grpc.ssl_server_credentials(pair)
        return grpc.ssl_server_credentials(
            pair, root_certificates=self.ca.read_bytes(), require_client_auth=True
        )

    def channel_credentials(self) -> grpc.ChannelCredentials:
        return grpc.ssl_channel_credentials(
            root_certificates=self.ca.read_bytes() if self.ca else None,
            private_key=self.key.read_bytes() if self.key else None,
            certificate_chain=self.cert.read_bytes() if self.cert else None,
        )


def channel(
    target: str,
    tls: TlsOptions | None = None,
    metrics: Metrics | None = None,
    *,
    balanced: bool = False,
    interceptors: Sequence[grpc.aio.ClientInterceptor] = (),
) -> grpc.aio.Channel:
    """A client channel with transparent retries off (a key-agreement request is never resent),
    its calls counted and timed in ``metrics`` when given, and passed through ``interceptors``
    (e.g. a benchmark's byte counts); under a compute profile (the metrics'), a request leaves
    only once the computation that made it has been waited for.

    ``balanced`` spreads calls round-robin over every address the target resolves to: several
    TTP replicas on one shared store, named ``ipv4:host1:port,host2:port`` or by a DNS name with
    one address per replica (a Kubernetes headless Service).
    """
    options: list[tuple[str, Any]] = [("grpc.enable_retries", 0)]
    if balanced:
        options.append(("grpc.lb_policy_name", "round_robin"))
    chain: list[grpc.aio.ClientInterceptor] = [*interceptors]
    if metrics is not None:
        chain.insert(0, ClientMetricsInterceptor(metrics))
        if metrics.compute is not None:
            # The compute wait first, so that the call's own latency is timed without it.
            chain.insert(0, ComputeClientInterceptor(metrics.compute))
    if tls is not None and tls.enabled:
        if tls.server_name:
            options.append(("grpc.ssl_target_name_override", tls.server_name))
        return grpc.aio.secure_channel(
            target, tls.channel_credentials(), options=options, interceptors=chain or None
        )
    return grpc.aio.insecure_channel(target, options=options, interceptors=chain or None)


Registration = Callable[[grpc.aio.Server], None]


async def start_server(
    listen: str,
    registrations: Sequence[Registration],
    service_names: Sequence[str],
    tls: TlsOptions | None = None,
    metrics: Metrics | None = None,
    limits: Sequence[Limit] = (),
) -> tuple[grpc.aio.Server, int]:
    """Start a server with the given services plus reflection and health; return it and its port.

    With ``metrics``, every call it handles is counted and timed there (and, under their compute
    profile, answered no earlier than the emulated hardware would); ``limits`` are checked
    on every decoded request before its handler runs.
    """
    # Metrics first, so that they also count what the guard and the limits refuse.
    interceptors: list[grpc.aio.ServerInterceptor] = [
        RequestGuardInterceptor(),
        RateLimitInterceptor(limits, metrics),
    ]
    if metrics is not None:
        if metrics.compute is not None:  # an answer leaves once its computation is waited for
            interceptors.insert(0, ComputeServerInterceptor(metrics.compute))
        interceptors.insert(0, ServerMetricsInterceptor(metrics))
    server = grpc.aio.server(
        interceptors=interceptors,
        options=[("grpc.max_receive_message_length", MAX_REQUEST_BYTES)],
    )
    for register in registrations:
        register(server)
    health_servicer = health.aio.HealthServicer()
    health_pb2_grpc.add_HealthServicer_to_server(health_servicer, server)
    reflection.enable_server_reflection(
        [*service_names, HEALTH_SERVICE, reflection.SERVICE_NAME], server
    )
    if tls is not None and tls.enabled:
        port = server.add_secure_port(listen, tls.server_credentials())
    else:
        port = server.add_insecure_port(listen)
    await server.start()
    for name in ("", *service_names):
        await health_servicer.set(name, health_pb2.HealthCheckResponse.SERVING)
    return server, port


async def start_health_server(listen: str, service_names: Sequence[str]) -> grpc.aio.Server:
    """Start a plaintext server that carries only ``grpc.health.v1``, reporting ``service_names``.

    Kubernetes' native gRPC probes cannot speak TLS, so a server behind (mutual) TLS is probed
    here instead; nothing but health status (and reflection of the health service, which
    grpcurl needs) is reachable without a certificate. Start it after the main server has
    started, so that SERVING here means the main server is up too.
    """
    server = grpc.aio.server()
    health_servicer = health.aio.HealthServicer()
    health_pb2_grpc.add_HealthServicer_to_server(health_servicer, server)
    reflection.enable_server_reflection([HEALTH_SERVICE, reflection.SERVICE_NAME], server)
    server.add_insecure_port(listen)
    await server.start()
    for name in ("", *service_names):
        await health_servicer.set(name, health_pb2.HealthCheckResponse.SERVING)
    return server


async def wait_serving(target: str, service: str, timeout: float) -> None:
    """Poll ``grpc.health.v1`` at ``target`` until ``service`` is SERVING there.

    Asking for the named service, not the server as a whole, makes sure the right server took
    the port.
    """
    deadline = time.monotonic() + timeout
    async with grpc.aio.insecure_channel(target) as probe:
        stub = health_pb2_grpc.HealthStub(probe)
        while True:
            try:
                reply = await stub.Check(
                    health_pb2.HealthCheckRequest(service=service), timeout=1.0
                )
                if reply.status == health_pb2.HealthCheckResponse.SERVING:
                    return
            except grpc.aio.AioRpcError:
                pass
            if time.monotonic() > deadline:
                raise TimeoutError(f"{service} at {target} did not become healthy in {timeout} s")
            await asyncio.sleep(0.1)


async def wait_for_termination(
    server: grpc.aio.Server,
    grace_seconds: float = 2.0,
    *,
    health_listen: str | None = None,
    service_names: Sequence[str] = (),
    stop: asyncio.Event | None = None,
) -> None:
    """Serve until SIGINT or SIGTERM (or ``stop`` is set: the MEC platform terminating a MEC
    app), then stop with a grace period for calls in flight.

    With ``health_listen``, a plaintext health-only server (``start_health_server``) reports
    ``service_names`` meanwhile, and goes first when stopping so that probes see the end.
    """
    tune_collector()
    health_server = (
        await start_health_server(health_listen, service_names) if health_listen else None
    )
    try:
        await _serve_until_signal(server, grace_seconds, stop or asyncio.Event())
    finally:
        if health_server is not None:
            await health_server.stop(None)


# First-generation threshold of a serving process (CPython's default is 700 allocations).
SERVING_GC_THRESHOLD = 20_000


def tune_collector() -> None:
    """Set the cyclic garbage collector up for a process that now only serves.

    A young collection walks every tracked object still alive, and under load that is every
    object of every call in flight: at 64 calls in flight the default threshold made the MEC
    spend about 6% of its CPU time in collections. Collecting after 20,000 allocations instead
    of 700 walks the same live objects thirty times less often. Whatever start-up allocated
    (modules, services, stores) lives as long as the process, so it is frozen out of the
    collector's generations and full collections no longer walk it.
    """
    gc.collect()
    gc.freeze()
    _, *older = gc.get_threshold()
    gc.set_threshold(SERVING_GC_THRESHOLD, *older)


async def _serve_until_signal(
    server: grpc.aio.Server, grace_seconds: float, stop: asyncio.Event
) -> None:
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(signum, stop.set)
    serving = asyncio.ensure_future(server.wait_for_termination())
    stopping = asyncio.ensure_future(stop.wait())
    await asyncio.wait({serving, stopping}, return_when=asyncio.FIRST_COMPLETED)
    stopping.cancel()
    await server.stop(grace_seconds)
    LOG.info("stopped")
