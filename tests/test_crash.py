"""Killed processes restart consistent (SPEC.md "Attempts", "Adopting", "MEC credentials";
DESIGN.md decision 3): under continuous load, the MEC, then the UE, then the TTP is killed with
SIGKILL and restarted on the same state. Handshakes go on afterwards, and in the end every device
and every MEC credential still authenticates against its TTP record: no lockout, whatever the
moment of the kill.
"""

from __future__ import annotations

import asyncio
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest

from mec5g.bench.handshake_bench import free_targets
from mec5g.mec.server import SERVICE_NAME as MEC_SERVICE
from mec5g.runtime.grpc_server import wait_serving
from mec5g.testbed import check_agreement
from mec5g.ttp.enrolment import enrol_devices, enrol_mec
from mec5g.ttp.server import SERVICE_NAME as TTP_SERVICE
from mec5g.ue.server import SERVICE_NAME as UE_SERVICE
from mec5g.v1 import ue_control_pb2, ue_control_pb2_grpc


class _Role:
    def __init__(self, state: Path, name: str, args: list[str], target: str, service: str) -> None:
        self.state, self.name, self.args = state, name, args
        self.target, self.service = target, service
        self.process: subprocess.Popen[bytes] | None = None

    async def start(self) -> None:
        with (self.state / f"{self.name}.log").open("ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "mec5g", "--log-level", "WARNING", *self.args],
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        await wait_serving(self.target, self.service, timeout=30)

    def signal(self, signum: int) -> None:
        assert self.process is not None
        self.process.send_signal(signum)
        self.process.wait(timeout=30)


@pytest.fixture
def roles(tmp_path: Path) -> Iterator[dict[str, _Role]]:
    enrol_devices(tmp_path / "ttp.db", tmp_path / "ue-enrolment.json", 12)
    enrol_mec(tmp_path / "ttp.db", tmp_path / "mec-enrolment.json", "mec-1", 3)
    ttp, mec, ue = free_targets(3)
    made = {
        "ttp": _Role(tmp_path, "ttp", ["ttp", "serve", "--listen", ttp, "--store",
                     str(tmp_path / "ttp.db"), "--metrics-port", "0"], ttp, TTP_SERVICE),
        "mec": _Role(tmp_path, "mec", ["mec", "serve", "--listen", mec, "--ttp", ttp, "--state",
                     str(tmp_path / "mec.db"), "--import", str(tmp_path / "mec-enrolment.json"),
                     "--metrics-port", "0", "--ttp-timeout", "1"], mec, MEC_SERVICE),
        "ue": _Role(tmp_path, "ue", ["ue", "serve", "--listen", ue, "--mec", mec, "--state",
                    str(tmp_path / "ue.db"), "--import", str(tmp_path / "ue-enrolment.json"),
                    "--metrics-port", "0", "--rpc-timeout", "1", "--load-concurrency", "6"],
                    ue, UE_SERVICE),
    }  # fmt: skip
    yield made
    for role in made.values():
        if role.process is not None and role.process.poll() is None:
            role.process.kill()
            role.process.wait()


async def _succeeded(target: str) -> int:
    async with grpc.aio.insecure_channel(target) as channel:
        status = await ue_control_pb2_grpc.UeControlServiceStub(channel).Status(
            ue_control_pb2.StatusRequest(), timeout=10
        )
        return int(status.attaches_succeeded)


async def test_sigkill_under_load_never_locks_anyone_out(
    tmp_path: Path, roles: dict[str, _Role]
) -> None:
    for name in ("ttp", "mec", "ue"):
        await roles[name].start()
    await asyncio.sleep(1.5)
    for victim in ("mec", "ue", "ttp"):
        roles[victim].signal(signal.SIGKILL)
        await asyncio.sleep(0.3)
        await roles[victim].start()
        await asyncio.sleep(1.5)
    before = await _succeeded(roles["ue"].target)
    await asyncio.sleep(2.0)
    assert await _succeeded(roles["ue"].target) > before, "handshakes go on after the restarts"
    for name in ("ue", "mec", "ttp"):
        roles[name].signal(signal.SIGTERM)
    logs = {path.name: path.read_text()[-1500:] for path in tmp_path.glob("*.log")}
    assert check_agreement(tmp_path) == [], logs
