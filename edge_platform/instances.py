"""MEC app instances on the platform's MEC hosts (ETSI MEC 011): who registered, with which
token, whether ready, their services, and their termination.

An instance is registered on one MEC host and gets a random appInstanceId and a bearer token
(the platform keeps only the token's SHA-256 and compares in constant time, as for enrolment
codes). Its services are discoverable while it is *serving*: it confirmed it is ready, its
termination subscription is open (the platform's liveness signal: a process that ends closes
it) and it is not terminating. Termination withdraws the services at once, notifies the
subscription, and forgets the instance when it confirms, or after the graceful timeout.

State is in memory: the platform is the MEC system's live directory, rebuilt by the apps when it
restarts (a MEC app registers at start).
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import secrets
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import TypeVar

import grpc

from mec5g.core.errors import InvalidField
from mec5g.core.profiles import check_name
from mec5g.runtime.mec_platform import AUTHORIZATION, BEARER_PREFIX
from mec5g.v1 import mec_app_support_pb2, mec_service_mgmt_pb2

T = TypeVar("T")
DEFAULT_GRACEFUL_SECONDS = 10
MAX_SER_NAME = 128
MAX_SERVICES_PER_INSTANCE = 64


class Refused(Exception):
    """A request the platform refuses, with the gRPC status it gets."""

    def __init__(self, code: grpc.StatusCode, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def token_hash(token: str) -> bytes:
    return hashlib.sha256(token.encode()).digest()


@dataclass
class AppInstance:
    """One registered MEC app instance."""

    instance_id: str
    app_name: str
    mec_host: str
    token_hash: bytes = field(repr=False)
    ready: bool = False
    subscribed: bool = False  # its termination subscription is open
    terminating: bool = False
    services: dict[str, mec_service_mgmt_pb2.MecServiceInfo] = field(default_factory=dict)
    notifications: asyncio.Queue[mec_app_support_pb2.AppTerminationNotification] = field(
        default_factory=asyncio.Queue
    )

    @property
    def serving(self) -> bool:
        return self.ready and self.subscribed and not self.terminating

    def listed(
        self, info: mec_service_mgmt_pb2.MecServiceInfo
    ) -> mec_service_mgmt_pb2.MecServiceInfo:
        """``info`` as the platform shows it: ACTIVE only while the instance serves."""
        shown = mec_service_mgmt_pb2.MecServiceInfo()
        shown.CopyFrom(info)
        shown.state = (
            mec_service_mgmt_pb2.MEC_SERVICE_STATE_ACTIVE
            if self.serving
            else mec_service_mgmt_pb2.MEC_SERVICE_STATE_INACTIVE
        )
        return shown


class Instances:
    """Every instance of every MEC host of this platform."""

    def __init__(self) -> None:
        self._instances: dict[str, AppInstance] = {}

    def __iter__(self) -> Iterator[AppInstance]:
        return iter(list(self._instances.values()))

    def register(self, app_name: str, mec_host: str) -> tuple[AppInstance, str]:
        """A new instance and its bearer token."""
        check_name(app_name, "app_name")
        check_name(mec_host, "mec_host")
        token = secrets.token_hex(32)
        instance = AppInstance(secrets.token_hex(16), app_name, mec_host, token_hash(token))
        self._instances[instance.instance_id] = instance
        return instance, token

    def get(self, instance_id: str) -> AppInstance:
        instance = self._instances.get(instance_id)
        if instance is None:
            raise Refused(grpc.StatusCode.NOT_FOUND, f"no application instance {instance_id!r}")
        return instance

    def authenticated(self, instance_id: str, token: str | None) -> AppInstance:
        """The instance, if ``token`` is its bearer token."""
        instance = self.get(instance_id)
        presented = token_hash(token or "")
        if not hmac.compare_digest(presented, instance.token_hash) or not token:
            raise Refused(grpc.StatusCode.UNAUTHENTICATED, "authentication failed")
        return instance

    @staticmethod
    def _active(instance: AppInstance) -> None:
        if instance.terminating:
            raise Refused(
                grpc.StatusCode.FAILED_PRECONDITION,
                f"application instance {instance.instance_id} is terminating",
            )

    def confirm_ready(self, instance: AppInstance) -> None:
        self._active(instance)
        instance.ready = True

    def add_service(
        self, instance: AppInstance, info: mec_service_mgmt_pb2.MecServiceInfo
    ) -> mec_service_mgmt_pb2.MecServiceInfo:
        """Register ``info`` for ``instance``; the stored copy, with its serInstanceId."""
        self._active(instance)
        if not 0 < len(info.ser_name) <= MAX_SER_NAME or not info.ser_name.isprintable():
            raise Refused(
                grpc.StatusCode.INVALID_ARGUMENT,
                f"service_info.ser_name must be 1 to {MAX_SER_NAME} printable characters",
            )
        if not info.transport_info.endpoint:
            raise Refused(
                grpc.StatusCode.INVALID_ARGUMENT,
                "service_info.transport_info.endpoint needs at least one address",
            )
        for address in info.transport_info.endpoint:
            if not address.host or not 0 < address.port < 65536:
                raise Refused(
                    grpc.StatusCode.INVALID_ARGUMENT,
                    "service_info.transport_info.endpoint: a host and a port 1-65535",
                )
        if any(known.ser_name == info.ser_name for known in instance.services.values()):
            raise Refused(
                grpc.StatusCode.ALREADY_EXISTS,
                f"{info.ser_name} is registered by this instance already",
            )
        if len(instance.services) >= MAX_SERVICES_PER_INSTANCE:
            raise Refused(
                grpc.StatusCode.RESOURCE_EXHAUSTED,
                f"an instance registers at most {MAX_SERVICES_PER_INSTANCE} services",
            )
        stored = mec_service_mgmt_pb2.MecServiceInfo()
        stored.CopyFrom(info)
        stored.ser_instance_id = secrets.token_hex(16)
        stored.app_instance_id = instance.instance_id
        stored.mec_host = instance.mec_host
        stored.is_local = False
        instance.services[stored.ser_instance_id] = stored
        return instance.listed(stored)

    def remove_service(self, instance: AppInstance, ser_instance_id: str) -> None:
        if instance.services.pop(ser_instance_id, None) is None:
            raise Refused(grpc.StatusCode.NOT_FOUND, f"no service {ser_instance_id!r} here")

    def discover(
        self, request: mec_service_mgmt_pb2.ListServicesRequest
    ) -> list[mec_service_mgmt_pb2.MecServiceInfo]:
        """Service discovery: the services of serving instances matching every filter set."""
        wanted = set(request.ser_instance_id)
        found = []
        for instance in self._instances.values():
            if not instance.serving or request.mec_host not in ("", instance.mec_host):
                continue
            for info in instance.services.values():
                if (
                    request.ser_name in ("", info.ser_name)
                    and request.ser_category_id in ("", info.ser_category.id)
                    and (not wanted or info.ser_instance_id in wanted)
                ):
                    shown = instance.listed(info)
                    shown.is_local = request.mec_host == instance.mec_host
                    found.append(shown)
        return sorted(found, key=lambda info: (info.mec_host, info.ser_name))

    def terminate(self, instance_id: str, graceful_seconds: int) -> bool:
        """Withdraw the instance's services and ask it to end; forget it when it confirms or
        after ``graceful_seconds``. True when a subscription was there to be told."""
        instance = self.get(instance_id)
        self._active(instance)
        instance.terminating = True
        seconds = graceful_seconds or DEFAULT_GRACEFUL_SECONDS
        instance.notifications.put_nowait(
            mec_app_support_pb2.AppTerminationNotification(
                operation_action=mec_app_support_pb2.APP_TERMINATION_OPERATION_ACTION_TERMINATING,
                max_graceful_timeout=seconds,
                app_instance_id=instance_id,
            )
        )
        asyncio.get_running_loop().call_later(seconds, self._instances.pop, instance_id, None)
        return instance.subscribed

    def confirm_termination(self, instance: AppInstance) -> None:
        if not instance.terminating:
            raise Refused(
                grpc.StatusCode.FAILED_PRECONDITION,
                f"application instance {instance.instance_id} was not asked to terminate",
            )
        self._instances.pop(instance.instance_id, None)

    def serving_on(self, mec_host: str) -> list[AppInstance]:
        return [
            instance
            for instance in self._instances.values()
            if instance.serving and instance.mec_host == mec_host
        ]


def bearer_token(context: grpc.aio.ServicerContext) -> str | None:
    """The bearer token of a call's "authorization" metadata, if any."""
    for key, value in context.invocation_metadata() or ():
        if key == AUTHORIZATION and isinstance(value, str) and value.startswith(BEARER_PREFIX):
            return value[len(BEARER_PREFIX) :]
    return None


async def answer(context: grpc.aio.ServicerContext, operation: Callable[[], T]) -> T:
    """Run one platform operation; a refusal or a malformed name becomes its status."""
    try:
        return operation()
    except Refused as refusal:
        await context.abort(refusal.code, refusal.message)
    except InvalidField as error:
        await context.abort(grpc.StatusCode.INVALID_ARGUMENT, str(error))
    raise AssertionError("unreachable: abort raises")
