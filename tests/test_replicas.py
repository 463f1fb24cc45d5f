"""Several TTP replicas on one PostgreSQL store, behind one MEC that balances across them.

Every device runs several handshakes in a row while all devices run at once; the MEC spreads
its M2s round-robin over the replicas, so one device's successive handshakes, and the MEC
credentials shared by all devices, are answered by different replicas. Afterwards every holder
still holds a credential its record holds (no lockout), every handshake succeeded first time, and
every replica answered some of them. Throughput is not measured here (see ``mec5g bench``).
"""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path

import pytest
from grpc_stack import enrol, holder_inconsistencies, start_mec, start_ttp, start_ue

from mec5g.runtime.metrics import KEY_AGREEMENT
from mec5g.ttp.stores import open_key_store
from mec5g.ue.fleet import Outcome, RetryPolicy

DEVICES = 24
HANDSHAKES_PER_DEVICE = 4
MEC_CREDENTIALS = 6


@pytest.mark.slow
@pytest.mark.parametrize("replicas", [2, 3])
async def test_a_storm_through_several_replicas_leaves_no_credential_out_of_sync(
    tmp_path: Path, postgres_url: str, replicas: int
) -> None:
    enrolled = enrol(tmp_path, DEVICES, MEC_CREDENTIALS, store=postgres_url)
    async with contextlib.AsyncExitStack() as stack:
        ttps = [await start_ttp(stack, postgres_url) for _ in range(replicas)]
        target = "ipv4:" + ",".join(ttp.target for ttp in ttps)
        mec = await start_mec(
            stack, tmp_path / "mec.db", enrolled.mec_file, target, lease_wait=60.0, ttp_timeout=60.0
        )
        ue = await start_ue(
            stack,
            tmp_path / "ue.db",
            enrolled.ue_file,
            mec.target,
            policy=RetryPolicy(max_attempts=1, rpc_timeout=60.0),
        )

        async def one_device(name: str) -> list[Outcome]:
            return [(await ue.fleet.attach(name)).outcome for _ in range(HANDSHAKES_PER_DEVICE)]

        outcomes = await asyncio.wait_for(
            asyncio.gather(*(one_device(name) for name in ue.fleet.names)), timeout=300
        )
        await mec.pool.drain()

        assert outcomes == [[Outcome.SUCCESS] * HANDSHAKES_PER_DEVICE] * DEVICES
        answered = [
            ttp.metrics.registry.get_sample_value(
                "mec5g_phase_results_total",
                {"role": "ttp", "phase": KEY_AGREEMENT, "outcome": "accepted"},
            )
            or 0.0
            for ttp in ttps
        ]
        assert sum(answered) == DEVICES * HANDSHAKES_PER_DEVICE
        assert all(count > 0 for count in answered), answered
        store = open_key_store(postgres_url)
        try:
            assert holder_inconsistencies(store, ue.store, mec.store) == []
            epochs = {name: state.epoch for name, state in ue.store.load().items()}
            assert epochs == dict.fromkeys(enrolled.devices.credentials, HANDSHAKES_PER_DEVICE)
        finally:
            store.close()
