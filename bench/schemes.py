"""The key-agreement schemes the evaluation compares, behind one interface (``--scheme``).

A scheme runs one whole handshake in this process and says what each entity computed (CPU time,
and the operations in the paper's units where they are counted) and what each message weighs.
Registered today:

- ``braeken2021``: the paper's scheme as this project runs it (the pure core, counter rule; the
  TTP's records in memory: the durable store is measured by ``bench growth``);
- ``tls13``: a mutually authenticated TLS 1.3 handshake between device and MEC
  (``tls_comparator``), what a user would pick instead. It has no third party.

The paper's public-key baseline [36] (Patonico et al.) will register here beside them once the
elliptic-curve point arithmetic it needs is in the core; until then the benchmarks show its
published figures (Tables 1 and 2, ``bench.paper``) and never a measurement of it.

CPU time (``time.process_time``) rather than wall time: on a shared machine, time spent preempted
by other processes is not computation.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

from mec5g.core import device_role, mec_role
from mec5g.core.credentials import HolderState, RecordRule
from mec5g.core.handle import HANDLE_BYTES
from mec5g.core.memory_records import InMemoryRecords
from mec5g.core.messages import M1_BYTES, M2_BYTES, M3_BYTES, M4_BYTES
from mec5g.core.operations import Ledger, counting
from mec5g.core.records import RecordKind
from mec5g.core.ttp_role import Accepted
from mec5g.runtime.status import wire_version
from mec5g.v1 import mec_key_agreement_pb2, ttp_key_agreement_pb2

ENTITIES = ("device", "mec", "ttp")


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


def _tls13() -> Scheme:
    # Imported here: tls_comparator builds on this module (it reuses Braeken2021).
    from mec5g.bench.tls_comparator import Tls13

    return Tls13()


SCHEMES: dict[str, Callable[[], Scheme]] = {"braeken2021": Braeken2021, "tls13": _tls13}
"""Every scheme ``--scheme`` accepts, by name. [36] joins once its arithmetic exists."""
