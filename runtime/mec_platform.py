"""What the MEC platform, the MEC app and the UE share about the platform's APIs (MEC 011/021):
discovery of a service on a MEC host, endpoints as ``host:port``, the instance bearer token.

Kept here so that the platform, the MEC and the UE never import each other.
"""

from __future__ import annotations

import grpc

from mec5g.v1 import mec_service_mgmt_pb2, mec_service_mgmt_pb2_grpc

AUTHORIZATION = "authorization"
BEARER_PREFIX = "Bearer "
DISCOVERY_TIMEOUT = 5.0


def bearer(token: str) -> tuple[tuple[str, str]]:
    """The call metadata carrying an application instance's token."""
    return ((AUTHORIZATION, BEARER_PREFIX + token),)


def grpc_transport(
    endpoints: list[mec_service_mgmt_pb2.MecEndpointAddress],
) -> mec_service_mgmt_pb2.MecTransportInfo:
    """MEC 011's TransportInfo of every mec5g service: gRPC, at ``endpoints``."""
    return mec_service_mgmt_pb2.MecTransportInfo(
        id="grpc",
        name="gRPC",
        description="gRPC over HTTP/2, reflection and grpc.health.v1 on every server",
        type=mec_service_mgmt_pb2.MEC_TRANSPORT_TYPE_RPC,
        protocol="GRPC",
        version="2",
        endpoint=endpoints,
    )


def endpoint(info: mec_service_mgmt_pb2.MecServiceInfo) -> str:
    """The first address of a service, as a gRPC target ``host:port``."""
    address = info.transport_info.endpoint[0]
    host = f"[{address.host}]" if ":" in address.host else address.host
    return f"{host}:{address.port}"


def endpoint_address(target: str) -> mec_service_mgmt_pb2.MecEndpointAddress:
    """``host:port`` (or ``[v6]:port``) as MEC 011's address; ValueError if it is neither."""
    host, separator, port = target.rpartition(":")
    if not separator or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError(f"an endpoint is host:port, got {target!r}")
    return mec_service_mgmt_pb2.MecEndpointAddress(host=host.strip("[]"), port=int(port))


async def discover(
    platform: mec_service_mgmt_pb2_grpc.MecServiceMgmtServiceStub, ser_name: str, mec_host: str
) -> mec_service_mgmt_pb2.MecServiceInfo | None:
    """The ACTIVE service ``ser_name`` of a ready instance on ``mec_host`` (any host when
    empty), or None; gRPC errors reach the caller."""
    found = await platform.ListServices(
        mec_service_mgmt_pb2.ListServicesRequest(ser_name=ser_name, mec_host=mec_host),
        timeout=DISCOVERY_TIMEOUT,
    )
    services = list(found.service_info)
    return services[0] if services else None


async def discover_endpoint(
    platform: mec_service_mgmt_pb2_grpc.MecServiceMgmtServiceStub, ser_name: str, mec_host: str
) -> str | None:
    """Where ``ser_name`` listens on ``mec_host``, or None when it is not there or the platform
    cannot be reached."""
    try:
        info = await discover(platform, ser_name, mec_host)
    except grpc.aio.AioRpcError:
        return None
    return endpoint(info) if info is not None else None
