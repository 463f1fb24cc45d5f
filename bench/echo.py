"""The bare gRPC echo chain that ``bench handshake`` compares against.

Same topology (client -> MEC-like hop -> TTP-like hop), same services, same protobuf messages and
payload sizes (M1 64 B in; M2 128 B on the backhaul; M3 64 B + handle 48 B back; M4 48 B out),
same server start-up (reflection, health), but no cryptography and no storage. The ratio of the
two rates is what the scheme and its durable records cost on top of gRPC itself.
"""

from __future__ import annotations

from functools import partial

import grpc

from mec5g.core.handle import HANDLE_BYTES, SETTINGS_BYTES
from mec5g.core.messages import M2_BYTES, M3_BYTES
from mec5g.mec.server import SERVICE_NAME as MEC_SERVICE_NAME
from mec5g.runtime.grpc_server import channel, start_server, wait_for_termination
from mec5g.runtime.metrics import Metrics
from mec5g.ttp.server import SERVICE_NAME as TTP_SERVICE_NAME
from mec5g.v1 import (
    mec_key_agreement_pb2,
    mec_key_agreement_pb2_grpc,
    ttp_key_agreement_pb2,
    ttp_key_agreement_pb2_grpc,
)

_M3 = bytes(M3_BYTES)
_HANDLE = bytes(HANDLE_BYTES)
_SETTINGS = bytes(SETTINGS_BYTES)


class EchoTtp(ttp_key_agreement_pb2_grpc.TtpKeyAgreementServiceServicer):
    async def Verify(  # noqa: N802 - gRPC method name
        self, request: ttp_key_agreement_pb2.VerifyRequest, context: grpc.aio.ServicerContext
    ) -> ttp_key_agreement_pb2.VerifyResponse:
        return ttp_key_agreement_pb2.VerifyResponse(
            version=request.version, m3=_M3, analysis_handle=_HANDLE, analysis_settings=_SETTINGS
        )


class EchoMec(mec_key_agreement_pb2_grpc.MecKeyAgreementServiceServicer):
    def __init__(self, ttp: ttp_key_agreement_pb2_grpc.TtpKeyAgreementServiceStub) -> None:
        self._ttp = ttp

    async def Agree(  # noqa: N802 - gRPC method name
        self, request: mec_key_agreement_pb2.AgreeRequest, context: grpc.aio.ServicerContext
    ) -> mec_key_agreement_pb2.AgreeResponse:
        m2 = request.m1 + bytes(M2_BYTES - len(request.m1))
        answer = await self._ttp.Verify(
            ttp_key_agreement_pb2.VerifyRequest(version=request.version, m2=m2), timeout=5.0
        )
        return mec_key_agreement_pb2.AgreeResponse(version=request.version, m4=answer.m3[16:])


async def serve_echo_ttp(listen: str) -> None:
    service = EchoTtp()
    metrics = Metrics("ttp")  # the same interceptors as the real servers, for a fair baseline
    server, _ = await start_server(
        listen,
        [partial(ttp_key_agreement_pb2_grpc.add_TtpKeyAgreementServiceServicer_to_server, service)],
        [TTP_SERVICE_NAME],
        metrics=metrics,
    )
    await wait_for_termination(server)


async def serve_echo_mec(listen: str, ttp_target: str) -> None:
    metrics = Metrics("mec")
    ttp_channel = channel(ttp_target, metrics=metrics)
    service = EchoMec(ttp_key_agreement_pb2_grpc.TtpKeyAgreementServiceStub(ttp_channel))
    server, _ = await start_server(
        listen,
        [partial(mec_key_agreement_pb2_grpc.add_MecKeyAgreementServiceServicer_to_server, service)],
        [MEC_SERVICE_NAME],
        metrics=metrics,
    )
    try:
        await wait_for_termination(server)
    finally:
        await ttp_channel.close()
