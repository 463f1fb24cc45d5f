"""The MEC's pool of K credentials (DESIGN.md decision 5; SPEC.md "MEC credentials").

The paper rotates the MEC's (DIDm, DKm) after every key agreement, so handshakes that shared one
credential would race each other into desynchronisation. Each in-flight handshake therefore
leases one credential exclusively. The counter of its attempt is durable before M2 leaves; the
successor is written after M3 verified, and the credential goes back to the pool only once that
write is durable, so the next lease always starts from the stored state. M4 does not wait for
that write: if it were lost, the stored credential is still the TTP's confirmed one.

When every credential stays busy past ``lease_wait`` seconds the caller gets ``PoolExhausted``.
"""

from __future__ import annotations

import asyncio
import logging

from mec5g.core.credentials import Attempt, Credential, HolderState
from mec5g.runtime.holder_store import HolderStore

LOG = logging.getLogger("mec5g.mec")


class PoolExhausted(Exception):
    """No credential became free within the lease wait."""


class CredentialPool:
    """K credentials, each leased by one handshake at a time."""

    def __init__(self, store: HolderStore, lease_wait: float) -> None:
        self._store = store
        self._states = store.load()
        if not self._states:
            raise ValueError(f"{store.path} holds no MEC credentials: import an enrolment file")
        self._lease_wait = lease_wait
        self._free: asyncio.Queue[str] = asyncio.Queue()
        for name in self._states:
            self._free.put_nowait(name)
        self._background: set[asyncio.Task[None]] = set()

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
            return await asyncio.wait_for(self._free.get(), self._lease_wait)
        except TimeoutError:
            raise PoolExhausted from None

    def release(self, name: str) -> None:
        self._free.put_nowait(name)

    async def begin_attempt(self, name: str) -> Attempt:
        """Increment and persist the leased credential's counter; return the attempt."""
        before = self._states[name]
        after, attempt = before.begin_attempt()
        await self._store.record_attempt(name, before, after)
        self._states[name] = after
        return attempt

    def adopt_then_release(self, name: str, attempt: Attempt, successor: Credential) -> None:
        """Store the successor in the background and release the lease once it is durable."""
        task = asyncio.create_task(self._adopt_then_release(name, attempt, successor))
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    async def _adopt_then_release(self, name: str, attempt: Attempt, successor: Credential) -> None:
        try:
            after = self._states[name].adopt(attempt, successor)
            if await self._store.adopt(name, attempt, after):
                self._states[name] = after
            else:
                LOG.error("credential %s moved under its lease; successor not adopted", name)
        except Exception:
            # The stored state is the previous credential, which the TTP still holds as
            # confirmed: the next attempt heals. Log and keep serving.
            LOG.exception("could not store the successor of %s", name)
        finally:
            self.release(name)

    async def drain(self) -> None:
        """Wait for successor writes in flight (at shutdown)."""
        if self._background:
            await asyncio.gather(*self._background, return_exceptions=True)
