"""``mec5g crash``: kill -9 the TTP, the MEC and the UE at random moments under a handshake
storm, restart each on its state, and check that nobody is locked out.

The three roles run as the OS processes their ``serve`` commands start, the UE keeping
``load`` attaches in flight all the time. In a seeded random order, each role is killed with
SIGKILL ``kills`` times, each time after a random delay (so the kill lands anywhere in a
handshake: before a counter write, between M2 and M3, after a commit and before its answer) and
restarted at once. Then everything stops, and the check is the one that matters: every device and
every MEC credential still holds a credential its TTP record holds (SPEC.md, Adopting; an
acknowledged record lost at the TTP would show up here as a holder the TTP no longer knows), and,
with the roles restarted without load, every device completes a key agreement within two
attempts.

Durability settings that make this hold are in docs/architecture.md (Storage): SQLite WAL with
``synchronous=FULL``, every record update committed before the answer leaves, group commit.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import signal
import time
from dataclasses import dataclass
from pathlib import Path

import grpc

from mec5g.processes import ROLES, role_processes
from mec5g.testbed import check_agreement
from mec5g.v1 import ue_control_pb2, ue_control_pb2_grpc


@dataclass(frozen=True)
class CrashReport:
    kills: dict[str, int]
    seconds: float
    attaches_between_kills: int
    lockouts: list[str]
    devices_not_back_in_two: list[str]

    @property
    def consistent(self) -> bool:
        return not self.lockouts and not self.devices_not_back_in_two

    def render(self) -> str:
        verdict = "consistent" if self.consistent else "NOT CONSISTENT"
        not_back = self.devices_not_back_in_two
        return "\n".join(
            [
                f"kills (SIGKILL): {', '.join(f'{r} {n}' for r, n in self.kills.items())} "
                f"in {self.seconds:.0f} s, {self.attaches_between_kills} attaches completed",
                f"holders locked out: {len(self.lockouts)} {self.lockouts or ''}".rstrip(),
                f"devices not back within two attempts: {len(not_back)} {not_back or ''}".rstrip(),
                f"verdict: {verdict}",
            ]
        )


async def _status(target: str) -> ue_control_pb2.StatusResponse:
    async with grpc.aio.insecure_channel(target) as channel:
        stub = ue_control_pb2_grpc.UeControlServiceStub(channel)
        status: ue_control_pb2.StatusResponse = await stub.Status(
            ue_control_pb2.StatusRequest(), timeout=10
        )
        return status


async def _devices_not_back(target: str) -> list[str]:
    """Devices whose attach fails within two attempts (the UE runs with --max-attempts 2)."""
    async with grpc.aio.insecure_channel(target) as channel:
        stub = ue_control_pb2_grpc.UeControlServiceStub(channel)
        status = await stub.Status(ue_control_pb2.StatusRequest(), timeout=10)
        failing = []
        for device in status.devices:
            reply = await stub.Attach(
                ue_control_pb2.AttachRequest(device=device.device), timeout=30
            )
            if reply.outcome != ue_control_pb2.ATTACH_OUTCOME_SUCCESS:
                failing.append(device.device)
        return failing


async def run(
    state_dir: Path,
    *,
    kills: int,
    seed: int,
    devices: int = 12,
    mec_credentials: int = 3,
    load: int = 6,
    max_gap: float = 0.8,
) -> CrashReport:
    """``kills`` SIGKILLs of each role at random moments under load, then the checks."""
    rng = random.Random(seed)
    schedule = [role for role in ROLES for _ in range(kills)]
    rng.shuffle(schedule)
    started = time.monotonic()
    async with role_processes(state_dir, devices, mec_credentials, call_timeout=1.0) as roles:
        load_flags = ["--load-concurrency", str(load)]
        await roles["ttp"].start()
        await roles["mec"].start()
        await roles["ue"].start(load_flags)
        completed = 0
        for victim in schedule:
            await asyncio.sleep(rng.uniform(0.05, max_gap))
            if victim == "ue":
                with contextlib.suppress(grpc.aio.AioRpcError):
                    completed += (await _status(roles["ue"].target)).attaches_succeeded
            roles[victim].stop(signal.SIGKILL)
            await roles[victim].start(load_flags if victim == "ue" else None)
        completed += (await _status(roles["ue"].target)).attaches_succeeded
        seconds = time.monotonic() - started
        for name in ("ue", "mec", "ttp"):
            roles[name].stop()
        lockouts = check_agreement(state_dir)
        await roles["ttp"].start()
        await roles["mec"].start()
        await roles["ue"].start(["--max-attempts", "2"])
        not_back = await _devices_not_back(roles["ue"].target)
        for name in ("ue", "mec", "ttp"):
            roles[name].stop()
    counted = {role: schedule.count(role) for role in ROLES}
    return CrashReport(counted, seconds, completed, lockouts, not_back)
