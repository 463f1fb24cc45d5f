"""The roles and both record rules, step by step, with messages lost, replayed, late or tampered.

SPEC.md sections: "Flow (the paper)", "The paper's record rule, and the attack on it" (the
lockout is shown to succeed under RecordRule.PAPER) and "Our rule (the default)" (the same
schedules are refused under RecordRule.COUNTER and every holder heals), plus "Analysis handle"
and "Uniform failure" for the refusal reasons. Everything runs in memory and deterministically
(no Hypothesis here; tests/test_core_stateful.py explores schedules).
"""

from __future__ import annotations

import contextlib
import enum
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace

import pytest

from mec5g.core import device_role, mec_role, ttp_role
from mec5g.core.credentials import Credential, HolderState, RecordRule
from mec5g.core.device_role import DeviceResult, DeviceSession
from mec5g.core.errors import AuthenticationFailed, MalformedField, RefusalReason
from mec5g.core.handle import analysis_pseudonym
from mec5g.core.mec_role import MecResult, MecSession
from mec5g.core.memory_records import InMemoryRecords
from mec5g.core.primitives import COUNTER_MAX
from mec5g.core.records import CredentialRecord, RecordKind, Slot
from mec5g.core.ttp_role import Accepted, Refused

BOTH_RULES = pytest.mark.parametrize(
    "rule", [RecordRule.COUNTER, RecordRule.PAPER], ids=lambda rule: rule.label
)
STALE = {RefusalReason.STALE_DEVICE_COUNTER, RefusalReason.STALE_MEC_COUNTER}


# --------------------------------------------------------------------------------------------
# The helper: one handshake, step by step, that can stop after any step.
# --------------------------------------------------------------------------------------------


class Step(enum.IntEnum):
    """The five steps of SPEC.md "Flow"; a handshake may stop after any of them."""

    START = 1  # device: begin an attempt, build M1
    FORWARD = 2  # MEC: begin an attempt with its credential, build M2 from M1
    ANSWER = 3  # TTP: answer M2 (or refuse it); its records change here
    MEC_FINISH = 4  # MEC: check M3 and the handle, adopt if current, build M4
    DEVICE_FINISH = 5  # device: check M4, adopt if current


@dataclass
class Holder:
    """A device or one MEC credential: its persisted state and the id of its TTP record."""

    state: HolderState
    record_id: int | None

    @property
    def credential(self) -> Credential:
        return self.state.credential


@dataclass
class World:
    records: InMemoryRecords
    devices: list[Holder]
    mecs: list[Holder]

    def record(self, holder: Holder) -> CredentialRecord:
        assert holder.record_id is not None
        return self.records.records[holder.record_id]

    def holds(self, holder: Holder) -> bool:
        return self.record(holder).holds(holder.credential)

    def snapshot(self) -> dict[int, CredentialRecord]:
        return dict(self.records.records)


def make_world(
    rule: RecordRule,
    *,
    devices: int = 2,
    mecs: int = 2,
    device_owner: Callable[[int], str] = lambda number: "analysis-a",
    mec_owner: Callable[[int], str] = lambda number: "mec-node-1",
    mec_rule: RecordRule | None = None,
) -> World:
    records = InMemoryRecords()
    device_holders = []
    for number in range(devices):
        record_id, credential = records.enrol(RecordKind.DEVICE, device_owner(number), rule)
        device_holders.append(Holder(HolderState(credential, rule), record_id))
    mec_holders = []
    for number in range(mecs):
        own_rule = mec_rule if mec_rule is not None else rule
        record_id, credential = records.enrol(RecordKind.MEC, mec_owner(number), own_rule)
        mec_holders.append(Holder(HolderState(credential, own_rule), record_id))
    return World(records, device_holders, mec_holders)


@dataclass
class Handshake:
    """One handshake between ``device`` and ``mec`` through ``records``, run one step at a time.

    ``run`` performs the steps not yet done, up to ``stop_after``, and stops early when the TTP
    refuses. Holders adopt an answer only if it answers their latest attempt (SPEC.md,
    Adopting). A handshake may begin with somebody else's M1 (``device_session`` given): that is
    how a withheld M1 is delivered late to an honest MEC.
    """

    records: InMemoryRecords
    device: Holder
    mec: Holder
    version: int
    device_session: DeviceSession | None = None
    mec_session: MecSession | None = None
    answer: Accepted | Refused | None = None
    m3: bytes | None = None
    analysis_handle: bytes | None = None
    mec_result: MecResult | None = None
    m4: bytes | None = None
    device_result: DeviceResult | None = None
    adopted: set[str] = field(default_factory=set)

    @property
    def completed(self) -> int:
        """The last step done."""
        done = [
            self.device_session is not None,
            self.mec_session is not None,
            self.answer is not None,
            self.mec_result is not None,
            self.device_result is not None,
        ]
        return sum(done)

    def run(self, stop_after: Step = Step.DEVICE_FINISH) -> Handshake:
        for step in Step:
            if step <= self.completed:
                continue
            if step > stop_after:
                break
            if step is Step.START:
                self.device.state, attempt = self.device.state.begin_attempt()
                self.device_session = device_role.start(attempt)
            elif step is Step.FORWARD:
                assert self.device_session is not None
                self.mec.state, attempt = self.mec.state.begin_attempt()
                self.mec_session = mec_role.forward(attempt, self.device_session.m1.to_bytes())
            elif step is Step.ANSWER:
                assert self.mec_session is not None
                self.answer = self.records.answer(self.mec_session.m2, self.version)
                if isinstance(self.answer, Refused):
                    break
                self.m3 = self.answer.m3.to_bytes()
                self.analysis_handle = self.answer.analysis_handle
            elif step is Step.MEC_FINISH:
                self.mec_finish()
            else:
                self.device_finish()
        return self

    def mec_finish(self) -> MecResult:
        assert self.mec_session is not None
        assert self.m3 is not None
        assert self.analysis_handle is not None
        result = mec_role.finish(self.mec_session, self.m3, self.analysis_handle, self.version)
        self.mec_result = result
        self.m4 = result.m4.to_bytes()
        if self.mec.state.is_current(self.mec_session.attempt):
            self.mec.state = self.mec.state.adopt(self.mec_session.attempt, result.successor)
            self.adopted.add("mec")
        return result

    def device_finish(self) -> DeviceResult:
        assert self.device_session is not None
        assert self.m4 is not None
        result = device_role.finish(self.device_session, self.m4)
        self.device_result = result
        if self.device.state.is_current(self.device_session.attempt):
            self.device.state = self.device.state.adopt(
                self.device_session.attempt, result.successor
            )
            self.adopted.add("device")
        return result

    @property
    def accepted(self) -> Accepted:
        assert isinstance(self.answer, Accepted), f"refused: {self.answer!r}"
        return self.answer

    @property
    def refusal(self) -> RefusalReason:
        assert isinstance(self.answer, Refused), "the TTP accepted the request"
        return self.answer.reason


def handshake(
    world: World,
    device: Holder,
    mec: Holder,
    *,
    stop_after: Step = Step.DEVICE_FINISH,
    version: int | None = None,
    device_session: DeviceSession | None = None,
) -> Handshake:
    run = Handshake(
        world.records,
        device,
        mec,
        version=int(device.state.rule) if version is None else version,
        device_session=device_session,
    )
    return run.run(stop_after)


def assert_complete(world: World, run: Handshake) -> None:
    """A completed handshake: one SK at all three, both holders adopted the TTP's pending."""
    accepted = run.accepted
    assert run.device_result is not None
    assert run.mec_result is not None
    assert run.device_result.session_key == run.mec_result.session_key == accepted.session_key
    assert run.adopted == {"device", "mec"}
    assert run.device.credential == world.record(run.device).pending
    assert run.mec.credential == world.record(run.mec).pending
    assert run.device.state.counter == 0
    assert run.mec.state.counter == 0


@contextlib.contextmanager
def records_unchanged(world: World) -> Iterator[None]:
    """Asserts that the block changes no record at all: no field, no promotion, no index."""
    before = world.snapshot()
    dids = {
        (record.kind, credential.did): record_id
        for record_id, record in before.items()
        for credential in (record.confirmed, record.pending)
        if credential is not None
    }
    yield
    assert world.snapshot() == before
    for (kind, did), record_id in dids.items():
        found = world.records.resolve(kind, did)
        assert found is not None
        assert found.record_id == record_id


def refused(run: Handshake, reason: RefusalReason) -> None:
    """The TTP refused ``run`` for ``reason``: no M3 left and no holder adopted anything."""
    assert run.refusal is reason
    assert run.m3 is None
    assert not run.adopted


# --------------------------------------------------------------------------------------------
# Honest runs and healing after losses.
# --------------------------------------------------------------------------------------------


@BOTH_RULES
def test_full_handshake_agrees_and_rotates(rule: RecordRule) -> None:
    world = make_world(rule)
    device, mec = world.devices[0], world.mecs[0]
    first_device, first_mec = device.credential, mec.credential

    run = handshake(world, device, mec)

    assert_complete(world, run)
    assert world.record(device).confirmed == first_device
    assert world.record(mec).confirmed == first_mec
    assert device.state.epoch == mec.state.epoch == 1
    assert run.accepted.device.slot is Slot.CONFIRMED
    assert run.accepted.mec.slot is Slot.CONFIRMED
    expected_counter = 1 if rule is RecordRule.COUNTER else 0
    assert world.record(device).last_counter == expected_counter
    assert world.record(mec).last_counter == expected_counter


@BOTH_RULES
def test_successive_handshakes_promote_pending(rule: RecordRule) -> None:
    world = make_world(rule)
    device, mec = world.devices[0], world.mecs[0]
    seen: list[Credential] = [device.credential]
    keys: set[bytes] = set()
    for _ in range(5):
        previous = device.credential
        run = handshake(world, device, mec)
        assert_complete(world, run)
        assert run.accepted.device.slot is (Slot.CONFIRMED if len(seen) == 1 else Slot.PENDING)
        assert world.record(device).confirmed == previous
        assert run.device_result is not None
        keys.add(run.device_result.session_key)
        seen.append(device.credential)
    assert len(set(seen)) == len(seen)
    assert len(keys) == 5
    # Credentials older than the confirmed one are deleted from the index.
    for old in seen[:-2]:
        assert world.records.resolve(RecordKind.DEVICE, old.did) is None


@BOTH_RULES
def test_heals_after_lost_m3(rule: RecordRule) -> None:
    world = make_world(rule)
    device, mec = world.devices[0], world.mecs[0]
    old_device, old_mec = device.credential, mec.credential

    lost = handshake(world, device, mec, stop_after=Step.ANSWER)

    # The TTP rotated both records to a pending credential that no holder has.
    assert world.record(device).pending == lost.accepted.device_record.pending is not None
    assert world.record(mec).pending is not None
    assert device.credential == old_device
    assert mec.credential == old_mec
    assert world.holds(device)
    assert world.holds(mec)

    retry = handshake(world, device, mec)

    assert_complete(world, retry)
    assert retry.accepted.device.slot is Slot.CONFIRMED
    assert retry.accepted.mec.slot is Slot.CONFIRMED
    if rule is RecordRule.COUNTER:
        assert (retry.accepted.device_counter, retry.accepted.mec_counter) == (2, 2)
        assert world.record(device).last_counter == 2


@BOTH_RULES
def test_heals_after_lost_m4(rule: RecordRule) -> None:
    world = make_world(rule)
    device, mec = world.devices[0], world.mecs[0]
    old_device = device.credential

    lost = handshake(world, device, mec, stop_after=Step.MEC_FINISH)

    assert lost.adopted == {"mec"}
    assert device.credential == old_device
    assert world.holds(device)
    assert world.holds(mec)

    retry = handshake(world, device, mec)

    assert_complete(world, retry)
    assert retry.accepted.device.slot is Slot.CONFIRMED
    assert retry.accepted.mec.slot is Slot.PENDING
    assert world.record(device).confirmed == old_device


@BOTH_RULES
@pytest.mark.parametrize(
    "lost_after",
    [Step.START, Step.FORWARD, Step.ANSWER, Step.MEC_FINISH],
    ids=["lost-m1", "lost-m2", "lost-m3", "lost-m4"],
)
def test_heals_after_twenty_losses_in_a_row(rule: RecordRule, lost_after: Step) -> None:
    world = make_world(rule)
    device, mec = world.devices[0], world.mecs[0]
    for _ in range(20):
        handshake(world, device, mec, stop_after=lost_after)
        assert world.holds(device)
        assert world.holds(mec)

    final = handshake(world, device, mec)

    assert_complete(world, final)
    if rule is RecordRule.COUNTER:
        # Every attempt used the next counter; a MEC credential that never began an attempt
        # (lost M1) or adopted every time (lost M4) is at its first attempt.
        assert final.accepted.device_counter == 21
        fresh_mec = lost_after in (Step.START, Step.MEC_FINISH)
        assert final.accepted.mec_counter == (1 if fresh_mec else 21)


@BOTH_RULES
def test_heals_after_mixed_losses(rule: RecordRule) -> None:
    world = make_world(rule, mecs=3)
    device = world.devices[0]
    pattern = [Step.ANSWER, Step.MEC_FINISH, Step.FORWARD, Step.ANSWER, Step.MEC_FINISH]
    for number, lost_after in enumerate(pattern * 4):
        handshake(world, device, world.mecs[number % 3], stop_after=lost_after)
        assert all(world.holds(holder) for holder in world.devices + world.mecs)
    for mec in world.mecs:
        assert_complete(world, handshake(world, device, mec))


# --------------------------------------------------------------------------------------------
# Refusals: replay, stale counters, wrong keys, unknown identities, versions.
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("replay_after", [Step.ANSWER, Step.MEC_FINISH, Step.DEVICE_FINISH])
def test_replayed_m2_is_refused_under_counter(replay_after: Step) -> None:
    world = make_world(RecordRule.COUNTER)
    device, mec = world.devices[0], world.mecs[0]
    run = handshake(world, device, mec, stop_after=replay_after)
    assert run.mec_session is not None

    with records_unchanged(world):
        again = world.records.answer(run.mec_session.m2, run.version)

    assert isinstance(again, Refused)
    assert again.reason in STALE
    assert world.holds(device)
    assert world.holds(mec)
    assert_complete(world, handshake(world, device, mec))


def test_replayed_m2_is_accepted_under_paper() -> None:
    """The contrast: the paper's rule has no order, so the same M2 is answered again."""
    world = make_world(RecordRule.PAPER)
    device, mec = world.devices[0], world.mecs[0]
    run = handshake(world, device, mec, stop_after=Step.ANSWER)
    assert run.mec_session is not None

    again = world.records.answer(run.mec_session.m2, run.version)

    assert isinstance(again, Accepted)
    assert again.session_key != run.accepted.session_key  # a fresh R3 each time


def test_stale_device_request_is_refused_after_a_newer_one() -> None:
    world = make_world(RecordRule.COUNTER)
    device = world.devices[0]
    old = handshake(world, device, world.mecs[0], stop_after=Step.START)
    newer = handshake(world, device, world.mecs[0], stop_after=Step.ANSWER)
    assert newer.accepted.device_counter == 2

    with records_unchanged(world):
        late = handshake(world, device, world.mecs[1], device_session=old.device_session)

    refused(late, RefusalReason.STALE_DEVICE_COUNTER)
    assert_complete(world, handshake(world, device, world.mecs[1]))


def test_stale_mec_request_is_refused_after_a_newer_one_and_all_or_nothing() -> None:
    """Device part valid, MEC part stale: neither record changes (one transaction)."""
    world = make_world(RecordRule.COUNTER)
    mec = world.mecs[0]
    withheld = handshake(world, world.devices[0], mec, stop_after=Step.FORWARD)
    newer = handshake(world, world.devices[1], mec, stop_after=Step.ANSWER)
    assert newer.accepted.mec_counter == 2
    assert withheld.mec_session is not None

    with records_unchanged(world):
        late = world.records.answer(withheld.mec_session.m2, withheld.version)

    assert isinstance(late, Refused)
    assert late.reason is RefusalReason.STALE_MEC_COUNTER
    assert world.record(world.devices[0]).pending is None
    assert world.record(world.devices[0]).last_counter == 0
    assert_complete(world, handshake(world, world.devices[0], mec))


@BOTH_RULES
@pytest.mark.parametrize("wrong", ["device", "mec"])
def test_wrong_key_is_refused_and_changes_nothing(rule: RecordRule, wrong: str) -> None:
    world = make_world(rule)
    device, mec = world.devices[0], world.mecs[0]
    impostor_of = device if wrong == "device" else mec
    bad = Credential(impostor_of.credential.did, bytes(b ^ 0xFF for b in impostor_of.credential.dk))
    impostor = Holder(replace(impostor_of.state, credential=bad), impostor_of.record_id)
    pair = (impostor, mec) if wrong == "device" else (device, impostor)

    with records_unchanged(world):
        run = handshake(world, *pair)

    reason = RefusalReason.BAD_DEVICE_HASH if wrong == "device" else RefusalReason.BAD_MEC_HASH
    refused(run, reason)
    assert_complete(world, handshake(world, device, mec))


@BOTH_RULES
@pytest.mark.parametrize("unknown", ["device", "mec"])
def test_unknown_identity_is_refused(rule: RecordRule, unknown: str) -> None:
    world = make_world(rule)
    stranger = Holder(HolderState(Credential.generate(), rule), None)
    pair = (stranger, world.mecs[0]) if unknown == "device" else (world.devices[0], stranger)

    with records_unchanged(world):
        run = handshake(world, *pair)

    reason = RefusalReason.UNKNOWN_DEVICE if unknown == "device" else RefusalReason.UNKNOWN_MEC
    refused(run, reason)


@pytest.mark.parametrize("wrong", ["device", "mec"])
def test_identity_from_the_other_namespace_is_unknown(wrong: str) -> None:
    """SPEC.md Namespaces: DIDi is looked up only among devices, DIDm only among MECs."""
    world = make_world(RecordRule.COUNTER)
    device, mec = world.devices[0], world.mecs[0]
    if wrong == "device":
        pair = (Holder(mec.state, mec.record_id), world.mecs[1])
        reason = RefusalReason.UNKNOWN_DEVICE
    else:
        pair = (device, Holder(world.devices[1].state, world.devices[1].record_id))
        reason = RefusalReason.UNKNOWN_MEC

    with records_unchanged(world):
        run = handshake(world, *pair)

    refused(run, reason)


def test_enrolment_refuses_a_did_of_either_namespace() -> None:
    world = make_world(RecordRule.COUNTER)
    for holder in (world.devices[0], world.mecs[0]):
        for kind in RecordKind:
            with pytest.raises(ValueError, match="exists"):
                world.records.enrol(kind, "x", RecordRule.COUNTER, holder.credential)


def test_one_record_named_twice_is_refused_before_anything() -> None:
    world = make_world(RecordRule.COUNTER)
    run = handshake(world, world.devices[0], world.mecs[0], stop_after=Step.FORWARD)
    assert run.mec_session is not None
    found = world.records.resolve(RecordKind.DEVICE, world.devices[0].credential.did)
    assert found is not None

    result = ttp_role.answer(
        run.mec_session.m2, 1, found, found, pseudonym_for=world.records.pseudonym_for
    )

    assert result == Refused(RefusalReason.SAME_RECORD)


@pytest.mark.parametrize(
    ("rule", "mec_rule", "version"),
    [
        (RecordRule.COUNTER, RecordRule.COUNTER, int(RecordRule.PAPER)),
        (RecordRule.PAPER, RecordRule.PAPER, int(RecordRule.COUNTER)),
        (RecordRule.COUNTER, RecordRule.COUNTER, 3),
        (RecordRule.COUNTER, RecordRule.COUNTER, 0),
        (RecordRule.COUNTER, RecordRule.PAPER, int(RecordRule.COUNTER)),
        (RecordRule.COUNTER, RecordRule.PAPER, int(RecordRule.PAPER)),
    ],
)
def test_version_mismatch_is_refused(rule: RecordRule, mec_rule: RecordRule, version: int) -> None:
    world = make_world(rule, mec_rule=mec_rule)
    device, mec = world.devices[0], world.mecs[0]

    with records_unchanged(world):
        run = handshake(world, device, mec, version=version)

    refused(run, RefusalReason.VERSION_MISMATCH)
    assert world.holds(device)
    assert world.holds(mec)


@BOTH_RULES
def test_device_valid_mec_wrong_changes_neither_record(rule: RecordRule) -> None:
    world = make_world(rule)
    device, mec = world.devices[0], world.mecs[0]
    bad = Credential(mec.credential.did, bytes(16))
    device_before = world.record(device)

    with records_unchanged(world):
        run = handshake(world, device, Holder(replace(mec.state, credential=bad), mec.record_id))

    refused(run, RefusalReason.BAD_MEC_HASH)
    assert world.record(device) is device_before
    # The device's refused attempt cost it nothing: its next attempt (a higher counter) succeeds.
    assert_complete(world, handshake(world, device, mec))


# --------------------------------------------------------------------------------------------
# Tampering: the roles refuse what the TTP did not send.
# --------------------------------------------------------------------------------------------


def _flip(data: bytes, position: int) -> bytes:
    raw = bytearray(data)
    raw[position] ^= 0x80
    return bytes(raw)


@BOTH_RULES
@pytest.mark.parametrize(
    ("position", "name"),
    [(0, "d1"), (15, "d1"), (16, "d2"), (31, "d2"), (32, "d3"), (63, "d3")],
)
def test_tampered_m3_makes_the_mec_fail(rule: RecordRule, position: int, name: str) -> None:
    world = make_world(rule)
    device, mec = world.devices[0], world.mecs[0]
    run = handshake(world, device, mec, stop_after=Step.ANSWER)
    assert run.m3 is not None
    run.m3 = _flip(run.m3, position)

    with pytest.raises(AuthenticationFailed) as raised:
        run.mec_finish()

    # d1 and d3 break the key check; d2 is covered by the handle's associated data.
    expected = "bad_analysis_handle" if name == "d2" else "bad_d3_at_mec"
    assert raised.value.reason == expected
    assert not run.adopted
    assert world.holds(mec)
    assert_complete(world, handshake(world, device, mec))


@BOTH_RULES
@pytest.mark.parametrize(("position", "name"), [(0, "d2"), (15, "d2"), (16, "d3"), (47, "d3")])
def test_tampered_m4_makes_the_device_fail(rule: RecordRule, position: int, name: str) -> None:
    world = make_world(rule)
    device, mec = world.devices[0], world.mecs[0]
    run = handshake(world, device, mec, stop_after=Step.MEC_FINISH)
    assert run.m4 is not None
    run.m4 = _flip(run.m4, position)

    with pytest.raises(AuthenticationFailed) as raised:
        run.device_finish()

    assert raised.value.reason == "bad_d3_at_device", name
    assert run.adopted == {"mec"}
    assert world.holds(device)
    assert_complete(world, handshake(world, device, mec))


@BOTH_RULES
@pytest.mark.parametrize("position", [0, 31, 32, 47])
def test_tampered_analysis_handle_makes_the_mec_fail(rule: RecordRule, position: int) -> None:
    world = make_world(rule)
    run = handshake(world, world.devices[0], world.mecs[0], stop_after=Step.ANSWER)
    assert run.analysis_handle is not None
    run.analysis_handle = _flip(run.analysis_handle, position)

    with pytest.raises(AuthenticationFailed) as raised:
        run.mec_finish()

    assert raised.value.reason == "bad_analysis_handle"
    assert not run.adopted


def test_analysis_handle_of_another_handshake_makes_the_mec_fail() -> None:
    world = make_world(RecordRule.COUNTER)
    first = handshake(world, world.devices[0], world.mecs[0], stop_after=Step.ANSWER)
    second = handshake(world, world.devices[1], world.mecs[1], stop_after=Step.ANSWER)
    first.analysis_handle = second.analysis_handle

    with pytest.raises(AuthenticationFailed):
        first.mec_finish()


@pytest.mark.parametrize("length", [0, 47, 49])
def test_missing_or_truncated_analysis_handle_fails_the_handshake(length: int) -> None:
    world = make_world(RecordRule.COUNTER)
    mec = world.mecs[0]
    run = handshake(world, world.devices[0], mec, stop_after=Step.ANSWER)
    assert run.analysis_handle is not None
    run.analysis_handle = (run.analysis_handle + bytes(1))[:length]

    with pytest.raises(MalformedField) as raised:
        run.mec_finish()

    assert raised.value.field == "analysis_handle"
    assert raised.value.expected_bytes == 48
    assert not run.adopted
    assert world.holds(mec)


def test_analysis_handle_under_another_version_makes_the_mec_fail() -> None:
    world = make_world(RecordRule.COUNTER)
    run = handshake(world, world.devices[0], world.mecs[0], stop_after=Step.ANSWER)
    run.version = int(RecordRule.PAPER)

    with pytest.raises(AuthenticationFailed) as raised:
        run.mec_finish()

    assert raised.value.reason == "bad_analysis_handle"


# --------------------------------------------------------------------------------------------
# The holder's attempt state and the analysis pseudonym.
# --------------------------------------------------------------------------------------------


@BOTH_RULES
def test_adopt_refuses_an_answer_to_an_older_attempt(rule: RecordRule) -> None:
    state = HolderState(Credential.generate(), rule)
    state, first = state.begin_attempt()
    state, second = state.begin_attempt()
    successor = Credential.generate()

    assert not state.is_current(first)
    assert state.is_current(second)
    with pytest.raises(ValueError, match="no longer the latest"):
        state.adopt(first, successor)

    adopted = state.adopt(second, successor)
    assert (adopted.credential, adopted.counter, adopted.epoch) == (successor, 0, 1)
    with pytest.raises(ValueError, match="no longer the latest"):
        adopted.adopt(second, Credential.generate())


def test_counter_rule_nonces_follow_the_counter() -> None:
    state = HolderState(Credential.generate(), RecordRule.COUNTER)
    nonces = []
    for expected in range(1, 4):
        state, attempt = state.begin_attempt(random_nonce=bytes(16))
        assert attempt.counter == expected == state.counter
        nonces.append(attempt.nonce)
    assert len(set(nonces)) == 3
    assert bytes(16) not in nonces


def test_paper_rule_nonce_can_be_fixed() -> None:
    state = HolderState(Credential.generate(), RecordRule.PAPER)
    state, attempt = state.begin_attempt(random_nonce=b"\x44" * 16)
    assert attempt.nonce == b"\x44" * 16
    assert attempt.counter == 1


def test_counter_exhaustion_refuses_a_new_attempt() -> None:
    state = HolderState(Credential.generate(), RecordRule.COUNTER, counter=COUNTER_MAX - 1)
    state, attempt = state.begin_attempt()
    assert attempt.counter == COUNTER_MAX
    with pytest.raises(OverflowError, match="re-provision"):
        state.begin_attempt()


def test_record_rule_labels() -> None:
    assert [rule.label for rule in RecordRule] == ["counter", "paper"]
    assert RecordRule.from_label("PAPER") is RecordRule.PAPER
    with pytest.raises(ValueError, match="expected counter or paper"):
        RecordRule.from_label("two-slot")


def test_analysis_pseudonym_is_per_mec_and_per_analysis() -> None:
    analyses = ["analysis-a", "analysis-a", "analysis-b"]
    nodes = ["mec-node-1", "mec-node-1", "mec-node-2"]
    world = make_world(
        RecordRule.COUNTER,
        devices=3,
        mecs=3,
        device_owner=lambda number: analyses[number],
        mec_owner=lambda number: nodes[number],
    )

    def pseudonym(device: int, mec: int) -> bytes:
        run = handshake(world, world.devices[device], world.mecs[mec])
        assert_complete(world, run)
        assert run.mec_result is not None
        return run.mec_result.analysis_pseudonym

    a_at_1 = pseudonym(0, 0)
    assert pseudonym(1, 0) == a_at_1  # two devices of one analysis at one MEC
    assert pseudonym(1, 1) == a_at_1  # another credential of the same MEC node
    assert pseudonym(0, 2) != a_at_1  # another MEC node
    assert pseudonym(2, 0) != a_at_1  # another analysis
    assert a_at_1 == analysis_pseudonym(world.records.pseudonym_key, "analysis-a", "mec-node-1")


# --------------------------------------------------------------------------------------------
# SPEC.md "The paper's record rule, and the attack on it": the withheld request.
# --------------------------------------------------------------------------------------------


@BOTH_RULES
def test_withheld_m1_locks_the_device_out_only_under_paper(rule: RecordRule) -> None:
    world = make_world(rule)
    device = world.devices[0]
    withheld = handshake(world, device, world.mecs[0], stop_after=Step.START)  # M1(A, x)
    success = handshake(world, device, world.mecs[0])  # M1(A, y): the device moves to B'
    assert_complete(world, success)

    # The attacker delivers the old M1(A, x) to another, honest MEC, which forwards it.
    before = world.snapshot()
    late = handshake(world, device, world.mecs[1], device_session=withheld.device_session)

    if rule is RecordRule.PAPER:
        assert late.accepted.device.slot is Slot.CONFIRMED  # A found as prev
        assert late.adopted == {"mec"}  # the device ignores the answer to an old attempt
        assert not world.holds(device), "B' should be neither confirmed nor pending"
        assert world.record(device).pending == late.accepted.device_record.pending  # B(x)
        locked = handshake(world, device, world.mecs[0])
        refused(locked, RefusalReason.UNKNOWN_DEVICE)
    else:
        refused(late, RefusalReason.STALE_DEVICE_COUNTER)
        assert world.snapshot() == before
        assert world.holds(device)
        assert_complete(world, handshake(world, device, world.mecs[0]))


@BOTH_RULES
def test_withheld_m2_locks_the_mec_credential_out_only_under_paper(rule: RecordRule) -> None:
    world = make_world(rule)
    mec = world.mecs[0]
    withheld = handshake(world, world.devices[0], mec, stop_after=Step.FORWARD)  # M2(M, x)
    success = handshake(world, world.devices[1], mec)  # the MEC credential moves to M'
    assert_complete(world, success)
    assert withheld.mec_session is not None

    before = world.snapshot()
    late = world.records.answer(withheld.mec_session.m2, withheld.version)

    if rule is RecordRule.PAPER:
        assert isinstance(late, Accepted)
        assert not world.holds(mec), "M' should be neither confirmed nor pending"
        locked = handshake(world, world.devices[1], mec)
        refused(locked, RefusalReason.UNKNOWN_MEC)
    else:
        assert late == Refused(RefusalReason.STALE_MEC_COUNTER)
        assert world.snapshot() == before
        assert world.holds(mec)
        assert_complete(world, handshake(world, world.devices[0], mec))
        assert_complete(world, handshake(world, world.devices[1], mec))


@BOTH_RULES
@pytest.mark.parametrize("target", ["device", "mec"])
@pytest.mark.parametrize("order", ["oldest-first", "newest-first"])
def test_targeted_storm(rule: RecordRule, target: str, order: str) -> None:
    """Withhold 10 requests of one holder, let one through, then deliver the 10."""
    world = make_world(rule, mecs=3)
    device, mec = world.devices[0], world.mecs[0]
    if target == "device":
        withheld = [handshake(world, device, mec, stop_after=Step.START) for _ in range(10)]
        victim = device
    else:
        withheld = [
            handshake(world, world.devices[1], mec, stop_after=Step.FORWARD) for _ in range(10)
        ]
        victim = mec
    assert_complete(world, handshake(world, device, mec))
    if order == "newest-first":
        withheld.reverse()

    before = world.snapshot()
    for number, old in enumerate(withheld):
        if target == "device":
            # Each late M1 goes to an honest MEC credential, which forwards and completes.
            late = handshake(
                world, device, world.mecs[1 + number % 2], device_session=old.device_session
            )
            outcome = late.answer
        else:
            assert old.mec_session is not None
            outcome = world.records.answer(old.mec_session.m2, old.version)
        if rule is RecordRule.PAPER:
            assert isinstance(outcome, Accepted)
        else:
            expected = "device" if target == "device" else "mec"
            assert outcome == Refused(RefusalReason[f"STALE_{expected.upper()}_COUNTER"])

    if rule is RecordRule.PAPER:
        assert not world.holds(victim)
    else:
        assert world.snapshot() == before
        assert all(world.holds(holder) for holder in world.devices + world.mecs)
        assert_complete(world, handshake(world, device, mec))
        assert_complete(world, handshake(world, world.devices[1], world.mecs[2]))
