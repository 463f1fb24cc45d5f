"""The three roles as OS processes on loopback, each the ``mec5g ... serve`` a container runs,
started, stopped and killed one by one on their state files: what ``mec5g crash``,
``mec5g bench soak`` and scenarios (``mec5g up SCENARIO``) drive. (``mec5g up`` alone runs the
same commands on fixed ports.)
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import subprocess
import sys
import tempfile
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from mec5g.bench.handshake_bench import free_targets
from mec5g.core.credentials import RecordRule
from mec5g.mec.server import SERVICE_NAME as MEC_SERVICE
from mec5g.runtime.grpc_server import wait_serving
from mec5g.testbed import enrol_testbed
from mec5g.ttp.server import SERVICE_NAME as TTP_SERVICE
from mec5g.ue.server import SERVICE_NAME as UE_SERVICE

ROLES = ("ttp", "mec", "ue")


@dataclass
class RoleProcess:
    """One role's ``mec5g ... serve`` process, restartable on the same state."""

    name: str
    args: list[str]
    target: str
    service: str
    state_dir: Path
    process: subprocess.Popen[bytes] | None = field(default=None, repr=False)
    prefix: list[str] = field(default_factory=list)  # e.g. ``ip netns exec NS``

    async def start(self, extra: list[str] | None = None) -> None:
        with (self.state_dir / f"{self.name}.log").open("ab") as log:
            self.process = subprocess.Popen(
                [
                    *self.prefix,
                    sys.executable,
                    "-m",
                    "mec5g",
                    "--log-level",
                    "WARNING",
                    *self.args,
                    *(extra or []),
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        process = self.process
        serving = asyncio.ensure_future(wait_serving(self.target, self.service, timeout=60))
        while not serving.done():
            await asyncio.wait({serving}, timeout=0.2)
            if process.poll() is not None and not serving.done():
                serving.cancel()
                log_tail = (self.state_dir / f"{self.name}.log").read_text()[-2000:]
                raise RuntimeError(f"{self.name} exited with {process.returncode}: {log_tail}")
        serving.result()

    def stop(self, signum: int = signal.SIGTERM) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signum)
            self.process.wait(timeout=60)

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None


@contextlib.asynccontextmanager
async def role_processes(
    state_dir: Path,
    devices: int,
    mec_credentials: int,
    *,
    call_timeout: float | None = None,
    per_patient: int | None = None,
) -> AsyncIterator[dict[str, RoleProcess]]:
    """The three roles, enrolled in ``state_dir`` on free loopback ports and not started yet;
    every process still running is killed on exit, whatever happened. ``call_timeout`` bounds
    the MEC's call to the TTP and the UE's to the MEC (short, so that a killed peer ends an
    attempt at once); None keeps the servers' defaults. ``per_patient`` devices make up one
    analysis (all of them by default)."""
    enrol_testbed(state_dir, devices, mec_credentials, RecordRule.COUNTER, per_patient)
    ttp, mec, ue = free_targets(3)
    mec_timeout = [] if call_timeout is None else ["--ttp-timeout", str(call_timeout)]
    ue_timeout = [] if call_timeout is None else ["--rpc-timeout", str(call_timeout)]
    roles = {
        "ttp": RoleProcess("ttp", ["ttp", "serve", "--listen", ttp, "--store",
                           str(state_dir / "ttp.db"), "--metrics-port", "0"],
                           ttp, TTP_SERVICE, state_dir),
        "mec": RoleProcess("mec", ["mec", "serve", "--listen", mec, "--ttp", ttp, "--state",
                           str(state_dir / "mec.db"), "--import",
                           str(state_dir / "mec-enrolment.json"), "--metrics-port", "0",
                           *mec_timeout],
                           mec, MEC_SERVICE, state_dir),
        "ue": RoleProcess("ue", ["ue", "serve", "--listen", ue, "--mec", mec, "--state",
                          str(state_dir / "ue.db"), "--metrics-port", "0",
                          *ue_timeout],
                          ue, UE_SERVICE, state_dir),
    }  # fmt: skip
    try:
        yield roles
    finally:
        for role in roles.values():
            if role.process is not None and role.process.poll() is None:
                role.process.kill()
                role.process.wait()


@contextlib.contextmanager
def state_directory(kept: Path | None, prefix: str) -> Iterator[Path]:
    """Where a run keeps its stores and logs: ``kept`` (created if need be, left afterwards),
    or a temporary folder removed at the end."""
    if kept is not None:
        kept.mkdir(parents=True, exist_ok=True)
        yield kept
        return
    with tempfile.TemporaryDirectory(prefix=prefix) as scratch:
        yield Path(scratch)


def rss_bytes(process: subprocess.Popen[bytes]) -> int:
    """Resident memory of a running process (Linux /proc), in bytes."""
    for line in Path(f"/proc/{process.pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise RuntimeError(f"no VmRSS for process {process.pid}")
