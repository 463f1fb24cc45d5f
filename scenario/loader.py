"""Reading a scenario file: YAML, checked against ``schema.json``, then against itself.

The JSON Schema (draft 2020-12, shipped beside this module for editors and other tools) checks
every field's type, range and spelling; then the checks a schema cannot express: names unique
where they must be, every name a patient or an event refers to defined, a MEC node in the
patient's zone, a patient moving from the zone it is in at that time, a node failing while it
is up, events within the scenario's duration, link and compute profiles that resolve and load.
Every problem found is reported, each as ``where: what`` with ``where`` the field's path
(``zones[0].mec_nodes[1].credentials``), in a ``ScenarioError``.

A scenario is named by its file, or by the name of a shipped example (``examples/``).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from importlib import resources
from pathlib import Path
from typing import Any

import jsonschema
import yaml

from mec5g.bench.hardware import PROFILES
from mec5g.core.credentials import RecordRule
from mec5g.runtime.compute_profile import ProfileError, load_profile
from mec5g.runtime.link_emulation import DirectionProfile, Distribution, LinkProfile
from mec5g.scenario.model import (
    Compute,
    Deterioration,
    Doctor,
    Event,
    LinkDegradation,
    MecNode,
    Mobility,
    NamedLink,
    NodeFailure,
    Patient,
    Scenario,
    Ttp,
    Zone,
)
from mec5g.ue.sensors import KINDS_BY_NAME

PACKAGE = resources.files("mec5g.scenario")
EXAMPLES = "examples"
DEFAULT_RADIO = "5g-embb"
DEFAULT_BACKHAUL = "metro-fibre"
DEFAULT_CREDENTIALS = 16
DEFAULT_ONSET = 20.0
DEFAULT_STREAM_INTERVAL = 1.0
MAX_NODES = 99  # MEC nodes, and patients: each gets a port of its own (runner.py)


class ScenarioError(ValueError):
    """A scenario that cannot run: every problem found, each naming its field."""

    def __init__(self, origin: str, problems: Sequence[str]) -> None:
        self.origin = origin
        self.problems = list(problems)
        super().__init__(f"{origin}: " + "\n  ".join(["not a valid scenario:", *self.problems]))


def schema() -> dict[str, Any]:
    document: dict[str, Any] = json.loads(PACKAGE.joinpath("schema.json").read_text())
    return document


def presets() -> dict[str, Any]:
    """The built-in link profiles (``presets.yaml``), as written."""
    document: dict[str, Any] = yaml.safe_load(PACKAGE.joinpath("presets.yaml").read_text())
    return document


def examples() -> list[str]:
    """Names of the shipped example scenarios."""
    return sorted(
        entry.name.removesuffix(".yaml")
        for entry in PACKAGE.joinpath(EXAMPLES).iterdir()
        if entry.name.endswith(".yaml")
    )


def locate(name: str) -> Path:
    """A scenario file by path, or a shipped example by name."""
    path = Path(name)
    if path.is_file():
        return path
    if name in examples():
        return Path(str(PACKAGE.joinpath(EXAMPLES, f"{name}.yaml")))
    raise ScenarioError(
        name, [f"no such file, and no example of that name (examples: {', '.join(examples())})"]
    )


def load(name: str) -> Scenario:
    """Read, check and resolve a scenario file (or shipped example)."""
    path = locate(name)
    try:
        document = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as error:
        raise ScenarioError(str(path), [str(error)]) from None
    except yaml.YAMLError as error:
        raise ScenarioError(str(path), [f"not YAML: {error}"]) from None
    return parse(document, path)


def parse(document: object, origin: Path | None = None) -> Scenario:
    """Check and resolve a scenario given as data; ``origin`` is where relative paths start."""
    where = str(origin) if origin else "scenario"
    problems = schema_problems(document)
    if problems:
        raise ScenarioError(where, problems)
    assert isinstance(document, dict)  # the schema says so
    return _Resolver(document, origin).scenario()


def schema_problems(document: object) -> list[str]:
    """Every way ``document`` breaks the schema, as ``path: message``, in document order."""
    validator = jsonschema.Draft202012Validator(schema())
    found = []
    for error in validator.iter_errors(document):
        found.append((list(error.absolute_path), _message(error)))
    found.sort(key=lambda item: [str(part) for part in item[0]])
    return list(dict.fromkeys(f"{_path(path) or '(top level)'}: {text}" for path, text in found))


def _message(error: jsonschema.ValidationError) -> str:
    """jsonschema's message, with the schema's own description where the raw one is cryptic."""
    description = error.schema.get("description") if isinstance(error.schema, dict) else None
    if error.validator == "pattern" and description:
        return f"{error.instance!r} is not allowed: {description}"
    return error.message


def _path(parts: Iterable[str | int]) -> str:
    text = ""
    for part in parts:
        text += f"[{part}]" if isinstance(part, int) else f".{part}" if text else str(part)
    return text


class _Resolver:
    """Turns a schema-valid document into a ``Scenario``, collecting every problem on the way."""

    def __init__(self, document: dict[str, Any], origin: Path | None) -> None:
        self.document = document
        self.origin = origin
        self.problems: list[str] = []
        self.named_links: dict[str, Any] = document.get("links", {})
        self.presets = presets()
        self.zone_radio: dict[str, NamedLink] = {}  # the radio link a zone's patients default to
        self.named: dict[str, NamedLink] = {}

    def problem(self, path: str, text: str) -> None:
        self.problems.append(f"{path}: {text}")

    def scenario(self) -> Scenario:
        document = self.document
        # Every named profile is resolved (and checked) once, used or not.
        self.named = {
            name: NamedLink(name, self.link_profile(written, f"links.{name}"))
            for name, written in self.named_links.items()
        }
        ttp_document = document.get("ttp", {})
        ttp = Ttp(ttp_document.get("name", "ttp"), self.compute(ttp_document, "ttp", 1))
        zones = tuple(
            self.zone(zone, f"zones[{index}]") for index, zone in enumerate(document["zones"])
        )
        doctors = tuple(
            Doctor(
                doctor["name"],
                doctor.get("expertise", "general medicine"),
                doctor.get("hospital", "General Hospital"),
            )
            for doctor in document.get("doctors", [])
        )
        nodes = {node.name: node for zone in zones for node in zone.nodes}
        patients = tuple(
            self.patient(patient, f"patients[{index}]", zones, nodes, doctors)
            for index, patient in enumerate(document["patients"])
        )
        self.unique_names(ttp, zones, doctors, patients)
        events = self.events(zones, ttp, nodes, patients, document.get("duration", 0.0))
        if self.problems:
            raise ScenarioError(
                str(self.origin) if self.origin else "scenario", list(dict.fromkeys(self.problems))
            )
        return Scenario(
            document["name"],
            document.get("description", ""),
            self.origin,
            document.get("seed", 0),
            float(document.get("duration", 0.0)),
            RecordRule.from_label(document.get("record_rule", "counter")),
            ttp,
            zones,
            doctors,
            patients,
            events,
        )

    # -- profiles --------------------------------------------------------------------------------

    def link(self, value: str | dict[str, Any] | None, default: str, path: str) -> NamedLink:
        """A link field: a name (an entry of ``links`` first, then a preset), or inline."""
        if value is None:
            value = default
        if isinstance(value, dict):
            return NamedLink("inline", self.link_profile(value, path))
        if value in self.named:
            return self.named[value]
        if value in self.presets:
            return NamedLink(value, self.link_profile(self.presets[value], f"preset {value}"))
        known = sorted({*self.named_links, *self.presets})
        self.problem(path, f"no link profile {value!r} (known: {', '.join(known)})")
        return NamedLink(value, LinkProfile())

    def link_profile(self, written: dict[str, Any], path: str) -> LinkProfile:
        """Fields merged in order: the preset's, ``both``, then each direction's own."""
        base: dict[str, Any] = {}
        preset = written.get("preset")
        if preset is not None:
            if preset not in self.presets:
                self.problem(
                    f"{path}.preset",
                    f"no preset {preset!r} (presets: {', '.join(sorted(self.presets))})",
                )
            else:
                base = self.presets[preset]
        directions = []
        for direction in ("uplink", "downlink"):
            fields = {
                **base.get("both", {}),
                **base.get(direction, {}),
                **written.get("both", {}),
                **written.get(direction, {}),
            }
            if "distribution" in fields:
                fields["distribution"] = Distribution(fields["distribution"])
            try:
                directions.append(DirectionProfile(**fields))
            except ValueError as error:
                self.problem(f"{path}.{direction}", str(error))
                directions.append(DirectionProfile())
        return LinkProfile(*directions)

    def compute(self, owner: Mapping[str, Any], path: str, cores: int | None) -> Compute | None:
        """A node's ``compute`` field: a shipped profile by name, or a file relative to the
        scenario; ``cores`` is the default (None where it does not apply)."""
        written = owner.get("compute")
        if written is None:
            return None
        name = written["profile"]
        if "/" in name or name.endswith(".json"):
            base = self.origin.parent if self.origin else Path.cwd()
            file = base / name
        else:
            file = PROFILES / f"{name}.json"
            if not file.is_file():
                shipped = ", ".join(sorted(entry.stem for entry in PROFILES.glob("*.json")))
                self.problem(
                    f"{path}.compute.profile",
                    f"no shipped profile {name!r} ({shipped}; or a .json file)",
                )
                return None
        try:
            profile = load_profile(file)
        except ProfileError as error:
            self.problem(f"{path}.compute.profile", str(error))
            return None
        if cores is None and "cores" in written:
            self.problem(f"{path}.compute.cores", "a patient's devices each have their own")
        return Compute(profile, file, written.get("cores", cores) if cores else None)

    # -- topology --------------------------------------------------------------------------------

    def zone(self, written: dict[str, Any], path: str) -> Zone:
        self.zone_radio[written["name"]] = self.link(
            written.get("radio"), DEFAULT_RADIO, f"{path}.radio"
        )
        backhaul = written.get("backhaul")
        nodes = tuple(
            MecNode(
                node["name"],
                written["name"],
                node.get("credentials", DEFAULT_CREDENTIALS),
                self.link(
                    node.get("backhaul", backhaul),
                    DEFAULT_BACKHAUL,
                    f"{path}.mec_nodes[{index}].backhaul",
                ),
                self.compute(node, f"{path}.mec_nodes[{index}]", 1),
            )
            for index, node in enumerate(written["mec_nodes"])
        )
        return Zone(written["name"], written.get("description", ""), nodes)

    def patient(
        self,
        written: dict[str, Any],
        path: str,
        zones: tuple[Zone, ...],
        nodes: dict[str, MecNode],
        doctors: tuple[Doctor, ...],
    ) -> Patient:
        zone = next((zone for zone in zones if zone.name == written["zone"]), None)
        node_name = written.get("mec_node")
        if zone is None:
            self.problem(f"{path}.zone", f"no zone {written['zone']!r}")
        elif node_name is None:
            node_name = zone.nodes[0].name
        elif node_name not in {node.name for node in zone.nodes}:
            where = f"in zone {nodes[node_name].zone!r}" if node_name in nodes else "no such node"
            self.problem(
                f"{path}.mec_node", f"{node_name!r} is not a node of zone {zone.name!r} ({where})"
            )
        readers = tuple(written.get("readers", []))
        known_doctors = {doctor.name for doctor in doctors}
        for index, reader in enumerate(readers):
            if reader not in known_doctors:
                self.problem(f"{path}.readers[{index}]", f"no doctor {reader!r}")
        return Patient(
            written["name"],
            written["zone"],
            node_name or "",
            self.link(written["radio"], DEFAULT_RADIO, f"{path}.radio")
            if "radio" in written
            else self.zone_radio.get(written["zone"], NamedLink(DEFAULT_RADIO, LinkProfile())),
            self.compute(written, path, None),
            tuple(KINDS_BY_NAME[kind] for kind in written["devices"]),
            readers,
            tuple(written.get("allergies", [])),
            written.get("blood_group", ""),
            float(written.get("stream_interval", DEFAULT_STREAM_INTERVAL)),
        )

    def unique_names(
        self,
        ttp: Ttp,
        zones: tuple[Zone, ...],
        doctors: tuple[Doctor, ...],
        patients: tuple[Patient, ...],
    ) -> None:
        """Zones among zones; processes (the TTP, MEC nodes, patients' UEs) among processes;
        users (patients, doctors) among the TTP's users."""
        processes = [ttp.name, *(node.name for zone in zones for node in zone.nodes)]
        processes += [patient.name for patient in patients]
        users = [patient.name for patient in patients] + [doctor.name for doctor in doctors]
        for what, names in (
            ("zone", [zone.name for zone in zones]),
            ("TTP, MEC node or patient", processes),
            ("patient or doctor", users),
        ):
            for name in sorted({name for name in names if names.count(name) > 1}):
                self.problem("names", f"{name!r} names more than one {what}")
        if len(processes) - len(patients) - 1 > MAX_NODES or len(patients) > MAX_NODES:
            self.problem("names", f"at most {MAX_NODES} MEC nodes and {MAX_NODES} patients")

    # -- events ----------------------------------------------------------------------------------

    def events(
        self,
        zones: tuple[Zone, ...],
        ttp: Ttp,
        nodes: dict[str, MecNode],
        patients: tuple[Patient, ...],
        duration: float,
    ) -> tuple[Event, ...]:
        written = self.document.get("events", [])
        order = sorted(range(len(written)), key=lambda index: written[index]["at"])
        where = {patient.name: patient.zone for patient in patients}
        down_until: dict[str, float] = {}  # node -> when it is back (inf: never)
        events: list[Event] = []
        for index in order:
            event, path = written[index], f"events[{index}]"
            at = float(event["at"])
            if duration and at > duration:
                self.problem(f"{path}.at", f"{at:g} s is after the scenario ends ({duration:g} s)")
            kind = event["type"]
            if kind in ("deterioration", "mobility") and event["patient"] not in where:
                self.problem(f"{path}.patient", f"no patient {event['patient']!r}")
                continue
            if kind == "deterioration":
                events.append(
                    Deterioration(
                        at,
                        event["patient"],
                        event["condition"],
                        float(event.get("onset", DEFAULT_ONSET)),
                        float(event.get("duration", 0.0)),
                    )
                )
            elif kind == "mobility":
                moved = self.mobility(event, path, at, zones, where)
                if moved is not None:
                    events.append(moved)
            elif kind == "link_degradation":
                degraded = self.degradation(event, path, at, zones, patients)
                if degraded is not None:
                    events.append(degraded)
            else:
                failed = self.failure(event, path, at, ttp, nodes, down_until)
                if failed is not None:
                    events.append(failed)
        return tuple(events)

    def mobility(
        self,
        event: dict[str, Any],
        path: str,
        at: float,
        zones: tuple[Zone, ...],
        where: dict[str, str],
    ) -> Mobility | None:
        patient, source, target = event["patient"], event["from"], event["to"]
        zone = next((zone for zone in zones if zone.name == target), None)
        if source != where[patient]:
            self.problem(f"{path}.from", f"{patient} is in zone {where[patient]!r} at {at:g} s")
        if zone is None:
            self.problem(f"{path}.to", f"no zone {target!r}")
            return None
        if target == source:
            self.problem(f"{path}.to", "the patient is in that zone already")
        node = event.get("mec_node", zone.nodes[0].name)
        if node not in {candidate.name for candidate in zone.nodes}:
            self.problem(f"{path}.mec_node", f"{node!r} is not a node of zone {target!r}")
        where[patient] = target
        return Mobility(at, patient, source, target, node)

    def degradation(
        self,
        event: dict[str, Any],
        path: str,
        at: float,
        zones: tuple[Zone, ...],
        patients: tuple[Patient, ...],
    ) -> LinkDegradation | None:
        tier = event["link"]
        owner = "patient" if tier == "radio" else "mec_node"
        wrong = "mec_node" if tier == "radio" else "patient"
        if wrong in event:
            self.problem(f"{path}.{wrong}", f"a {tier} link is chosen by {owner} or zone")
        chosen = [key for key in (owner, "zone") if key in event]
        if len(chosen) != 1:
            self.problem(path, f"name exactly one of {owner} or zone for a {tier} link")
            return None
        key = chosen[0]
        if key == "zone" and event["zone"] not in {zone.name for zone in zones}:
            self.problem(f"{path}.zone", f"no zone {event['zone']!r}")
            return None
        # The links of the tier, by the name of their downstream end: (its zone, the link).
        ends = (
            {patient.name: (patient.zone, patient.link) for patient in patients}
            if tier == "radio"
            else {node.name: (node.zone, node.link) for zone in zones for node in zone.nodes}
        )
        if key == "zone":
            links = [link for zone, link in ends.values() if zone == event["zone"]]
        elif event[owner] in ends:
            links = [ends[event[owner]][1]]
        else:
            what = "patient" if tier == "radio" else "MEC node"
            self.problem(f"{path}.{owner}", f"no {what} {event[owner]!r}")
            return None
        if not links:
            self.problem(f"{path}.zone", f"zone {event['zone']!r} has no {tier} link")
            return None
        profile = self.link(event["profile"], DEFAULT_RADIO, f"{path}.profile")
        return LinkDegradation(at, tuple(links), profile, event.get("duration"))

    def failure(
        self,
        event: dict[str, Any],
        path: str,
        at: float,
        ttp: Ttp,
        nodes: dict[str, MecNode],
        down_until: dict[str, float],
    ) -> NodeFailure | None:
        node = event["node"]
        if node != ttp.name and node not in nodes:
            known = ", ".join([ttp.name, *nodes])
            self.problem(f"{path}.node", f"no MEC node or TTP {node!r} (nodes: {known})")
            return None
        if down_until.get(node, 0.0) > at:
            self.problem(f"{path}.at", f"{node} is down at {at:g} s already")
        restart = event.get("restart_after")
        down_until[node] = at + restart if restart is not None else float("inf")
        return NodeFailure(at, node, restart)
