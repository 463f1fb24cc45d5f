"""``mec5g up SCENARIO`` as a user runs it: real processes behind emulated links, a scenario's
events carried out at their times, and the refusals that come before anything starts."""

from __future__ import annotations

import re
from pathlib import Path

import yaml
from test_cli import free_offset, mec5g

from mec5g.scenario.runner import GRPC_BASE, METRICS_BASE

SCENARIO = {
    "version": 1,
    "name": "smoke",
    "duration": 12,
    "ttp": {"compute": {"profile": "i7-8750h", "cores": 2}},
    "links": {"slow-radio": {"both": {"delay_ms": 20, "jitter_ms": 2}}},
    "zones": [
        {
            "name": "ward",
            "radio": "slow-radio",
            "backhaul": "ideal",
            "mec_nodes": [
                {
                    "name": "mec-a",
                    "credentials": 2,
                    "compute": {"profile": "raspberry-pi-3b-plus", "cores": 2},
                }
            ],
        }
    ],
    "doctors": [{"name": "bob"}],
    "patients": [
        {
            "name": "alice",
            "zone": "ward",
            "devices": ["spo2", "heart-rate"],
            "readers": ["bob"],
            "compute": {"profile": "zolertia-re-mote"},
        }
    ],
    "events": [
        {"at": 1, "type": "deterioration", "patient": "alice", "condition": "sepsis",
         "onset": 1},
        {"at": 2, "type": "link_degradation", "link": "radio", "patient": "alice",
         "profile": {"both": {"delay_ms": 60}}, "duration": 2},
        {"at": 5, "type": "node_failure", "node": "mec-a", "restart_after": 1},
    ],
}  # fmt: skip


def test_a_scenario_plays_its_events_and_every_record_agrees(tmp_path: Path) -> None:
    path = tmp_path / "smoke.yaml"
    path.write_text(yaml.safe_dump(SCENARIO))
    state = tmp_path / "state"
    up = mec5g(
        "up", str(path), "--links", "emulator", "--state-dir", str(state),
        "--port-offset", str(free_offset(ports=(*GRPC_BASE.values(), *METRICS_BASE.values()))),
        timeout=150,
    )  # fmt: skip
    logs = {log.name: log.read_text()[-2000:] for log in state.glob("*.log")}
    assert up.returncode == 0, (up.stdout, up.stderr, logs)
    out = up.stdout
    assert "links: in-process link emulator" in out
    for happened in (
        "registered doctor bob",
        "provisioned 2 devices into alice's UE",
        "sepsis develops in alice over 1 s",
        "radio/alice now inline",
        "radio/alice restored",
        "mec-a failed (process killed)",
        "mec-a restarted on its state",
    ):
        assert happened in out, (happened, out)
    summary = next(line for line in out.splitlines() if line.startswith("summary:"))
    assert "records agree: yes" in summary
    assert int(summary.split()[1]) >= 2  # both devices attached at least once
    assert "2 devices" in summary
    device = re.search(r"compute alice \(ue, zolertia-re-mote.*?emulated", out)
    assert device is not None, out
    radio = re.search(r"link radio/alice \(slow-radio\): up (\d+) messages, ([\d.]+) ms", out)
    assert radio is not None, out
    assert int(radio.group(1)) > 0
    assert float(radio.group(2)) >= 20.0  # at least the profile's delay, on average
    for store in ("ttp.db", "mec-a/mec.db", "alice/ue.db"):
        assert (state / store).is_file()


def test_mobility_is_refused_before_anything_starts(tmp_path: Path) -> None:
    up = mec5g("up", "ward-handover", "--state-dir", str(tmp_path / "state"))
    assert up.returncode == 2
    assert "has mobility events (at 20 s, 40 s)" in up.stderr
    assert "no handover" in up.stderr
    assert not (tmp_path / "state").exists()


def test_the_default_storys_flags_are_refused_with_a_scenario() -> None:
    up = mec5g("up", "two-wards", "--devices", "3", "--sepsis-after", "5")
    assert up.returncode == 2
    assert "--devices, --sepsis-after: a scenario file sets these itself" in up.stderr


def test_a_bad_scenario_names_its_fields(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    bad = {**SCENARIO, "patients": [{**SCENARIO["patients"][0], "zone": "roof"}]}
    path.write_text(yaml.safe_dump(bad))
    up = mec5g("up", str(path))
    assert up.returncode == 2
    assert "patients[0].zone: no zone 'roof'" in up.stderr
    checked = mec5g("scenario", "validate", str(path), "two-wards")
    assert checked.returncode == 1
    assert "patients[0].zone: no zone 'roof'" in checked.stdout
    assert "two-wards: ok (2 zones, 2 MEC nodes, 3 patients, 3 events)" in checked.stdout
