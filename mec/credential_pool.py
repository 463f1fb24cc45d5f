"""The MEC's pool of K credentials (DESIGN.md decision 5; SPEC.md "MEC credentials").

The paper rotates the MEC's (DIDm, DKm) after every key agreement, so handshakes that shared one
credential would race each other into desynchronisation. Each in-flight handshake therefore
leases one credential exclusively.

The counter of every attempt is durable before M2 leaves. To keep that write off the request
path, a credential goes back to the pool with its next attempt already *reserved*: the write
that ends an attempt also stores the next counter. After a success that is the adoption write
itself (it checks the stored (credential, counter) is the attempt's and stores the successor with
counter 0 + 1, the first attempt's); after a failure it is a counter increment. A lease then
starts its attempt without writing. M4 does not wait for the adoption write: if it were lost, the
stored credential is still the TTP's confirmed one. After a restart nothing is reserved (a stored
counter may have been used), so the first attempt of each credential writes its counter first.

When every credential stays busy past ``lease_wait`` seconds the caller gets ``PoolExhausted``.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Coroutine
from typing import Any, TypeVar

from mec5g.core.credentials import Attempt, Credential, HolderState
from mec5g.core.operations import counting
from mec5g.runtime.holder_store import HolderStore
from mec5g.runtime.metrics import KEY_AGREEMENT, Metrics

LOG = logging.getLogger("mec5g.mec")
T = TypeVar("T")


class PoolExhausted(Exception):
    """No credential became free within the lease wait."""


class CredentialPool:
    """K credentials, each leased by one handshake at a time."""

    def __init__(
        self,
        store: HolderStore,
        lease_wait: float,
        metrics: Metrics | None = None,
    ) -> None:
        """``metrics`` gets the pool's credentials busy and free, its store writes' latency and
        the operations of the attempts it prepares."""
        self._store = store
        self._metrics = metrics
        self._states = store.load()
        if not self._states:
            raise ValueError(f"{store.path} holds no MEC credentials: import an enrolment file")
        self._lease_wait = lease_wait
        self._free: asyncio.Queue[str] = asyncio.Queue()
        for name in self._states:
            self._free.put_nowait(name)
        self._reserved: dict[str, Attempt] = {}
        self._background: set[asyncio.Task[None]] = set()
        if metrics is not None:
            metrics.mec_credentials.labels(metrics.role, "free").set_function(lambda: self.free)
            metrics.mec_credentials.labels(metrics.role, "busy").set_function(
                lambda: self.size - self.free
            )

    @property
    def size(self) -> int:
        return len(self._states)

    @property
    def free(self) -> int:
        return self._free.qsize()

    def state(self, name: str) -> HolderState:
        return self._states[name]

    def states(self) -> dict[str, HolderState]:
        return dict(self._states)

    async def lease(self) -> str:
        """Take a free credential, waiting at most ``lease_wait`` seconds."""
        try:
            return self._free.get_nowait()  # the common case, without a timer
        except asyncio.QueueEmpty:
            pass
        try:
            return await asyncio.wait_for(self._free.get(), self._lease_wait)
        except TimeoutError:
            raise PoolExhausted from None

    def release_unused(self, name: str) -> None:
        """Give back a lease whose attempt never started (nothing was sent)."""
        self._free.put_nowait(name)

    async def begin_attempt(self, name: str) -> Attempt:
        """The leased credential's next attempt, its counter durable: reserved, or written now."""
        reserved = self._reserved.pop(name, None)
        if reserved is not None:
            return reserved
        before = self._states[name]
        after, attempt = self._prepare(before)
        write = asyncio.ensure_future(
            self._timed("record_attempt", self._store.record_attempt(name, before, after))
        )
        try:
            await asyncio.shield(write)
        except asyncio.CancelledError:
            # The caller gave up while the counter was being written. The write still lands;
            # nothing was sent, so once it has, its attempt is reserved and the lease returned.
            write.add_done_callback(lambda done: self._settle_cancelled(name, after, attempt, done))
            raise
        self._states[name] = after
        return attempt

    def _settle_cancelled(
        self, name: str, after: HolderState, attempt: Attempt, write: asyncio.Future[None]
    ) -> None:
        if not write.cancelled() and write.exception() is None:
            self._states[name] = after
            self._reserved[name] = attempt
        self._free.put_nowait(name)

    def adopt_then_release(self, name: str, attempt: Attempt, successor: Credential) -> None:
        """Store the successor (next counter reserved) and release the lease once it is durable."""
        self._in_background(self._adopt_then_release(name, attempt, successor))

    def end_then_release(self, name: str) -> None:
        """The attempt ended without an answer: reserve the next counter, then release."""
        self._in_background(self._reserve_then_release(name))

    def _prepare(self, state: HolderState) -> tuple[HolderState, Attempt]:
        """The next attempt of ``state`` (its nonce costs one AES block under the counter rule)."""
        with counting() as ledger:
            prepared = state.begin_attempt()
        if self._metrics is not None:
            self._metrics.count_operations(KEY_AGREEMENT, ledger)
        return prepared

    async def _timed(self, operation: str, write: Awaitable[T]) -> T:
        started = time.perf_counter()
        result = await write
        if self._metrics is not None:
            self._metrics.store_call(operation, time.perf_counter() - started)
        return result

    def _in_background(self, work: Coroutine[Any, Any, None]) -> None:
        task = asyncio.create_task(work)
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    async def _adopt_then_release(self, name: str, attempt: Attempt, successor: Credential) -> None:
        try:
            adopted = self._states[name].adopt(attempt, successor)
            after, next_attempt = self._prepare(adopted)
            if await self._timed("adopt", self._store.adopt(name, attempt, after)):
                self._states[name] = after
                self._reserved[name] = next_attempt
            else:
                LOG.error("credential %s moved under its lease; successor not adopted", name)
        except Exception:
            # The stored state is the previous credential, which the TTP still holds as
            # confirmed: the next attempt heals. Log and keep serving.
            LOG.exception("could not store the successor of %s", name)
        finally:
            self._free.put_nowait(name)

    async def _reserve_then_release(self, name: str) -> None:
        try:
            before = self._states[name]
            after, next_attempt = self._prepare(before)
            await self._timed("record_attempt", self._store.record_attempt(name, before, after))
            self._states[name] = after
            self._reserved[name] = next_attempt
        except Exception:
            # Nothing reserved: the next lease writes its counter itself.
            LOG.exception("could not reserve the next counter of %s", name)
        finally:
            self._free.put_nowait(name)

    async def drain(self) -> None:
        """Wait for successor writes in flight (at shutdown)."""
        if self._background:
            await asyncio.gather(*self._background, return_exceptions=True)
