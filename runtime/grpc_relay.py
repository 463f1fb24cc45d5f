"""A gRPC relay: a server standing between a downstream party and an upstream one on a link.

The downstream party connects to the relay (on a free loopback port) instead of the upstream
party; every unary call it makes reaches the relay's ``handle`` coroutine as raw bytes (method
name, request, servicer context), and ``handle`` decides what crosses: it forwards with
``call`` to the upstream party, over a real socket, and returns the response bytes, or aborts
the call. Both things that sit on a link use it: the attacker's man in the middle
(``attacker/link.py``) and the emulated link (``runtime/link_emulation.py``).

Only unary calls cross: every call a UE makes to its MEC and a MEC to its TTP is unary. The
upstream channel never retries (a key-agreement request is never resent, SPEC.md "Attempts") and
reconnects within a second once a restarted upstream party serves again, so that the relay adds
no outage of its own to a node failure.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import grpc

Handle = Callable[[str, bytes, grpc.aio.ServicerContext], Awaitable[bytes]]

_UPSTREAM_OPTIONS = [
    ("grpc.enable_retries", 0),
    ("grpc.initial_reconnect_backoff_ms", 100),
    ("grpc.min_reconnect_backoff_ms", 100),
    ("grpc.max_reconnect_backoff_ms", 1000),
]


class GrpcRelay:
    """A started relay listens on a free loopback port and forwards what ``handle`` lets through
    to ``upstream`` (host:port)."""

    def __init__(self, upstream: str, handle: Handle) -> None:
        self._handle = handle
        self._channel = grpc.aio.insecure_channel(upstream, options=_UPSTREAM_OPTIONS)
        self._server: grpc.aio.Server | None = None
        self.port = 0

    @property
    def target(self) -> str:
        """Where the downstream party connects instead of the upstream one."""
        return f"127.0.0.1:{self.port}"

    async def start(self) -> None:
        server = grpc.aio.server()
        server.add_generic_rpc_handlers((_Forwarder(self._handle),))
        self.port = server.add_insecure_port("127.0.0.1:0")
        await server.start()
        self._server = server

    async def close(self) -> None:
        if self._server is not None:
            await self._server.stop(None)
        await self._channel.close()

    async def call(self, method: str, payload: bytes, timeout: float | None) -> bytes:
        """One unary call to the upstream party; raises ``grpc.aio.AioRpcError`` as it fails."""
        response: bytes = await self._channel.unary_unary(method)(payload, timeout=timeout)
        return response


class _Forwarder(grpc.GenericRpcHandler):  # type: ignore[misc]
    """Hands every unary call the relay receives to its ``handle``, as raw bytes."""

    def __init__(self, handle: Handle) -> None:
        self._handle = handle

    def service(
        self, handler_call_details: grpc.HandlerCallDetails
    ) -> grpc.RpcMethodHandler | None:
        method: str = handler_call_details.method
        handle = self._handle

        async def relay(request: bytes, context: grpc.aio.ServicerContext) -> bytes:
            return await handle(method, request, context)

        return grpc.unary_unary_rpc_method_handler(relay)
