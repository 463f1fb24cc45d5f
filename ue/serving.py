"""Which MEC serves each of the UE's devices, and the channels to reach it.

The UE starts with one serving MEC for every device: a fixed target (``ue serve --mec``), or the
one the MEC platform's discovery names on a MEC host (``--platform``, ``--mec-host``). A handover
moves one patient's devices to another MEC (``ue.handover``); a data session stays with the MEC
that agreed it. One channel per endpoint, opened on first use and shared.
"""

from __future__ import annotations

from dataclasses import dataclass

import grpc

from mec5g.runtime.grpc_server import TlsOptions, channel
from mec5g.runtime.mec_platform import discover, endpoint
from mec5g.runtime.metrics import Metrics
from mec5g.v1 import (
    mec_data_pb2,
    mec_data_pb2_grpc,
    mec_key_agreement_pb2,
    mec_key_agreement_pb2_grpc,
    mec_service_mgmt_pb2_grpc,
)

KEY_AGREEMENT_SERVICE = mec_key_agreement_pb2.DESCRIPTOR.services_by_name[
    "MecKeyAgreementService"
].full_name
DATA_SERVICE = mec_data_pb2.DESCRIPTOR.services_by_name["MecDataService"].full_name


class NotDiscovered(LookupError):
    """The MEC platform lists no serving MEC (key agreement and data) on that MEC host."""


@dataclass(frozen=True)
class MecLink:
    """One MEC as its devices see it: its MEC host ("" for a fixed target) and its services."""

    mec_host: str
    target: str
    key_agreement: mec_key_agreement_pb2_grpc.MecKeyAgreementServiceStub
    data: mec_data_pb2_grpc.MecDataServiceStub


class MecLinks:
    """The serving MEC of every device, and one channel per MEC endpoint."""

    def __init__(self, tls: TlsOptions | None = None, metrics: Metrics | None = None) -> None:
        self._tls = tls
        self._metrics = metrics
        self._channels: dict[str, grpc.aio.Channel] = {}
        self._serving: dict[str, MecLink] = {}
        self.default: MecLink | None = None

    def channel(self, target: str) -> grpc.aio.Channel:
        if target not in self._channels:
            self._channels[target] = channel(target, self._tls, self._metrics)
        return self._channels[target]

    def link(self, target: str, mec_host: str = "", data_target: str | None = None) -> MecLink:
        """The MEC at ``target`` (its data service at ``data_target``, by default the same)."""
        return MecLink(
            mec_host,
            target,
            mec_key_agreement_pb2_grpc.MecKeyAgreementServiceStub(self.channel(target)),
            mec_data_pb2_grpc.MecDataServiceStub(self.channel(data_target or target)),
        )

    def serving(self, device: str) -> MecLink:
        """The MEC ``device`` attaches through."""
        served = self._serving.get(device, self.default)
        if served is None:
            raise NotDiscovered("the UE has no serving MEC yet")
        return served

    def move(self, devices: list[str], link: MecLink) -> None:
        """From now on ``devices`` attach through ``link``."""
        for device in devices:
            self._serving[device] = link

    async def discover(
        self, platform: mec_service_mgmt_pb2_grpc.MecServiceMgmtServiceStub, mec_host: str
    ) -> MecLink:
        """The MEC serving on ``mec_host`` (any host when empty), found through discovery;
        NotDiscovered if it offers no key agreement and data service there."""
        agree = await discover(platform, KEY_AGREEMENT_SERVICE, mec_host)
        if agree is None:
            raise NotDiscovered(f"no MEC key-agreement service on MEC host {mec_host or 'any'!r}")
        data = await discover(platform, DATA_SERVICE, agree.mec_host)
        if data is None:
            raise NotDiscovered(f"no MEC data service on MEC host {agree.mec_host!r}")
        return self.link(endpoint(agree), agree.mec_host, endpoint(data))

    async def close(self) -> None:
        for opened in self._channels.values():
            await opened.close()
        self._channels.clear()
