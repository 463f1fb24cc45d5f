"""A real Prometheus server (Debian's ``prometheus``) for the tests: started on loopback with a
temporary configuration that scrapes given targets every second and loads the shipped rules.
"""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import time
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import yaml

DEPLOY = Path(__file__).resolve().parent.parent / "deploy"
RULES = DEPLOY / "prometheus" / "rules"
DASHBOARD = DEPLOY / "grafana" / "mec5g-dashboard.json"


class Prometheus:
    """The HTTP API of a running Prometheus."""

    def __init__(self, url: str) -> None:
        self.url = url

    def get(self, path: str, **params: str) -> Any:
        query = f"?{urllib.parse.urlencode(params)}" if params else ""
        with urllib.request.urlopen(f"{self.url}{path}{query}", timeout=10) as response:  # noqa: S310 - loopback
            body = json.load(response)
        assert body["status"] == "success", body
        return body["data"]

    def query(self, promql: str) -> dict[tuple[tuple[str, str], ...], float]:
        """An instant query's vector, keyed by each sample's labels (sorted pairs)."""
        data = self.get("/api/v1/query", query=promql)
        return {
            tuple(sorted(sample["metric"].items())): float(sample["value"][1])
            for sample in data["result"]
        }

    def wait_for(
        self,
        promql: str,
        accept: Callable[[dict[tuple[tuple[str, str], ...], float]], bool],
        timeout: float = 60.0,
    ) -> dict[tuple[tuple[str, str], ...], float]:
        """Poll ``promql`` until ``accept`` takes its result (Prometheus scrapes on its own
        clock, the first time some seconds after it starts)."""
        deadline = time.monotonic() + timeout
        result = self.query(promql)
        while not accept(result):
            if time.monotonic() > deadline:
                pytest.fail(f"Prometheus never gave an acceptable {promql!r}: last {result}")
            time.sleep(0.25)
            result = self.query(promql)
        return result


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


@contextmanager
def running_prometheus(directory: Path, targets: dict[str, str]) -> Iterator[Prometheus]:
    """Prometheus scraping ``targets`` (component name -> host:port) every second."""
    binary = shutil.which("prometheus")
    if binary is None:
        pytest.fail("prometheus not found: apt-get install prometheus")
    config = {
        "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
        "rule_files": [str(RULES / "*.yml")],
        "scrape_configs": [
            {
                "job_name": "mec5g",
                "static_configs": [
                    {"targets": [target], "labels": {"component": component}}
                    for component, target in targets.items()
                ],
            }
        ],
    }
    config_file = directory / "prometheus.yml"
    config_file.write_text(yaml.safe_dump(config))
    port = _free_port()
    log = (directory / "prometheus.log").open("wb")
    process = subprocess.Popen(
        [
            binary,
            f"--config.file={config_file}",
            f"--storage.tsdb.path={directory / 'data'}",
            f"--web.listen-address=127.0.0.1:{port}",
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    prometheus = Prometheus(f"http://127.0.0.1:{port}")
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen(f"{prometheus.url}/-/ready", timeout=2):  # noqa: S310
                    break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    pytest.fail(
                        f"Prometheus did not start: {(directory / 'prometheus.log').read_text()}"
                    )
                time.sleep(0.1)
        yield prometheus
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()


def dashboard_queries() -> dict[str, str]:
    """Panel title -> PromQL of every query in the shipped Grafana dashboard."""
    panels = json.loads(DASHBOARD.read_text())["panels"]
    return {
        f"{panel['title']} [{target['refId']}]": target["expr"]
        for panel in panels
        for target in panel.get("targets", [])
    }
