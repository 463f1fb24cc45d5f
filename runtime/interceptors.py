"""The shape every server interceptor of ours shares: wrap the behaviour of unary methods.

Metrics, the request guard and the rate limits each replace a unary method's behaviour with one
that does something before or around it; this base keeps the handler plumbing in one place.
"""

from __future__ import annotations

import abc
from collections.abc import Awaitable, Callable
from typing import Any

import grpc

Behaviour = Callable[[Any, grpc.aio.ServicerContext], Awaitable[Any]]


class UnaryServerInterceptor(grpc.aio.ServerInterceptor, abc.ABC):  # type: ignore[misc]
    """Wraps unary-unary methods with ``wrap``; leaves streaming methods as they are.

    gRPC asks every interceptor for every call; the wrapped handler of a method is built once
    and reused, keyed by the handler it wraps (the registered one, or the next interceptor's
    reused one), so a call costs a dictionary look-up here instead of new closures and handlers.
    """

    # True when the wrapped behaviour receives the raw request bytes and decodes them itself.
    receives_raw_requests = False

    def __init__(self) -> None:
        # method -> (the handler wrapped, its wrapped handler); the first is kept so that an
        # identity check, not a hash of the handler, says whether the entry still applies.
        self._wrapped: dict[str, tuple[grpc.RpcMethodHandler, grpc.RpcMethodHandler]] = {}

    @abc.abstractmethod
    def wrap(self, method: str, handler: grpc.RpcMethodHandler) -> Behaviour | None:
        """The new behaviour of ``method`` (whose handler is given), or None to leave it."""

    async def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], Awaitable[grpc.RpcMethodHandler]],
        handler_call_details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler:
        handler = await continuation(handler_call_details)
        if handler is None or handler.unary_unary is None:
            return handler
        method = handler_call_details.method
        cached = self._wrapped.get(method)
        if cached is not None and cached[0] is handler:
            return cached[1]
        behaviour = self.wrap(method, handler)
        wrapped = (
            handler
            if behaviour is None
            else grpc.unary_unary_rpc_method_handler(
                behaviour,
                request_deserializer=None
                if self.receives_raw_requests
                else handler.request_deserializer,
                response_serializer=handler.response_serializer,
            )
        )
        self._wrapped[method] = (handler, wrapped)
        return wrapped
