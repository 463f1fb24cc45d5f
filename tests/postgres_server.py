"""A real PostgreSQL server for the tests: started once per session by scripts/test-postgres.

The PostgreSQL tests run by default. They skip only when told to (``MEC5G_SKIP_POSTGRES=1``);
without PostgreSQL installed and without that variable they fail, so that a CI machine missing
the server cannot pass them silently. ``MEC5G_TEST_POSTGRES_URL`` names a server someone else
runs instead; the tests that stop and restart the server need the one started here.
"""

from __future__ import annotations

import itertools
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import psycopg
import pytest

SCRIPT = Path(__file__).resolve().parent.parent / "scripts" / "test-postgres"


@dataclass
class PostgresServer:
    """A running server: a URL for the maintenance database, and fresh databases on demand."""

    url: str
    data_dir: Path | None
    _names: Iterator[int] = field(default_factory=itertools.count)

    def new_database(self) -> str:
        """An empty database of its own for one test; its URL."""
        name = f"mec5g_test_{os.getpid()}_{next(self._names)}"
        with psycopg.connect(self.url, autocommit=True) as connection:
            connection.execute(f'CREATE DATABASE "{name}"')
        return self.url.rpartition("/")[0] + "/" + name

    def stop(self) -> None:
        subprocess.run([SCRIPT, "stop", str(self.own_data_dir())], check=True, timeout=120)

    def start(self) -> None:
        subprocess.run(
            [SCRIPT, "start", str(self.own_data_dir())],
            check=True,
            timeout=120,
            capture_output=True,
        )

    def own_data_dir(self) -> Path:
        if self.data_dir is None:
            pytest.fail("this test stops the server: unset MEC5G_TEST_POSTGRES_URL")
        return self.data_dir


def postgres_server() -> Iterator[PostgresServer]:
    """The session's server (the body of the ``postgres`` fixture)."""
    if os.environ.get("MEC5G_SKIP_POSTGRES") == "1":
        pytest.skip("MEC5G_SKIP_POSTGRES=1")
    given = os.environ.get("MEC5G_TEST_POSTGRES_URL")
    if given:
        yield PostgresServer(given, None)
        return
    # Under /tmp with a short name: the server's socket path must stay under 108 bytes, and as
    # root the script hands the folder to the postgres user.
    data_dir = Path(tempfile.mkdtemp(prefix="mec5g-pg-"))
    started = subprocess.run(
        [SCRIPT, "start", str(data_dir)], capture_output=True, text=True, timeout=300, check=False
    )
    if started.returncode != 0:
        pytest.fail(
            "could not start PostgreSQL for the tests (set MEC5G_SKIP_POSTGRES=1 to skip them): "
            + started.stderr
        )
    server = PostgresServer(started.stdout.strip(), data_dir)
    try:
        yield server
    finally:
        subprocess.run([SCRIPT, "stop", str(data_dir)], timeout=120, check=False)
        shutil.rmtree(data_dir, ignore_errors=True)
