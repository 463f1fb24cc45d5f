"""``mec5g.v1.EmergencyService``: the TTP's part of phase 6 (paper section 4.1, step 6).

A MEC node raises an emergency for an analysis pseudonym, signed with its ECQV key; the registry
maps it back to the analysis through the watches the TTP vouched for at the node and keeps the
watchers whose users the access policy still allows. For each, the TTP seals a context to the
watcher's own ECQV key, bound to the watch's ephemeral X: the analysis, the patient and the
patient's allergies and blood group, which the MEC forwards without being able to read.
Statuses as ``MonitoringService``'s; nothing personal is logged.
"""

from __future__ import annotations

import logging

import grpc
from google.protobuf.message import DecodeError

from mec5g.core import user_crypto
from mec5g.core.errors import InvalidField, MalformedField
from mec5g.core.handle import PSEUDONYM_BYTES
from mec5g.core.primitives import local_fingerprint
from mec5g.runtime.metrics import EMERGENCY, Metrics
from mec5g.runtime.user_requests import CONTEXT_PURPOSE, NONCE_BYTES, emergency_method
from mec5g.ttp import registry
from mec5g.ttp.registration_service import RegistryCalls
from mec5g.v1 import emergency_pb2, emergency_pb2_grpc

LOG = logging.getLogger("mec5g.ttp")


def seal_context(involved: registry.Involved) -> bytes:
    """What the TTP tells one involved watcher, readable by the grant's holder only."""
    context = emergency_pb2.EmergencyContext(
        analysis_id=involved.analysis_id,
        patient_id=involved.patient_id,
        allergies=involved.patient.allergies,
        blood_group=involved.patient.blood_group,
    )
    return user_crypto.seal(
        involved.watcher_key,
        context.SerializeToString(),
        purpose=CONTEXT_PURPOSE,
        associated_data=involved.requester_key,
    )


class EmergencyService(emergency_pb2_grpc.EmergencyServiceServicer):
    """Emergencies from MEC nodes: who is involved, and their sealed contexts."""

    def __init__(self, registry_: registry.Registry, metrics: Metrics) -> None:
        self._registry = registry_
        self._calls = RegistryCalls(registry_, metrics)
        self._metrics = metrics

    async def RaiseEmergency(  # noqa: N802 - gRPC method name
        self, request: emergency_pb2.RaiseEmergencyRequest, context: grpc.aio.ServicerContext
    ) -> emergency_pb2.RaiseEmergencyResponse:
        def raise_emergency() -> emergency_pb2.RaiseEmergencyResponse:
            body = emergency_pb2.EmergencyBody()
            try:
                body.ParseFromString(request.body)
            except DecodeError:
                raise InvalidField("body", "a serialized EmergencyBody") from None
            if len(body.nonce) != NONCE_BYTES:
                raise MalformedField("body.nonce", NONCE_BYTES, len(body.nonce))
            if len(body.pseudonym) != PSEUDONYM_BYTES:
                raise MalformedField("body.pseudonym", PSEUDONYM_BYTES, len(body.pseudonym))
            if len(request.signature) != user_crypto.SIGNATURE_BYTES:
                raise MalformedField(
                    "signature", user_crypto.SIGNATURE_BYTES, len(request.signature)
                )
            involved = self._registry.raise_emergency(
                request.node,
                emergency_method(),
                request.body,
                request.signature,
                body.nonce,
                body.raised_at_unix_ms / 1000,
                body.pseudonym,
                list(body.watch_ids),
            )
            return emergency_pb2.RaiseEmergencyResponse(
                involved=[
                    emergency_pb2.InvolvedWatcher(
                        watch_id=watcher.watch_id, sealed_context=seal_context(watcher)
                    )
                    for watcher in involved
                ]
            )

        response = await self._calls.run(context, EMERGENCY, raise_emergency)
        self._metrics.sent("emergency_answer", 0, response.ByteSize())
        LOG.info(
            "emergency from MEC node %s: %d watchers involved",
            local_fingerprint(request.node.encode()),
            len(response.involved),
        )
        return response
