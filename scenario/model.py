"""What a scenario is once read and checked: the topology, its profiles and its timed events.

Everything here is resolved: link profiles are ``LinkProfile`` values (presets and named
profiles looked up, fields merged), compute profiles are loaded, every name an event or a
patient refers to exists, and defaults are filled in. ``loader.py`` builds it from a YAML file;
``runner.py`` runs it. Link identities name the link's tier and its downstream end:
``radio/<patient>`` (the patient's UE to its MEC node) and ``backhaul/<node>`` (a MEC node to
the TTP).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from mec5g.core.credentials import RecordRule
from mec5g.core.readings import SensorKind
from mec5g.runtime.compute_profile import Profile
from mec5g.runtime.link_emulation import LinkProfile


@dataclass(frozen=True)
class NamedLink:
    """A link profile and what the scenario called it (a preset, an entry of ``links``, or
    ``inline`` for one written in place)."""

    name: str
    profile: LinkProfile


@dataclass(frozen=True)
class Compute:
    """A node's compute profile, the file it came from, and its cores (None: each task its own,
    a UE's devices)."""

    profile: Profile
    path: Path
    cores: int | None


@dataclass(frozen=True)
class Ttp:
    name: str
    compute: Compute | None


@dataclass(frozen=True)
class MecNode:
    name: str
    zone: str
    credentials: int
    backhaul: NamedLink
    compute: Compute | None

    @property
    def link(self) -> str:
        return f"backhaul/{self.name}"


@dataclass(frozen=True)
class Zone:
    name: str
    description: str
    nodes: tuple[MecNode, ...]


@dataclass(frozen=True)
class Doctor:
    name: str
    expertise: str
    hospital: str


@dataclass(frozen=True)
class Patient:
    """A patient, the UE holding its devices (one per kind listed, in order), and where the UE
    attaches at the start."""

    name: str
    zone: str
    mec_node: str
    radio: NamedLink
    compute: Compute | None
    devices: tuple[SensorKind, ...]
    readers: tuple[str, ...]
    allergies: tuple[str, ...]
    blood_group: str
    stream_interval: float

    @property
    def link(self) -> str:
        return f"radio/{self.name}"


@dataclass(frozen=True)
class Deterioration:
    """A patient's condition worsens (``ue/sensors.py`` EVENTS), developing over ``onset``
    seconds and lasting ``duration`` (0: for ever)."""

    at: float
    patient: str
    condition: str
    onset: float
    duration: float


@dataclass(frozen=True)
class Mobility:
    """A patient moves from zone ``source`` to zone ``target`` and its UE to ``mec_node``
    there: a handover with context transfer through the TTP."""

    at: float
    patient: str
    source: str
    target: str
    mec_node: str


@dataclass(frozen=True)
class LinkDegradation:
    """The links named change to ``profile``; after ``duration`` seconds (None: never) each
    gets back the profile it had."""

    at: float
    links: tuple[str, ...]
    profile: NamedLink
    duration: float | None


@dataclass(frozen=True)
class NodeFailure:
    """A MEC node or the TTP crashes (its process killed); after ``restart_after`` seconds
    (None: never) it starts again on its state."""

    at: float
    node: str
    restart_after: float | None


Event = Deterioration | Mobility | LinkDegradation | NodeFailure


@dataclass(frozen=True)
class Scenario:
    name: str
    description: str
    origin: Path | None  # the file it was read from
    seed: int
    duration: float  # 0: until stopped
    record_rule: RecordRule
    ttp: Ttp
    zones: tuple[Zone, ...]
    doctors: tuple[Doctor, ...]
    patients: tuple[Patient, ...]
    events: tuple[Event, ...]  # by time

    @property
    def nodes(self) -> tuple[MecNode, ...]:
        return tuple(node for zone in self.zones for node in zone.nodes)

    def node(self, name: str) -> MecNode:
        return next(node for node in self.nodes if node.name == name)

    def patient(self, name: str) -> Patient:
        return next(patient for patient in self.patients if patient.name == name)

    @property
    def mobility(self) -> tuple[Mobility, ...]:
        return tuple(event for event in self.events if isinstance(event, Mobility))
