"""``mec5g.v1.TtpAnonymousKeyAgreementService``: the TTP's end of the anonymous key agreement
(``core.anonymous_agreement``), for the devices of the baseline [36] and for users in phases 5
and 6.

For each M2 the TTP authenticates both parties (``ttp_open``) and checks that the responder is a
MEC node registered under that key; then, by purpose:

- a device session (only with ``--scheme baseline36``): the device's identity is registered and
  its record is in an analysis (``ttp.identities.find``); the TTP vouches that analysis's
  pseudonym for the node and its settings (1 byte), as the analysis handle and settings travel
  beside the paper's M3;
- results or a watch: the user is registered under that key, the sealed request is an
  ``AnonymousRequestBody`` with a fresh header whose nonce is unused, and the user may read the
  analysis (``Registry.authorise``, which also remembers a watch); the TTP vouches
  ``core.user_access.Vouched``.

and answers M3 = ``ttp_vouch``. Statuses: INVALID_ARGUMENT naming the field; UNAUTHENTICATED
with one fixed message for every authentication failure, its reason in this process's log
(identities as keyed fingerprints) and, for devices, ``mec5g_ttp_refusals_total``;
PERMISSION_DENIED for a user who may not read the analysis; FAILED_PRECONDITION for a device
session at a TTP that runs the paper's scheme for devices; UNAVAILABLE when the database fails.
"""

from __future__ import annotations

import asyncio
import hmac
import logging
import sqlite3
import time

import grpc
from google.protobuf.message import DecodeError

from mec5g.core import anonymous_agreement
from mec5g.core.anonymous_agreement import Opened, Purpose
from mec5g.core.errors import AuthenticationFailed, InvalidField, MalformedField
from mec5g.core.handle import vouch_analysis
from mec5g.core.operations import counting
from mec5g.core.primitives import local_fingerprint
from mec5g.core.user_access import Vouched
from mec5g.runtime.metrics import KEY_AGREEMENT, USER_REQUEST, Metrics
from mec5g.runtime.scheme import Scheme
from mec5g.runtime.status import abort_unauthenticated
from mec5g.runtime.user_requests import NONCE_BYTES
from mec5g.ttp import identities, registry
from mec5g.ttp.registration_service import RegistryCalls
from mec5g.v1 import anonymous_key_agreement_pb2, anonymous_key_agreement_pb2_grpc

LOG = logging.getLogger("mec5g.ttp")
_PURPOSES = ", ".join(f"ANONYMOUS_PURPOSE_{purpose.name}" for purpose in Purpose)


class TtpAnonymousKeyAgreementService(
    anonymous_key_agreement_pb2_grpc.TtpAnonymousKeyAgreementServiceServicer
):
    """Thin adapter between gRPC, the core's two TTP steps and the registry's decisions."""

    def __init__(self, registry_: registry.Registry, metrics: Metrics, scheme: Scheme) -> None:
        self._registry = registry_
        self._metrics = metrics
        self._scheme = scheme
        self._calls = RegistryCalls(registry_, metrics)

    async def Vouch(  # noqa: N802 - gRPC method name
        self, request: anonymous_key_agreement_pb2.VouchRequest, context: grpc.aio.ServicerContext
    ) -> anonymous_key_agreement_pb2.VouchResponse:
        if request.purpose not in Purpose._value2member_map_:
            await context.abort(
                grpc.StatusCode.INVALID_ARGUMENT, f"purpose must be one of {_PURPOSES}"
            )
        purpose = Purpose(request.purpose)
        if purpose is not Purpose.DEVICE_SESSION:
            m3 = await self._calls.run(
                context, USER_REQUEST, lambda: self._user_answer(purpose, request.m2)
            )
            return anonymous_key_agreement_pb2.VouchResponse(m3=m3)
        started = time.perf_counter()
        if self._scheme is not Scheme.BASELINE36:
            self._metrics.observe(KEY_AGREEMENT, "wrong_scheme", time.perf_counter() - started)
            await context.abort(
                grpc.StatusCode.FAILED_PRECONDITION,
                f"this TTP runs {self._scheme.value} for devices, not {Scheme.BASELINE36.value}",
            )
        m3 = await self._device_session(request.m2, context, started)
        response = anonymous_key_agreement_pb2.VouchResponse(m3=m3)
        self._metrics.sent(
            "M3", anonymous_agreement.M3_TAG_BYTES, response.ByteSize()
        )  # what the TTP vouches beside the two tags is ours, as the analysis handle is
        return response

    async def _device_session(
        self, m2: bytes, context: grpc.aio.ServicerContext, started: float
    ) -> bytes:
        def answer() -> bytes:
            with counting() as ledger:
                try:
                    return self._device_answer(m2)
                finally:
                    self._metrics.count_operations(KEY_AGREEMENT, ledger)

        try:
            m3 = await asyncio.to_thread(answer)
        except (InvalidField, MalformedField) as error:
            self._metrics.observe(KEY_AGREEMENT, "malformed", time.perf_counter() - started)
            await context.abort(grpc.StatusCode.INVALID_ARGUMENT, str(error))
        except AuthenticationFailed as failure:
            LOG.info("refused a device session: %s", failure.reason)
            self._metrics.refusals.labels(failure.reason).inc()
            self._metrics.observe(KEY_AGREEMENT, "refused", time.perf_counter() - started)
            await abort_unauthenticated(context)
        except sqlite3.Error:
            LOG.exception("device session: the database failed")
            self._metrics.observe(KEY_AGREEMENT, "store_error", time.perf_counter() - started)
            await context.abort(grpc.StatusCode.UNAVAILABLE, "store unavailable")
        self._metrics.observe(KEY_AGREEMENT, "accepted", time.perf_counter() - started)
        return m3

    def _node(self, opened: Opened) -> str:
        """The responder, which must be a MEC node registered under the key it signed with."""
        node = opened.responder.identity
        registered = self._registry.node_key(node)
        if registered is None or not hmac.compare_digest(registered, opened.responder_public):
            raise AuthenticationFailed("unknown_mec")
        return node

    def _device_answer(self, m2: bytes) -> bytes:
        opened = anonymous_agreement.ttp_open(self._registry.authority, Purpose.DEVICE_SESSION, m2)
        node = self._node(opened)
        device = opened.initiator.identity
        found = identities.find(self._registry.database, device)
        if found is None or not hmac.compare_digest(found.public_key, opened.initiator_public):
            LOG.info("unknown device identity %s", local_fingerprint(device.encode()))
            raise AuthenticationFailed("unknown_device")
        pseudonym = self._registry.pseudonym(found.analysis, node)
        return anonymous_agreement.ttp_vouch(opened, vouch_analysis(pseudonym, found.settings))

    def _user_answer(self, purpose: Purpose, m2: bytes) -> bytes:
        try:
            opened = anonymous_agreement.ttp_open(self._registry.authority, purpose, m2)
            node = self._node(opened)
        except AuthenticationFailed as failure:
            raise registry.Refused(registry.Refusal.UNAUTHENTICATED, failure.reason) from None
        body = anonymous_key_agreement_pb2.AnonymousRequestBody()
        try:
            body.ParseFromString(opened.request)
        except DecodeError:
            raise InvalidField("request", "a serialized AnonymousRequestBody") from None
        if len(body.header.nonce) != NONCE_BYTES:
            raise MalformedField("request.header.nonce", NONCE_BYTES, len(body.header.nonce))
        user = opened.initiator.identity
        signed = self._registry.fresh_request(
            user,
            opened.initiator_public,
            body.header.nonce,
            body.header.issued_at_unix_ms / 1000,
        )
        pseudonym, watch_id = self._registry.authorise(
            signed, purpose, body.analysis_id, node, opened.initiator_point
        )
        LOG.info(
            "vouched a %s request of user %s at node %s",
            purpose.name.lower(),
            local_fingerprint(user.encode()),
            local_fingerprint(node.encode()),
        )
        return anonymous_agreement.ttp_vouch(opened, Vouched(pseudonym, watch_id).encode())
