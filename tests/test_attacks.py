"""The attack catalogue over real gRPC: every scenario under both record rules goes as the
catalogue expects (SPEC.md: the counter rule refuses what the paper's rule lets lock a holder
out), the transcript records what crossed, and the randomness tests are calibrated.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from mec5g.attacker.catalogue import CATALOGUE, recovered_with
from mec5g.attacker.cli import run_scenario
from mec5g.attacker.randomness import byte_chi_square_p, ks_two_sample_p, monobit_p
from mec5g.attacker.transcript import Transcript, read
from mec5g.core import handshake
from mec5g.core.credentials import Credential, RecordRule
from mec5g.core.messages import M1, M4
from mec5g.core.primitives import random_bytes

# The curious MEC's 10,000 sessions are the command's default; the tests see fewer.
SMALL = {"sessions": 300, "requests": 40}


# Timing is a statistical finding; the tests check its mechanics, the command its verdict.
DETERMINISTIC = [name for name in CATALOGUE if name != "timing"]


@pytest.mark.parametrize("rule", list(RecordRule), ids=lambda rule: rule.label)
@pytest.mark.parametrize("name", DETERMINISTIC)
async def test_scenario_goes_as_expected(tmp_path: Path, name: str, rule: RecordRule) -> None:
    outcome = await run_scenario(CATALOGUE[name], rule, tmp_path, overrides=SMALL)
    assert outcome.finding.observed == outcome.expected, outcome.finding.details


@pytest.mark.parametrize("rule", list(RecordRule), ids=lambda rule: rule.label)
async def test_timing_measures_every_refusal_kind(tmp_path: Path, rule: RecordRule) -> None:
    outcome = await run_scenario(CATALOGUE["timing"], rule, tmp_path, overrides=SMALL)
    # Every request got the answer its kind must get, or the observed sentence would say so.
    assert outcome.finding.observed.startswith("refusal times"), outcome.finding.observed
    kinds = {"success", "unknown device", "wrong c1", "wrong cm1"}
    if rule is RecordRule.COUNTER:
        kinds.add("stale counter")
    assert set(outcome.finding.details["median_us"]) == kinds
    refusals = len(kinds) - 1
    assert len(outcome.finding.details["ks_p"]) == refusals * (refusals - 1) // 2


async def test_the_lockout_differs_between_the_rules() -> None:
    """The catalogue itself says the targeted storm succeeds only under the paper's rule."""
    for name in ("lockout-device", "lockout-mec"):
        expected = CATALOGUE[name].expected
        assert "locked out" in expected[RecordRule.PAPER]
        assert "locked out" not in expected[RecordRule.COUNTER]


async def test_transcript_records_every_message(tmp_path: Path) -> None:
    path = tmp_path / "transcript.jsonl"
    transcript = Transcript(path)
    try:
        await run_scenario(
            CATALOGUE["lockout-device"], RecordRule.COUNTER, tmp_path / "run", transcript=transcript
        )
    finally:
        transcript.close()
    entries = read(path)
    assert [entry["seq"] for entry in entries] == list(range(len(entries)))
    actions = {entry.get("action") for entry in entries}
    assert {"forward", "withhold", "inject"} <= actions
    assert "to-attacker" not in actions, "every delivered request was refused"
    assert {entry["link"] for entry in entries} == {"radio", "backhaul"}
    # Each delivered M1 is refused twice over: by the TTP on the backhaul (the MEC forwarded
    # it), and so by the MEC to the attacker on the radio link; always with the one message.
    refused = [entry for entry in entries if entry.get("status") == "UNAUTHENTICATED"]
    withheld = CATALOGUE["lockout-device"].parameters["withheld"]
    assert (
        sorted(entry["link"] for entry in refused) == ["backhaul"] * withheld + ["radio"] * withheld
    )
    assert all(entry["details"] == "authentication failed" for entry in refused)
    for entry in entries:
        if "payload" in entry:
            bytes.fromhex(entry["payload"])


def test_randomness_tests_reject_structure() -> None:
    same = [float(x) for x in range(50)]
    assert ks_two_sample_p(same, same) == 1.0
    assert ks_two_sample_p(same, [x + 100 for x in same]) < 1e-6
    random_ids = [os.urandom(16) for _ in range(400)]
    assert monobit_p(random_ids) > 1e-6
    assert byte_chi_square_p(random_ids) > 1e-6
    counting = [index.to_bytes(16, "big") for index in range(400)]  # sequential identities
    assert monobit_p(counting) < 1e-6
    assert byte_chi_square_p(counting) < 1e-6
    with pytest.raises(ValueError, match="too few"):
        byte_chi_square_p([bytes(16)])


def _mec5g(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "mec5g", *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_attack_command_lists_runs_and_refuses_unknown_names(tmp_path: Path) -> None:
    listed = _mec5g("attack", "list")
    assert listed.returncode == 0
    assert set(CATALOGUE) == {line.split()[0] for line in listed.stdout.splitlines()}
    unknown = _mec5g("attack", "no-such-attack")
    assert unknown.returncode == 2
    assert "no-such-attack" in unknown.stdout
    ran = _mec5g("attack", "replay-m2", "--json", "--state-dir", str(tmp_path))
    assert ran.returncode == 0, ran.stderr[-2000:]
    rows = json.loads(ran.stdout)
    assert [(row["rule"], row["observed"]) for row in rows] == [
        ("counter", "refused; holders unaffected"),
        ("paper", "accepted; holders unaffected"),
    ]


def test_the_capture_check_finds_a_key_that_was_used() -> None:
    """The capture scenario's recovery attempt is a real test: with the key a session actually
    used it recovers that session's key; with the key the device holds afterwards it cannot."""
    device = Credential.generate()
    run = handshake.run_with_nonces(
        device, Credential.generate(), random_bytes(16), random_bytes(16), random_bytes(16)
    )
    m1, m4 = M1.parse(run.m1), M4.parse(run.m4)
    assert recovered_with(device.dk, m1, m4)
    assert not recovered_with(run.device_successor.dk, m1, m4)
