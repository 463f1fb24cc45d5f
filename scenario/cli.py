"""``mec5g scenario``: list the shipped scenarios, check scenario files, print the schema.

Running one is ``mec5g up SCENARIO`` (``cli/testbed.py``, ``runner.py``).
"""

from __future__ import annotations

import argparse
import json
from typing import Any

from mec5g.scenario import loader


def add_scenario_parser(roles: Any) -> None:
    scenario = roles.add_parser("scenario", help="scenario files for mec5g up (docs/scenarios.md)")
    actions = scenario.add_subparsers(dest="action", required=True)
    listed = actions.add_parser("list", help="the shipped scenarios, by name")
    listed.set_defaults(handler=_list)
    validate = actions.add_parser("validate", help="check scenario files; exit 1 if one is bad")
    validate.add_argument("files", nargs="+", help="scenario files or shipped names")
    validate.set_defaults(handler=_validate)
    schema = actions.add_parser("schema", help="print the scenario JSON Schema")
    schema.set_defaults(handler=_schema)


def _list(args: argparse.Namespace) -> int:
    for name in loader.examples():
        print(f"{name:16} {loader.load(name).description}")
    return 0


def _validate(args: argparse.Namespace) -> int:
    bad = 0
    for name in args.files:
        try:
            scenario = loader.load(name)
        except loader.ScenarioError as error:
            print(error)
            bad += 1
            continue
        print(
            f"{name}: ok ({len(scenario.zones)} zones, {len(scenario.nodes)} MEC nodes, "
            f"{len(scenario.patients)} patients, {len(scenario.events)} events"
            + (", mobility needs the handover" if scenario.mobility else "")
            + ")"
        )
    return 1 if bad else 0


def _schema(args: argparse.Namespace) -> int:
    print(json.dumps(loader.schema(), indent=2))
    return 0
