"""Several TTP replicas on one PostgreSQL store, behind one MEC that balances across them.

Every device runs several handshakes in a row while all devices run at once; the MEC spreads
its M2s round-robin over the replicas, so one device's successive handshakes, and the MEC
credentials shared by all devices, are answered by different replicas. Afterwards every holder
still holds a credential its record holds (no lockout), every handshake succeeded first time, and
every replica answered some of them; the keys are sealed at rest throughout. Throughput is not
measured here (see ``mec5g bench``). A TTP whose PostgreSQL crashes answers UNAVAILABLE and
recovers when the server is back.
"""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path
from typing import Any

import grpc
import pytest
from grpc_stack import enrol, holder_inconsistencies, start_mec, start_ttp, start_ue
from postgres_server import PostgresServer

from mec5g.core import device_role, mec_role
from mec5g.core.credentials import HolderState, RecordRule
from mec5g.core.primitives import random_bytes
from mec5g.runtime.grpc_server import channel
from mec5g.runtime.metrics import KEY_AGREEMENT
from mec5g.runtime.status import wire_version
from mec5g.ttp.at_rest import MasterKey
from mec5g.ttp.stores import open_key_store
from mec5g.ue.fleet import Outcome, RetryPolicy
from mec5g.v1 import ttp_key_agreement_pb2, ttp_key_agreement_pb2_grpc

DEVICES = 24
HANDSHAKES_PER_DEVICE = 4
MEC_CREDENTIALS = 6


@pytest.mark.slow
@pytest.mark.parametrize("replicas", [2, 3])
async def test_a_storm_through_several_replicas_leaves_no_credential_out_of_sync(
    tmp_path: Path, postgres_url: str, replicas: int
) -> None:
    master_key = MasterKey(random_bytes(32))
    enrolled = enrol(tmp_path, DEVICES, MEC_CREDENTIALS, store=postgres_url, master_key=master_key)
    async with contextlib.AsyncExitStack() as stack:
        ttps = [
            await start_ttp(stack, postgres_url, master_key=master_key) for _ in range(replicas)
        ]
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
        store = open_key_store(postgres_url, master_key=master_key)
        try:
            assert holder_inconsistencies(store, ue.store, mec.store) == []
            epochs = {name: state.epoch for name, state in ue.store.load().items()}
            assert epochs == dict.fromkeys(enrolled.devices.credentials, HANDSHAKES_PER_DEVICE)
        finally:
            store.close()


@pytest.mark.slow
async def test_a_ttp_answers_unavailable_while_postgresql_is_down_then_recovers(
    tmp_path: Path, postgres: PostgresServer
) -> None:
    """The server crashes under a TTP: its Verify answers UNAVAILABLE (no M3, no record
    changed), and once the server is back the same TTP process answers again."""
    url = postgres.new_database()
    enrolled = enrol(tmp_path, 3, 1, store=url)
    device_states = [
        HolderState(credential, RecordRule.COUNTER)
        for credential in enrolled.devices.credentials.values()
    ]
    mec_state = HolderState(next(iter(enrolled.mec.credentials.values())), RecordRule.COUNTER)
    requests = []
    for device_state in device_states:
        _, device_attempt = device_state.begin_attempt()
        mec_state, mec_attempt = mec_state.begin_attempt()
        m1 = device_role.start(device_attempt).m1.to_bytes()
        requests.append(mec_role.forward(mec_attempt, m1).m2.to_bytes())

    async with contextlib.AsyncExitStack() as stack:
        ttp = await start_ttp(stack, url)
        ttp_channel = channel(ttp.target)
        stack.push_async_callback(ttp_channel.close)
        stub = ttp_key_agreement_pb2_grpc.TtpKeyAgreementServiceStub(ttp_channel)

        def verify(m2: bytes) -> Any:
            request = ttp_key_agreement_pb2.VerifyRequest(
                version=wire_version(int(RecordRule.COUNTER)), m2=m2
            )
            return stub.Verify(request, timeout=30)

        await verify(requests[0])
        postgres.stop()
        try:
            with pytest.raises(grpc.aio.AioRpcError) as raised:
                await verify(requests[1])
            assert raised.value.code() == grpc.StatusCode.UNAVAILABLE
        finally:
            postgres.start()
        await verify(requests[2])
        store = open_key_store(url)
        try:
            records = {stored.label: stored.record for stored in store.records()}
        finally:
            store.close()
        counters = [records[label].last_counter for label in enrolled.devices.credentials]
        assert counters == [1, 0, 1], "the request refused while down changed nothing"
