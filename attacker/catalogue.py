"""The attack catalogue: named scenarios, each with what must happen under each record rule.

Every scenario runs against a real testbed (``attacked_testbed``) whose links the attacker holds,
and reports what it observed as one short sentence built from what the parties actually answered
(gRPC statuses, attach outcomes, and whether every holder still agrees with its TTP record). A
scenario holds when the observed sentence equals the expected one for the rule it ran under.
SPEC.md explains the expected outcomes: its counter rule refuses every replayed, stale or
withheld-then-delivered request, while the paper's two-slot rule (``--record-rule paper``) lets a
withheld request lock a holder out.
"""

from __future__ import annotations

import asyncio
import random
import statistics
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import grpc

from mec5g.attacker import codec
from mec5g.attacker.codec import AGREE, VERIFY
from mec5g.attacker.link import DROP, FORWARD, WITHHOLD, Action, AttackedLink, Message
from mec5g.attacker.randomness import byte_chi_square_p, ks_two_sample_p, monobit_p
from mec5g.attacker.source import foreign_source
from mec5g.attacker.testbed import MEC_NODE, AttackedTestbed
from mec5g.core import device_role, handshake, mec_role
from mec5g.core.credentials import Credential, HolderState, RecordRule
from mec5g.core.messages import M1, M3, M4
from mec5g.core.primitives import h1, h2, random_bytes, xor
from mec5g.mec.sessions import SessionState
from mec5g.runtime.holder_store import EnrolmentFile, HolderStore
from mec5g.runtime.rate_limit import OFF, PER_DEVICE, PER_MEC, RatePolicy
from mec5g.runtime.status import wire_version
from mec5g.ttp.enrolment import enrol_mec
from mec5g.ue.fleet import Outcome
from mec5g.v1 import mec_key_agreement_pb2, ttp_key_agreement_pb2

COUNTER, PAPER = RecordRule.COUNTER, RecordRule.PAPER
UNAFFECTED = "holders unaffected"


@dataclass(frozen=True)
class Finding:
    """What a scenario observed: one comparable sentence, and the figures behind it."""

    observed: str
    details: dict[str, Any] = field(default_factory=dict)


Run = Callable[[AttackedTestbed, dict[str, int]], Awaitable[Finding]]


@dataclass(frozen=True)
class Scenario:
    name: str
    summary: str
    expected: dict[RecordRule, str]
    run: Run
    devices: int = 4
    mec_credentials: int = 2
    parameters: dict[str, int] = field(default_factory=dict)  # defaults, overridable
    # Rate limits (TTP per MEC, TTP per device, MEC per source); None: the servers' defaults.
    limits: tuple[RatePolicy, RatePolicy, RatePolicy] | None = None


CATALOGUE: dict[str, Scenario] = {}


def scenario(
    name: str,
    summary: str,
    expected: dict[RecordRule, str] | str,
    *,
    devices: int = 4,
    mec_credentials: int = 2,
    limits: tuple[RatePolicy, RatePolicy, RatePolicy] | None = None,
    **parameters: int,
) -> Callable[[Run], Run]:
    """Register a scenario; a single expected sentence holds under both rules."""

    def register(run: Run) -> Run:
        both = expected if isinstance(expected, dict) else dict.fromkeys(RecordRule, expected)
        CATALOGUE[name] = Scenario(
            name, summary, both, run, devices, mec_credentials, dict(parameters), limits
        )
        return run

    return register


# -- helpers ----------------------------------------------------------------------------------


def _verdict(code: grpc.StatusCode) -> str:
    if code == grpc.StatusCode.UNAUTHENTICATED:
        return "refused"
    if code == grpc.StatusCode.OK:
        return "accepted"
    return str(code.name).lower()


def _once(action: Action, method: str, times: int = 1) -> Callable[[Message], Action]:
    """A hook that applies ``action`` to the next ``times`` messages of ``method``."""
    remaining = [times]

    def hook(message: Message) -> Action:
        if message.method == method and remaining[0] > 0:
            remaining[0] -= 1
            return action
        return FORWARD

    return hook


def _flip(field_name: str, offset: int) -> Callable[[Message], Action]:
    """A hook that flips one bit of one field of the next message it sees, then forwards."""
    done = [False]

    def hook(message: Message) -> Action:
        if done[0] or message.method not in (AGREE, VERIFY):
            return FORWARD
        done[0] = True
        payload = codec.flip_bit(
            message.method, message.direction, message.payload, field_name, offset
        )
        return Action(payload=payload)

    return hook


async def _holders_state(testbed: AttackedTestbed, retries: int = 1) -> str:
    """Whether every holder still works: each device attaches (enough times to use every MEC
    credential too), and every credential agrees with its TTP record."""
    outcomes = []
    for _ in range(retries):
        for device in testbed.devices:
            outcomes.append(await testbed.attach(device))
    locked = await testbed.lockouts()
    if locked:
        credentials = sum(name.startswith(f"{MEC_NODE}/") for name in locked)
        parts = [
            f"{count} {kind}"
            for count, kind in (
                (len(locked) - credentials, "device"),
                (credentials, "MEC credential"),
            )
            if count
        ]
        return f"locked out: {', '.join(parts)}"
    if any(outcome is not Outcome.SUCCESS for outcome in outcomes):
        return "holders failing"
    return UNAFFECTED


async def _fresh_request(testbed: AttackedTestbed, link: AttackedLink, method: str) -> bytes:
    """Withhold the next request of ``method`` (an honest attempt fails) and return it unused."""
    link.on_request = _once(WITHHOLD, method)
    await testbed.attach(testbed.devices[0])
    link.passive()
    _, payload = link.withheld.pop()
    return payload


# -- replays and forgeries ---------------------------------------------------------------------


@scenario(
    "replay-m1",
    "An eavesdropper on the radio link replays a device's M1 after the handshake completed.",
    {COUNTER: f"refused; {UNAFFECTED}", PAPER: f"accepted; {UNAFFECTED}"},
)
async def _replay_m1(testbed: AttackedTestbed, _: dict[str, int]) -> Finding:
    device = testbed.devices[0]
    first = await testbed.attach(device)
    captured = testbed.radio.of("Agree")[-1].payload
    replay = await testbed.radio.inject(AGREE, captured)
    holders = await _holders_state(testbed)
    details = {"honest": first.name, "replay": replay.code.name}
    return Finding(f"{_verdict(replay.code)}; {holders}", details)


@scenario(
    "replay-m2",
    "An eavesdropper on the backhaul replays a MEC's M2 to the TTP after it was answered.",
    {COUNTER: f"refused; {UNAFFECTED}", PAPER: f"accepted; {UNAFFECTED}"},
)
async def _replay_m2(testbed: AttackedTestbed, _: dict[str, int]) -> Finding:
    await testbed.attach(testbed.devices[0])
    captured = testbed.backhaul.of("Verify")[-1].payload
    replay = await testbed.backhaul.inject(VERIFY, captured)
    holders = await _holders_state(testbed)
    return Finding(f"{_verdict(replay.code)}; {holders}", {"replay": replay.code.name})


@scenario(
    "impersonate-device",
    "A device's fresh M1, never used, with c1 forged (one bit flipped), sent to the MEC.",
    f"refused; {UNAFFECTED}",
)
async def _impersonate_device(testbed: AttackedTestbed, _: dict[str, int]) -> Finding:
    return await _forged(testbed, testbed.radio, AGREE, "m1", 40)  # inside c1 (bytes 32..63)


@scenario(
    "impersonate-mec",
    "A MEC's fresh M2, never used, with cm1 forged (one bit flipped), sent to the TTP.",
    f"refused; {UNAFFECTED}",
)
async def _impersonate_mec(testbed: AttackedTestbed, _: dict[str, int]) -> Finding:
    return await _forged(testbed, testbed.backhaul, VERIFY, "m2", 100)  # inside cm1 (96..127)


async def _forged(
    testbed: AttackedTestbed, link: AttackedLink, method: str, field_name: str, offset: int
) -> Finding:
    """A fresh request of ``method``, never used, with one bit of a hash flipped, sent on."""
    fresh = await _fresh_request(testbed, link, method)
    forged = codec.flip_bit(method, "request", fresh, field_name, offset)
    answer = await link.inject(method, forged)
    holders = await _holders_state(testbed)
    return Finding(f"{_verdict(answer.code)}; {holders}", {"forged": answer.code.name})


# -- man in the middle -------------------------------------------------------------------------


async def _tampered_attach(
    testbed: AttackedTestbed, link: AttackedLink, field_name: str, offset: int
) -> Finding:
    """Tamper with the next response on ``link``; report who detected it and whether the
    parties heal at the next attempt."""
    mec_detections = _mec_outcome(testbed, "bad_answer")
    unconfirmed = testbed.mec.sessions.counts()[SessionState.UNCONFIRMED]
    link.on_response = _flip(field_name, offset)
    outcome = await testbed.attach(testbed.devices[0])
    link.passive()
    detected_by_mec = _mec_outcome(testbed, "bad_answer") > mec_detections
    # SPEC.md: a session no device completes stays unconfirmed at the MEC (and expires).
    left_open = testbed.mec.sessions.counts()[SessionState.UNCONFIRMED] > unconfirmed
    who = "the MEC" if detected_by_mec else "the device (the MEC's session left unconfirmed)"
    if not detected_by_mec and not left_open:
        who = "the device (no MEC session left)"
    if outcome is Outcome.SUCCESS:
        return Finding("undetected", {"outcome": outcome.name})
    healed = await testbed.attach(testbed.devices[0])
    holders = await _holders_state(testbed)
    state = "healed at the next attempt" if healed is Outcome.SUCCESS else "not healed"
    return Finding(
        f"detected by {who}; {state}; {holders}",
        {"outcome": outcome.name, "next": healed.name},
    )


def _mec_outcome(testbed: AttackedTestbed, outcome: str) -> float:
    value = testbed.mec.metrics.registry.get_sample_value(
        "mec5g_phase_results_total",
        {"role": "mec", "phase": "key_agreement", "outcome": outcome},
    )
    return value or 0.0


DETECTED_BY_MEC = f"detected by the MEC; healed at the next attempt; {UNAFFECTED}"
DETECTED_BY_DEVICE = (
    "detected by the device (the MEC's session left unconfirmed); healed at the next attempt; "
    f"{UNAFFECTED}"
)


@scenario("mitm-d1", "d1 in M3 changed on the backhaul.", DETECTED_BY_MEC)
async def _mitm_d1(testbed: AttackedTestbed, _: dict[str, int]) -> Finding:
    return await _tampered_attach(testbed, testbed.backhaul, "m3", 0)


@scenario("mitm-d2", "d2 in M4 changed on the radio link.", DETECTED_BY_DEVICE)
async def _mitm_d2(testbed: AttackedTestbed, _: dict[str, int]) -> Finding:
    return await _tampered_attach(testbed, testbed.radio, "m4", 0)


@scenario("mitm-d3", "d3 in M4 changed on the radio link.", DETECTED_BY_DEVICE)
async def _mitm_d3(testbed: AttackedTestbed, _: dict[str, int]) -> Finding:
    return await _tampered_attach(testbed, testbed.radio, "m4", 20)


@scenario("mitm-handle", "The analysis handle changed on the backhaul.", DETECTED_BY_MEC)
async def _mitm_handle(testbed: AttackedTestbed, _: dict[str, int]) -> Finding:
    return await _tampered_attach(testbed, testbed.backhaul, "analysis_handle", 0)


# -- desynchronisation -------------------------------------------------------------------------


async def _losses(
    testbed: AttackedTestbed, link: AttackedLink, method: str, losses: int
) -> Finding:
    device = testbed.devices[0]
    link.on_response = _once(DROP, method, losses)
    failed = [await testbed.attach(device) for _ in range(losses)]
    link.passive()
    healed = await testbed.attach(device)
    holders = await _holders_state(testbed)
    lost = sum(outcome is not Outcome.SUCCESS for outcome in failed)
    state = "healed at the next attempt" if healed is Outcome.SUCCESS else "not healed"
    return Finding(f"{lost} lost; {state}; {holders}", {"losses": losses})


@scenario(
    "drop-m3",
    "M3 dropped on the backhaul 8 times in a row (the TTP updated its records every time).",
    f"8 lost; healed at the next attempt; {UNAFFECTED}",
    losses=8,
)
async def _drop_m3(testbed: AttackedTestbed, parameters: dict[str, int]) -> Finding:
    return await _losses(testbed, testbed.backhaul, VERIFY, parameters["losses"])


@scenario(
    "drop-m4",
    "M4 dropped on the radio link 8 times in a row (the MEC rotated every time).",
    f"8 lost; healed at the next attempt; {UNAFFECTED}",
    losses=8,
)
async def _drop_m4(testbed: AttackedTestbed, parameters: dict[str, int]) -> Finding:
    return await _losses(testbed, testbed.radio, AGREE, parameters["losses"])


# -- the withheld-request lockout (SPEC.md) ---------------------------------------------------


async def _storm(
    testbed: AttackedTestbed, link: AttackedLink, method: str, withheld: int
) -> Finding:
    """Withhold ``withheld`` requests, let the honest parties succeed, deliver the rest."""
    device = testbed.devices[0]
    link.on_request = _once(WITHHOLD, method, withheld)
    for _ in range(withheld):
        await testbed.attach(device)
    link.passive()
    honest = await testbed.attach(device)  # the one let through: the holders move on
    delivered = await link.deliver_withheld()
    verdicts = {_verdict(result.code) for result in delivered}
    holders = await _holders_state(testbed, retries=2)
    return Finding(
        f"delivered requests {'/'.join(sorted(verdicts))}; {holders}",
        {"withheld": withheld, "honest": honest.name},
    )


@scenario(
    "lockout-device",
    "The targeted storm against a device: withhold 5 of its M1s, let one through, deliver the "
    "rest to the MEC.",
    {
        COUNTER: f"delivered requests refused; {UNAFFECTED}",
        PAPER: "delivered requests accepted; locked out: 1 device",
    },
    withheld=5,
)
async def _lockout_device(testbed: AttackedTestbed, parameters: dict[str, int]) -> Finding:
    return await _storm(testbed, testbed.radio, AGREE, parameters["withheld"])


@scenario(
    "lockout-mec",
    "The targeted storm against a MEC credential: withhold 5 M2s of a one-credential MEC, let "
    "one through, deliver the rest to the TTP (the device whose M1s they carry falls too).",
    {
        COUNTER: f"delivered requests refused; {UNAFFECTED}",
        PAPER: "delivered requests accepted; locked out: 1 device, 1 MEC credential",
    },
    mec_credentials=1,
    withheld=5,
)
async def _lockout_mec(testbed: AttackedTestbed, parameters: dict[str, int]) -> Finding:
    return await _storm(testbed, testbed.backhaul, VERIFY, parameters["withheld"])


# -- what a curious MEC learns -----------------------------------------------------------------


@scenario(
    "curious-mec",
    "A curious MEC records every device identity it sees over many sessions without losses, "
    "then with dropped M4s.",
    "0 repeated identities; identities look random; every retry after a lost M4 linkable",
    devices=100,
    sessions=10_000,
    dropped=20,
)
async def _curious_mec(testbed: AttackedTestbed, parameters: dict[str, int]) -> Finding:
    devices = testbed.devices
    sessions, dropped = parameters["sessions"], parameters["dropped"]
    failures = 0
    for index in range(sessions):
        failures += await testbed.attach(devices[index % len(devices)]) is not Outcome.SUCCESS
    seen = [codec.device_identity(m.payload) for m in testbed.radio.of("Agree")]
    repeats = len(seen) - len(set(seen))
    bits_p, bytes_p = monobit_p(seen), byte_chi_square_p(seen)
    random_enough = min(bits_p, bytes_p) > 0.0001

    # Now lose M4s: each retry comes under the same DIDi, so the MEC can link the two.
    before = len(testbed.radio.of("Agree"))
    for index in range(dropped):
        device = devices[index % len(devices)]
        testbed.radio.on_response = _once(DROP, AGREE)
        await testbed.attach(device)  # M4 lost
        testbed.radio.passive()
        await testbed.attach(device)  # the retry
    retried = [codec.device_identity(m.payload) for m in testbed.radio.of("Agree")[before:]]
    linkable = len(retried) - len(set(retried))
    observed = (
        f"{repeats} repeated identities; "
        f"identities {'look random' if random_enough else 'do not look random'}; "
        f"{'every' if linkable == dropped else f'{linkable} of {dropped}'} retry after a lost "
        "M4 linkable"
    )
    details = {
        "sessions": sessions,
        "failures": failures,
        "monobit_p": round(bits_p, 4),
        "byte_chi_square_p": round(bytes_p, 4),
        "linkable_retries": linkable,
    }
    return Finding(observed, details)


# -- timing -------------------------------------------------------------------------------------


class _Forger:
    """Requests of each kind, made from the enrolled credentials (the measurer holds them)."""

    def __init__(self, testbed: AttackedTestbed) -> None:
        self.rule = testbed.rule
        devices = {
            name: state
            for path in sorted(testbed.state_dir.glob("ue-enrolment-*.json"))  # one per patient
            for name, state in EnrolmentFile.read(path).holder_states().items()
        }
        mecs = EnrolmentFile.read(testbed.state_dir / "mec-enrolment.json").holder_states()
        self.devices = list(devices.values())
        self.mec = next(iter(mecs.values()))
        self.turn = 0
        self.stale: list[bytes] = []  # requests older than one already accepted

    def _m2(self, device: HolderState | None = None) -> tuple[HolderState, bytes]:
        index = self.turn % len(self.devices)
        self.turn += 1
        state = device or self.devices[index]
        state, attempt = state.begin_attempt()
        if device is None:
            self.devices[index] = state
        m1 = device_role.start(attempt).m1.to_bytes()
        self.mec, mec_attempt = self.mec.begin_attempt()
        return state, mec_role.forward(mec_attempt, m1).m2.to_bytes()

    def request(self, kind: str) -> bytes:
        if kind == "unknown device":
            _, m2 = self._m2(HolderState(Credential.generate(), self.rule))
        elif kind == "wrong c1":
            m2 = _flip_byte(self._m2()[1], 40)
        elif kind == "wrong cm1":
            m2 = _flip_byte(self._m2()[1], 100)
        elif kind == "stale counter":
            m2 = self.stale.pop()
        else:  # success; its predecessor, never sent, becomes a stale request
            self.stale.append(self._m2()[1])
            m2 = self._m2()[1]
        version = wire_version(int(self.rule))
        request = ttp_key_agreement_pb2.VerifyRequest(version=version, m2=m2)
        return bytes(request.SerializeToString())


def _flip_byte(data: bytes, offset: int) -> bytes:
    changed = bytearray(data)
    changed[offset] ^= 0x01
    return bytes(changed)


@scenario(
    "timing",
    "An attacker on the backhaul times the TTP's refusals of an unknown identity, a wrong c1, a "
    "wrong cm1 and (counter rule) a stale counter, in random order, and compares them pairwise "
    "(Kolmogorov-Smirnov): uniform failure must not leak through time.",
    "refusal times indistinguishable",
    limits=(OFF, OFF, OFF),  # they would refuse repeated identities before the work is timed
    requests=300,
)
async def _timing(testbed: AttackedTestbed, parameters: dict[str, int]) -> Finding:
    forger = _Forger(testbed)
    kinds = ["unknown device", "wrong c1", "wrong cm1"]
    if testbed.rule is COUNTER:
        kinds.append("stale counter")
    # Rounds of one request of each kind in random order, so that drift in the machine's speed
    # falls on every kind alike; a stale request comes after the success that made it stale.
    rng = random.Random(parameters["requests"])
    schedule: list[str] = []
    for _ in range(parameters["requests"]):
        round_ = rng.sample(["success", *kinds], len(kinds) + 1)
        if "stale counter" in round_:
            stale, success = round_.index("stale counter"), round_.index("success")
            if stale < success:
                round_[stale], round_[success] = round_[success], round_[stale]
        schedule += round_
    times: dict[str, list[float]] = {kind: [] for kind in ["success", *kinds]}
    for kind in schedule:
        payload = forger.request(kind)
        started = time.perf_counter()
        answer = await testbed.backhaul.inject(VERIFY, payload)
        elapsed = time.perf_counter() - started
        wanted = grpc.StatusCode.OK if kind == "success" else grpc.StatusCode.UNAUTHENTICATED
        if answer.code != wanted:
            return Finding(f"{kind} answered {answer.code.name}", {})
        times[kind].append(elapsed)
    pairs = [(a, b) for index, a in enumerate(kinds) for b in kinds[index + 1 :]]
    p_values = {f"{a} / {b}": ks_two_sample_p(times[a], times[b]) for a, b in pairs}
    leaks = [pair for pair, p in p_values.items() if p < 0.001]
    medians = {kind: round(1e6 * statistics.median(values), 1) for kind, values in times.items()}
    details = {"median_us": medians, "ks_p": {k: round(v, 4) for k, v in p_values.items()}}
    if leaks:
        return Finding(f"refusal times differ: {', '.join(leaks)}", details)
    return Finding("refusal times indistinguishable", details)


# -- captured devices and leaked session state ---------------------------------------------------


def _captured(testbed: AttackedTestbed, device: str) -> HolderState:
    """Captured-device mode: everything the device stores, read from its UE's state file."""
    store = HolderStore(testbed.state_dir / "ue.db")
    try:
        return store.load()[device]
    finally:
        store.close()


def recovered_with(key: bytes, m1: M1, m4: M4) -> bool:
    """Try the device's derivation on a recorded session with ``key``; d3 confirms a hit."""
    _, c2, c3, c4 = h1(m1.did_i + key + m1.r1)
    return h2(xor(c2, c3, c4, m4.d2) + m1.r1) == m4.d3


@scenario(
    "capture-device",
    "The attacker records a device's sessions on the radio link, then captures the device "
    "(reads its stored credential and counter), tries the captured key on every recorded "
    "session, and runs key agreement as the device (a clone).",
    {
        COUNTER: "0 recorded session keys recovered; clone accepted; device refused once "
        "(stale counter) then healed",
        PAPER: "0 recorded session keys recovered; clone accepted; device healed",
    },
    sessions=5,
)
async def _capture_device(testbed: AttackedTestbed, parameters: dict[str, int]) -> Finding:
    device = testbed.devices[0]
    for _ in range(parameters["sessions"]):
        await testbed.attach(device)
    requests = {m.call: m for m in testbed.radio.of("Agree")}
    sessions = [
        (
            M1.parse(codec.field_of(AGREE, "request", requests[r.call].payload, "m1")),
            M4.parse(codec.field_of(AGREE, "response", r.payload, "m4")),
        )
        for r in testbed.radio.of("Agree", "response")
    ]
    captured = _captured(testbed, device)
    recovered = sum(recovered_with(captured.credential.dk, m1, m4) for m1, m4 in sessions)

    # The clone: the captured state's next attempt, sent by the attacker.
    _, attempt = captured.begin_attempt()
    clone = device_role.start(attempt)
    request = mec_key_agreement_pb2.AgreeRequest(
        version=wire_version(int(testbed.rule)), m1=clone.m1.to_bytes()
    )
    answer = await testbed.radio.inject(AGREE, request.SerializeToString())
    clone_verdict = _verdict(answer.code)
    first = await testbed.attach(device)
    if first is Outcome.SUCCESS:
        device_story = "device healed"
    else:
        second = await testbed.attach(device)
        reason = " (stale counter)" if _stale_refusals(testbed) else ""
        healed = "healed" if second is Outcome.SUCCESS else "did not heal"
        device_story = f"device refused once{reason} then {healed}"
    observed = f"{recovered} recorded session keys recovered; clone {clone_verdict}; {device_story}"
    return Finding(observed, {"recorded_sessions": len(sessions)})


def _stale_refusals(testbed: AttackedTestbed) -> float:
    value = testbed.ttp.metrics.registry.get_sample_value(
        "mec5g_ttp_refusals_total", {"reason": "stale_device_counter"}
    )
    return value or 0.0


@scenario(
    "leak-r3",
    "Session-state leakage at the TTP: R3 of a handshake leaks, and the attacker saw M1 on the "
    "radio link and M3 on the backhaul (run on the pure core, where R3 can be handed out; "
    "SPEC.md: the paper's section 6.1.2 calls this leak not critical).",
    "session key recovered from R3 and M3, confirmed by d3",
)
async def _leak_r3(_: AttackedTestbed, parameters: dict[str, int]) -> Finding:
    leaked_r3 = random_bytes(16)
    run = handshake.run_with_nonces(
        Credential.generate(), Credential.generate(), random_bytes(16), random_bytes(16), leaked_r3
    )
    m1, m3 = M1.parse(run.m1), M3.parse(run.m3)
    guess = xor(m3.d1, m3.d2, leaked_r3)  # SK = d1 xor d2 xor R3
    confirmed = h2(guess + m1.r1) == m3.d3  # the attacker's own check, from public values
    if not confirmed:
        return Finding("session key not recovered")
    assert guess == run.session_key  # the ground truth agrees with the attacker's check
    return Finding("session key recovered from R3 and M3, confirmed by d3")


# -- floods ----------------------------------------------------------------------------------------

FLOOD_LIMIT = RatePolicy(50, 50)  # the MEC's per-source limit in this scenario


@scenario(
    "flood",
    "A second host floods the MEC with forged M1s (random identities) from many concurrent "
    "calls while every honest device keeps attaching; the MEC's per-source limit (50/s here) "
    "refuses most of the flood before any work, and the TTP refuses the rest.",
    "honest attaches all succeeded; flood refused (rate limit and authentication)",
    limits=(PER_MEC, PER_DEVICE, FLOOD_LIMIT),
    forged=1500,
    concurrency=32,
    honest=5,
)
async def _flood(testbed: AttackedTestbed, parameters: dict[str, int]) -> Finding:
    codes: dict[str, int] = {}
    version = wire_version(int(testbed.rule))

    async def forged(stub: Any) -> None:
        stranger = HolderState(Credential.generate(), testbed.rule)
        _, attempt = stranger.begin_attempt()
        request = mec_key_agreement_pb2.AgreeRequest(
            version=version, m1=device_role.start(attempt).m1.to_bytes()
        )
        try:
            await stub(request.SerializeToString(), timeout=10)
            name = "OK"
        except grpc.aio.AioRpcError as error:
            name = error.code().name
        codes[name] = codes.get(name, 0) + 1

    async def flood(target: str) -> None:
        async with grpc.aio.insecure_channel(target) as channel:
            stub = channel.unary_unary(AGREE)
            pending = parameters["forged"]
            while pending:
                batch = min(pending, parameters["concurrency"])
                await asyncio.gather(*(forged(stub) for _ in range(batch)))
                pending -= batch

    async def honest() -> list[Outcome]:
        return [
            await testbed.attach(device)
            for _ in range(parameters["honest"])
            for device in testbed.devices
        ]

    async with foreign_source(testbed.mec.port) as target:
        _, outcomes = await asyncio.gather(flood(target), honest())
    succeeded = sum(outcome is Outcome.SUCCESS for outcome in outcomes)
    limited = codes.get("RESOURCE_EXHAUSTED", 0)
    refused = codes.get("UNAUTHENTICATED", 0)
    details = {"flood": codes, "honest": f"{succeeded}/{len(outcomes)}"}
    if codes.get("OK"):
        return Finding("a forged request was accepted", details)
    honest_story = (
        "honest attaches all succeeded"
        if succeeded == len(outcomes)
        else f"honest attaches {succeeded}/{len(outcomes)}"
    )
    flood_story = (
        "flood refused (rate limit and authentication)"
        if limited and refused and limited + refused == parameters["forged"]
        else f"flood: {codes}"
    )
    return Finding(f"{honest_story}; {flood_story}", details)


# -- what analysis pseudonyms link -----------------------------------------------------------------


async def _pseudonym_seen(
    testbed: AttackedTestbed, device: str, mec: HolderState
) -> tuple[HolderState, bytes]:
    """Act as a curious MEC node holding ``mec``: take the device's next M1 off the radio link,
    forward it with the node's own credential, and open the analysis handle the TTP returns."""
    testbed.radio.on_request = _once(WITHHOLD, AGREE)
    await testbed.attach(device)
    testbed.radio.passive()
    _, payload = testbed.radio.withheld.pop()
    m1 = codec.field_of(AGREE, "request", payload, "m1")
    mec, attempt = mec.begin_attempt()
    session = mec_role.forward(attempt, m1)
    version = int(testbed.rule)
    request = ttp_key_agreement_pb2.VerifyRequest(
        version=wire_version(version), m2=session.m2.to_bytes()
    )
    answer = await testbed.backhaul.inject(VERIFY, request.SerializeToString())
    if answer.response is None:
        raise RuntimeError(f"the TTP refused the curious MEC: {answer.code.name}")
    reply = ttp_key_agreement_pb2.VerifyResponse.FromString(answer.response)
    result = mec_role.finish(session, reply.m3, reply.analysis_handle, version)
    return mec.adopt(attempt, result.successor), result.analysis_pseudonym


@scenario(
    "pseudonyms",
    "Two curious MEC nodes (each enrolled with a credential of its own) serve two devices of one "
    "analysis and open the analysis handles: what do the pseudonyms link?",
    "one MEC links the analysis's devices (by design); two MECs see different pseudonyms",
)
async def _pseudonyms(testbed: AttackedTestbed, _: dict[str, int]) -> Finding:
    nodes = {}
    for node in ("curious-a", "curious-b"):
        enrolled = enrol_mec(
            testbed.state_dir / "ttp.db",
            testbed.state_dir / f"{node}.json",
            node,
            1,
            rule=testbed.rule,
        )
        nodes[node] = next(iter(enrolled.holder_states().values()))
    first, second = testbed.devices[:2]
    seen: dict[tuple[str, str], bytes] = {}
    for node in nodes:
        for device in (first, second):
            nodes[node], seen[(node, device)] = await _pseudonym_seen(testbed, device, nodes[node])
    one_mec = seen[("curious-a", first)] == seen[("curious-a", second)]
    two_mecs = seen[("curious-a", first)] != seen[("curious-b", first)]
    observed = (
        f"{'one MEC links' if one_mec else 'one MEC does not link'} the analysis's devices "
        "(by design); "
        f"{'two MECs see different pseudonyms' if two_mecs else 'two MECs see the same pseudonym'}"
    )
    return Finding(observed)


@scenario(
    "complete-with-m3",
    "An eavesdropper on the backhaul keeps M3 from the MEC and answers the device itself with "
    "M4 = M3[16:] (SPEC.md: M4 is a suffix of M3).",
    f"the device completed while the MEC holds no key; {UNAFFECTED}",
)
async def _complete_with_m3(testbed: AttackedTestbed, _: dict[str, int]) -> Finding:
    kept: list[bytes] = []

    def keep_m3(message: Message) -> Action:
        kept.append(codec.field_of(VERIFY, "response", message.payload, "m3"))
        return DROP

    def answer_with_suffix(message: Message) -> bytes | None:
        if not kept:
            return None
        version = mec_key_agreement_pb2.AgreeRequest.FromString(message.payload).version
        return bytes(
            mec_key_agreement_pb2.AgreeResponse(
                version=version, m4=kept.pop()[16:]
            ).SerializeToString()
        )

    mec_failures = _mec_outcome(testbed, "ttp_unavailable")
    testbed.backhaul.on_response = keep_m3
    testbed.radio.on_failure = answer_with_suffix
    outcome = await testbed.attach(testbed.devices[0])
    testbed.backhaul.passive()
    testbed.radio.passive()
    mec_has_key = _mec_outcome(testbed, "ttp_unavailable") == mec_failures
    holders = await _holders_state(testbed)
    if outcome is not Outcome.SUCCESS:
        return Finding(f"the device did not complete ({outcome.name}); {holders}")
    where = "the MEC holds the key too" if mec_has_key else "the MEC holds no key"
    return Finding(f"the device completed while {where}; {holders}")
