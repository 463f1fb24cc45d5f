"""The patient and doctor app (phases 1, 2, 5 and 6), as the ``mec5g user`` and ``analysis``
commands and ``mec5g up`` use it.

The app keeps the user's ECQV key pair in a wallet file (``mec5g.runtime.wallet``) that never
leaves the user's machine: registration creates k, sends only R = kG and reconstructs d from the
TTP's answer. Every later request to the TTP is a signed body (``MonitoringService``); device
credentials come back sealed to the user's key, are opened here and installed into the UE's
devices with ``UeProvisioningService/Provision``, or written to an enrolment file for ``mec5g ue
serve --import``. Results and watches (phases 5 and 6) go to the MEC node as the initiator of the
anonymous key agreement (``core.anonymous_agreement``), the request sealed to the TTP inside M1;
the MEC's reports come under the session key, signed by the node (``core.user_access``).

The TTP's CA key can be pinned (``ca_public``); without a pin, the key in the registration
answer is trusted on first use and pinned in the wallet from then on.
"""

from __future__ import annotations

import time
from collections.abc import AsyncGenerator, Sequence
from dataclasses import dataclass
from typing import Any

from mec5g.core import anonymous_agreement, ecqv, user_access, user_crypto
from mec5g.core.anonymous_agreement import Identity, InitiatorState, Purpose
from mec5g.core.credentials import Credential, HolderState, RecordRule
from mec5g.core.errors import AuthenticationFailed
from mec5g.core.primitives import random_bytes
from mec5g.core.profiles import AccessPolicy, DoctorAttributes, PatientAttributes, Role
from mec5g.runtime.status import wire_version
from mec5g.runtime.user_requests import (
    CONTEXT_PURPOSE,
    NONCE_BYTES,
    method_name,
    policy_to_wire,
    sealing_context,
)
from mec5g.runtime.wallet import Wallet
from mec5g.v1 import (
    analysis_pb2,
    anonymous_key_agreement_pb2,
    emergency_pb2,
    mec_alerts_pb2,
    mec_alerts_pb2_grpc,
    mec_results_pb2,
    mec_results_pb2_grpc,
    monitoring_pb2,
    monitoring_pb2_grpc,
    registration_pb2,
    registration_pb2_grpc,
    ue_provisioning_pb2,
    ue_provisioning_pb2_grpc,
)


async def register(
    stub: registration_pb2_grpc.RegistrationServiceStub,
    user_id: str,
    role: Role,
    enrolment_code: str,
    attributes: PatientAttributes | DoctorAttributes,
    ca_public: bytes | None = None,
) -> Wallet:
    """Phase 1 from the user's side: k and R = kG, then d = e·k + r, checked against Q = dG."""
    k, request_point = ecqv.request(user_id)
    request = registration_pb2.RegisterRequest(
        enrolment_code=enrolment_code,
        user_id=user_id,
        role=int(role),  # type: ignore[arg-type]
        request_point=request_point,
    )
    if isinstance(attributes, PatientAttributes):
        request.patient.allergies.extend(attributes.allergies)
        request.patient.blood_group = attributes.blood_group
    else:
        request.doctor.expertise = attributes.expertise
        request.doctor.hospital = attributes.hospital
    response = await stub.Register(request)
    authority = ca_public if ca_public is not None else response.ca_public_key
    if response.ca_public_key != authority:
        raise ecqv.CertificateRejected("the TTP answered with another CA key than the pinned one")
    issued = ecqv.Issued(
        ecqv.Certificate.parse(response.certificate),
        ecqv.scalar_from_bytes(response.private_key_contribution, "private_key_contribution"),
    )
    if issued.certificate.identity != user_id:
        raise ecqv.CertificateRejected("the certificate names another identity")
    pair = ecqv.reconstruct_private(k, issued, authority)
    return Wallet(user_id, role.label, pair, response.certificate, authority)


# The body message each signed method of MonitoringService signs.
BODY_TYPES: dict[str, Any] = {
    "CreateAnalysis": monitoring_pb2.CreateAnalysisBody,
    "AddDevices": monitoring_pb2.AddDevicesBody,
    "RemoveDevices": monitoring_pb2.DevicesBody,
    "RevokeDevice": monitoring_pb2.DevicesBody,
    "ReprovisionDevice": monitoring_pb2.DevicesBody,
    "CloseAnalysis": monitoring_pb2.AnalysisBody,
    "ListAnalyses": monitoring_pb2.ListAnalysesBody,
    "SetAnalysisSettings": monitoring_pb2.AnalysisSettingsBody,
}


def signed_request(wallet: Wallet, method: str, body: Any) -> Any:
    """The request message of ``method`` carrying ``body`` signed by the wallet's user."""
    request_type = getattr(monitoring_pb2, f"{method}Request")
    return request_type(signed=signed(wallet, method, body))


async def call(
    stub: monitoring_pb2_grpc.MonitoringServiceStub, wallet: Wallet, method: str, body: Any
) -> Any:
    """Sign ``body`` and call ``method`` of the monitoring service with it."""
    return await getattr(stub, method)(signed_request(wallet, method, body))


def _fresh(body: Any) -> bytes:
    """``body`` with its header filled with a fresh nonce and the time, serialized."""
    body.header.nonce = random_bytes(NONCE_BYTES)
    body.header.issued_at_unix_ms = int(time.time() * 1000)
    raw: bytes = body.SerializeToString()
    return raw


def signed(wallet: Wallet, method: str, body: Any) -> monitoring_pb2.SignedBody:
    """Fill ``body``'s header with a fresh nonce and the time, serialize it and sign it."""
    raw = _fresh(body)
    return monitoring_pb2.SignedBody(
        user_id=wallet.identity,
        body=raw,
        signature=user_crypto.sign(wallet.pair, method_name(method), wallet.identity, raw),
    )


def open_credentials(
    wallet: Wallet, method: str, analysis_id: str, sealed: bytes
) -> dict[str, HolderState]:
    """Open sealed device credentials, each with the record rule the TTP fixed for it; keys are
    the UE's device names, ``patient/device``."""
    plaintext = user_crypto.open_sealed(
        wallet.pair,
        sealed,
        purpose=method_name(method),
        associated_data=sealing_context(method, wallet.identity, analysis_id),
    )
    bundle = monitoring_pb2.DeviceCredentialBundle()
    bundle.ParseFromString(plaintext)
    if bundle.analysis_id != analysis_id or bundle.patient_id != wallet.identity:
        raise ValueError("sealed credentials of another analysis")
    return {
        f"{wallet.identity}/{device.device}": HolderState(
            Credential(device.did, device.dk), RecordRule(device.version)
        )
        for device in bundle.devices
    }


def device_specs(
    devices: Sequence[str], access: dict[str, AccessPolicy] | None = None
) -> list[monitoring_pb2.DeviceSpec]:
    """Device specs, each with its own access policy where ``access`` names one."""
    specs = []
    for name in devices:
        spec = monitoring_pb2.DeviceSpec(device=name)
        if access and name in access:
            spec.access.CopyFrom(policy_to_wire(access[name]))
        specs.append(spec)
    return specs


async def create_analysis(
    stub: monitoring_pb2_grpc.MonitoringServiceStub,
    wallet: Wallet,
    devices: Sequence[str],
    access: AccessPolicy,
    device_access: dict[str, AccessPolicy] | None = None,
) -> tuple[str, dict[str, HolderState]]:
    """Phase 2: a new analysis; returns its IDa and the opened device credentials."""
    body = monitoring_pb2.CreateAnalysisBody(
        devices=device_specs(devices, device_access), access=policy_to_wire(access)
    )
    response = await call(stub, wallet, "CreateAnalysis", body)
    credentials = open_credentials(
        wallet, "CreateAnalysis", response.analysis_id, response.sealed_credentials
    )
    return response.analysis_id, credentials


def provision_request(states: dict[str, HolderState]) -> ue_provisioning_pb2.ProvisionRequest:
    """The Provision request installing opened credentials."""
    return ue_provisioning_pb2.ProvisionRequest(
        devices=[
            ue_provisioning_pb2.ProvisionedDevice(
                device=name,
                did=state.credential.did,
                dk=state.credential.dk,
                version=wire_version(state.rule),
            )
            for name, state in states.items()
        ]
    )


async def provision(
    stub: ue_provisioning_pb2_grpc.UeProvisioningServiceStub, states: dict[str, HolderState]
) -> ue_provisioning_pb2.ProvisionResponse:
    """Install opened credentials into the UE's devices."""
    response: ue_provisioning_pb2.ProvisionResponse = await stub.Provision(
        provision_request(states)
    )
    return response


def start_request(
    wallet: Wallet, purpose: Purpose, analysis_id: str, mec_node: str
) -> tuple[InitiatorState, bytes]:
    """M1 of a results or watch request for ``analysis_id`` at ``mec_node``: the request (a
    fresh header and the analysis) travels sealed to the TTP, signed with the wallet's key."""
    identity = Identity(ecqv.Certificate.parse(wallet.certificate), wallet.pair)
    request = _fresh(anonymous_key_agreement_pb2.AnonymousRequestBody(analysis_id=analysis_id))
    return anonymous_agreement.initiator_start(
        identity, wallet.ca_public, mec_node, purpose, request
    )


async def read_results(
    results: mec_results_pb2_grpc.MecResultsServiceStub,
    wallet: Wallet,
    analysis_id: str,
    mec_node: str,
) -> analysis_pb2.GetAnalysisResponse:
    """Phase 5: the anonymous key agreement with the MEC node, the TTP vouching for the request;
    then the node's report, checked against its certificate under the pinned CA key and opened
    under the session key."""
    state, m1 = start_request(wallet, Purpose.RESULTS, analysis_id, mec_node)
    answer = await results.GetResults(mec_results_pb2.GetResultsRequest(m1=m1))
    session = anonymous_agreement.initiator_finish(state, answer.m4)
    plaintext = user_access.open_report(
        session,
        wallet.ca_public,
        answer.mec_certificate,
        1,
        answer.sealed_report,
        answer.signature,
    )
    report = analysis_pb2.GetAnalysisResponse()
    report.ParseFromString(plaintext)
    return report


@dataclass(frozen=True)
class ReceivedAlert:
    """An emergency as the watching app verified and opened it."""

    emergency: mec_alerts_pb2.Emergency
    context: emergency_pb2.EmergencyContext


async def watch_emergencies(
    alerts: mec_alerts_pb2_grpc.MecAlertsServiceStub,
    wallet: Wallet,
    analysis_id: str,
    mec_node: str,
) -> AsyncGenerator[ReceivedAlert, None]:
    """Phase 6: the anonymous key agreement on the MEC's stream (its first message finishes
    it), then each alert checked against the MEC node's certificate (AuthenticationFailed for
    a tampered, foreign or out-of-order one) and opened, with the TTP's sealed context."""
    state, m1 = start_request(wallet, Purpose.WATCH, analysis_id, mec_node)
    stream = alerts.Watch(mec_alerts_pb2.WatchRequest(m1=m1))
    try:
        session = None
        async for message in stream:
            if session is None:
                session = anonymous_agreement.initiator_finish(state, message.m4)
                received = 0
                continue
            if message.sequence != received + 1:
                raise AuthenticationFailed("alert_out_of_order")
            emergency = mec_alerts_pb2.Emergency()
            emergency.ParseFromString(
                user_access.open_report(
                    session,
                    wallet.ca_public,
                    message.mec_certificate,
                    message.sequence,
                    message.sealed_alert,
                    message.signature,
                )
            )
            received = message.sequence
            context = emergency_pb2.EmergencyContext()
            context.ParseFromString(
                user_crypto.open_sealed(
                    wallet.pair,
                    message.sealed_context,
                    purpose=CONTEXT_PURPOSE,
                    associated_data=session.initiator_point,
                )
            )
            if context.analysis_id != analysis_id:
                raise AuthenticationFailed("alert_for_another_analysis")
            yield ReceivedAlert(emergency, context)
    finally:
        stream.cancel()
