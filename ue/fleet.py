"""The UE's emulated devices and how one of them attaches (SPEC.md "Attempts", "Adopting").

Each transmission is a new attempt: the counter is incremented and made durable, then M1 is sent
once (gRPC retries are off). A refusal, a timeout or UNAVAILABLE ends the attempt; the device keeps
its credential and tries again with the next counter after an exponential backoff with full
jitter. An answer is adopted only if the stored (credential, counter) is still the attempt's, in
the same atomic write that stores the successor. One attempt at a time per device.

A successful attach also starts the device's phase-4 data session: the traffic keys and session
id derived from SK, M1 and M4 (``core.data_channel``), replacing any earlier session. Each device
attaches through its serving MEC (``ue.serving``); a device arriving from another MEC node adds
the handover indication for the TTP (``core.handover``), so that its analysis moves with it.

Under the public-key baseline [36] (``--scheme baseline36``, ``Baseline36``) an attach runs the
anonymous key agreement instead (``core.anonymous_agreement``) with the device's ECQV identity:
nothing of the device's state changes, so an attempt needs no durable write, and retries and
backoff are the same. Only devices that hold an identity take part.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import logging
import random
import time
from collections.abc import AsyncIterator, Callable, Iterator, Mapping
from dataclasses import dataclass

import grpc

from mec5g.core import anonymous_agreement, data_channel, device_role, handover
from mec5g.core.anonymous_agreement import Identity, Purpose
from mec5g.core.credentials import HolderState
from mec5g.core.errors import AuthenticationFailed, MalformedField
from mec5g.core.operations import counting
from mec5g.core.primitives import fingerprint
from mec5g.runtime.compute_emulation import settle
from mec5g.runtime.group_commit import StoreUnavailable, finish_durably
from mec5g.runtime.holder_store import HolderConflict, HolderStore
from mec5g.runtime.metrics import DATA, HANDOVER, KEY_AGREEMENT, Metrics
from mec5g.runtime.scheme import BASELINE36_DATA_VERSION
from mec5g.runtime.status import wire_version
from mec5g.ue.serving import MecLink, MecLinks
from mec5g.v1 import (
    anonymous_key_agreement_pb2,
    anonymous_key_agreement_pb2_grpc,
    mec_key_agreement_pb2,
)

LOG = logging.getLogger("mec5g.ue")


class Outcome(enum.IntEnum):
    """How an attach ended; values are the proto's ``AttachOutcome``."""

    NONE = 0
    SUCCESS = 1
    REFUSED = 2
    BAD_ANSWER = 3
    UNAVAILABLE = 4
    BUSY = 5


_OUTCOME_OF_STATUS = {
    grpc.StatusCode.UNAUTHENTICATED: Outcome.REFUSED,
    grpc.StatusCode.RESOURCE_EXHAUSTED: Outcome.BUSY,
}


class NoDevices(LookupError):
    """The UE holds no device yet (none imported, none provisioned)."""


@dataclass(frozen=True)
class RetryPolicy:
    """Attempts per attach and the backoff between them (exponential, full jitter)."""

    max_attempts: int = 4
    backoff_base: float = 0.05
    backoff_cap: float = 2.0
    rpc_timeout: float = 5.0

    def delay(self, failures: int, rng: random.Random) -> float:
        return rng.uniform(0.0, min(self.backoff_cap, self.backoff_base * 2 ** (failures - 1)))


@dataclass(frozen=True)
class AttachReport:
    device: str
    outcome: Outcome
    latency_us: int
    sk_fingerprint: str
    credential_epoch: int
    attempts: int


@dataclass(slots=True)
class DataSession:
    """A device's phase-4 session: its end of the data channel, since when, and whether the MEC
    acknowledged a record of it yet."""

    end: data_channel.DeviceEnd
    started: float
    mec: MecLink  # the MEC that agreed it, and alone holds its keys
    confirmed: bool = False


@dataclass(slots=True)
class DeviceView:
    """What Status shows of a device: fingerprints, never identities or keys."""

    name: str
    state: HolderState
    last_outcome: Outcome = Outcome.NONE
    last_sk_fingerprint: str = ""
    session: DataSession | None = None


class _Held:
    __slots__ = ("lock", "users")

    def __init__(self) -> None:
        self.lock = asyncio.Lock()
        self.users = 0


class DeviceLocks:
    """One lock per device name that exists only while the device's lock is held or awaited,
    so that a swarm of idle devices keeps no lock objects."""

    def __init__(self) -> None:
        self._held: dict[str, _Held] = {}

    @contextlib.asynccontextmanager
    async def hold(self, name: str) -> AsyncIterator[None]:
        held = self._held.get(name)
        if held is None:
            held = self._held[name] = _Held()
        held.users += 1
        try:
            async with held.lock:
                yield
        finally:
            held.users -= 1
            if not held.users:
                del self._held[name]


@dataclass(frozen=True)
class Baseline36:
    """What the devices need to run the baseline [36]: their ECQV identities (each with the CA
    key it was issued under), the MEC node they agree with, and its service."""

    identities: Mapping[str, tuple[Identity, bytes]]
    node: str
    mec: anonymous_key_agreement_pb2_grpc.MecAnonymousKeyAgreementServiceStub


class DeviceFleet:
    """N emulated devices, each attaching through its serving MEC."""

    def __init__(
        self,
        store: HolderStore,
        links: MecLinks,
        metrics: Metrics,
        policy: RetryPolicy,
        rng: random.Random | None = None,
        clock: Callable[[], float] = time.monotonic,
        baseline36: Baseline36 | None = None,
    ) -> None:
        self._store = store
        self.clock = clock  # times data sessions; tests move it instead of waiting
        self.links = links
        self._baseline36 = baseline36
        self._metrics = metrics
        self._policy = policy
        self._rng = rng or random.Random()
        self._devices = {
            name: DeviceView(name, state)
            for name, state in store.load().items()
            if self._takes_part(name)
        }
        self._locks = DeviceLocks()
        self._turn = self._round_robin()
        self.succeeded = 0
        self.failed = 0
        self.active_sessions = 0

    def _takes_part(self, name: str) -> bool:
        """Under [36], a device without an ECQV identity cannot attach: it is left out."""
        if self._baseline36 is None or name in self._baseline36.identities:
            return True
        LOG.warning("device %s has no ECQV identity for baseline36: left out", name)
        return False

    def _round_robin(self) -> Iterator[str]:
        while True:
            yield from list(self._devices)

    @property
    def names(self) -> list[str]:
        return list(self._devices)

    def view(self, name: str) -> DeviceView:
        return self._devices[name]

    def views(self) -> list[DeviceView]:
        return list(self._devices.values())

    def __contains__(self, name: str) -> bool:
        return name in self._devices

    def __len__(self) -> int:
        return len(self._devices)

    async def install(self, states: Mapping[str, HolderState]) -> tuple[int, int]:
        """Install devices (the patient app's Provision): new names join the round robin; a
        device held already is replaced once any attach of it in flight has ended, and starts
        over with counter 0. Returns (installed, replaced)."""
        replaced = sorted(name for name in states if name in self._devices)
        async with contextlib.AsyncExitStack() as held:
            for name in replaced:  # one lock at a time in a fixed order: attaches hold one
                await held.enter_async_context(self._locks.hold(name))
            await asyncio.to_thread(self._store.import_holders, states, replace=True)
            for name, state in states.items():
                if self._takes_part(name):
                    self._devices[name] = DeviceView(name, state)
        return len(states) - len(replaced), len(replaced)

    async def attach(self, name: str | None = None, *, handover_from: str = "") -> AttachReport:
        """Run key agreement for ``name`` (the next in turn if None) until success or the limit;
        ``handover_from`` names the MEC host the device arrives from, if any (the paper's
        scheme only: [36]'s messages carry no indication).

        Raises NoDevices when asked for the next device of a UE that holds none yet."""
        if name is None and not self._devices:
            raise NoDevices("this UE holds no devices yet: provision some")
        name = name or next(self._turn)
        started = time.perf_counter()
        async with self._locks.hold(name):
            outcome = Outcome.NONE
            session_key = b""
            attempts = 0
            while attempts < self._policy.max_attempts:
                if attempts:
                    await asyncio.sleep(self._policy.delay(attempts, self._rng))
                attempts += 1
                try:
                    if self._baseline36 is None:
                        outcome, session_key = await self._attempt(name, handover_from)
                    else:
                        outcome, session_key = await self._attempt_baseline36(
                            name, self._baseline36
                        )
                except (StoreUnavailable, HolderConflict) as error:
                    # The device's own state could not be written: nothing was sent, or the
                    # answer is not adopted; the stored state is the one to go on from.
                    LOG.error("device %s: state store failed: %s", name, error)
                    if isinstance(error, HolderConflict):
                        self._devices[name].state = self._store.load()[name]
                    outcome, session_key = Outcome.UNAVAILABLE, b""
                if outcome is Outcome.SUCCESS:
                    break
            await settle(self._metrics.compute)  # the device's last check, on its hardware
        elapsed = time.perf_counter() - started
        view = self._devices[name]
        view.last_outcome = outcome
        sk_fp = fingerprint(session_key) if outcome is Outcome.SUCCESS else ""
        if outcome is Outcome.SUCCESS:
            view.last_sk_fingerprint = sk_fp
            self.succeeded += 1
        else:
            self.failed += 1
        self._metrics.observe(KEY_AGREEMENT, outcome.name.lower(), elapsed)
        return AttachReport(name, outcome, int(elapsed * 1e6), sk_fp, view.state.epoch, attempts)

    async def _attempt(self, name: str, handover_from: str) -> tuple[Outcome, bytes]:
        view = self._devices[name]
        mec = self.links.serving(name)
        before = view.state
        with counting() as ledger:
            after, attempt = before.begin_attempt()
            session = device_role.start(attempt)
        self._metrics.count_operations(KEY_AGREEMENT, ledger)
        indication = b""
        if handover_from:
            with counting() as ledger:
                indication = handover.seal_indication(
                    handover_from,
                    c3_i=session.c3,
                    c4_i=session.c4,
                    version=before.rule,
                    m1=session.m1,
                )
            self._metrics.count_operations(HANDOVER, ledger)
        await finish_durably(
            self._store.record_attempt(name, before, after), lambda _: _set_state(view, after)
        )
        request = mec_key_agreement_pb2.AgreeRequest(
            version=wire_version(before.rule),
            m1=session.m1.to_bytes(),
            handover_indication=indication,
        )
        self._metrics.sent("M1", len(request.m1), request.ByteSize())
        try:
            response = await mec.key_agreement.Agree(request, timeout=self._policy.rpc_timeout)
        except grpc.aio.AioRpcError as error:
            return _OUTCOME_OF_STATUS.get(error.code(), Outcome.UNAVAILABLE), b""
        if response.version != before.rule:
            return Outcome.BAD_ANSWER, b""
        try:
            with counting() as ledger:
                result = device_role.finish(session, response.m4)
        except (AuthenticationFailed, MalformedField):
            return Outcome.BAD_ANSWER, b""
        finally:
            self._metrics.count_operations(KEY_AGREEMENT, ledger)
        if not view.state.is_current(attempt):
            return Outcome.BAD_ANSWER, b""
        adopted = view.state.adopt(attempt, result.successor)
        stored = await finish_durably(
            self._store.adopt(name, attempt, adopted),
            lambda landed: _set_state(view, adopted) if landed else None,
        )
        if not stored:
            return Outcome.BAD_ANSWER, b""
        self._open_session(
            view, result.session_key, session.m1.to_bytes(), response.m4, before.rule, mec
        )
        return Outcome.SUCCESS, result.session_key

    async def _attempt_baseline36(self, name: str, baseline: Baseline36) -> tuple[Outcome, bytes]:
        """One attempt of [36]: M1 with the device's identity, M4 checked, the data session."""
        identity, ca_public = baseline.identities[name]
        with counting() as ledger:
            state, m1 = anonymous_agreement.initiator_start(
                identity, ca_public, baseline.node, Purpose.DEVICE_SESSION
            )
        self._metrics.count_operations(KEY_AGREEMENT, ledger)
        request = anonymous_key_agreement_pb2.AgreeAnonymouslyRequest(m1=m1)
        self._metrics.sent("M1", len(m1), request.ByteSize())
        try:
            response = await baseline.mec.AgreeAnonymously(
                request, timeout=self._policy.rpc_timeout
            )
        except grpc.aio.AioRpcError as error:
            return _OUTCOME_OF_STATUS.get(error.code(), Outcome.UNAVAILABLE), b""
        try:
            with counting() as ledger:
                session = anonymous_agreement.initiator_finish(state, response.m4)
        except (AuthenticationFailed, MalformedField):
            return Outcome.BAD_ANSWER, b""
        finally:
            self._metrics.count_operations(KEY_AGREEMENT, ledger)
        view = self._devices[name]
        self._open_session(
            view, session.key, m1, response.m4, BASELINE36_DATA_VERSION, self.links.serving(name)
        )
        return Outcome.SUCCESS, session.key

    def _open_session(
        self,
        view: DeviceView,
        session_key: bytes,
        m1: bytes,
        m4: bytes,
        version: int,
        mec: MecLink,
    ) -> None:
        """The device's data session under the agreed key, replacing any earlier one."""
        with counting() as ledger:
            keys = data_channel.derive(session_key, m1, m4, version)
        self._metrics.count_operations(DATA, ledger)
        if view.session is None:
            self.active_sessions += 1
        view.session = DataSession(data_channel.DeviceEnd(keys), self.clock(), mec)
        self._metrics.sessions("active", self.active_sessions)

    async def move(self, names: list[str], link: MecLink) -> None:
        """Serve ``names`` through ``link`` from now on: each device's attach in flight ends
        first (one lock at a time), then its session with the MEC it leaves is forgotten."""
        for name in names:
            async with self._locks.hold(name):
                self.links.move([name], link)
                session = self._devices[name].session
                if session is not None and session.mec is not link:
                    self.end_session(name, session)

    def end_session(self, name: str, session: DataSession) -> None:
        """Forget ``session`` of device ``name`` (refused, expired), unless already replaced."""
        view = self._devices[name]
        if view.session is session:
            view.session = None
            self.active_sessions -= 1
            self._metrics.sessions("active", self.active_sessions)


def _set_state(view: DeviceView, state: HolderState) -> None:
    view.state = state


async def drive_continuously(
    fleet: DeviceFleet, concurrency: int, pause: float, stop: asyncio.Event
) -> None:
    """Keep ``concurrency`` attaches going, round robin over the devices, until ``stop`` is set."""

    async def worker() -> None:
        while not stop.is_set():
            try:
                await fleet.attach()
            except NoDevices:
                # Nothing provisioned yet: wait for the patient app, without spinning.
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), max(pause, 0.5))
            except Exception:
                # One failed attach must not silently shrink the load; say so and go on.
                LOG.exception("continuous attach failed")
            if pause:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), pause)

    await asyncio.gather(*(worker() for _ in range(concurrency)))
