"""The MEC node's end of the anonymous key agreement (``core.anonymous_agreement``), shared by
the devices of the baseline [36] (``mec.anonymous_service``), users' results (phase 5,
``mec.results_service``) and watches (phase 6, ``mec.alerts_service``).

``agree`` forwards the initiator's M1 as M2 to the TTP's ``Vouch`` (bounded by the TTP timeout),
checks M3, derives the session and returns it with what the TTP vouched and M4. The MEC answers
as its ECQV identity (``mec5g mec serve --identity``). A failure is a ``Refusal`` carrying the
status, message and outcome label the services answer with: FAILED_PRECONDITION without the
node's identity or when the TTP runs another scheme for devices; INVALID_ARGUMENT for an M1 no
initiator could send (or, for a user, a request the TTP could not read); UNAUTHENTICATED with
one fixed message whether the TTP refused or M3 failed here; PERMISSION_DENIED as the TTP said
it (the user may not read the analysis); UNAVAILABLE when the TTP cannot be reached in time.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import NoReturn, TypeVar

import grpc

from mec5g.core import anonymous_agreement
from mec5g.core.anonymous_agreement import Identity, Purpose, ResponderResult
from mec5g.core.ecqv import Certificate
from mec5g.core.errors import AuthenticationFailed, InvalidField, MalformedField
from mec5g.core.operations import counting
from mec5g.runtime.metrics import Metrics
from mec5g.runtime.status import AUTHENTICATION_FAILED
from mec5g.runtime.wallet import Wallet
from mec5g.v1 import anonymous_key_agreement_pb2, anonymous_key_agreement_pb2_grpc

LOG = logging.getLogger("mec5g.mec")
T = TypeVar("T")


class Refusal(Exception):
    """Why an agreement did not complete, as the status the caller gets."""

    def __init__(self, outcome: str, code: grpc.StatusCode, message: str) -> None:
        super().__init__(message)
        self.outcome = outcome
        self.code = code
        self.message = message

    async def abort(self, context: grpc.aio.ServicerContext) -> NoReturn:
        await context.abort(self.code, self.message)
        raise AssertionError("unreachable: abort raises")


async def answer(
    context: grpc.aio.ServicerContext,
    metrics: Metrics,
    phase: str,
    work: Callable[[], Awaitable[T]],
) -> T:
    """Run a unary call's ``work``: its outcome and wall time count under ``phase``, and a
    Refusal becomes its status."""
    started = time.perf_counter()
    outcome = "error"
    try:
        result = await work()
        outcome = "accepted"
        return result
    except Refusal as refusal:
        outcome = refusal.outcome
        await refusal.abort(context)
    finally:
        metrics.observe(phase, outcome, time.perf_counter() - started)


def unauthenticated(outcome: str) -> Refusal:
    """UNAUTHENTICATED with the one fixed message; ``outcome`` is for the metric only."""
    return Refusal(outcome, grpc.StatusCode.UNAUTHENTICATED, AUTHENTICATION_FAILED)


@dataclass(frozen=True)
class Responder:
    """The node's identity as the responder of the agreement, and the TTP's CA key."""

    identity: Identity
    ttp_public: bytes

    @property
    def certificate(self) -> bytes:
        return self.identity.certificate.encoded

    @classmethod
    def of(cls, wallet: Wallet) -> Responder:
        return cls(Identity(Certificate.parse(wallet.certificate), wallet.pair), wallet.ca_public)


class AnonymousResponder:
    """Runs the responder's two steps around the TTP's answer."""

    def __init__(
        self,
        wallet: Wallet | None,
        ttp: anonymous_key_agreement_pb2_grpc.TtpAnonymousKeyAgreementServiceStub,
        metrics: Metrics,
        ttp_timeout: float,
    ) -> None:
        self.node = Responder.of(wallet) if wallet is not None else None
        self._ttp = ttp
        self._metrics = metrics
        self._ttp_timeout = ttp_timeout

    def require_identity(self) -> Responder:
        """The node's identity; a Refusal (FAILED_PRECONDITION) without one."""
        if self.node is None:
            raise Refusal(
                "no_identity",
                grpc.StatusCode.FAILED_PRECONDITION,
                "this MEC node has no ECQV identity: start it with --identity",
            )
        return self.node

    async def agree(self, purpose: Purpose, m1: bytes, phase: str) -> ResponderResult:
        """One agreement for ``m1``; its operations count under ``phase``."""
        node = self.require_identity()
        try:
            with counting() as ledger:
                state, m2 = anonymous_agreement.responder_forward(
                    node.identity, node.ttp_public, purpose, m1
                )
        except (InvalidField, MalformedField) as error:
            raise Refusal("malformed", grpc.StatusCode.INVALID_ARGUMENT, str(error)) from None
        self._metrics.count_operations(phase, ledger)
        request = anonymous_key_agreement_pb2.VouchRequest(
            purpose=int(purpose),  # type: ignore[arg-type]
            m2=m2,
        )
        if purpose is Purpose.DEVICE_SESSION:
            self._metrics.sent("M2", len(m2), request.ByteSize())
        try:
            answer = await self._ttp.Vouch(request, timeout=self._ttp_timeout)
        except grpc.aio.AioRpcError as error:
            raise _refusal_of(error, purpose) from None
        try:
            with counting() as ledger:
                return anonymous_agreement.responder_finish(state, answer.m3)
        except (AuthenticationFailed, InvalidField) as error:
            LOG.warning("answer from the TTP failed verification (%s)", error)
            raise unauthenticated("bad_answer") from None
        finally:
            self._metrics.count_operations(phase, ledger)


def _refusal_of(error: grpc.aio.AioRpcError, purpose: Purpose) -> Refusal:
    """What the caller is told when the TTP refused or did not answer."""
    code = error.code()
    if code == grpc.StatusCode.UNAUTHENTICATED:
        return unauthenticated("refused_by_ttp")
    if code == grpc.StatusCode.PERMISSION_DENIED:
        return Refusal("permission_denied", code, str(error.details()))
    if code == grpc.StatusCode.FAILED_PRECONDITION:
        return Refusal("ttp_rejected", code, str(error.details()))
    if code == grpc.StatusCode.INVALID_ARGUMENT and purpose is not Purpose.DEVICE_SESSION:
        return Refusal("malformed", code, str(error.details()))  # the user's sealed request
    if code == grpc.StatusCode.INVALID_ARGUMENT:
        # The MEC checked M1 and built M2 itself: this is a bug between MEC and TTP.
        LOG.error("TTP refused a request as malformed: %s", error.details())
        return Refusal(
            "ttp_rejected", grpc.StatusCode.INTERNAL, "internal error between MEC and TTP"
        )
    LOG.warning("TTP call failed: %s", code.name)
    return Refusal("ttp_unavailable", grpc.StatusCode.UNAVAILABLE, "TTP unavailable")
