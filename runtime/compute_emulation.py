"""Compute emulation: a node that computes as slowly as the hardware of its compute profile.

Every computation the roles count (``core.operations.counting``; each ledger reaches
``Metrics.count_operations``) would take, on the profile's hardware, the sum of its operations'
costs there (``Profile.ledger_seconds``). An emulated node takes the larger of that and the real
time: it owes the difference, and pays it by waiting before the next message it sends leaves
(a client call, or the answer to the call it serves), so that the message leaves as late as the
emulated hardware would send it. A device also pays at the end of each attach, so that the
attach's latency includes its last check. Where the host is faster than the profile, nothing
is added; where it is slower (a server-class profile), nothing is taken away: the real time
stands, and both figures are reported (``mec5g_computation_seconds`` and
``mec5g_emulated_computation_seconds``).

Why the difference and not the profile's whole cost added: the real computation has happened
already and took its time, so adding the full cost would count it twice.

What is owed belongs to the asyncio task that computed (each served call gets its own, and a
task that computes outside a served call gets its own at its first computation). Waiting needs
a processor: with ``cores`` set (a MEC or TTP node), at most that many tasks pay at once and the
others queue, as computations would for a busy CPU; without (a UE emulating many devices, each
its own hardware), every task pays at once. Answers of server-streaming calls (phase 6's alert
delivery) are not held back.

The emulation is installed once per process (``install``, from ``--compute-profile``); each
process's ``Metrics`` picks it up when it is made, and the servers and channels made with those
metrics pay what is owed.
"""

from __future__ import annotations

import asyncio
import contextvars
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import grpc

from mec5g.core.operations import Ledger
from mec5g.runtime.compute_profile import Profile
from mec5g.runtime.interceptors import Behaviour, UnaryServerInterceptor


@dataclass
class _Debt:
    """Seconds of emulated computation not waited for yet, and the task that owes them."""

    owner: asyncio.Task[Any] | None
    seconds: float = 0.0


_debt: contextvars.ContextVar[_Debt | None] = contextvars.ContextVar(
    "mec5g_compute_debt", default=None
)


def _current_task() -> asyncio.Task[Any] | None:
    try:
        return asyncio.current_task()
    except RuntimeError:  # no event loop in this thread
        return None


@dataclass
class ComputeEmulation:
    """A node's compute profile and how many computations it runs at once (None: no limit)."""

    profile: Profile
    cores: int | None = None
    _slots: asyncio.Semaphore | None = field(default=None, init=False, repr=False)

    def __post_init__(self) -> None:
        if self.cores is not None:
            if self.cores < 1:
                raise ValueError(f"a node has at least one core, not {self.cores}")
            self._slots = asyncio.Semaphore(self.cores)

    def charge(self, ledger: Ledger) -> float:
        """Note a counted block; returns its emulated seconds (at least the real ones). The
        difference is owed by the current task."""
        emulated = max(ledger.seconds, self.profile.ledger_seconds(ledger))
        owed = emulated - ledger.seconds
        if owed > 0:
            task = _current_task()
            debt = _debt.get()
            if debt is None or debt.owner is not task:
                debt = _Debt(task)
                _debt.set(debt)
            debt.seconds += owed
        return emulated

    async def settle(self) -> None:
        """Wait for what the current task owes (on a free core, with ``cores``)."""
        debt = _debt.get()
        if debt is None or debt.seconds <= 0:
            return
        owed, debt.seconds = debt.seconds, 0.0
        if self._slots is None:
            await asyncio.sleep(owed)
            return
        async with self._slots:
            await asyncio.sleep(owed)


_installed: ComputeEmulation | None = None


def install(emulation: ComputeEmulation | None) -> None:
    """Emulate ``emulation`` in the metrics made from now on in this process (None: stop)."""
    global _installed
    _installed = emulation


def installed() -> ComputeEmulation | None:
    return _installed


async def settle(emulation: ComputeEmulation | None) -> None:
    """Pay what the current task owes, if ``emulation`` is on."""
    if emulation is not None:
        await emulation.settle()


class ComputeServerInterceptor(UnaryServerInterceptor):
    """Gives every served unary call its own debt and pays it before the answer leaves,
    whether the call answers or aborts."""

    def __init__(self, emulation: ComputeEmulation) -> None:
        super().__init__()
        self._emulation = emulation

    def wrap(self, method: str, handler: grpc.RpcMethodHandler) -> Behaviour:
        inner = handler.unary_unary
        emulation = self._emulation

        async def emulated(request: Any, context: grpc.aio.ServicerContext) -> Any:
            _debt.set(_Debt(_current_task()))
            try:
                response = await inner(request, context)
            except asyncio.CancelledError:
                raise  # the caller is gone: nothing leaves
            except BaseException:
                await emulation.settle()  # a refusal leaves as late as an answer would
                raise
            await emulation.settle()
            return response

        return emulated


class ComputeClientInterceptor(grpc.aio.UnaryUnaryClientInterceptor):  # type: ignore[misc]
    """Pays what the calling task owes before its request leaves."""

    def __init__(self, emulation: ComputeEmulation) -> None:
        self._emulation = emulation

    async def intercept_unary_unary(
        self,
        continuation: Callable[[grpc.aio.ClientCallDetails, Any], Awaitable[Any]],
        client_call_details: grpc.aio.ClientCallDetails,
        request: Any,
    ) -> Any:
        await self._emulation.settle()
        call = await continuation(client_call_details, request)
        return await call
