"""Requests that do not decode get INVALID_ARGUMENT, not gRPC's INTERNAL.

gRPC Python decodes a request before the servicer runs and answers INTERNAL ("Exception
deserializing request!") when the bytes are not the method's message: a server error for what is
the caller's mistake. This interceptor hands the servicer's decoder the raw bytes itself and
answers INVALID_ARGUMENT naming the message type it expected. Every server installs it, with a
maximum request size (``MAX_REQUEST_BYTES``; larger requests get RESOURCE_EXHAUSTED from gRPC).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import grpc

# The largest request any mec5g RPC needs is a few hundred bytes; 64 KiB leaves room for every
# extension while keeping a flood of oversized requests cheap to refuse.
MAX_REQUEST_BYTES = 64 * 1024


def _message_name(decode: Callable[[bytes], Any]) -> str:
    owner = getattr(decode, "__self__", None)
    descriptor = getattr(owner, "DESCRIPTOR", None)
    return str(getattr(descriptor, "full_name", "the method's request message"))


class RequestGuardInterceptor(grpc.aio.ServerInterceptor):  # type: ignore[misc]
    """Decodes unary requests inside the handler, so undecodable bytes are the caller's error."""

    async def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], Awaitable[grpc.RpcMethodHandler]],
        handler_call_details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler:
        handler = await continuation(handler_call_details)
        if handler is None or handler.unary_unary is None or handler.request_deserializer is None:
            return handler
        decode = handler.request_deserializer
        inner = handler.unary_unary
        expected = _message_name(decode)

        async def guarded(raw: bytes, context: grpc.aio.ServicerContext) -> Any:
            try:
                request = decode(raw)
            except Exception:
                await context.abort(
                    grpc.StatusCode.INVALID_ARGUMENT, f"request is not a valid {expected}"
                )
            return await inner(request, context)

        return grpc.unary_unary_rpc_method_handler(
            guarded, response_serializer=handler.response_serializer
        )
