"""Scenario files (scenario/loader.py, schema.json, presets.yaml): what a valid file becomes, and
that every bad field is named in the error, schema problems and cross-references alike."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from mec5g.core.readings import SensorKind
from mec5g.runtime.link_emulation import DirectionProfile, Distribution, LinkProfile
from mec5g.scenario import loader
from mec5g.scenario.model import Deterioration, LinkDegradation, Mobility, NodeFailure

SHIPPED_PROFILES = Path(__file__).parent.parent / "bench" / "profiles"

MINIMAL: dict[str, Any] = {
    "version": 1,
    "name": "minimal",
    "zones": [
        {"name": "ward-a", "mec_nodes": [{"name": "mec-a"}, {"name": "mec-a2"}]},
        {"name": "ward-b", "radio": "5g-urllc", "mec_nodes": [{"name": "mec-b"}]},
    ],
    "doctors": [{"name": "bob"}],
    "patients": [
        {"name": "alice", "zone": "ward-a", "devices": ["glucose", "spo2"], "readers": ["bob"]},
        {"name": "carl", "zone": "ward-b", "devices": ["heart-rate"]},
    ],
}


def _with(**changes: Any) -> dict[str, Any]:
    document = copy.deepcopy(MINIMAL)
    document.update(changes)
    return document


def _problems(document: Any) -> list[str]:
    with pytest.raises(loader.ScenarioError) as refused:
        loader.parse(document)
    return refused.value.problems


def test_the_schema_is_a_valid_json_schema() -> None:
    jsonschema.Draft202012Validator.check_schema(loader.schema())


@pytest.mark.parametrize("name", loader.examples())
def test_every_shipped_example_loads(name: str) -> None:
    scenario = loader.load(name)
    assert scenario.name == name
    assert scenario.patients
    assert all(patient.mec_node for patient in scenario.patients)


def test_every_preset_is_a_link_profile_with_a_source_or_an_assumption() -> None:
    validator = jsonschema.Draft202012Validator(
        {"$ref": "#/$defs/link_profile", "$defs": loader.schema()["$defs"]}
    )
    presets = loader.presets()
    assert {"ideal", "5g-embb", "5g-urllc", "nb-iot", "metro-fibre"} <= set(presets)
    for name, preset in presets.items():
        assert list(validator.iter_errors(preset)) == [], name
        assert preset.get("source") or preset.get("assumption"), name
        assert "preset" not in preset, name


def test_a_minimal_scenario_gets_its_defaults() -> None:
    scenario = loader.parse(MINIMAL)
    alice, carl = scenario.patients
    assert scenario.ttp.name == "ttp"
    assert scenario.ttp.compute is None
    assert scenario.duration == 0.0
    assert [node.name for node in scenario.nodes] == ["mec-a", "mec-a2", "mec-b"]
    assert scenario.node("mec-a").credentials == loader.DEFAULT_CREDENTIALS
    assert scenario.node("mec-a").backhaul.name == loader.DEFAULT_BACKHAUL
    assert alice.mec_node == "mec-a"  # the zone's first node
    assert alice.radio.name == loader.DEFAULT_RADIO
    assert carl.radio.name == "5g-urllc"  # the zone's radio
    assert alice.devices == (SensorKind.GLUCOSE, SensorKind.SPO2)
    assert alice.readers == ("bob",)
    assert scenario.events == ()


def test_a_named_profile_merges_preset_both_and_each_direction_in_that_order() -> None:
    document = _with(
        links={
            "slow": {
                "preset": "5g-embb",
                "both": {"delay_ms": 30, "loss": 0.02},
                "downlink": {"delay_ms": 7, "distribution": "pareto"},
            }
        }
    )
    document["zones"][0]["radio"] = "slow"
    alice = loader.parse(document).patients[0]
    embb = loader.presets()["5g-embb"]
    assert alice.radio.name == "slow"
    assert alice.radio.profile == LinkProfile(
        DirectionProfile(
            delay_ms=30,
            jitter_ms=embb["uplink"]["jitter_ms"],
            distribution=Distribution.NORMAL,
            loss=0.02,
            rate_kbps=embb["uplink"]["rate_kbps"],
        ),
        DirectionProfile(
            delay_ms=7,
            jitter_ms=embb["downlink"]["jitter_ms"],
            distribution=Distribution.PARETO,
            loss=0.02,
            rate_kbps=embb["downlink"]["rate_kbps"],
        ),
    )


def test_events_come_out_resolved_and_in_time_order() -> None:
    document = _with(
        duration=100,
        events=[
            {"at": 50, "type": "node_failure", "node": "mec-b", "restart_after": 5},
            {"at": 10, "type": "deterioration", "patient": "alice", "condition": "sepsis"},
            {"at": 30, "type": "link_degradation", "link": "radio", "zone": "ward-a",
             "profile": {"preset": "nb-iot"}, "duration": 20},
            {"at": 40, "type": "link_degradation", "link": "backhaul", "zone": "ward-a",
             "profile": "wan-backhaul"},
            {"at": 60, "type": "mobility", "patient": "alice", "from": "ward-a", "to": "ward-b"},
            {"at": 70, "type": "mobility", "patient": "alice", "from": "ward-b", "to": "ward-a",
             "mec_node": "mec-a2"},
        ],
    )  # fmt: skip
    scenario = loader.parse(document)
    assert [event.at for event in scenario.events] == [10, 30, 40, 50, 60, 70]
    sepsis, radio, backhaul, failure, there, back = scenario.events
    assert sepsis == Deterioration(10, "alice", "sepsis", loader.DEFAULT_ONSET, 0.0)
    assert isinstance(radio, LinkDegradation)
    assert radio.links == ("radio/alice",)
    assert radio.profile.name == "inline"
    assert radio.duration == 20
    assert isinstance(backhaul, LinkDegradation)
    assert backhaul.links == ("backhaul/mec-a", "backhaul/mec-a2")
    assert backhaul.duration is None
    assert failure == NodeFailure(50, "mec-b", 5)
    assert there == Mobility(60, "alice", "ward-a", "ward-b", "mec-b")
    assert back == Mobility(70, "alice", "ward-b", "ward-a", "mec-a2")
    assert scenario.mobility == (there, back)


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"version": 2}, "version: 1 was expected"),
        ({"name": "Ward A"}, "name: 'Ward A' is not allowed: 1 to 32 lower-case"),
        ({"colour": "blue"}, "'colour' was unexpected"),
        ({"zones": []}, "zones: [] should be non-empty"),
        ({"record_rule": "fifo"}, "record_rule: 'fifo' is not one of"),
        ({"ttp": {"compute": {"profile": "i7-8750h", "cores": 0}}},
         "ttp.compute.cores: 0 is less than the minimum of 1"),
        ({"links": {"bad": {"uplink": {"loss": 1.0}}}},
         "links.bad.uplink.loss: 1.0 is greater than or equal to the maximum of 1"),
        ({"links": {"bad": {"both": {"distribution": "gamma"}}}},
         "links.bad.both.distribution: 'gamma' is not one of"),
        ({"links": {"bad": {"uplink": {"rate_kbps": 0}}}},
         "links.bad.uplink.rate_kbps: 0 is less than or equal to the minimum of 0"),
        ({"events": [{"at": 1, "type": "deterioration", "patient": "alice"}]},
         "events[0]: 'condition' is a required property"),
        ({"events": [{"at": -1, "type": "node_failure", "node": "mec-a"}]},
         "events[0].at: -1 is less than the minimum of 0"),
        ({"events": [{"at": 1, "type": "flood"}]}, "events[0].type: 'flood' is not one of"),
        ({"events": [{"at": 1, "type": "node_failure", "node": "mec-a", "patient": "alice"}]},
         "events[0]: Additional properties are not allowed ('patient' was unexpected)"),
    ],
)  # fmt: skip
def test_a_schema_problem_names_its_field(change: dict[str, Any], expected: str) -> None:
    problems = _problems(_with(**change))
    assert any(expected in problem for problem in problems), problems


def _patient(**changes: Any) -> dict[str, Any]:
    document = copy.deepcopy(MINIMAL)
    document["patients"][0].update(changes)
    return document


@pytest.mark.parametrize(
    ("document", "expected"),
    [
        (_patient(devices=["spo2", "thermometer"]), "patients[0].devices[1]: 'thermometer'"),
        (_patient(zone="ward-c"), "patients[0].zone: no zone 'ward-c'"),
        (_patient(mec_node="mec-b"), "patients[0].mec_node: 'mec-b' is not a node of zone "
                                     "'ward-a' (in zone 'ward-b')"),
        (_patient(readers=["eve"]), "patients[0].readers[0]: no doctor 'eve'"),
        (_patient(radio="wifi"), "patients[0].radio: no link profile 'wifi' (known: "),
        (_patient(compute={"profile": "zolertia-re-mote", "cores": 2}),
         "patients[0].compute.cores: a patient's devices each have their own"),
        (_patient(compute={"profile": "abacus"}),
         "patients[0].compute.profile: no shipped profile 'abacus'"),
        (_patient(name="mec-a"), "'mec-a' names more than one TTP, MEC node or patient"),
        (_patient(name="bob"), "'bob' names more than one patient or doctor"),
        (_with(links={"slow": {"preset": "6g"}}), "links.slow.preset: no preset '6g'"),
    ],
)  # fmt: skip
def test_a_reference_problem_names_its_field(document: dict[str, Any], expected: str) -> None:
    problems = _problems(document)
    assert any(expected in problem for problem in problems), problems


@pytest.mark.parametrize(
    ("events", "expected"),
    [
        ([{"at": 1, "type": "deterioration", "patient": "zed", "condition": "fever"}],
         "events[0].patient: no patient 'zed'"),
        ([{"at": 1, "type": "mobility", "patient": "alice", "from": "ward-b", "to": "ward-a"}],
         "events[0].from: alice is in zone 'ward-a' at 1 s"),
        ([{"at": 1, "type": "mobility", "patient": "alice", "from": "ward-a", "to": "ward-a"}],
         "events[0].to: the patient is in that zone already"),
        ([{"at": 1, "type": "mobility", "patient": "alice", "from": "ward-a", "to": "ward-b",
           "mec_node": "mec-a2"}], "events[0].mec_node: 'mec-a2' is not a node of zone 'ward-b'"),
        ([{"at": 5, "type": "mobility", "patient": "alice", "from": "ward-a", "to": "ward-b"},
          {"at": 2, "type": "mobility", "patient": "alice", "from": "ward-a", "to": "ward-b"}],
         "events[0].from: alice is in zone 'ward-b' at 5 s"),  # checked in time order
        ([{"at": 1, "type": "node_failure", "node": "mec-z"}],
         "events[0].node: no MEC node or TTP 'mec-z' (nodes: ttp, mec-a, mec-a2, mec-b)"),
        ([{"at": 1, "type": "node_failure", "node": "mec-a", "restart_after": 10},
          {"at": 5, "type": "node_failure", "node": "mec-a"}],
         "events[1].at: mec-a is down at 5 s already"),
        ([{"at": 1, "type": "link_degradation", "link": "radio", "mec_node": "mec-a",
           "profile": "ideal"}], "events[0].mec_node: a radio link is chosen by patient or zone"),
        ([{"at": 1, "type": "link_degradation", "link": "backhaul", "profile": "ideal"}],
         "events[0]: name exactly one of mec_node or zone for a backhaul link"),
        ([{"at": 1, "type": "link_degradation", "link": "radio", "patient": "alice",
           "profile": "smoke-signals"}], "events[0].profile: no link profile 'smoke-signals'"),
        ([{"at": 1, "type": "link_degradation", "link": "backhaul", "zone": "ward-z",
           "profile": "ideal"}], "events[0].zone: no zone 'ward-z'"),
    ],
)  # fmt: skip
def test_an_event_problem_names_its_field(events: list[Any], expected: str) -> None:
    problems = _problems(_with(events=events))
    assert any(expected in problem for problem in problems), problems


def test_an_event_after_the_end_is_refused() -> None:
    problems = _problems(
        _with(duration=30, events=[{"at": 31, "type": "node_failure", "node": "mec-a"}])
    )
    assert "events[0].at: 31 s is after the scenario ends (30 s)" in problems


def test_every_problem_is_reported_at_once() -> None:
    document = _patient(zone="ward-c", readers=["eve"])
    document["zones"][1]["mec_nodes"][0]["compute"] = {"profile": "abacus"}
    assert len(_problems(document)) == 3


def test_a_compute_profile_file_is_found_beside_the_scenario(tmp_path: Path) -> None:
    raw = json.loads((SHIPPED_PROFILES / "raspberry-pi-3b-plus.json").read_text())
    raw["name"] = "my-pi"
    (tmp_path / "profiles").mkdir()
    (tmp_path / "profiles" / "my-pi.json").write_text(json.dumps(raw))
    document = copy.deepcopy(MINIMAL)
    document["zones"][0]["mec_nodes"][0]["compute"] = {"profile": "profiles/my-pi.json"}
    path = tmp_path / "scenario.yaml"
    path.write_text(yaml.safe_dump(document))
    node = loader.load(str(path)).node("mec-a")
    assert node.compute is not None
    assert node.compute.profile.name == "my-pi"
    assert node.compute.cores == 1
    assert node.compute.path == tmp_path / "profiles" / "my-pi.json"


def test_a_file_that_is_not_yaml_or_not_there_says_so(tmp_path: Path) -> None:
    broken = tmp_path / "broken.yaml"
    broken.write_text("version: 1\nzones: [\n")
    with pytest.raises(loader.ScenarioError, match=r"(?s)broken.yaml: .*not YAML"):
        loader.load(str(broken))
    with pytest.raises(loader.ScenarioError, match=r"no example of that name \(examples: "):
        loader.load(str(tmp_path / "missing.yaml"))
    with pytest.raises(loader.ScenarioError, match=r"\(top level\): \[1, 2\] is not of type"):
        loader.parse([1, 2])
