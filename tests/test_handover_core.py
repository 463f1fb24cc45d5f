"""The handover's cryptography, pure (``core.handover``), and the analysis context's layout
(``mec.context_transfer``): what opens, what is refused, and what each party can read."""

from __future__ import annotations

import time

import pytest

from mec5g.core import device_role, ecqv, handover, mec_role
from mec5g.core.credentials import Attempt, RecordRule
from mec5g.core.errors import AuthenticationFailed, InvalidField, MalformedInput
from mec5g.core.memory_records import InMemoryRecords
from mec5g.core.messages import M3
from mec5g.core.news2 import AlertLevel, Consciousness, SpO2Scale
from mec5g.core.primitives import counter_nonce
from mec5g.core.readings import CheckIn, Reading, SensorKind
from mec5g.core.records import RecordKind
from mec5g.core.ttp_role import Accepted
from mec5g.mec.analysis import Analyses, AnalysisLimits
from mec5g.mec.context_transfer import export_context, import_context
from mec5g.v1 import mec_context_transfer_pb2

VERSION = int(RecordRule.COUNTER)


def _handshake() -> tuple[device_role.DeviceSession, mec_role.MecSession, Accepted]:
    records = InMemoryRecords()
    _, device = records.enrol(RecordKind.DEVICE, "analysis-1")
    _, mec = records.enrol(RecordKind.MEC, "mec-2")
    at_device = device_role.start(Attempt(device, 1, counter_nonce(device.dk, device.did, 1)))
    at_mec = mec_role.forward(
        Attempt(mec, 1, counter_nonce(mec.dk, mec.did, 1)), at_device.m1.to_bytes()
    )
    accepted = records.answer(at_mec.m2, VERSION)
    assert isinstance(accepted, Accepted)
    return at_device, at_mec, accepted


def _pair() -> ecqv.KeyPair:
    private = ecqv.random_scalar()
    return ecqv.KeyPair(private, ecqv.public_key(private))


def test_the_indication_opens_for_the_ttp_of_this_attempt_only() -> None:
    at_device, at_mec, accepted = _handshake()
    sealed = handover.seal_indication(
        "mec-1", c3_i=at_device.c3, c4_i=at_device.c4, version=VERSION, m1=at_device.m1
    )
    assert len(sealed) == len("mec-1") + 16
    opened = handover.open_indication(
        sealed, c3_i=accepted.c3_i, c4_i=accepted.c4_i, version=VERSION, m1=at_mec.m2.m1
    )
    assert opened == "mec-1"
    # The MEC holds cm3, cm4, never ci3, ci4: its keys do not open it.
    other, _, _ = _handshake()
    for c3, c4, m1, blob in (
        (at_mec.c3, at_mec.c4, at_device.m1, sealed),  # the MEC's secrets
        (other.c3, other.c4, other.m1, sealed),  # another attempt's
        (accepted.c3_i, accepted.c4_i, other.m1, sealed),  # moved to another M1
        (accepted.c3_i, accepted.c4_i, at_device.m1, bytes([sealed[0] ^ 1]) + sealed[1:]),
        (accepted.c3_i, accepted.c4_i, at_device.m1, sealed + bytes(80)),  # too long
    ):
        with pytest.raises(AuthenticationFailed):
            handover.open_indication(blob, c3_i=c3, c4_i=c4, version=VERSION, m1=m1)


def test_the_ticket_travels_bound_to_its_handshake_and_names_no_one() -> None:
    ca, source, target = _pair(), _pair(), _pair()
    pseudonym = bytes(range(32))
    ticket, signature = handover.issue_ticket(
        ca, source.public, pseudonym, "mec-1", "mec-2", time.time() + 60
    )
    decoded = handover.Ticket.decode(ticket)
    assert (decoded.source, decoded.target) == ("mec-1", "mec-2")
    assert pseudonym not in ticket, "the source's pseudonym travels sealed to the source"
    assert handover.open_pseudonym(source, decoded) == pseudonym
    with pytest.raises(AuthenticationFailed):
        handover.open_pseudonym(target, decoded)  # the target cannot read it

    _, at_mec, accepted = _handshake()
    sealed = handover.seal_ticket(
        ticket,
        signature,
        c3_m=accepted.c3_m,
        c4_m=accepted.c4_m,
        version=VERSION,
        m2=at_mec.m2,
        m3=accepted.m3,
    )
    assert handover.open_ticket(
        sealed, c3_m=at_mec.c3, c4_m=at_mec.c4, version=VERSION, m2=at_mec.m2, m3=accepted.m3
    ) == (ticket, signature)
    _, other_mec, other = _handshake()
    with pytest.raises(AuthenticationFailed):  # swapped into another handshake
        handover.open_ticket(
            sealed,
            c3_m=other_mec.c3,
            c4_m=other_mec.c4,
            version=VERSION,
            m2=other_mec.m2,
            m3=M3.parse(other.m3.to_bytes()),
        )


def test_the_source_checks_the_ticket_and_the_target_and_seals_to_the_target_only() -> None:
    ca = _pair()
    now = time.time()

    def certificate(node: str) -> tuple[ecqv.KeyPair, bytes]:
        k, request = ecqv.request(node)
        issued = ecqv.issue(ca.private, node, request)
        return ecqv.reconstruct_private(k, issued, ca.public), issued.certificate.encoded

    target_pair, target_cert = certificate("mec-2")
    thief_pair, thief_cert = certificate("mec-3")
    source_pair, source_cert = certificate("mec-1")
    ticket, signature = handover.issue_ticket(
        ca, source_pair.public, bytes(32), "mec-1", "mec-2", now + 60
    )
    key = handover.ephemeral_key()
    asked = handover.sign_request(target_pair, "mec-2", ticket, key.public)
    checked = handover.check_request(
        ca.public, "mec-1", ticket, signature, key.public, target_cert, asked, now
    )
    assert checked.target == "mec-2"
    for node, cert, request_signature, at in (
        ("mec-2", target_cert, asked, now),  # at the wrong source
        ("mec-1", thief_cert, handover.sign_request(thief_pair, "mec-3", ticket, key.public), now),
        ("mec-1", target_cert, asked, now + 61),  # expired
    ):
        with pytest.raises(AuthenticationFailed):
            handover.check_request(
                ca.public, node, ticket, signature, key.public, cert, request_signature, at
            )
    other_key = handover.ephemeral_key()
    with pytest.raises(AuthenticationFailed):  # the signature binds the one-time key
        handover.check_request(
            ca.public, "mec-1", ticket, signature, other_key.public, target_cert, asked, now
        )

    sealed, context_signature = handover.seal_context(
        source_pair, "mec-1", ticket, key.public, b"context"
    )
    opened = handover.open_context(key, ca.public, ticket, source_cert, sealed, context_signature)
    assert opened == b"context"
    with pytest.raises(AuthenticationFailed):  # signed by a node that is not the source
        handover.open_context(key, ca.public, ticket, thief_cert, sealed, context_signature)
    with pytest.raises(AuthenticationFailed):  # only the one-time key opens it
        handover.open_context(other_key, ca.public, ticket, source_cert, sealed, context_signature)


def test_a_ticket_that_does_not_parse_is_invalid() -> None:
    for raw in (b"", bytes(300), b"\x02" + bytes(120)):
        with pytest.raises(InvalidField):
            handover.Ticket.decode(raw)


def test_the_context_round_trips_and_impossible_ones_are_refused() -> None:
    clock = [1000.0]
    source = Analyses(AnalysisLimits(), lambda: clock[0])
    pseudonym_s, pseudonym_t = b"s" * 32, b"t" * 32
    for step, kind in enumerate(SensorKind):
        clock[0] += 1
        values = (120.0, 80.0) if kind is SensorKind.BLOOD_PRESSURE else (37.0 + step,)
        source.record(pseudonym_s, SpO2Scale.SCALE_2, Reading(kind, clock[0], values))
    source.record(pseudonym_s, SpO2Scale.SCALE_2, CheckIn(Consciousness.VOICE, True, clock[0]))
    analysis = source.take(pseudonym_s)
    assert analysis is not None
    assert source.get(pseudonym_s) is None
    raw = export_context(analysis, clock[0] + 5, AlertLevel.URGENT)
    assert pseudonym_s not in raw

    rebuilt, level = import_context(raw, pseudonym_t, 50.0)  # another clock altogether
    assert level is AlertLevel.URGENT
    assert rebuilt.pseudonym == pseudonym_t
    assert rebuilt.records == analysis.records == len(SensorKind) + 1
    assert rebuilt.spo2_scale is SpO2Scale.SCALE_2
    for kind, samples in analysis.series.items():
        moved = rebuilt.series[kind]
        assert [sample.values for sample in moved] == [sample.values for sample in samples]
        assert [50.0 - sample.received for sample in moved] == pytest.approx(
            [clock[0] + 5 - sample.received for sample in samples]
        )
    assert rebuilt.check_in is not None
    assert rebuilt.check_in[1] == analysis.check_in[1]  # type: ignore[index]
    assert [point.score for point in rebuilt.history] == [point.score for point in analysis.history]
    target = Analyses(AnalysisLimits(), lambda: 50.0)
    target.install(rebuilt)
    assert target.get(pseudonym_t) is rebuilt
    assert rebuilt.current is not None

    def broken(change: str) -> bytes:
        context = mec_context_transfer_pb2.AnalysisContext()
        context.ParseFromString(raw)
        if change == "age":
            context.series[0].samples[0].age_seconds = -1
        elif change == "values":
            context.series[0].samples[0].values.append(1.0)
        elif change == "kind":
            context.series[1].kind = context.series[0].kind
        elif change == "parameter":
            context.history[0].missing.append("mood")
        elif change == "level":
            context.emergency_level = 9  # type: ignore[assignment]
        serialized: bytes = context.SerializeToString()
        return serialized

    for change in ("age", "values", "kind", "parameter", "level"):
        with pytest.raises(MalformedInput):
            import_context(broken(change), pseudonym_t, 50.0)
    with pytest.raises(MalformedInput):
        import_context(b"\xff\xff\xff", pseudonym_t, 50.0)


def test_the_context_is_bounded() -> None:
    context = mec_context_transfer_pb2.AnalysisContext(spo2_scale=1)
    context.series.add(kind=1).samples.extend(
        mec_context_transfer_pb2.ContextSample(age_seconds=1.0, values=[97.0])
        for _ in range(10_001)
    )
    with pytest.raises(MalformedInput):
        import_context(context.SerializeToString(), b"t" * 32, 0.0)
