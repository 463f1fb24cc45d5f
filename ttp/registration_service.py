"""``mec5g.v1.RegistrationService`` and ``MonitoringService``: phases 1 and 2 over gRPC (the
TTP's part of phases 5 and 6 is ``ttp.anonymous_service``, on the same registry).

Thin adapters around ``mec5g.ttp.registry``: they parse and check fields (INVALID_ARGUMENT names
the field), verify the signature of user requests, run the registry's operation in a worker
thread (one store transaction each) and seal device credentials to the patient. Statuses: an
authentication failure is UNAUTHENTICATED with one fixed message and its reason in this
process's log; the other refusals say what is wrong. No attribute, key or credential is logged
or used as a metric label; identities are logged as keyed fingerprints.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
import time
from collections.abc import Callable, Sequence
from typing import NoReturn, Protocol, TypeVar

import grpc
from google.protobuf.message import DecodeError

from mec5g.core import ecqv, user_crypto
from mec5g.core.errors import InvalidField, MalformedField
from mec5g.core.handle import AnalysisSettings
from mec5g.core.news2 import SpO2Scale
from mec5g.core.operations import counting
from mec5g.core.primitives import local_fingerprint
from mec5g.core.profiles import DoctorAttributes, PatientAttributes, Role
from mec5g.runtime.group_commit import StoreUnavailable
from mec5g.runtime.metrics import Metrics
from mec5g.runtime.status import AUTHENTICATION_FAILED, wire_version
from mec5g.runtime.user_requests import (
    NONCE_BYTES,
    method_name,
    policy_from_wire,
    policy_to_wire,
    sealing_context,
)
from mec5g.ttp import registry
from mec5g.ttp.keystore import EnrolmentRefused
from mec5g.v1 import (
    monitoring_pb2,
    monitoring_pb2_grpc,
    registration_pb2,
    registration_pb2_grpc,
)

LOG = logging.getLogger("mec5g.ttp")
REGISTRATION = "registration"  # phase 1, the phase label of its metrics
INITIALISATION = "initialisation"  # phase 2: creating analyses and their life cycle
T = TypeVar("T")

_STATUS = {
    registry.Refusal.UNAUTHENTICATED: grpc.StatusCode.UNAUTHENTICATED,
    registry.Refusal.PERMISSION_DENIED: grpc.StatusCode.PERMISSION_DENIED,
    registry.Refusal.NOT_FOUND: grpc.StatusCode.NOT_FOUND,
    registry.Refusal.ALREADY_EXISTS: grpc.StatusCode.ALREADY_EXISTS,
    registry.Refusal.FAILED_PRECONDITION: grpc.StatusCode.FAILED_PRECONDITION,
}


def _unix_ms(seconds: float) -> int:
    return int(seconds * 1000)


class RegistryCalls:
    """What the registry services share: run an operation, count it, turn refusals into statuses."""

    def __init__(self, registry_: registry.Registry, metrics: Metrics) -> None:
        self._registry = registry_
        self._metrics = metrics

    async def run(
        self,
        context: grpc.aio.ServicerContext,
        phase: str,
        operation: Callable[[], T],
    ) -> T:
        """Run ``operation`` in a worker thread: INVALID_ARGUMENT for bad fields, the refusal's
        status otherwise; its operations and time are counted under ``phase``."""
        started = time.perf_counter()

        def counted() -> T:
            with counting() as ledger:
                result = operation()
            self._metrics.count_operations(phase, ledger)
            return result

        try:
            result = await asyncio.to_thread(counted)
        except (MalformedField, InvalidField) as error:
            self._metrics.observe(phase, "malformed", time.perf_counter() - started)
            await _abort(context, grpc.StatusCode.INVALID_ARGUMENT, str(error))
        except (sqlite3.Error, StoreUnavailable):
            LOG.exception("%s: the store could not commit", phase)
            self._metrics.observe(phase, "store_error", time.perf_counter() - started)
            await _abort(context, grpc.StatusCode.UNAVAILABLE, "store unavailable")
        except EnrolmentRefused as refusal:  # a device label or DID taken outside the registry
            self._metrics.observe(phase, "failed_precondition", time.perf_counter() - started)
            await _abort(context, grpc.StatusCode.FAILED_PRECONDITION, str(refusal))
        except registry.Refused as refusal:
            self._metrics.observe(phase, refusal.kind.value, time.perf_counter() - started)
            if refusal.kind is registry.Refusal.UNAUTHENTICATED:
                LOG.info("%s refused: %s", phase, refusal.detail)
                await _abort(context, grpc.StatusCode.UNAUTHENTICATED, AUTHENTICATION_FAILED)
            await _abort(context, _STATUS[refusal.kind], refusal.detail)
        self._metrics.observe(phase, "accepted", time.perf_counter() - started)
        return result


async def _abort(context: grpc.aio.ServicerContext, code: grpc.StatusCode, text: str) -> NoReturn:
    await context.abort(code, text)
    raise AssertionError("unreachable: abort raises")


class RegistrationService(registration_pb2_grpc.RegistrationServiceServicer):
    """Phase 1: the CA key and registration with an enrolment code."""

    def __init__(self, registry_: registry.Registry, metrics: Metrics) -> None:
        self._registry = registry_
        self._calls = RegistryCalls(registry_, metrics)

    async def GetAuthority(  # noqa: N802 - gRPC method name
        self, request: registration_pb2.GetAuthorityRequest, context: grpc.aio.ServicerContext
    ) -> registration_pb2.GetAuthorityResponse:
        return registration_pb2.GetAuthorityResponse(ca_public_key=self._registry.ca_public)

    async def Register(  # noqa: N802 - gRPC method name
        self, request: registration_pb2.RegisterRequest, context: grpc.aio.ServicerContext
    ) -> registration_pb2.RegisterResponse:
        def register() -> registry.Registered:
            role = _role(request.role)
            attributes: PatientAttributes | DoctorAttributes
            which = request.WhichOneof("attributes")
            if role is Role.PATIENT and which == "patient":
                attributes = PatientAttributes.checked(
                    request.patient.allergies, request.patient.blood_group
                )
            elif role is Role.DOCTOR and which == "doctor":
                attributes = DoctorAttributes.checked(
                    request.doctor.expertise, request.doctor.hospital
                )
            else:
                raise InvalidField(
                    "attributes", f"the {role.label} attributes for role {role.label}"
                )
            return self._registry.register(
                request.enrolment_code, request.user_id, role, request.request_point, attributes
            )

        registered = await self._calls.run(context, REGISTRATION, register)
        LOG.info("registered user %s", local_fingerprint(request.user_id.encode()))
        return registration_pb2.RegisterResponse(
            certificate=registered.certificate,
            private_key_contribution=ecqv.scalar_bytes(registered.r),
            ca_public_key=self._registry.ca_public,
            registered_at_unix_ms=_unix_ms(registered.registered_at),
        )


def _role(value: int) -> Role:
    if value not in Role._value2member_map_:
        raise InvalidField("role", "USER_ROLE_PATIENT or USER_ROLE_DOCTOR")
    return Role(value)


class _SignedBody(Protocol):
    """What every signed body message has: a header, and protobuf's parsing."""

    header: monitoring_pb2.RequestHeader

    def ParseFromString(self, serialized: bytes) -> int: ...  # noqa: N802 - protobuf's name


_Body = TypeVar("_Body", bound=_SignedBody)


def _authenticate(
    registry_: registry.Registry,
    method: str,
    signed: monitoring_pb2.SignedBody,
    body_type: type[_Body],
) -> tuple[registry.SignedRequest, _Body]:
    """Parse the body and check the signature and freshness of a user request."""
    body = body_type()
    try:
        body.ParseFromString(signed.body)
    except DecodeError:
        raise InvalidField("signed.body", f"a serialized {body_type.__name__}") from None
    header = body.header
    if len(header.nonce) != NONCE_BYTES:
        raise MalformedField("header.nonce", NONCE_BYTES, len(header.nonce))
    if len(signed.signature) != user_crypto.SIGNATURE_BYTES:
        raise MalformedField("signed.signature", user_crypto.SIGNATURE_BYTES, len(signed.signature))
    request = registry_.authenticate(
        method_name(method),
        signed.user_id,
        signed.body,
        signed.signature,
        header.nonce,
        header.issued_at_unix_ms / 1000,
    )
    return request, body


class MonitoringService(monitoring_pb2_grpc.MonitoringServiceServicer):
    """Phase 2 and the analyses' life cycle, for signed patient and doctor requests."""

    def __init__(self, registry_: registry.Registry, metrics: Metrics) -> None:
        self._registry = registry_
        self._calls = RegistryCalls(registry_, metrics)

    def _sealed(
        self,
        method: str,
        request: registry.SignedRequest,
        analysis_id: str,
        issued: Sequence[registry.IssuedDevice],
    ) -> bytes:
        patient = request.user.user_id
        bundle = monitoring_pb2.DeviceCredentialBundle(
            analysis_id=analysis_id,
            patient_id=patient,
            devices=[
                monitoring_pb2.DeviceCredential(
                    device=device.name,
                    did=device.credential.did,
                    dk=device.credential.dk,
                    installed_at_unix_ms=_unix_ms(device.installed_at),
                    version=wire_version(device.rule),
                )
                for device in issued
            ],
        )
        return user_crypto.seal(
            request.user.public_key,
            bundle.SerializeToString(),
            purpose=method_name(method),
            associated_data=sealing_context(method, patient, analysis_id),
        )

    async def CreateAnalysis(  # noqa: N802 - gRPC method name
        self, request: monitoring_pb2.CreateAnalysisRequest, context: grpc.aio.ServicerContext
    ) -> monitoring_pb2.CreateAnalysisResponse:
        def create() -> monitoring_pb2.CreateAnalysisResponse:
            signed, body = _authenticate(
                self._registry, "CreateAnalysis", request.signed, monitoring_pb2.CreateAnalysisBody
            )
            analysis_id, created_at, issued = self._registry.create_analysis(
                signed, _devices(body.devices), policy_from_wire(body.access)
            )
            return monitoring_pb2.CreateAnalysisResponse(
                analysis_id=analysis_id,
                created_at_unix_ms=_unix_ms(created_at),
                sealed_credentials=self._sealed("CreateAnalysis", signed, analysis_id, issued),
            )

        return await self._calls.run(context, INITIALISATION, create)

    async def AddDevices(  # noqa: N802 - gRPC method name
        self, request: monitoring_pb2.AddDevicesRequest, context: grpc.aio.ServicerContext
    ) -> monitoring_pb2.AddDevicesResponse:
        def add() -> monitoring_pb2.AddDevicesResponse:
            signed, body = _authenticate(
                self._registry, "AddDevices", request.signed, monitoring_pb2.AddDevicesBody
            )
            issued = self._registry.add_devices(signed, body.analysis_id, _devices(body.devices))
            return monitoring_pb2.AddDevicesResponse(
                sealed_credentials=self._sealed("AddDevices", signed, body.analysis_id, issued)
            )

        return await self._calls.run(context, INITIALISATION, add)

    async def RemoveDevices(  # noqa: N802 - gRPC method name
        self, request: monitoring_pb2.RemoveDevicesRequest, context: grpc.aio.ServicerContext
    ) -> monitoring_pb2.RemoveDevicesResponse:
        def remove() -> monitoring_pb2.RemoveDevicesResponse:
            signed, body = _authenticate(
                self._registry, "RemoveDevices", request.signed, monitoring_pb2.DevicesBody
            )
            removed = self._registry.remove_devices(signed, body.analysis_id, list(body.devices))
            return monitoring_pb2.RemoveDevicesResponse(removed=removed)

        return await self._calls.run(context, INITIALISATION, remove)

    async def RevokeDevice(  # noqa: N802 - gRPC method name
        self, request: monitoring_pb2.RevokeDeviceRequest, context: grpc.aio.ServicerContext
    ) -> monitoring_pb2.RevokeDeviceResponse:
        def revoke() -> monitoring_pb2.RevokeDeviceResponse:
            signed, body = _authenticate(
                self._registry, "RevokeDevice", request.signed, monitoring_pb2.DevicesBody
            )
            revoked = self._registry.revoke_devices(signed, body.analysis_id, list(body.devices))
            return monitoring_pb2.RevokeDeviceResponse(revoked=revoked)

        return await self._calls.run(context, INITIALISATION, revoke)

    async def ReprovisionDevice(  # noqa: N802 - gRPC method name
        self,
        request: monitoring_pb2.ReprovisionDeviceRequest,
        context: grpc.aio.ServicerContext,
    ) -> monitoring_pb2.ReprovisionDeviceResponse:
        def reprovision() -> monitoring_pb2.ReprovisionDeviceResponse:
            signed, body = _authenticate(
                self._registry, "ReprovisionDevice", request.signed, monitoring_pb2.DevicesBody
            )
            issued = self._registry.reprovision_devices(
                signed, body.analysis_id, list(body.devices)
            )
            return monitoring_pb2.ReprovisionDeviceResponse(
                sealed_credentials=self._sealed(
                    "ReprovisionDevice", signed, body.analysis_id, issued
                )
            )

        return await self._calls.run(context, INITIALISATION, reprovision)

    async def CloseAnalysis(  # noqa: N802 - gRPC method name
        self, request: monitoring_pb2.CloseAnalysisRequest, context: grpc.aio.ServicerContext
    ) -> monitoring_pb2.CloseAnalysisResponse:
        def close() -> monitoring_pb2.CloseAnalysisResponse:
            signed, body = _authenticate(
                self._registry, "CloseAnalysis", request.signed, monitoring_pb2.AnalysisBody
            )
            closed_at = self._registry.close_analysis(signed, body.analysis_id)
            return monitoring_pb2.CloseAnalysisResponse(closed_at_unix_ms=_unix_ms(closed_at))

        return await self._calls.run(context, INITIALISATION, close)

    async def ListAnalyses(  # noqa: N802 - gRPC method name
        self, request: monitoring_pb2.ListAnalysesRequest, context: grpc.aio.ServicerContext
    ) -> monitoring_pb2.ListAnalysesResponse:
        def list_analyses() -> monitoring_pb2.ListAnalysesResponse:
            signed, _ = _authenticate(
                self._registry, "ListAnalyses", request.signed, monitoring_pb2.ListAnalysesBody
            )
            return monitoring_pb2.ListAnalysesResponse(
                analyses=[_summary(summary) for summary in self._registry.list_analyses(signed)]
            )

        return await self._calls.run(context, INITIALISATION, list_analyses)

    async def SetAnalysisSettings(  # noqa: N802 - gRPC method name
        self,
        request: monitoring_pb2.SetAnalysisSettingsRequest,
        context: grpc.aio.ServicerContext,
    ) -> monitoring_pb2.SetAnalysisSettingsResponse:
        def set_settings() -> monitoring_pb2.SetAnalysisSettingsResponse:
            signed, body = _authenticate(
                self._registry,
                "SetAnalysisSettings",
                request.signed,
                monitoring_pb2.AnalysisSettingsBody,
            )
            try:
                scale = SpO2Scale(body.spo2_scale)
            except ValueError:
                raise InvalidField("spo2_scale", "1 or 2") from None
            self._registry.set_analysis_settings(signed, body.analysis_id, AnalysisSettings(scale))
            return monitoring_pb2.SetAnalysisSettingsResponse(spo2_scale=int(scale))

        return await self._calls.run(context, INITIALISATION, set_settings)


def _devices(specs: Sequence[monitoring_pb2.DeviceSpec]) -> list[registry.DeviceRequest]:
    return [
        registry.DeviceRequest(
            spec.device, policy_from_wire(spec.access) if spec.HasField("access") else None
        )
        for spec in specs
    ]


def _summary(summary: registry.AnalysisSummary) -> monitoring_pb2.AnalysisSummary:
    return monitoring_pb2.AnalysisSummary(
        analysis_id=summary.analysis_id,
        patient_id=summary.patient_id,
        created_at_unix_ms=_unix_ms(summary.created_at),
        closed_at_unix_ms=_unix_ms(summary.closed_at or 0),
        access=policy_to_wire(summary.access),
        devices=[
            monitoring_pb2.DeviceSummary(
                device=device.name,
                installed_at_unix_ms=_unix_ms(device.installed_at),
                revoked=device.revoked,
                access=policy_to_wire(device.access) if device.access else None,
            )
            for device in summary.devices
        ],
    )
