"""The evaluation's benchmark parts (``mec5g bench computation|messages|concurrency|growth|
hardware``) in smoke mode: tiny sizes, the shape of their output, and what must hold exactly
(2432 bits; Table 1's operation counts; every profile figure sourced or marked an assumption).
No speed is asserted: figures live in the results folder and docs/evaluation.md.
"""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from test_anonymous_agreement import BASELINE36_BITS, BASELINE36_COUNTED

from mec5g.bench import paper
from mec5g.bench.hardware import PROFILES, ProfileError, load_profile, load_profiles
from mec5g.bench.progress import Progress, wanted
from mec5g.bench.schemes import SCHEMES
from mec5g.report import PAPER_TABLE_1, PAPER_TABLE_2


def _bench(out: Path, *args: str, plots: bool = False, timeout: float = 180) -> dict[str, Any]:
    """Run ``mec5g bench ARGS --out OUT --json``; check the files it wrote; return its JSON."""
    command = [sys.executable, "-m", "mec5g", "bench", *args, "--out", str(out), "--json"]
    if not plots:
        command.append("--no-plots")
    completed = subprocess.run(command, capture_output=True, text=True, timeout=timeout, check=True)
    document: dict[str, Any] = json.loads(completed.stdout)
    part = args[0]
    assert document["part"] == part
    assert document["command"].startswith(f"mec5g bench {part}")
    assert json.loads((out / f"{part}.json").read_text()) == document
    markdown = (out / f"{part}.md").read_text()
    assert document["command"] in markdown, "every figure says how to reproduce it"
    assert "\r" not in completed.stderr, "no progress bar when stderr is not a terminal"
    return document


def test_the_registry_holds_the_scheme_the_baseline_and_tls() -> None:
    assert set(SCHEMES) == {"braeken2021", paper.BASELINE_SCHEME, "tls13"}
    completed = subprocess.run(
        [sys.executable, "-m", "mec5g", "bench", "computation", "--scheme", "unknown"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert completed.returncode == 2
    assert "braeken2021" in completed.stderr


def test_the_papers_figures_are_the_papers() -> None:
    """Typed in from section 7; the live report's columns for this scheme agree with them."""
    for entity, role in (("device", "ue"), ("mec", "mec"), ("ttp", "ttp")):
        assert paper.notation(paper.TABLE_1[paper.THIS][entity]) == PAPER_TABLE_1[role]
    assert paper.TABLE_2[paper.THIS] == PAPER_TABLE_2
    for scheme, total in paper.TABLE_2_TOTALS.items():
        assert sum(paper.TABLE_2[scheme].values()) == total
    assert paper.notation(paper.TABLE_1[paper.BASELINE]["ttp"]) == "9Tm + 4Ta + 4Ts + 13Th"


def test_computation_counts_table_1_per_entity(tmp_path: Path) -> None:
    document = _bench(tmp_path, "computation", "--runs", "12")
    assert document["runs"] == 12
    ours = document["schemes"]["braeken2021"]["entities"]
    for entity, counts in paper.TABLE_1[paper.THIS].items():
        figures = ours[entity]
        assert figures["operations"]["paper"] == {unit: float(n) for unit, n in counts.items()}
        assert 0 < figures["median_us"] <= figures["p99_us"]
    # Our additions are counted apart, by origin (SPEC.md): the device's counter nonce.
    assert ours["device"]["operations"]["counter_nonce"] == {"Ts": 1.0}
    # [36] as reconstructed, measured in the same run, its counts in the paper's origin only.
    baseline = document["schemes"][paper.BASELINE_SCHEME]["entities"]
    for entity, counts in BASELINE36_COUNTED.items():
        assert baseline[entity]["operations"] == {"paper": counts}
    tls = document["schemes"]["tls13"]["entities"]
    assert set(tls) == {"device", "mec"}, "TLS has no third party"
    assert tls["device"]["operations"] is None
    assert "[36]" in (tmp_path / "computation.md").read_text()


def test_messages_are_2432_bits_with_extensions_apart(tmp_path: Path) -> None:
    document = _bench(tmp_path, "messages", "--scheme", "braeken2021", plots=True)
    ours = document["schemes"]["braeken2021"]
    assert ours["total_bits"] == 2432
    assert {m["name"]: m["bits"] for m in ours["messages"]} == paper.TABLE_2[paper.THIS]
    extensions = {m["name"]: m["extension_bits"] for m in ours["messages"]}
    assert extensions["M3"] >= 8 * 48, "the analysis handle travels beside M3"
    assert all(bits > 0 for bits in extensions.values()), "each carries a version field"
    assert ours["total_extension_bits"] == sum(extensions.values())
    assert (tmp_path / "messages.png").read_bytes().startswith(b"\x89PNG")
    assert "![messages](messages.png)" in (tmp_path / "messages.md").read_text()


def test_messages_of_the_reconstructed_baseline_beside_table_2(tmp_path: Path) -> None:
    document = _bench(tmp_path, "messages", "--scheme", paper.BASELINE_SCHEME)
    baseline = document["schemes"][paper.BASELINE_SCHEME]
    assert {m["name"]: m["bits"] for m in baseline["messages"]} == BASELINE36_BITS
    assert baseline["total_extension_bits"] == 0
    assert "1,152" in (tmp_path / "messages.md").read_text(), "Table 2's [36] column beside"


def test_messages_of_tls_are_its_flights(tmp_path: Path) -> None:
    document = _bench(tmp_path, "messages", "--scheme", "tls13")
    tls = document["schemes"]["tls13"]
    assert [m["path"] for m in tls["messages"][:3]] == [
        "device -> MEC",
        "MEC -> device",
        "device -> MEC",
    ]
    assert tls["total_bits"] > 8 * 2000, "certificates and signatures travel both ways"


def test_concurrency_measures_each_level_against_the_echo_chain(tmp_path: Path) -> None:
    document = _bench(
        tmp_path, "concurrency", "--devices", "4", "--concurrency", "1,2", "--duration", "0.5",
        "--scheme", "braeken2021", "--scheme", "tls13",
    )  # fmt: skip
    assert document["schemes"] == ["braeken2021"], "tls13 has no servers to run live"
    assert [level["concurrency"] for level in document["levels"]] == [1, 2]
    for level in document["levels"]:
        for figures in (level["schemes"]["braeken2021"], level["echo"]):
            assert figures["completed"] > 0
            assert figures["failed"] == 0
        assert level["schemes"]["braeken2021"]["ratio"] > 0
        assert level["baseline36_to_braeken2021"] is None


def test_growth_reports_rates_and_bytes_per_device(tmp_path: Path) -> None:
    document = _bench(
        tmp_path,
        "growth",
        "--sizes",
        "30,90",
        "--seconds",
        "0.2",
        "--sample",
        "40",
        "--in-flight",
        "8",
        "--e2e-concurrency",
        "2",
        "--mec-credentials",
        "2",
    )
    first, second = document["points"]
    assert (first["devices"], second["devices"]) == (30, 90)
    for point in (first, second):
        assert point["in_process"]["answered"] > 0
        assert point["in_process"]["cpu_us_per_answer"] > 0
        assert point["end_to_end"]["completed"] > 0
        assert point["end_to_end"]["failed"] == 0
        assert point["bytes_per_device"] == point["store_bytes"] / point["devices"]
    # The sample holds every device of the first size, and each answers at least once.
    assert first["rotated_share"] == 1.0
    assert 0 < second["rotated_share"] < 1.0


def test_growth_refuses_sizes_out_of_order(tmp_path: Path) -> None:
    completed = subprocess.run(
        [
            *(sys.executable, "-m", "mec5g", "bench", "growth", "--sizes", "100,10"),
            *("--out", str(tmp_path), "--no-plots"),
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert completed.returncode == 2
    assert "increasing" in completed.stderr


def test_every_profile_figure_has_a_source_or_is_an_assumption() -> None:
    profiles = load_profiles()
    assert list(profiles) == ["device", "mec", "ttp"]
    for entity, profile in profiles.items():
        assert profile.hardware.startswith(paper.FIGURE_4_HARDWARE[entity].split()[0])
        assert profile.hardware_source.startswith("Braeken & Liyanage 2021, section 7.1")
        assert set(profile.operations) == {"Tm", "Ta", "Ts", "Th"}
        for figure in profile.operations.values():
            assert (figure.source is None) != (figure.assumption is None)
            assert figure.microseconds > 0


@pytest.mark.parametrize(
    "figure",
    [
        {"microseconds": 1},
        {"microseconds": 1, "source": "somewhere", "assumption": "a guess"},
        {"microseconds": 1, "source": ""},
        {"microseconds": 0, "assumption": "free"},
    ],
)
def test_a_profile_figure_without_exactly_one_origin_is_refused(
    tmp_path: Path, figure: dict[str, object]
) -> None:
    raw = json.loads((PROFILES / "i7-8750h.json").read_text())
    raw["operations"]["Th"] = figure
    path = tmp_path / "broken.json"
    path.write_text(json.dumps(raw))
    with pytest.raises(ProfileError, match="Th"):
        load_profile(path)


def test_hardware_emulates_figure_4_from_counts_and_costs(tmp_path: Path) -> None:
    document = _bench(tmp_path, "hardware", "--runs", "5", plots=True)
    profiles = document["profiles"]
    for entity, figures in document["entities"].items():
        costs = {unit: f["microseconds"] for unit, f in profiles[entity]["operations"].items()}
        baseline = sum(n * costs[u] for u, n in paper.TABLE_1[paper.BASELINE][entity].items())
        ours = sum(n * costs[u] for u, n in paper.TABLE_1[paper.THIS][entity].items())
        emulated = figures["emulated_us"]
        assert emulated["[36] (Table 1 counts)"] == pytest.approx(baseline)
        assert emulated["this scheme (Table 1 counts)"] == pytest.approx(ours)
        assert emulated["this scheme as run (with our additions)"] > ours
        counted = BASELINE36_COUNTED[entity]
        assert emulated["[36] as reconstructed (counted)"] == pytest.approx(
            sum(n * costs[u] for u, n in counted.items())
        )
        assert figures["measured_here_median_us"] > 0
        assert figures["baseline_measured_here_median_us"] > 0
    assert (tmp_path / "hardware.png").read_bytes().startswith(b"\x89PNG")
    assert "assumption" in (tmp_path / "hardware.md").read_text()


def test_hardware_takes_a_users_profiles(tmp_path: Path) -> None:
    mine = tmp_path / "profiles"
    mine.mkdir()
    for path in PROFILES.glob("*.json"):
        raw = json.loads(path.read_text())
        for figure in raw["operations"].values():
            figure.pop("assumption")
            figure["source"] = "a published table"
            figure["microseconds"] = 1.0
        (mine / path.name).write_text(json.dumps(raw))
    document = _bench(tmp_path / "out", "hardware", "--runs", "3", "--profiles", str(mine))
    device = document["entities"]["device"]["emulated_us"]
    assert device["[36] (Table 1 counts)"] == pytest.approx(7 + 2 + 2 + 12)
    assert device["[36] as reconstructed (counted)"] == pytest.approx(5 + 2 + 7)
    assert device["this scheme (Table 1 counts)"] == pytest.approx(2)


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_is_drawn_on_a_terminal_only_and_never_with_json() -> None:
    assert wanted(False, _Terminal())
    assert not wanted(True, _Terminal())
    assert not wanted(False, io.StringIO())
    screen = _Terminal()
    progress = Progress("growth", 4, enabled=True, stream=screen)
    for _ in range(4):
        progress.advance()
    progress.close()
    assert screen.getvalue().endswith("100% 4/4\n")
    quiet = io.StringIO()
    Progress("growth", 4, enabled=False, stream=quiet).advance()
    assert quiet.getvalue() == ""


def test_phases_count_each_entitys_operations_bytes_and_latency(tmp_path: Path) -> None:
    document = _bench(tmp_path, "phases", "--rounds", "3", plots=True)
    assert (tmp_path / "phases.png").is_file()
    phases = {phase["name"].split(":")[0]: phase for phase in document["phases"]}
    assert list(phases) == ["4", "5", "6"]
    record = {entity["step"]: entity for entity in phases["4"]["entities"]}
    # One AEAD per record sealed or opened (our addition: the paper has no data channel).
    assert record["seal a reading"]["ours"] == "1Ts"
    assert record["open it, seal the acknowledgement"]["ours"] == "2Ts"
    assert record["check the acknowledgement"]["ours"] == "1Ts"
    assert all(entity["microseconds"] > 0 for entity in phases["4"]["entities"])
    sizes = phases["4"]["bytes"]
    assert sizes["sealed record"] == 26 + sizes["reading (SpO2)"] + 16, "header, payload, tag"
    assert sizes["SubmitRequest (the record)"] > sizes["sealed record"]
    for name in ("5", "6"):
        entities = {entity["entity"]: entity for entity in phases[name]["entities"]}
        assert set(entities) == {"user app", "TTP", "MEC"}
        assert all("Tm" in entity["paper"] + entity["ours"] for entity in entities.values()), name
        assert all(size > 0 for size in phases[name]["bytes"].values())
    assert {"GetResults request", "GetResults response"} <= set(phases["5"]["bytes"])
    # Phase 5 is the reconstructed [36] agreement: the TTP vouches with its own operations.
    ttp = next(entity for entity in phases["5"]["entities"] if entity["entity"] == "TTP")
    assert ttp["paper"] == "8Tm + 4Ta + 4Ts + 8Th"
    assert phases["6"]["bytes"]["RaiseEmergency request (MEC to TTP)"] > 0
    assert phases["6"]["bytes"]["Watch response (the alert)"] > 0
    for phase in phases.values():
        latency = phase["latency"]
        assert latency["rounds"] == 3
        assert 0 < latency["p50_ms"] <= latency["p95_ms"]
