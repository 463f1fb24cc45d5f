"""The testbed with its links in the open: TTP, MEC and UE on loopback, each the real server its
``serve`` command runs, with an ``AttackedLink`` on the radio link (UE to MEC) and one on the
backhaul (MEC to TTP). Scenarios steer the links and drive attaches one at a time.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

from mec5g.attacker.link import AttackedLink
from mec5g.attacker.transcript import Transcript
from mec5g.core.credentials import RecordRule
from mec5g.mec import server as mec_server
from mec5g.mec.server import MecConfig, RunningMec
from mec5g.runtime.rate_limit import PER_DEVICE, PER_MEC, PER_SOURCE, RatePolicy
from mec5g.testbed import MEC_NODE, check_agreement, enrol_testbed
from mec5g.ttp import server as ttp_server
from mec5g.ttp.server import RunningTtp, TtpConfig
from mec5g.ue import server as ue_server
from mec5g.ue.fleet import Outcome, RetryPolicy
from mec5g.ue.server import RunningUe, UeConfig

# One attempt per attach, so that a scenario counts exactly the attempts it causes.
SINGLE_ATTEMPT = RetryPolicy(max_attempts=1, rpc_timeout=10.0)


@dataclass
class AttackedTestbed:
    """A running testbed whose two links the attacker holds."""

    state_dir: Path
    rule: RecordRule
    ttp: RunningTtp
    mec: RunningMec
    ue: RunningUe
    radio: AttackedLink  # UE to MEC
    backhaul: AttackedLink  # MEC to TTP
    transcript: Transcript

    @property
    def devices(self) -> list[str]:
        return sorted(self.ue.store.load())

    async def attach(self, device: str) -> Outcome:
        """One key-agreement attempt of ``device``, as its UE runs it."""
        return (await self.ue.fleet.attach(device)).outcome

    async def lockouts(self) -> list[str]:
        """Holders whose credential the TTP no longer holds; empty when all agree."""
        if self.mec.pool is not None:
            await self.mec.pool.drain()  # the MEC's successor writes land first
        return check_agreement(self.state_dir)


@contextlib.asynccontextmanager
async def attacked_testbed(
    state_dir: Path,
    *,
    devices: int = 4,
    mec_credentials: int = 2,
    rule: RecordRule = RecordRule.COUNTER,
    transcript: Transcript | None = None,
    ttp_limits: tuple[RatePolicy, RatePolicy] = (PER_MEC, PER_DEVICE),
    mec_limit: RatePolicy = PER_SOURCE,
) -> AsyncIterator[AttackedTestbed]:
    """Enrol and start everything in ``state_dir``; stop it all on exit. The rate limits are
    the servers' defaults unless given (per MEC and per device at the TTP, per source at the
    MEC)."""
    enrol_testbed(state_dir, devices, mec_credentials, rule)
    transcript = transcript or Transcript()
    async with contextlib.AsyncExitStack() as stack:
        ttp = await ttp_server.start(
            TtpConfig(
                "127.0.0.1:0",
                state_dir / "ttp.db",
                rate_per_mec=ttp_limits[0],
                rate_per_device=ttp_limits[1],
            )
        )
        stack.push_async_callback(ttp.close)
        backhaul = AttackedLink("backhaul", f"127.0.0.1:{ttp.port}", transcript)
        await backhaul.start()
        stack.push_async_callback(backhaul.close)
        mec = await mec_server.start(
            MecConfig(
                "127.0.0.1:0",
                backhaul.target,
                state_dir / "mec.db",
                state_dir / "mec-enrolment.json",
                rate_per_source=mec_limit,
            )
        )
        stack.push_async_callback(mec.close)
        radio = AttackedLink("radio", f"127.0.0.1:{mec.port}", transcript)
        await radio.start()
        stack.push_async_callback(radio.close)
        ue = await ue_server.start(
            UeConfig(
                "127.0.0.1:0",
                radio.target,
                state_dir / "ue.db",
                None,  # enrol_testbed imported the devices already
                policy=SINGLE_ATTEMPT,
                seed=0,
            )
        )
        stack.push_async_callback(ue.close)
        yield AttackedTestbed(state_dir, rule, ttp, mec, ue, radio, backhaul, transcript)


__all__ = ["MEC_NODE", "AttackedTestbed", "attacked_testbed"]
