"""The benchmark commands run and report what they measured (no speed is asserted here: figures
live in the benchmarks' own output, see docs/benchmarks.md).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest


def _mec5g(*args: str, timeout: float) -> dict[str, object]:
    completed = subprocess.run(
        [sys.executable, "-m", "mec5g", *args, "--json"],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=True,
    )
    report: dict[str, object] = json.loads(completed.stdout)
    return report


def test_bench_core_reports_its_rate() -> None:
    report = _mec5g("bench", "core", "--duration", "0.2", timeout=120)
    assert report["rule"] == "counter"
    assert isinstance(report["requests"], int)
    assert report["requests"] > 0
    assert isinstance(report["per_second"], float)
    assert report["per_second"] > 0


def test_bench_handshake_measures_both_schemes_and_the_echo_chain_in_one_run() -> None:
    report = _mec5g(
        "bench",
        "handshake",
        "--devices",
        "8",
        "--concurrency",
        "2",
        "--duration",
        "1",
        timeout=240,
    )
    schemes = report["schemes"]
    assert isinstance(schemes, dict)
    assert set(schemes) == {"braeken2021", "baseline36"}
    for run in [*schemes.values(), report["echo"]]:
        assert isinstance(run, dict)
        assert run["completed"] > 0
        assert run["failed"] == 0
        assert set(run["cpu_ms_per_op"]) == {"client", "mec", "ttp"}
    for run in schemes.values():
        assert run["ratio"] > 0
    assert isinstance(report["baseline36_to_braeken2021"], float)
    assert report["baseline36_to_braeken2021"] > 0


def test_bench_tls_runs_a_mutually_authenticated_tls13_handshake() -> None:
    """The comparator itself checks the P-256 key share and that the client was verified."""
    report = _mec5g("bench", "tls", "--handshakes", "3", timeout=120)
    assert report["handshakes"] == 3
    assert isinstance(report["tls_bytes"], float)
    assert report["tls_bytes"] > 1000, "certificates and signatures travel both ways"
    assert report["scheme_device_mec_bytes"] == 112, "M1 (64 bytes) and M4 (48 bytes)"


def test_bench_soak_holds_a_rate_and_reports_memory_per_process() -> None:
    report = _mec5g(
        "bench", "soak", "--duration", "3", "--probe", "2", "--devices", "10", timeout=180
    )
    assert report["error_count"] == 0, report["errors"]
    assert isinstance(report["attaches"], int)
    assert report["attaches"] > 0
    assert isinstance(report["target_per_second"], float)
    assert isinstance(report["capacity_per_second"], float)
    assert report["target_per_second"] == 0.8 * report["capacity_per_second"]
    for sample in ("rss_start_mib", "rss_end_mib", "rss_peak_mib"):
        per_process = report[sample]
        assert isinstance(per_process, dict)
        assert set(per_process) == {"ttp", "mec", "ue"}
        assert all(mib > 10 for mib in per_process.values()), "a Python process is > 10 MiB"


def test_bench_registration_counts_each_entitys_operations() -> None:
    completed = subprocess.run(
        [sys.executable, "-m", "mec5g", "bench", "registration", "--rounds", "3", "--json"],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    steps = {(step["entity"], step["step"]): step for step in json.loads(completed.stdout)}
    user = steps[("user", "d = ek + r, check Q = dG")]
    assert (user["paper"], user["ours"]) == ("2Tm + 1Ta + 1Th", "0")
    ttp = steps[("TTP", "check code, issue Cert and r, store Q")]
    assert (ttp["paper"], ttp["ours"]) == ("2Tm + 2Ta + 2Th", "1Th")
    assert steps[("anyone", "Q = eP + Q_TTP")]["paper"] == "1Tm + 1Ta + 1Th"
    assert steps[("patient", "sign the request")]["ours"] == "1Tm + 1Th"
    assert all(step["microseconds"] > 0 for step in steps.values())


def test_bench_store_measures_both_backends_and_each_operation(postgres_url: str) -> None:
    report = _mec5g(
        "bench", "store", "--store-url", postgres_url, "--requests", "20", "--in-flight", "4",
        "--rounds", "2", timeout=180,
    )  # fmt: skip
    answers = report["answers"]
    assert isinstance(answers, list)
    assert [(run["backend"], run["replicas"]) for run in answers] == [
        ("sqlite", 1), ("postgresql", 1), ("postgresql", 2), ("postgresql", 3)
    ]  # fmt: skip
    assert all(run["answers_per_second"] > 0 for run in answers)
    operations = report["operations"]
    assert isinstance(operations, list)
    assert len(operations) == 2 * 5
    assert {operation["backend"] for operation in operations} == {"sqlite", "postgresql"}
    assert all(operation["runs"] == 2 and operation["p50_ms"] > 0 for operation in operations)


@pytest.mark.slow
def test_bench_replicas_runs_ttp_processes_on_one_postgresql(postgres_url: str) -> None:
    report = _mec5g(
        "bench", "replicas", "--store-url", postgres_url, "--devices", "4", "--concurrency",
        "2", "--duration", "1", "--mec-credentials", "2", timeout=300,
    )  # fmt: skip
    runs = report["runs"]
    assert isinstance(runs, list)
    assert [(run["backend"], run["replicas"]) for run in runs] == [
        ("sqlite", 1), ("postgresql", 1), ("postgresql", 2), ("postgresql", 3)
    ]  # fmt: skip
    for run in runs:
        assert run["result"]["completed"] > 0
        assert run["result"]["failed"] == 0
        ttps = {role for role in run["result"]["cpu_ms_per_op"] if role.startswith("ttp")}
        assert len(ttps) == run["replicas"], "one OS process per replica"
    baseline = next(run for run in runs if (run["backend"], run["replicas"]) == ("postgresql", 1))
    assert baseline["ratio_to_one_postgresql_replica"] == 1.0


def test_bench_swarm_ramps_up_and_reports_memory_per_device(tmp_path: Path) -> None:
    report = _mec5g(
        "bench", "swarm", "--devices", "6", "--ramp-up-rate", "20", "--stream-interval", "1",
        "--steady", "2", "--out", str(tmp_path), timeout=300,
    )  # fmt: skip
    runs = report["runs"]
    assert isinstance(runs, list)
    assert [run["devices"] for run in runs] == [0, 6], "a baseline of 0 devices first"
    for run in runs:
        assert run["ramped_up"]
        assert run["attaches_failed"] == 0
        assert run["records_failed"] == 0
        assert set(run["rss_mib"]) == {"ttp", "mec", "ue"}
        assert all(mib > 10 for mib in run["rss_mib"].values()), "a Python process is > 10 MiB"
    assert runs[1]["attaches_succeeded"] >= 6
    assert runs[1]["records_acknowledged"] >= 6
    assert runs[1]["attach_rate"] > 0
    assert (tmp_path / "swarm.md").is_file()
    assert (tmp_path / "swarm.json").is_file()
