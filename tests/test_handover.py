"""Several MEC nodes, a MEC platform, and a patient moving between nodes, over real gRPC on
localhost: a TTP, the platform, two MEC nodes with their ECQV identities and a UE, each as its
``serve`` command starts it.

Covers issue 9 items 4 and 5 through the services: registration, readiness, service
registration and discovery (MEC 011); a mobility event, the UE's handover and the platform's
COMPLETED notification with the measured interruption (MEC 021); every reading analysed exactly
once across the move, the NEWS2 history carried over, the target never holding the source's
pseudonym; forged, replayed and stolen transfer tickets refused; termination of a MEC app.
"""

from __future__ import annotations

import asyncio
import contextlib
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import grpc
import pytest
from grpc_stack import (
    Ue,
    enrol_mec_identity,
    holder_inconsistencies,
    start_mec,
    start_ttp,
    start_ue,
    stored_values,
)

from mec5g.core import ecqv, handover
from mec5g.core.readings import SensorKind
from mec5g.edge_platform import server as platform_server
from mec5g.edge_platform.server import PlatformConfig, RunningPlatform
from mec5g.mec.server import RunningMec
from mec5g.mobility import move_patient
from mec5g.runtime.group_commit import connect
from mec5g.runtime.grpc_server import channel, wait_serving
from mec5g.runtime.holder_store import HolderStore
from mec5g.runtime.mec_platform import bearer
from mec5g.runtime.wallet import Wallet
from mec5g.ttp import schema
from mec5g.ttp.at_rest import Sealer, read_secret
from mec5g.ttp.enrolment import enrol_devices
from mec5g.ttp.server import RunningTtp
from mec5g.ue.handover import terminal_id
from mec5g.ue.streaming import StreamPolicy
from mec5g.v1 import (
    app_mobility_pb2,
    app_mobility_pb2_grpc,
    mec_app_support_pb2,
    mec_app_support_pb2_grpc,
    mec_context_transfer_pb2,
    mec_context_transfer_pb2_grpc,
    mec_service_mgmt_pb2,
    mec_service_mgmt_pb2_grpc,
    ue_control_pb2,
)

DEVICES = 7
ANALYSIS = "patient-a"


@dataclass
class Topology:
    directory: Path
    ttp: RunningTtp
    platform: RunningPlatform
    mecs: dict[str, RunningMec]
    wallets: dict[str, Path]
    ue_db: Path

    def discovery(self, stack: contextlib.AsyncExitStack) -> grpc.aio.Channel:
        opened = channel(self.platform.target)
        stack.push_async_callback(opened.close)
        return opened


def _records(mec: RunningMec) -> int:
    return sum(analysis.records for analysis in mec.analyses)


async def _until(condition: Callable[[], bool], timeout: float = 60.0) -> None:
    """Wait for ``condition``, polling; a loose bound, for a busy machine."""
    async with asyncio.timeout(timeout):
        while not condition():
            await asyncio.sleep(0.05)


async def _start_platform(stack: contextlib.AsyncExitStack) -> RunningPlatform:
    running = await platform_server.start(PlatformConfig("127.0.0.1:0"))
    stack.push_async_callback(running.close, None)
    return running


async def _topology(stack: contextlib.AsyncExitStack, directory: Path) -> Topology:
    """The TTP, the platform and nodes mec-1 and mec-2 on it; one patient's seven devices
    enrolled in one analysis and imported into the UE's store (the UE is not started)."""
    ttp_db = directory / "ttp.db"
    enrolment = enrol_devices(ttp_db, directory / "devices.json", DEVICES, analysis=ANALYSIS)
    ue_db = directory / "ue.db"
    holders = HolderStore(ue_db)
    holders.import_holders(enrolment.holder_states())
    holders.close()
    wallets = {node: enrol_mec_identity(directory, ttp_db, node, 4) for node in ("mec-1", "mec-2")}
    ttp = await start_ttp(stack, ttp_db)
    platform = await _start_platform(stack)
    mecs = {
        node: await start_mec(
            stack,
            directory / f"{node}.db",
            directory / f"{node}.json",
            ttp.target,
            identity=wallets[node],
            platform=platform.target,
        )
        for node in wallets
    }
    return Topology(directory, ttp, platform, mecs, wallets, ue_db)


async def _ue(stack: contextlib.AsyncExitStack, bed: Topology, interval: float = 0.0) -> Ue:
    return await start_ue(
        stack,
        bed.ue_db,
        None,
        "",
        stream=StreamPolicy(interval=interval, devices_per_patient=DEVICES, session_records=10_000),
        platform=bed.platform.target,
        mec_host="mec-1",
    )


async def test_nodes_register_their_services_and_the_ue_discovers_its_mec(tmp_path: Path) -> None:
    async with contextlib.AsyncExitStack() as stack:
        bed = await _topology(stack, tmp_path)
        services = mec_service_mgmt_pb2_grpc.MecServiceMgmtServiceStub(bed.discovery(stack))
        listed = await services.ListServices(mec_service_mgmt_pb2.ListServicesRequest())
        by_host: dict[str, set[str]] = {}
        for info in listed.service_info:
            assert info.state == mec_service_mgmt_pb2.MEC_SERVICE_STATE_ACTIVE
            assert info.transport_info.type == mec_service_mgmt_pb2.MEC_TRANSPORT_TYPE_RPC
            assert info.serializer == mec_service_mgmt_pb2.MEC_SERIALIZER_TYPE_PROTOBUF3
            port = info.transport_info.endpoint[0].port
            assert port == bed.mecs[info.mec_host].port
            by_host.setdefault(info.mec_host, set()).add(info.ser_name)
        expected = {
            "mec5g.v1.MecKeyAgreementService",
            "mec5g.v1.MecDataService",
            "mec5g.v1.AnalysisService",
            "mec5g.v1.MecResultsService",
            "mec5g.v1.MecAlertsService",
            "mec5g.v1.MecContextTransferService",
        }
        assert by_host == {"mec-1": expected, "mec-2": expected}

        local = await services.ListServices(
            mec_service_mgmt_pb2.ListServicesRequest(
                mec_host="mec-2", ser_category_id="key-agreement"
            )
        )
        assert [(info.mec_host, info.is_local) for info in local.service_info] == [("mec-2", True)]

        adjacent = await app_mobility_pb2_grpc.AppMobilityServiceStub(
            bed.discovery(stack)
        ).ListAdjacentAppInstances(
            app_mobility_pb2.ListAdjacentAppInstancesRequest(
                app_instance_id=bed.mecs["mec-1"].platform.instance_id  # type: ignore[union-attr]
            )
        )
        assert [info.mec_host for info in adjacent.adjacent_app_instance_info] == ["mec-2"]

        ue = await _ue(stack, bed)
        assert ue.fleet.links.default is not None
        assert ue.fleet.links.default.mec_host == "mec-1"
        assert ue.fleet.links.default.target.endswith(f":{bed.mecs['mec-1'].port}")
        for name in ue.fleet.names:
            assert await ue.running.streamer.read_and_send(name), name
        assert len(bed.mecs["mec-1"].analyses) == 1
        assert len(bed.mecs["mec-2"].analyses) == 0


async def test_a_patient_moves_and_every_reading_is_analysed_exactly_once(
    tmp_path: Path,
) -> None:
    async with contextlib.AsyncExitStack() as stack:
        bed = await _topology(stack, tmp_path)
        source, target = bed.mecs["mec-1"], bed.mecs["mec-2"]
        ue = await _ue(stack, bed, interval=0.05)
        streamer = ue.running.streamer
        await _until(lambda: _records(source) >= 40)
        (before,) = list(source.analyses)
        source_pseudonym = before.pseudonym
        history_before = len(before.history)
        assert history_before >= 1

        outcome = await move_patient(bed.platform.target, 1, "mec-2", timeout=30)

        assert outcome.completed, outcome
        assert (outcome.source, outcome.target, outcome.devices) == ("mec-1", "mec-2", DEVICES)
        assert 0 < outcome.key_agreement_seconds <= outcome.interruption_seconds < 30
        await _until(lambda: _records(target) >= 40 + 40)
        ue.running.stop_load.set()
        await ue.running.load

        # Exactly once: every reading taken was acknowledged, by the source before the cut or
        # by the target after it, and the target's analysis holds each of them once.
        assert streamer.failed == 0
        assert len(source.analyses) == 0, "the source forgot the analysis it handed over"
        (after,) = list(target.analyses)
        held_samples = sum(len(samples) for samples in after.series.values())
        assert held_samples == streamer.taken
        assert after.records == streamer.acknowledged
        assert {kind for kind in after.series} == set(SensorKind)
        # The NEWS2 history moved with it, oldest first, and the analysis goes on.
        assert len(after.history) >= history_before
        times = [point.at for point in after.history]
        assert times == sorted(times)
        assert after.current is not None
        assert after.current.score.complete

        # The target never holds the source's pseudonym, nor the source the target's.
        assert after.pseudonym != source_pseudonym
        assert source_pseudonym not in set(stored_values([target.analyses, target.sessions]))
        assert after.pseudonym not in set(stored_values([source.analyses, source.sessions]))

        # The devices serve on at the target; their credentials agree with the TTP.
        statuses = await ue.stub.Status(ue_control_pb2.StatusRequest())
        assert {device.serving_mec_host for device in statuses.devices} == {"mec-2"}
        assert {device.terminal for device in statuses.devices} == {terminal_id("ue-1", 1)}
        for mec in bed.mecs.values():
            await mec.pool.drain()
        stores = [ue.store, source.store, target.store]
        assert holder_inconsistencies(bed.ttp.store, *stores) == []

        # Measured and exported: the UE's interruption histogram, each side's outcome.
        def sample(running: object, name: str, labels: dict[str, str]) -> float:
            registry = running.metrics.registry  # type: ignore[attr-defined]
            return float(registry.get_sample_value(name, labels) or 0.0)

        interruption = {"role": "ue", "part": "total"}
        assert sample(ue.running, "mec5g_handover_interruption_seconds_count", interruption) == 1
        for running, role, outcome in (
            (source, "mec", "accepted"),  # the export
            (target, "mec", "accepted"),  # the import
            (bed.ttp, "ttp", "accepted"),  # the ticket
            (bed.platform, "platform", "accepted"),  # the procedure
            (ue.running, "ue", "success"),  # the whole handover
        ):
            labels = {"role": role, "phase": "handover", "outcome": outcome}
            assert sample(running, "mec5g_phase_results_total", labels) == 1, outcome


async def test_held_records_wait_for_the_new_mec_and_go_there_in_order(tmp_path: Path) -> None:
    """The cut: a held device sends nothing, and its records reach the MEC it moved to."""
    async with contextlib.AsyncExitStack() as stack:
        bed = await _topology(stack, tmp_path)
        ue = await _ue(stack, bed)
        streamer, fleet = ue.running.streamer, ue.fleet
        name = streamer.carrier_of(1)
        assert await streamer.read_and_send(name)
        streamer.hold([name])
        assert not await streamer.read_and_send(name)
        assert not await streamer.read_and_send(name)
        assert _records(bed.mecs["mec-1"]) == 2  # the reading and the check-in before the cut
        services = mec_service_mgmt_pb2_grpc.MecServiceMgmtServiceStub(bed.discovery(stack))
        await fleet.move([name], await fleet.links.discover(services, "mec-2"))
        assert fleet.view(name).session is None, "a session stays with the MEC that agreed it"
        assert await streamer.release([name]) == 2
        assert streamer.failed == 0
        assert _records(bed.mecs["mec-2"]) == 2, "both held readings, at the new MEC"
        assert _records(bed.mecs["mec-1"]) == 2


def _ca(ttp_db: Path) -> ecqv.KeyPair:
    connection = connect(ttp_db)
    try:
        secret = read_secret(connection.execute, "?", Sealer(None), schema.CA_SECRET)
    finally:
        connection.close()
    assert secret is not None
    private = int.from_bytes(secret, "big")
    return ecqv.KeyPair(private, ecqv.public_key(private))


async def test_forged_replayed_and_stolen_tickets_are_refused(tmp_path: Path) -> None:
    async with contextlib.AsyncExitStack() as stack:
        bed = await _topology(stack, tmp_path)
        third = enrol_mec_identity(tmp_path, tmp_path / "ttp.db", "mec-3", 1)
        ue = await _ue(stack, bed)
        for name in ue.fleet.names:
            assert await ue.running.streamer.read_and_send(name)
        (analysis,) = list(bed.mecs["mec-1"].analyses)
        source = Wallet.read(bed.wallets["mec-1"])
        target = Wallet.read(bed.wallets["mec-2"])
        ca = _ca(tmp_path / "ttp.db")
        opened = channel(bed.mecs["mec-1"].target)
        stack.push_async_callback(opened.close)
        stub = mec_context_transfer_pb2_grpc.MecContextTransferServiceStub(opened)

        def request(
            ticket: bytes, signature: bytes, thief: Wallet | None = None
        ) -> mec_context_transfer_pb2.TransferContextRequest:
            asking = thief or target
            key = handover.ephemeral_key()
            return mec_context_transfer_pb2.TransferContextRequest(
                ticket=ticket,
                ticket_signature=signature,
                target_key=key.public,
                target_certificate=asking.certificate,
                target_signature=handover.sign_request(
                    asking.pair, asking.identity, ticket, key.public
                ),
            )

        def issue(
            signer: ecqv.KeyPair = ca, source_node: str = "mec-1", lifetime: float = 60.0
        ) -> tuple[bytes, bytes]:
            return handover.issue_ticket(
                signer,
                source.pair.public,
                analysis.pseudonym,
                source_node,
                "mec-2",
                time.time() + lifetime,
            )

        async def refused(message: mec_context_transfer_pb2.TransferContextRequest) -> None:
            with pytest.raises(grpc.aio.AioRpcError) as caught:
                await stub.TransferContext(message)
            assert caught.value.code() == grpc.StatusCode.UNAUTHENTICATED
            assert caught.value.details() == "authentication failed"

        forger = ecqv.KeyPair(7, ecqv.public_key(7))
        await refused(request(*issue(signer=forger)))  # not the TTP's signature
        await refused(request(*issue(lifetime=-1)))  # expired
        await refused(request(*issue(lifetime=3600)))  # longer-lived than any the TTP issues
        await refused(request(*issue(source_node="mec-2")))  # for another source
        genuine = issue()
        await refused(request(*genuine, thief=Wallet.read(third)))  # not the ticket's target
        assert len(bed.mecs["mec-1"].analyses) == 1, "nothing refused exported anything"

        answer = await stub.TransferContext(request(*genuine))
        assert answer.sealed_context
        assert answer.source_certificate == source.certificate
        assert len(bed.mecs["mec-1"].analyses) == 0
        await refused(request(*genuine))  # replayed

        # A record of the handed-over analysis's sessions is refused at the source now.
        streamer = ue.running.streamer
        assert not await streamer.read_and_send(streamer.carrier_of(1))
        assert streamer.failed == 1


async def test_the_platform_refuses_what_it_must(tmp_path: Path) -> None:
    async with contextlib.AsyncExitStack() as stack:
        platform = await _start_platform(stack)
        opened = channel(platform.target)
        stack.push_async_callback(opened.close)
        support = mec_app_support_pb2_grpc.MecAppSupportServiceStub(opened)
        services = mec_service_mgmt_pb2_grpc.MecServiceMgmtServiceStub(opened)
        mobility = app_mobility_pb2_grpc.AppMobilityServiceStub(opened)
        events = app_mobility_pb2_grpc.MobilityEventServiceStub(opened)

        async def code_of(call: object) -> grpc.StatusCode:
            with pytest.raises(grpc.aio.AioRpcError) as caught:
                await call  # type: ignore[misc]
            return caught.value.code()

        assert (
            await code_of(
                support.RegisterApplication(
                    mec_app_support_pb2.RegisterApplicationRequest(app_name="a", mec_host="x/y")
                )
            )
            == grpc.StatusCode.INVALID_ARGUMENT
        )
        app = await support.RegisterApplication(
            mec_app_support_pb2.RegisterApplicationRequest(app_name="a", mec_host="h1")
        )
        ready = mec_app_support_pb2.ConfirmReadyRequest(app_instance_id=app.app_instance_id)
        assert await code_of(support.ConfirmReady(ready)) == grpc.StatusCode.UNAUTHENTICATED
        wrong = bearer("00" * 32)
        assert (
            await code_of(support.ConfirmReady(ready, metadata=wrong))
            == grpc.StatusCode.UNAUTHENTICATED
        )
        unknown = mec_app_support_pb2.ConfirmReadyRequest(app_instance_id="nope")
        assert (
            await code_of(support.ConfirmReady(unknown, metadata=bearer(app.access_token)))
            == grpc.StatusCode.NOT_FOUND
        )
        await support.ConfirmReady(ready, metadata=bearer(app.access_token))
        info = mec_service_mgmt_pb2.MecServiceInfo(
            ser_name="svc",
            transport_info=mec_service_mgmt_pb2.MecTransportInfo(
                endpoint=[mec_service_mgmt_pb2.MecEndpointAddress(host="127.0.0.1", port=1)]
            ),
        )
        register = mec_service_mgmt_pb2.RegisterAppServiceRequest(
            app_instance_id=app.app_instance_id, service_info=info
        )
        await services.RegisterAppService(register, metadata=bearer(app.access_token))
        assert (
            await code_of(services.RegisterAppService(register, metadata=bearer(app.access_token)))
            == grpc.StatusCode.ALREADY_EXISTS
        )
        # No termination subscription: the instance is not known to be alive, nothing listed.
        listed = await services.ListServices(mec_service_mgmt_pb2.ListServicesRequest())
        assert list(listed.service_info) == []
        terminal = app_mobility_pb2.AmsAssociateId(
            type=app_mobility_pb2.ASSOCIATE_ID_TYPE_TERMINAL_ID, value="ue-1/patient-1"
        )
        assert (
            await code_of(
                events.SendMobilityEvent(
                    app_mobility_pb2.SendMobilityEventRequest(
                        associate_id=terminal, target_mec_host="h1"
                    )
                )
            )
            == grpc.StatusCode.NOT_FOUND
        )
        both = app_mobility_pb2.AmsServiceConsumerId(app_instance_id="x", mep_id="y")
        assert (
            await code_of(
                mobility.RegisterAppMobilityService(
                    app_mobility_pb2.RegisterAppMobilityServiceRequest(
                        registration_info=app_mobility_pb2.AmsRegistrationInfo(
                            service_consumer_id=both
                        )
                    )
                )
            )
            == grpc.StatusCode.INVALID_ARGUMENT
        )


async def test_a_terminated_mec_app_withdraws_and_its_process_ends(tmp_path: Path) -> None:
    """MEC 011 termination: the platform notifies, ``mec5g mec serve`` stops, withdraws its
    services, confirms, and exits 0."""
    ttp_db = tmp_path / "ttp.db"
    wallet = enrol_mec_identity(tmp_path, ttp_db, "mec-9", 2)
    async with contextlib.AsyncExitStack() as stack:
        ttp = await start_ttp(stack, ttp_db)
        platform = await _start_platform(stack)
        log = (tmp_path / "mec.log").open("wb")
        stack.callback(log.close)
        process = subprocess.Popen(
            [sys.executable, "-m", "mec5g", "mec", "serve", "--listen", "127.0.0.1:0",
             "--ttp", ttp.target, "--state", str(tmp_path / "mec-9.db"),
             "--import", str(tmp_path / "mec-9.json"), "--identity", str(wallet),
             "--platform", platform.target, "--metrics-port", "0"],
            stdout=log, stderr=subprocess.STDOUT,
        )  # fmt: skip
        stack.callback(lambda: process.poll() is None and process.kill())
        services = mec_service_mgmt_pb2_grpc.MecServiceMgmtServiceStub(
            _opened(stack, platform.target)
        )

        async def listed() -> list[mec_service_mgmt_pb2.MecServiceInfo]:
            found = await services.ListServices(mec_service_mgmt_pb2.ListServicesRequest())
            return list(found.service_info)

        async with asyncio.timeout(60):
            while len(await listed()) < 6:
                assert process.poll() is None, (tmp_path / "mec.log").read_text()
                await asyncio.sleep(0.1)
        (instance,) = {info.app_instance_id for info in await listed()}
        target = (await listed())[0]
        await wait_serving(
            f"127.0.0.1:{target.transport_info.endpoint[0].port}",
            "mec5g.v1.MecKeyAgreementService",
            10,
        )
        lcm = mec_app_support_pb2_grpc.MecAppLcmServiceStub(_opened(stack, platform.target))
        answer = await lcm.TerminateAppInstance(
            mec_app_support_pb2.TerminateAppInstanceRequest(
                app_instance_id=instance, graceful_termination_timeout=20
            )
        )
        assert answer.notified
        assert await listed() == [], "withdrawn from discovery at once"
        assert await asyncio.to_thread(process.wait, 30) == 0
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await services.ListAppServices(
                mec_service_mgmt_pb2.ListAppServicesRequest(app_instance_id=instance)
            )
        assert caught.value.code() == grpc.StatusCode.NOT_FOUND, "it confirmed its termination"


def _opened(stack: contextlib.AsyncExitStack, target: str) -> grpc.aio.Channel:
    opened = channel(target)
    stack.push_async_callback(opened.close)
    return opened
