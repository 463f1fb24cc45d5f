"""How core outcomes become gRPC statuses (DESIGN.md decision 4, "Uniform failure").

Malformed input names the field and the size expected (INVALID_ARGUMENT). Every authentication
failure gets UNAUTHENTICATED with one fixed message, whatever the reason, so that a requester
learns nothing about which check failed.
"""

from __future__ import annotations

from typing import NoReturn, cast

import grpc

from mec5g.core.credentials import RecordRule
from mec5g.core.errors import MalformedField
from mec5g.v1 import scheme_pb2

AUTHENTICATION_FAILED = "authentication failed"
_KNOWN_VERSIONS = ", ".join(
    f"{int(rule)} (SCHEME_VERSION_PHASE3_{rule.name}_V1)" for rule in RecordRule
)


async def abort_malformed(context: grpc.aio.ServicerContext, error: MalformedField) -> NoReturn:
    await context.abort(grpc.StatusCode.INVALID_ARGUMENT, str(error))
    raise AssertionError("unreachable: abort raises")


async def abort_unauthenticated(context: grpc.aio.ServicerContext) -> NoReturn:
    await context.abort(grpc.StatusCode.UNAUTHENTICATED, AUTHENTICATION_FAILED)
    raise AssertionError("unreachable: abort raises")


def version_problem(version: int) -> str | None:
    """Why a scheme version field is malformed, or None: it must name a known scheme.

    Which known scheme a credential uses is checked against its record, as an authentication
    failure; only an unknown or unset value is malformed input.
    """
    if version in RecordRule._value2member_map_:
        return None
    return f"version must be one of {_KNOWN_VERSIONS}, got {version}"


async def require_version(context: grpc.aio.ServicerContext, version: int) -> int:
    """Abort with INVALID_ARGUMENT unless ``version`` names a known scheme."""
    problem = version_problem(version)
    if problem is not None:
        await context.abort(grpc.StatusCode.INVALID_ARGUMENT, problem)
    return version


def wire_version(version: int) -> scheme_pb2.SchemeVersion:
    """A checked scheme version as the proto enum type (protobuf enums are ints on the wire)."""
    return cast(scheme_pb2.SchemeVersion, version)
