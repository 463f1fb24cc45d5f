"""``mec5g attack``: run scenarios of the catalogue against a fresh testbed and report them.

``mec5g attack list`` names them; ``mec5g attack NAME [NAME ...]`` or ``mec5g attack all`` runs
them under both record rules (or the one ``--record-rule`` names) and prints a table: attack,
rule, expected, observed. Exit status 0 when every scenario went as expected, 1 otherwise.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mec5g.attacker.catalogue import CATALOGUE, Finding, Scenario
from mec5g.attacker.testbed import attacked_testbed
from mec5g.attacker.transcript import Transcript
from mec5g.core.credentials import RecordRule
from mec5g.processes import state_directory


@dataclass(frozen=True)
class Outcome:
    scenario: Scenario
    rule: RecordRule
    finding: Finding

    @property
    def expected(self) -> str:
        return self.scenario.expected[self.rule]

    @property
    def as_expected(self) -> bool:
        return self.finding.observed == self.expected

    def as_dict(self) -> dict[str, Any]:
        return {
            "attack": self.scenario.name,
            "rule": self.rule.label,
            "expected": self.expected,
            "observed": self.finding.observed,
            "as_expected": self.as_expected,
            "details": self.finding.details,
        }


def add_attack_parser(commands: Any) -> None:
    attack = commands.add_parser(
        "attack", help="run the built-in attacker's scenarios against a fresh testbed"
    )
    attack.add_argument(
        "names", nargs="+", metavar="NAME", help="scenario names, 'all', or 'list' to list them"
    )
    attack.add_argument(
        "--record-rule",
        choices=["counter", "paper", "both"],
        default="both",
        help="the record rule to run under (default: both, side by side)",
    )
    attack.add_argument("--sessions", type=int, help="sessions of the curious-mec scenario")
    attack.add_argument("--transcript", type=Path, help="write every message as JSON Lines")
    attack.add_argument("--state-dir", type=Path, help="keep the testbeds' stores here")
    attack.add_argument("--json", action="store_true", help="print the findings as JSON")
    attack.add_argument("--verbose", action="store_true", help="keep the servers' INFO logs")
    attack.set_defaults(handler=_run)


def add_crash_parser(commands: Any) -> None:
    crash = commands.add_parser(
        "crash", help="kill -9 the TTP, MEC and UE at random moments under load; check consistency"
    )
    crash.add_argument("--kills", type=int, default=20, help="SIGKILLs per role")
    crash.add_argument("--seed", type=int, default=1, help="the order and moments of the kills")
    crash.add_argument("--devices", type=int, default=12)
    crash.add_argument("--mec-credentials", type=int, default=3)
    crash.add_argument("--state-dir", type=Path, help="keep the stores and logs here")
    crash.set_defaults(handler=_crash)


def _crash(args: argparse.Namespace) -> int:
    from mec5g.attacker import crash

    with state_directory(args.state_dir, "mec5g-crash-") as state_dir:
        report = asyncio.run(
            crash.run(
                state_dir,
                kills=args.kills,
                seed=args.seed,
                devices=args.devices,
                mec_credentials=args.mec_credentials,
            )
        )
    print(report.render())
    return 0 if report.consistent else 1


def _run(args: argparse.Namespace) -> int:
    if args.names == ["list"]:
        for scenario in CATALOGUE.values():
            print(f"{scenario.name:20} {scenario.summary}")
        return 0
    names = list(CATALOGUE) if args.names == ["all"] else args.names
    unknown = [name for name in names if name not in CATALOGUE]
    if unknown:
        print(f"mec5g attack: no scenario named {', '.join(unknown)} (see: mec5g attack list)")
        return 2
    if not args.verbose:
        # Refusals are the point here: keep the servers' per-request logs and gRPC's notes on
        # the connections each testbed closes out of the table.
        logging.getLogger().setLevel(logging.ERROR)
        os.environ.setdefault("GRPC_VERBOSITY", "ERROR")
    rules = (
        list(RecordRule)
        if args.record_rule == "both"
        else [RecordRule.from_label(args.record_rule)]
    )
    overrides = {"sessions": args.sessions} if args.sessions else {}
    transcript = Transcript(args.transcript)
    try:
        outcomes = asyncio.run(_run_all(names, rules, overrides, transcript, args.state_dir))
    finally:
        transcript.close()
    if args.json:
        print(json.dumps([outcome.as_dict() for outcome in outcomes], indent=1))
    else:
        print(render(outcomes))
    return 0 if all(outcome.as_expected for outcome in outcomes) else 1


async def run_scenario(
    scenario: Scenario,
    rule: RecordRule,
    state_dir: Path,
    *,
    overrides: dict[str, int] | None = None,
    transcript: Transcript | None = None,
) -> Outcome:
    """One scenario under one rule, on a fresh testbed in ``state_dir``."""
    parameters = scenario.parameters | {
        key: value for key, value in (overrides or {}).items() if key in scenario.parameters
    }
    async with attacked_testbed(
        state_dir,
        devices=scenario.devices,
        mec_credentials=scenario.mec_credentials,
        rule=rule,
        transcript=transcript,
        **_limits(scenario),
    ) as testbed:
        finding = await scenario.run(testbed, parameters)
    return Outcome(scenario, rule, finding)


def _limits(scenario: Scenario) -> dict[str, Any]:
    if scenario.limits is None:
        return {}
    per_mec, per_device, per_source = scenario.limits
    return {"ttp_limits": (per_mec, per_device), "mec_limit": per_source}


async def _run_all(
    names: list[str],
    rules: list[RecordRule],
    overrides: dict[str, int],
    transcript: Transcript,
    state_dir: Path | None,
) -> list[Outcome]:
    outcomes = []
    with state_directory(state_dir, "mec5g-attack-") as root:
        for name in names:
            for rule in rules:
                directory = root / f"{name}-{rule.label}"
                directory.mkdir(parents=True, exist_ok=False)
                outcomes.append(
                    await run_scenario(
                        CATALOGUE[name],
                        rule,
                        directory,
                        overrides=overrides,
                        transcript=transcript,
                    )
                )
    return outcomes


def render(outcomes: list[Outcome]) -> str:
    lines = ["| attack | rule | expected | observed | |", "|---|---|---|---|---|"]
    for outcome in outcomes:
        mark = "as expected" if outcome.as_expected else "NOT AS EXPECTED"
        lines.append(
            f"| {outcome.scenario.name} | {outcome.rule.label} | {outcome.expected} "
            f"| {outcome.finding.observed} | {mark} |"
        )
    return "\n".join(lines)
