"""gRPC server and client metrics for ``grpc.aio`` (the usual py-grpc-prometheus has no aio
support): calls handled by service, method and status code, and their latency.

Labels are the service and method names and the status code: never a request field.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from typing import Any

import grpc

from mec5g.runtime.interceptors import Behaviour, UnaryServerInterceptor
from mec5g.runtime.metrics import Metrics


def _split(method: str) -> tuple[str, str]:
    """``/package.Service/Method`` to (``package.Service``, ``Method``)."""
    _, service, name = method.split("/", 2) if method.count("/") == 2 else ("", "", method)
    return service or "unknown", name


class ServerMetricsInterceptor(UnaryServerInterceptor):
    """Times and counts every unary call a server handles."""

    def __init__(self, metrics: Metrics) -> None:
        super().__init__()
        self._metrics = metrics

    def wrap(self, method: str, handler: grpc.RpcMethodHandler) -> Behaviour:
        service, name = _split(method)
        inner = handler.unary_unary
        metrics = self._metrics

        async def measured(request: Any, context: grpc.aio.ServicerContext) -> Any:
            started = time.perf_counter()
            code = grpc.StatusCode.UNKNOWN
            try:
                response = await inner(request, context)
                code = context.code() or grpc.StatusCode.OK
                return response
            except BaseException:
                code = context.code() or grpc.StatusCode.UNKNOWN
                raise
            finally:
                metrics.grpc_call("server", service, name, code, time.perf_counter() - started)

        return measured


class ClientMetricsInterceptor(grpc.aio.UnaryUnaryClientInterceptor):
    """Times and counts every unary call a client channel makes."""

    def __init__(self, metrics: Metrics) -> None:
        self._metrics = metrics

    async def intercept_unary_unary(
        self,
        continuation: Callable[[grpc.aio.ClientCallDetails, Any], Awaitable[Any]],
        client_call_details: grpc.aio.ClientCallDetails,
        request: Any,
    ) -> Any:
        method = client_call_details.method
        service, name = _split(method.decode() if isinstance(method, bytes) else method)
        started = time.perf_counter()
        code = grpc.StatusCode.UNKNOWN
        try:
            call = await continuation(client_call_details, request)
            response = await call
            code = grpc.StatusCode.OK
            return response
        except grpc.aio.AioRpcError as error:
            code = error.code()
            raise
        finally:
            self._metrics.grpc_call("client", service, name, code, time.perf_counter() - started)
