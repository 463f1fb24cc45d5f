"""The TTP's store on both backends, for the tests parametrised over them.

``store_location`` (a fixture in conftest) gives a SQLite file, then an empty PostgreSQL
database on the session's server; ``dump`` is everything an attacker holding the database
alone reads.
"""

from __future__ import annotations

import glob
import shutil
import subprocess
from pathlib import Path

from mec5g.ttp.postgres_store import is_url
from mec5g.ttp.stores import StoreLocation

BACKENDS = ("sqlite", "postgresql")


def dump(location: StoreLocation) -> bytes:
    """The SQLite files (database, WAL), or ``pg_dump``'s output."""
    if is_url(location):
        pg_dump = shutil.which("pg_dump") or max(glob.glob("/usr/lib/postgresql/*/bin/pg_dump"))
        return subprocess.run(
            [pg_dump, "--dbname", str(location)], capture_output=True, check=True, timeout=120
        ).stdout
    path = Path(location)
    return b"".join(
        file.read_bytes() for file in path.parent.iterdir() if file.name.startswith(path.name)
    )
