"""Fixtures shared by the test modules: the session's PostgreSQL server, a database per test,
and the TTP's store on each backend in turn."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from postgres_server import PostgresServer, postgres_server
from store_backends import BACKENDS

from mec5g.ttp.stores import StoreLocation


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresServer]:
    yield from postgres_server()


@pytest.fixture
def postgres_url(postgres: PostgresServer) -> str:
    """A fresh, empty database on the session's server."""
    return postgres.new_database()


@pytest.fixture(params=BACKENDS)
def store_location(request: pytest.FixtureRequest, tmp_path: Path) -> StoreLocation:
    """The TTP's store: a SQLite file, then an empty PostgreSQL database."""
    if request.param == "sqlite":
        return tmp_path / "ttp.db"
    url: str = request.getfixturevalue("postgres_url")
    return url
