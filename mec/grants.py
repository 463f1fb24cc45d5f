"""The MEC's gate for TTP grants (phases 5 and 6): what the results and alerts services share.

``admit`` checks a grant (``core.user_access.verify_grant``) and spends it, so a grant opens one
results request or one watch; ``refuse`` turns what went wrong into the status both services
answer: FAILED_PRECONDITION without the node's ECQV identity, INVALID_ARGUMENT naming a malformed
field, UNAUTHENTICATED with one fixed message for any grant that fails (the reason goes to the
log and the phase's outcome label only).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import NoReturn

import grpc

from mec5g.core import user_access
from mec5g.core.errors import AuthenticationFailed, InvalidField, MalformedField
from mec5g.core.user_access import Grant, GrantPurpose, SpentGrants
from mec5g.runtime.status import abort_unauthenticated
from mec5g.runtime.wallet import Wallet

LOG = logging.getLogger("mec5g.mec")
GrantError = MalformedField | InvalidField | AuthenticationFailed


class GrantGate:
    """Grants of this node; ``clock`` is wall time, which grant expiries are in."""

    def __init__(self, identity: Wallet | None, clock: Callable[[], float] = time.time) -> None:
        self.identity = identity
        self._clock = clock
        self._spent = SpentGrants()

    def admit(self, identity: Wallet, purpose: GrantPurpose, raw: bytes, signature: bytes) -> Grant:
        """The grant, checked and spent; raises a ``GrantError`` otherwise."""
        now = self._clock()
        grant = user_access.verify_grant(
            identity.ca_public, identity.identity, purpose, raw, signature, now
        )
        self._spent.spend(grant, now)
        return grant

    @staticmethod
    async def no_identity(context: grpc.aio.ServicerContext) -> NoReturn:
        await context.abort(
            grpc.StatusCode.FAILED_PRECONDITION,
            "this MEC node has no ECQV identity: start it with --identity",
        )
        raise AssertionError("unreachable: abort raises")

    @staticmethod
    async def refuse(context: grpc.aio.ServicerContext, error: GrantError, what: str) -> NoReturn:
        if isinstance(error, AuthenticationFailed):
            LOG.info("%s refused: %s", what, error.reason)
            await abort_unauthenticated(context)
        await context.abort(grpc.StatusCode.INVALID_ARGUMENT, str(error))
        raise AssertionError("unreachable: abort raises")


def outcome(error: GrantError) -> str:
    """The phase's outcome label for a refused grant."""
    return error.reason if isinstance(error, AuthenticationFailed) else "malformed"
