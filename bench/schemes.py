"""The key-agreement schemes the evaluation compares, behind one interface (``--scheme``).

A scheme runs one whole handshake in this process and says what each entity computed (CPU time,
and the operations in the paper's units where they are counted) and what each message weighs.
Registered today:

- ``braeken2021``: the paper's scheme as this project runs it (the pure core, counter rule; the
  TTP's records in memory: the durable store is measured by ``bench growth``);
- ``baseline36``: the paper's public-key baseline [36] (Patonico et al.) as reconstructed in
  ``core.anonymous_agreement`` (ECQV identities, TTP-assisted, anonymous), run by the same pure
  core;
- ``tls13``: a mutually authenticated TLS 1.3 handshake between device and MEC
  (``tls_comparator``), what a user would pick instead. It has no third party.

CPU time (``time.process_time``) rather than wall time: on a shared machine, time spent preempted
by other processes is not computation.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol, TypeVar

from mec5g.core import anonymous_agreement, device_role, ecqv, mec_role
from mec5g.core.anonymous_agreement import Purpose
from mec5g.core.credentials import HolderState, RecordRule
from mec5g.core.handle import HANDLE_BYTES
from mec5g.core.memory_records import InMemoryRecords
from mec5g.core.messages import M1_BYTES, M2_BYTES, M3_BYTES, M4_BYTES
from mec5g.core.operations import Ledger, counting
from mec5g.core.records import RecordKind
from mec5g.core.ttp_role import Accepted
from mec5g.runtime.compute_profile import ENTITIES as ENTITIES
from mec5g.runtime.status import wire_version
from mec5g.v1 import mec_key_agreement_pb2, ttp_key_agreement_pb2

_T = TypeVar("_T")


@dataclass(frozen=True)
class Handshake:
    """One handshake's computation: CPU seconds per entity, and the operations counted per entity
    (absent for a scheme whose operations are not counted, such as OpenSSL's TLS)."""

    seconds: dict[str, float]
    operations: dict[str, Ledger] = field(default_factory=dict)


@dataclass(frozen=True)
class Message:
    """One message on the wire: the scheme's own bits and what travels beside them."""

    name: str
    path: str  # e.g. "device -> MEC"
    bits: int
    extension_bits: int = 0
    extension: str = ""  # what the extension bits are


class Scheme(Protocol):
    """What the benchmark parts need of a scheme."""

    name: str
    title: str
    entities: tuple[str, ...]

    def handshake(self) -> Handshake:
        """Run one complete handshake and say what each entity computed."""
        ...

    def messages(self) -> list[Message]:
        """The messages of one handshake, in order."""
        ...


class Braeken2021:
    """The paper's scheme: one device, one MEC credential and the TTP's records, in memory.

    Every handshake runs the whole state machine: both holders begin an attempt, the TTP answers,
    both adopt their successors, so the next handshake uses fresh credentials as deployed ones do.
    """

    name = "braeken2021"
    title = "Braeken & Liyanage 2021 (this project, counter rule)"
    entities: tuple[str, ...] = ENTITIES

    def __init__(self, rule: RecordRule = RecordRule.COUNTER) -> None:
        self.rule = rule
        self.records = InMemoryRecords()
        self.device = HolderState(self.records.enrol(RecordKind.DEVICE, "analysis", rule)[1], rule)
        self.mec = HolderState(self.records.enrol(RecordKind.MEC, "mec-1", rule)[1], rule)

    def handshake(self) -> Handshake:
        return self._run()[0]

    def _run(self) -> tuple[Handshake, tuple[bytes, bytes, bytes, bytes, bytes]]:
        """One handshake; also returns M1..M4 and the analysis handle as sent."""
        version = int(self.rule)
        clock = time.process_time
        seconds = dict.fromkeys(ENTITIES, 0.0)
        ledgers = {entity: Ledger() for entity in ENTITIES}

        started = clock()
        with counting() as ledger:
            self.device, device_attempt = self.device.begin_attempt()
            device_session = device_role.start(device_attempt)
        seconds["device"] += clock() - started
        ledgers["device"].update(ledger)
        m1 = device_session.m1.to_bytes()

        started = clock()
        with counting() as ledger:
            self.mec, mec_attempt = self.mec.begin_attempt()
            mec_session = mec_role.forward(mec_attempt, m1)
        seconds["mec"] += clock() - started
        ledgers["mec"].update(ledger)

        started = clock()
        with counting() as ledger:
            answer = self.records.answer(mec_session.m2, version)
        seconds["ttp"] += clock() - started
        ledgers["ttp"].update(ledger)
        if not isinstance(answer, Accepted):
            raise AssertionError(f"benchmark handshake refused: {answer.reason}")
        m3 = answer.m3.to_bytes()

        started = clock()
        with counting() as ledger:
            at_mec = mec_role.finish(mec_session, m3, answer.analysis_handle, version)
            self.mec = self.mec.adopt(mec_attempt, at_mec.successor)
        seconds["mec"] += clock() - started
        ledgers["mec"].update(ledger)
        m4 = at_mec.m4.to_bytes()

        started = clock()
        with counting() as ledger:
            at_device = device_role.finish(device_session, m4)
            self.device = self.device.adopt(device_attempt, at_device.successor)
        seconds["device"] += clock() - started
        ledgers["device"].update(ledger)

        if at_device.session_key != at_mec.session_key:
            raise AssertionError("device and MEC derived different keys")
        wire = (m1, mec_session.m2.to_bytes(), m3, m4, answer.analysis_handle)
        return Handshake(seconds, ledgers), wire

    def messages(self) -> list[Message]:
        """M1..M4 of a real handshake; the extension is everything else in the protobuf message
        that carries each one (the version field, field tags and lengths, the analysis handle)."""
        _, (m1, m2, m3, m4, analysis_handle) = self._run()
        version = wire_version(self.rule)
        carried = (
            ("M1", "device -> MEC", m1, mec_key_agreement_pb2.AgreeRequest(version=version, m1=m1)),
            ("M2", "MEC -> TTP", m2, ttp_key_agreement_pb2.VerifyRequest(version=version, m2=m2)),
            (
                "M3",
                "TTP -> MEC",
                m3,
                ttp_key_agreement_pb2.VerifyResponse(
                    version=version, m3=m3, analysis_handle=analysis_handle
                ),
            ),
            (
                "M4",
                "MEC -> device",
                m4,
                mec_key_agreement_pb2.AgreeResponse(version=version, m4=m4),
            ),
        )
        expected = {"M1": M1_BYTES, "M2": M2_BYTES, "M3": M3_BYTES, "M4": M4_BYTES}
        messages = []
        for name, path, paper_bytes, carrier in carried:
            if len(paper_bytes) != expected[name]:
                raise AssertionError(f"{name} has {len(paper_bytes)} bytes")
            extension = "version field and protobuf framing"
            if name == "M3":
                extension = f"analysis handle ({HANDLE_BYTES} B), " + extension
            messages.append(
                Message(
                    name,
                    path,
                    8 * len(paper_bytes),
                    8 * (carrier.ByteSize() - len(paper_bytes)),
                    extension,
                )
            )
        return messages


class Baseline36:
    """[36] as reconstructed (``core.anonymous_agreement``): one device, one MEC node, the TTP.

    Their ECQV identities are issued once (phase 1, not timed); every handshake then runs the
    four messages with fresh ephemerals, as a deployed device would. The TTP's decision between
    its two steps (both identities registered) is a set lookup here, as it is no operation of
    Table 1; what it vouches to the MEC is empty, as in [36] (the live testbed adds the analysis
    pseudonym, counted apart).
    """

    name = "baseline36"
    title = "[36] Patonico et al. 2019, reconstructed (public-key baseline)"
    entities: tuple[str, ...] = ENTITIES
    DEVICE = "sensor-device-01"  # 16-byte identities, as docs/evaluation.md's sizes assume
    MEC = "mec-node-edge-01"

    def __init__(self) -> None:
        private = ecqv.random_scalar()
        self.ttp = ecqv.KeyPair(private, ecqv.public_key(private))
        self.device = anonymous_agreement.issue_identity(private, self.DEVICE)
        self.mec = anonymous_agreement.issue_identity(private, self.MEC)
        self.registered = frozenset({self.DEVICE, self.MEC})

    def handshake(self) -> Handshake:
        return self._run()[0]

    def _answer(self, m2: bytes) -> bytes:
        opened = anonymous_agreement.ttp_open(self.ttp, Purpose.DEVICE_SESSION, m2)
        for party in (opened.initiator, opened.responder):
            if party.identity not in self.registered:
                raise AssertionError(f"benchmark handshake refused: {party.identity}")
        return anonymous_agreement.ttp_vouch(opened)

    def _run(self) -> tuple[Handshake, tuple[bytes, bytes, bytes, bytes]]:
        """One handshake; also returns M1..M4 as sent."""
        clock = time.process_time
        seconds = dict.fromkeys(ENTITIES, 0.0)
        ledgers = {entity: Ledger() for entity in ENTITIES}

        def step(entity: str, compute: Callable[[], _T]) -> _T:
            started = clock()
            with counting() as ledger:
                result = compute()
            seconds[entity] += clock() - started
            ledgers[entity].update(ledger)
            return result

        device_state, m1 = step(
            "device",
            lambda: anonymous_agreement.initiator_start(
                self.device, self.ttp.public, self.MEC, Purpose.DEVICE_SESSION
            ),
        )
        mec_state, m2 = step(
            "mec",
            lambda: anonymous_agreement.responder_forward(
                self.mec, self.ttp.public, Purpose.DEVICE_SESSION, m1
            ),
        )
        m3 = step("ttp", lambda: self._answer(m2))
        at_mec = step("mec", lambda: anonymous_agreement.responder_finish(mec_state, m3))
        session = step(
            "device", lambda: anonymous_agreement.initiator_finish(device_state, at_mec.m4)
        )
        if session.key != at_mec.session.key:
            raise AssertionError("device and MEC derived different keys")
        return Handshake(seconds, ledgers), (m1, m2, m3, at_mec.m4)

    def messages(self) -> list[Message]:
        """M1..M4 of a real handshake. [36] has no carrier of ours, so no extension bits."""
        paths = ("device -> MEC", "MEC -> TTP", "TTP -> MEC", "MEC -> device")
        return [
            Message(f"M{index}", path, 8 * len(sent))
            for index, (path, sent) in enumerate(zip(paths, self._run()[1], strict=True), 1)
        ]


def _tls13() -> Scheme:
    # Imported here: tls_comparator builds on this module (it reuses Braeken2021).
    from mec5g.bench.tls_comparator import Tls13

    return Tls13()


SCHEMES: dict[str, Callable[[], Scheme]] = {
    "braeken2021": Braeken2021,
    "baseline36": Baseline36,
    "tls13": _tls13,
}
"""Every scheme ``--scheme`` accepts, by name."""
