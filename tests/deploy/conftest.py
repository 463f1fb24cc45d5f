"""Fixtures of the deployment tests."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest
from fake_kube_api import FakeApi


@pytest.fixture
def api() -> Iterator[FakeApi]:
    server = FakeApi()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()
