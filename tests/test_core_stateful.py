"""Stateful exploration of delivery schedules: an adversary owns the network, holders stay honest.

SPEC.md sections: "The paper's record rule, and the attack on it" and "Our rule (the default)".
A Hypothesis ``RuleBasedStateMachine`` runs several devices and K MEC credentials against one
``InMemoryRecords``. Every message in flight sits in a bag (a Hypothesis ``Bundle``); the adversary
forwards any M1 with any MEC credential, delivers any M2 to the TTP (again and again if it likes),
any M3 to the MEC credential whose attempt sent it, any M4 to its device, drops any message, or
keeps messages back and delivers them later in any order. Holders adopt an answer only if it
answers their latest attempt.

Invariant: every holder can still authenticate at its TTP record, and a clean handshake succeeds
for every holder. It holds under RecordRule.COUNTER; under RecordRule.PAPER the same machine finds
the lockout.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    MultipleResults,
    RuleBasedStateMachine,
    consumes,
    invariant,
    multiple,
    rule,
    run_state_machine_as_test,
)

from mec5g.core import device_role, mec_role
from mec5g.core.credentials import HolderState, RecordRule
from mec5g.core.device_role import DeviceSession
from mec5g.core.mec_role import MecSession
from mec5g.core.memory_records import InMemoryRecords
from mec5g.core.records import CredentialRecord, RecordKind, Slot
from mec5g.core.ttp_role import Accepted, Refused

DEVICE_COUNT = 4
MEC_CREDENTIAL_COUNT = 3
DEVICES = st.integers(min_value=0, max_value=DEVICE_COUNT - 1)
MEC_CREDENTIALS = st.integers(min_value=0, max_value=MEC_CREDENTIAL_COUNT - 1)
LOCKOUT = "locked out"


@dataclass(frozen=True, slots=True)
class InFlightM1:
    device: int
    session: DeviceSession


@dataclass(frozen=True, slots=True)
class InFlightM2:
    m1: InFlightM1
    mec: int
    session: MecSession


@dataclass(frozen=True, slots=True)
class InFlightM3:
    m2: InFlightM2
    m3: bytes
    analysis_handle: bytes
    session_key: bytes


@dataclass(frozen=True, slots=True)
class InFlightM4:
    m3: InFlightM3
    m4: bytes


@dataclass
class Holder:
    state: HolderState
    record_id: int


class KeyAgreementMachine(RuleBasedStateMachine):
    """Devices, MEC credentials and a TTP; the network is the adversary's."""

    record_rule: ClassVar[RecordRule] = RecordRule.COUNTER

    m1s = Bundle("m1s")
    m2s = Bundle("m2s")
    m3s = Bundle("m3s")
    m4s = Bundle("m4s")

    def __init__(self) -> None:
        super().__init__()
        self.records = InMemoryRecords()
        self.version = int(self.record_rule)
        self.devices = [self._enrol(RecordKind.DEVICE, "analysis") for _ in range(DEVICE_COUNT)]
        self.mecs = [self._enrol(RecordKind.MEC, "mec-node") for _ in range(MEC_CREDENTIAL_COUNT)]
        self.accepted = 0
        self.answered: set[bytes] = set()

    def _enrol(self, kind: RecordKind, owner: str) -> Holder:
        record_id, credential = self.records.enrol(kind, owner, self.record_rule)
        return Holder(HolderState(credential, self.record_rule), record_id)

    def _record(self, holder: Holder) -> CredentialRecord:
        return self.records.records[holder.record_id]

    # The honest holders' steps, driven by the adversary's deliveries.

    @rule(target=m1s, device=DEVICES)
    def start_attempt(self, device: int) -> InFlightM1:
        """A device begins a new attempt (abandoning its previous one, like a timeout)."""
        holder = self.devices[device]
        holder.state, attempt = holder.state.begin_attempt()
        return InFlightM1(device, device_role.start(attempt))

    @rule(target=m2s, m1=m1s, mec=MEC_CREDENTIALS)
    def forward(self, m1: InFlightM1, mec: int) -> InFlightM2:
        """A MEC leases credential ``mec`` for any M1 it is given: that credential's new attempt."""
        holder = self.mecs[mec]
        holder.state, attempt = holder.state.begin_attempt()
        return InFlightM2(m1, mec, mec_role.forward(attempt, m1.session.m1.to_bytes()))

    @rule(target=m3s, m2=m2s)
    def deliver_m2(self, m2: InFlightM2) -> InFlightM3 | MultipleResults[InFlightM3]:
        """The TTP answers any M2, as often as the adversary delivers it."""
        before = dict(self.records.records)
        answer = self.records.answer(m2.session.m2, self.version)
        if isinstance(answer, Refused):
            assert self.records.records == before, "a refusal changed a record"
            return multiple()
        m2_bytes = m2.session.m2.to_bytes()
        if self.record_rule is RecordRule.COUNTER:
            assert m2_bytes not in self.answered, "the same M2 was accepted twice"
        self.answered.add(m2_bytes)
        self.accepted += 1
        return InFlightM3(m2, answer.m3.to_bytes(), answer.analysis_handle, answer.session_key)

    @rule(target=m4s, m3=m3s)
    def deliver_m3(self, m3: InFlightM3) -> InFlightM4 | MultipleResults[InFlightM4]:
        """The MEC credential that sent the M2 finishes, if this is still its latest attempt."""
        holder = self.mecs[m3.m2.mec]
        session = m3.m2.session
        if not holder.state.is_current(session.attempt):
            return multiple()
        result = mec_role.finish(session, m3.m3, m3.analysis_handle, self.version)
        assert result.session_key == m3.session_key
        holder.state = holder.state.adopt(session.attempt, result.successor)
        return InFlightM4(m3, result.m4.to_bytes())

    @rule(m4=m4s)
    def deliver_m4(self, m4: InFlightM4) -> None:
        """The device finishes, if this is still its latest attempt."""
        in_flight_m1 = m4.m3.m2.m1
        holder = self.devices[in_flight_m1.device]
        session = in_flight_m1.session
        if not holder.state.is_current(session.attempt):
            return
        result = device_role.finish(session, m4.m4)
        assert result.session_key == m4.m3.session_key
        holder.state = holder.state.adopt(session.attempt, result.successor)

    @rule(m1=consumes(m1s))
    def drop_m1(self, m1: InFlightM1) -> None:
        pass

    @rule(m2=consumes(m2s))
    def drop_m2(self, m2: InFlightM2) -> None:
        pass

    @rule(m3=consumes(m3s))
    def drop_m3(self, m3: InFlightM3) -> None:
        pass

    @rule(m4=consumes(m4s))
    def drop_m4(self, m4: InFlightM4) -> None:
        pass

    @rule(device=DEVICES, mec=MEC_CREDENTIALS)
    def clean_handshake(self, device: int, mec: int) -> None:
        """A complete handshake that the adversary leaves alone must succeed."""
        self._assert_clean_handshake(self.devices[device], self.mecs[mec])

    def _assert_clean_handshake(self, device: Holder, mec: Holder) -> None:
        device.state, device_attempt = device.state.begin_attempt()
        device_session = device_role.start(device_attempt)
        mec.state, mec_attempt = mec.state.begin_attempt()
        mec_session = mec_role.forward(mec_attempt, device_session.m1.to_bytes())
        answer = self.records.answer(mec_session.m2, self.version)
        assert isinstance(answer, Accepted), f"{LOCKOUT}: a clean handshake was refused: {answer}"
        self.accepted += 1
        at_mec = mec_role.finish(
            mec_session, answer.m3.to_bytes(), answer.analysis_handle, self.version
        )
        at_device = device_role.finish(device_session, at_mec.m4.to_bytes())
        assert at_device.session_key == at_mec.session_key == answer.session_key
        mec.state = mec.state.adopt(mec_attempt, at_mec.successor)
        device.state = device.state.adopt(device_attempt, at_device.successor)

    # What must hold after every step.

    def lockouts(self) -> list[str]:
        """Holders that can no longer authenticate at their TTP record."""
        problems = []
        holders = [("device", self.devices), ("MEC credential", self.mecs)]
        for name, group in holders:
            for number, holder in enumerate(group):
                record = self._record(holder)
                if not record.holds(holder.state.credential):
                    problems.append(f"{name} {number}: neither confirmed nor pending")
                elif (
                    self.record_rule is RecordRule.COUNTER
                    and record.slot_of(holder.state.credential.did) is Slot.CONFIRMED
                    and holder.state.counter < record.last_counter
                ):
                    problems.append(f"{name} {number}: counter behind the record's last_ctr")
        return problems

    @invariant()
    def every_holder_can_still_authenticate(self) -> None:
        problems = self.lockouts()
        assert not problems, f"{LOCKOUT}: " + "; ".join(problems)

    def teardown(self) -> None:
        # A lockout has failed the invariant already; otherwise every holder must still complete
        # a clean handshake (each device with a MEC credential, then each MEC credential).
        if self.lockouts():
            return
        for number, device in enumerate(self.devices):
            self._assert_clean_handshake(device, self.mecs[number % MEC_CREDENTIAL_COUNT])
        for mec in self.mecs:
            self._assert_clean_handshake(self.devices[0], mec)


class CounterRuleMachine(KeyAgreementMachine):
    record_rule = RecordRule.COUNTER


class PaperRuleMachine(KeyAgreementMachine):
    record_rule = RecordRule.PAPER


def _settings(max_examples: int) -> settings:
    return settings(
        max_examples=max_examples,
        stateful_step_count=30,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
    )


def test_counter_rule_survives_every_schedule() -> None:
    run_state_machine_as_test(CounterRuleMachine, settings=_settings(500))


def test_paper_rule_machine_finds_the_lockout() -> None:
    with pytest.raises(AssertionError, match=LOCKOUT):
        run_state_machine_as_test(PaperRuleMachine, settings=_settings(1000))


# The targeted schedule of SPEC.md, driven through the machine's own rules: withhold 10 requests,
# let one through, then deliver the 10.


def _targeted_storm(machine: KeyAgreementMachine) -> int:
    """Runs the schedule against device 0; the number of late requests the TTP accepted."""
    withheld = [machine.start_attempt(device=0) for _ in range(10)]
    through = machine.forward(machine.start_attempt(device=0), mec=0)
    m3 = machine.deliver_m2(through)
    assert isinstance(m3, InFlightM3)
    m4 = machine.deliver_m3(m3)
    assert isinstance(m4, InFlightM4)
    machine.deliver_m4(m4)
    machine.every_holder_can_still_authenticate()
    accepted_before = machine.accepted
    for number, m1 in enumerate(reversed(withheld)):
        late = machine.deliver_m2(machine.forward(m1, mec=1 + number % 2))
        if isinstance(late, InFlightM3):
            late_m4 = machine.deliver_m3(late)
            assert isinstance(late_m4, InFlightM4)
            machine.deliver_m4(late_m4)  # ignored: an answer to an abandoned attempt
    return machine.accepted - accepted_before


def test_targeted_storm_is_refused_under_counter() -> None:
    machine = CounterRuleMachine()
    assert _targeted_storm(machine) == 0
    machine.every_holder_can_still_authenticate()
    machine.teardown()


def test_targeted_storm_locks_the_device_out_under_paper() -> None:
    machine = PaperRuleMachine()
    assert _targeted_storm(machine) == 10
    with pytest.raises(AssertionError, match=f"{LOCKOUT}: device 0: neither confirmed"):
        machine.every_holder_can_still_authenticate()
