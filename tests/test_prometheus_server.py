"""A real Prometheus scrapes a running testbed (TTP, MEC and UE on loopback, each serving its
own metrics): the handshake count it records equals the testbed's own, the paper's hashes per
handshake are exactly 2, 2 and 3 for device, MEC and TTP, our additions are counted under origins
of their own, and the shipped recording and alerting rules load and evaluate.
"""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path

from grpc_stack import enrol, start_mec, start_ttp, start_ue
from prometheus_client import start_http_server
from prometheus_server import Prometheus, dashboard_queries, running_prometheus

from mec5g import report
from mec5g.report_plots import write_plots
from mec5g.ue.fleet import Outcome
from mec5g.v1 import ue_control_pb2

HANDSHAKES = 12
MEC_CREDENTIALS = 2

# Hashes and symmetric operations per handshake, by role and origin, as the core counts them.
PAPER_HASHES = {"ue": 2.0, "mec": 2.0, "ttp": 3.0}
ADDITIONS = {
    ("ue", "Ts", "counter_nonce"): 1.0,
    # The MEC computes each credential's next nonce ahead, when the attempt before it ends.
    ("mec", "Ts", "counter_nonce"): (HANDSHAKES + MEC_CREDENTIALS) / HANDSHAKES,
    ("mec", "Th", "handle_key"): 2.0,
    ("mec", "Ts", "handle_aead"): 1.0,
    ("ttp", "Ts", "counter_nonce"): 2.0,
    ("ttp", "Th", "handle_key"): 2.0,
    ("ttp", "Ts", "handle_aead"): 1.0,
    # Phase 4: the analysis settings sealed beside the handle; each handshake's data session
    # (the device derives its id and keys at once, the MEC its id until a record arrives).
    ("mec", "Th", "settings_key"): 2.0,
    ("mec", "Ts", "settings_aead"): 1.0,
    ("ttp", "Th", "settings_key"): 2.0,
    ("ttp", "Ts", "settings_aead"): 1.0,
    ("ue", "Th", "data_keys"): 5.0,
    ("mec", "Th", "data_keys"): 2.0,
}
SUCCESSES = 'mec5g_phase_results_total{phase="key_agreement", outcome=~"accepted|success"}'


def _by(label: str, result: dict[tuple[tuple[str, str], ...], float]) -> dict[str, float]:
    return {dict(labels)[label]: value for labels, value in result.items()}


async def test_prometheus_scrapes_the_testbed(tmp_path: Path) -> None:
    enrolled = enrol(tmp_path, devices=4, mec_credentials=MEC_CREDENTIALS)
    async with contextlib.AsyncExitStack() as stack:
        ttp = await start_ttp(stack, enrolled.ttp_db)
        mec = await start_mec(stack, tmp_path / "mec.db", enrolled.mec_file, ttp.target)
        ue = await start_ue(stack, tmp_path / "ue.db", enrolled.ue_file, mec.target)
        targets = {}
        for component, metrics in (
            ("ttp", ttp.metrics),
            ("mec", mec.metrics),
            ("ue", ue.running.metrics),
        ):
            server, _ = start_http_server(0, addr="127.0.0.1", registry=metrics.registry)
            stack.callback(server.server_close)
            stack.callback(server.shutdown)
            targets[component] = f"127.0.0.1:{server.server_port}"
        prometheus = stack.enter_context(running_prometheus(tmp_path, targets))

        for _ in range(HANDSHAKES):
            assert (await ue.fleet.attach()).outcome is Outcome.SUCCESS
        status = await ue.stub.Status(ue_control_pb2.StatusRequest())
        own_count = status.attaches_succeeded
        assert own_count == HANDSHAKES

        await asyncio.to_thread(_check_scraped_figures, prometheus, own_count)
        await asyncio.to_thread(_check_report, prometheus, list(targets.values()), tmp_path)
        await asyncio.to_thread(_check_dashboard_queries, prometheus)


def _check_scraped_figures(prometheus: Prometheus, own_count: int) -> None:
    # Poll, do not sleep: the first scrape comes a few seconds after start.
    successes = prometheus.wait_for(
        f"sum by (role) ({SUCCESSES})",
        lambda result: _by("role", result) == {"ue": own_count, "mec": own_count, "ttp": own_count},
    )
    assert _by("role", successes) == {"ue": own_count, "mec": own_count, "ttp": own_count}
    assert set(_by("component", prometheus.query('up{job="mec5g"}')).values()) == {1.0}

    # Table 1, the paper's part: hashes per handshake.
    per_handshake = (
        'sum by (role) (mec5g_operations_total{phase="key_agreement", origin="paper", '
        'operation="Th"})'
        f" / on (role) sum by (role) ({SUCCESSES})"
    )
    assert _by("role", prometheus.query(per_handshake)) == PAPER_HASHES
    paper_other = prometheus.query('mec5g_operations_total{origin="paper", operation!="Th"}')
    assert paper_other == {}, "the paper's scheme uses hashes only"

    # Our additions, each under its own origin.
    additions = prometheus.query(
        'sum by (role, operation, origin) (mec5g_operations_total{origin!="paper"})'
        f" / on (role) group_left sum by (role) ({SUCCESSES})"
    )
    found = {
        (dict(k)["role"], dict(k)["operation"], dict(k)["origin"]): v for k, v in additions.items()
    }
    pseudonyms = found.pop(("ttp", "Th", "pseudonym"))
    assert 0 < pseudonyms <= 1, "one HMAC per analysis and MEC node, memoised"
    assert found == ADDITIONS

    # Table 2: bits of the paper's messages per handshake.
    ue_successes = (
        'sum(mec5g_phase_results_total{role="ue", phase="key_agreement", outcome="success"})'
    )
    bits = prometheus.query(
        '8 * sum by (message) (mec5g_message_bytes_total{origin="paper"})'
        f" / scalar({ue_successes})"
    )
    assert _by("message", bits) == {"M1": 512.0, "M2": 1024.0, "M3": 512.0, "M4": 384.0}

    # The shipped rules load and evaluate without error.
    groups = prometheus.get("/api/v1/rules")["groups"]
    rules = [rule for group in groups for rule in group["rules"]]
    assert len(rules) == 21
    assert {rule["health"] for rule in rules} == {"ok"}, [r for r in rules if r["health"] != "ok"]


def _check_report(prometheus: Prometheus, targets: list[str], tmp_path: Path) -> None:
    """``mec5g report`` reads the same figures from Prometheus and from the endpoints."""
    from_prometheus = report.build(report.from_prometheus(prometheus.url))
    from_endpoints = report.build(report.from_endpoints(targets))
    assert from_prometheus.table_1 == from_endpoints.table_1
    assert from_prometheus.table_2 == from_endpoints.table_2
    assert from_prometheus.handshakes == HANDSHAKES
    measured = {row.role: row.measured for row in from_prometheus.table_1}
    assert measured == {"ue": {"Th": 2.0}, "mec": {"Th": 2.0}, "ttp": {"Th": 3.0}}
    bits = {row.message: row.measured_bits for row in from_prometheus.table_2}
    assert bits == {"M1": 512.0, "M2": 1024.0, "M3": 512.0, "M4": 384.0}
    text = report.render(from_prometheus)
    assert "| device | 2Th | 2Th | counter_nonce 1Ts |" in text
    assert "| total | 2432 | 2432 | |" in text
    written = write_plots(
        from_prometheus, report.from_prometheus(prometheus.url), tmp_path / "plots"
    )
    assert [path.name for path in written] == ["latency.png", "cost.png"]
    for path in written:
        assert path.read_bytes().startswith(b"\x89PNG\r\n\x1a\n")


def _check_dashboard_queries(prometheus: Prometheus) -> None:
    """Every panel's query parses and runs; the live tables fill once the rules have run."""
    for title, expr in dashboard_queries().items():
        promql = expr.replace("$phase", "key_agreement").replace("$__rate_interval", "1m")
        prometheus.query(promql)  # raises unless Prometheus accepts the query
        if title.startswith(("Table 1", "Table 2")):
            prometheus.wait_for(promql, lambda result: len(result) > 0, timeout=30)
