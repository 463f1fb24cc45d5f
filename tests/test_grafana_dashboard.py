"""The shipped Grafana dashboard: valid JSON with the panels the observability issue asks for.
Its queries are run against a real Prometheus in ``test_prometheus_server``.
"""

from __future__ import annotations

import json

from prometheus_server import DASHBOARD, dashboard_queries


def test_dashboard_shape() -> None:
    dashboard = json.loads(DASHBOARD.read_text())
    panels = dashboard["panels"]
    ids = [panel["id"] for panel in panels]
    assert len(ids) == len(set(ids))
    titles = " | ".join(panel["title"] for panel in panels)
    for wanted in ("Table 1", "Table 2", "heatmap", "per second", "by reason"):
        assert wanted in titles, wanted
    heatmaps = [panel for panel in panels if panel["type"] == "heatmap"]
    assert len(heatmaps) == 4  # latency of device, MEC and TTP; the NEWS2 scores
    assert all(target["format"] == "heatmap" for panel in heatmaps for target in panel["targets"])
    variables = {variable["name"] for variable in dashboard["templating"]["list"]}
    assert variables == {"datasource", "phase"}
    for panel in panels:
        if panel["type"] != "row":
            assert panel["datasource"] == {"type": "prometheus", "uid": "${datasource}"}


def test_dashboard_reads_only_our_metrics_and_rules() -> None:
    for title, expr in dashboard_queries().items():
        assert "mec5g" in expr, title
