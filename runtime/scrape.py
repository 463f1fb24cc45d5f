"""Reading a process's /metrics endpoint: the local testbed's summary and ``mec5g report`` both
read the counters this way rather than keep counts of their own, so what they print is exactly
what Prometheus would scrape.
"""

from __future__ import annotations

import urllib.request
from collections.abc import Iterator

from prometheus_client.parser import text_string_to_metric_families
from prometheus_client.samples import Sample


def scrape(target: str, timeout: float = 5.0) -> Iterator[Sample]:
    """Every sample that ``host:port``/metrics serves; raises OSError if it cannot be read."""
    with urllib.request.urlopen(f"http://{target}/metrics", timeout=timeout) as response:
        text = response.read().decode()
    for family in text_string_to_metric_families(text):
        yield from family.samples
