"""Requests that do not decode get INVALID_ARGUMENT, not gRPC's INTERNAL.

gRPC Python decodes a request before the servicer runs and answers INTERNAL ("Exception
deserializing request!") when the bytes are not the method's message: a server error for what is
the caller's mistake. This interceptor hands the servicer's decoder the raw bytes itself and
answers INVALID_ARGUMENT naming the message type it expected. Every server installs it, with a
maximum request size (``MAX_REQUEST_BYTES``; larger requests get RESOURCE_EXHAUSTED from gRPC).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import grpc

from mec5g.runtime.interceptors import Behaviour, UnaryServerInterceptor

# The largest request any mec5g RPC needs is a few hundred bytes; 64 KiB leaves room for every
# extension while keeping a flood of oversized requests cheap to refuse.
MAX_REQUEST_BYTES = 64 * 1024


def _message_name(decode: Callable[[bytes], Any]) -> str:
    owner = getattr(decode, "__self__", None)
    descriptor = getattr(owner, "DESCRIPTOR", None)
    return str(getattr(descriptor, "full_name", "the method's request message"))


class RequestGuardInterceptor(UnaryServerInterceptor):
    """Decodes unary requests inside the handler, so undecodable bytes are the caller's error."""

    receives_raw_requests = True

    def wrap(self, method: str, handler: grpc.RpcMethodHandler) -> Behaviour | None:
        decode = handler.request_deserializer
        if decode is None:
            return None
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

        return guarded
