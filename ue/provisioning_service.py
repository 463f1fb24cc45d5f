"""``mec5g.v1.UeProvisioningService``: the patient app installs device credentials (phase 2).

Paper section 5.2: the patient stores (DIDi, DKi) in each device, "preferable in tamper proof
memory". Here the patient app, having opened the TTP's sealed answer, calls ``Provision`` on the
UE control port; the devices' state store is that memory. A device the UE holds already is
re-provisioned: its new credential starts with counter 0.
"""

from __future__ import annotations

import grpc

from mec5g.core.credentials import Credential, HolderState, RecordRule
from mec5g.core.errors import MalformedField
from mec5g.core.profiles import NAME_PATTERN
from mec5g.runtime.status import abort_malformed, version_problem
from mec5g.ue.fleet import DeviceFleet
from mec5g.v1 import ue_provisioning_pb2, ue_provisioning_pb2_grpc


class UeProvisioningService(ue_provisioning_pb2_grpc.UeProvisioningServiceServicer):
    """Thin adapter between gRPC and ``DeviceFleet.install``."""

    def __init__(self, fleet: DeviceFleet) -> None:
        self._fleet = fleet

    async def Provision(  # noqa: N802 - gRPC method name
        self, request: ue_provisioning_pb2.ProvisionRequest, context: grpc.aio.ServicerContext
    ) -> ue_provisioning_pb2.ProvisionResponse:
        states: dict[str, HolderState] = {}
        for device in request.devices:
            patient, _, name = device.device.partition("/")
            if not (NAME_PATTERN.fullmatch(patient) and NAME_PATTERN.fullmatch(name)):
                await context.abort(
                    grpc.StatusCode.INVALID_ARGUMENT,
                    "device must be patient/device, each 1 to 64 characters of [A-Za-z0-9._-]",
                )
            try:
                credential = Credential(device.did, device.dk)
            except MalformedField as error:
                await abort_malformed(context, error)
            problem = version_problem(device.version)
            if problem is not None:
                await context.abort(grpc.StatusCode.INVALID_ARGUMENT, problem)
            states[device.device] = HolderState(credential, RecordRule(device.version))
        if not states:
            await context.abort(grpc.StatusCode.INVALID_ARGUMENT, "devices must name at least one")
        installed, replaced = await self._fleet.install(states)
        return ue_provisioning_pb2.ProvisionResponse(installed=installed, replaced=replaced)
