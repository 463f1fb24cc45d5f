"""The shipped Prometheus files, checked with the real ``promtool`` (Debian's ``prometheus``):
configuration and rule syntax, the rules' unit tests, and metric names on a live exposition.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
import yaml
from prometheus_client import generate_latest

from mec5g.core import ttp_role
from mec5g.core.errors import RefusalReason
from mec5g.core.operations import Ledger, Operation, Origin
from mec5g.runtime.metrics import KEY_AGREEMENT, Metrics

PROMETHEUS_DIR = Path(__file__).resolve().parent.parent / "deploy" / "prometheus"


def promtool(*args: str, stdin: bytes | None = None) -> subprocess.CompletedProcess[bytes]:
    tool = shutil.which("promtool")
    if tool is None:
        pytest.fail("promtool not found: apt-get install prometheus")
    return subprocess.run(
        [tool, *args], cwd=PROMETHEUS_DIR, input=stdin, capture_output=True, timeout=60, check=False
    )


def test_local_configuration_and_rules_are_valid() -> None:
    result = promtool("check", "config", "prometheus-local.yml")
    assert result.returncode == 0, result.stdout + result.stderr
    rules = sorted(
        str(path.relative_to(PROMETHEUS_DIR)) for path in PROMETHEUS_DIR.glob("rules/*.yml")
    )
    assert len(rules) == 2
    result = promtool("check", "rules", *rules)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("unit_test", ["tests/recording_test.yml", "tests/alerts_test.yml"])
def test_rule_unit_tests_pass(unit_test: str) -> None:
    result = promtool("test", "rules", unit_test)
    assert result.returncode == 0, result.stdout + result.stderr


def test_kubernetes_scrape_keeps_only_the_charts_metrics_ports() -> None:
    # Debian's promtool is built without Kubernetes discovery, so this file is checked by shape.
    config = yaml.safe_load((PROMETHEUS_DIR / "prometheus-kubernetes.yml").read_text())
    (job,) = config["scrape_configs"]
    assert job["kubernetes_sd_configs"] == [{"role": "pod"}]
    keeps = {
        tuple(rule["source_labels"]): rule["regex"]
        for rule in job["relabel_configs"]
        if rule.get("action") == "keep"
    }
    assert keeps == {
        ("__meta_kubernetes_pod_label_app_kubernetes_io_name",): "mec5g",
        ("__meta_kubernetes_pod_container_port_name",): "metrics",
    }
    assert config["rule_files"] == ["rules/*.yml"]


def test_every_metric_name_is_clean() -> None:
    """``promtool check metrics`` lints names, units and help texts of a full exposition."""
    metrics = Metrics("ttp")
    ledger = Ledger(
        {(Operation.HASH, Origin.PAPER): 3, (Operation.SYMMETRIC, Origin.COUNTER_NONCE): 2}
    )
    metrics.count_operations(KEY_AGREEMENT, ledger)
    metrics.observe(KEY_AGREEMENT, "accepted", 0.001)
    metrics.sent("M3", 64, 70)
    metrics.store_call("answer", 0.0005)
    metrics.mec_credentials.labels("ttp", "free").set(1)
    metrics.refusals.labels(RefusalReason.STALE_DEVICE_COUNTER.value).inc()
    metrics.stale_counters.labels("ttp", "device", "device-1").inc()
    metrics.grpc_handled.labels("ttp", "server", "s", "m", "OK").inc()
    metrics.grpc_duration.labels("ttp", "server", "s", "m").observe(0.001)
    exposition = generate_latest(metrics.registry)
    result = promtool("check", "metrics", stdin=exposition)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout + result.stderr == b""
    assert ttp_role.Refused(RefusalReason.STALE_DEVICE_COUNTER, 1) == ttp_role.Refused(
        RefusalReason.STALE_DEVICE_COUNTER
    ), "the record number is for metrics, not part of the refusal's identity"
