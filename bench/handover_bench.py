"""``mec5g bench handover``: N handovers of one patient between two MEC nodes, every party a
real process (TTP, MEC platform, mec-1, mec-2, UE), each as its ``serve`` command starts it.

Each round: the patient's carrier device sends a check-in through the UE's control service (a
record the serving node acknowledges), then ``move_patient`` sends the mobility event to the
platform and waits for the end of the procedure with the UE's measurement: the interruption
(from that last record accepted at the source to the first accepted at the target) and its
key-agreement part (the carrier's key agreement at the target, context transfer included).
The patient goes back and forth between mec-1 and mec-2. After every round the benchmark checks
through each node's ``AnalysisService`` that the source holds nothing and the target holds the
analysis with every record counted so far: the context moved, nothing lost or counted twice.

It prints p50, p99 and the mean of both figures. With ``--stream-interval`` the devices also
stream readings, so that records are in flight and held during each switch.
"""

from __future__ import annotations

import asyncio
import statistics
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import grpc

from mec5g.bench.handshake_bench import free_targets
from mec5g.bench.progress import Progress, wanted
from mec5g.core.credentials import RecordRule
from mec5g.core.news2 import Consciousness
from mec5g.edge_platform.server import SERVICE_NAME as PLATFORM_SERVICE
from mec5g.mec.server import SERVICE_NAME as MEC_SERVICE
from mec5g.mobility import MoveOutcome, move_patient
from mec5g.processes import RoleProcess
from mec5g.testbed import enrol_mec_node, enrol_testbed, mec_files, mec_wallet
from mec5g.ue.server import SERVICE_NAME as UE_SERVICE
from mec5g.v1 import analysis_pb2, analysis_pb2_grpc, ue_control_pb2, ue_control_pb2_grpc

NODES = ("mec-1", "mec-2")


@dataclass(frozen=True)
class HandoverRun:
    """The figures of one run."""

    handovers: int
    completed: int
    context_carried: int
    interruption_ms: list[float]
    key_agreement_ms: list[float]
    readings_held: int
    devices: int
    stream_interval: float

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    def render(self) -> str:
        def row(name: str, values: list[float]) -> str:
            if not values:
                return f"| {name} | - | - | - |"
            cuts = statistics.quantiles(values, n=100) if len(values) > 1 else values * 99
            return f"| {name} | {cuts[49]:.1f} | {cuts[98]:.1f} | {statistics.fmean(values):.1f} |"

        return "\n".join(
            [
                f"{self.handovers} handovers of one patient ({self.devices} devices) between "
                f"mec-1 and mec-2, every party its own process; stream interval "
                f"{self.stream_interval:g} s: {self.completed} completed, context carried "
                f"{self.context_carried}/{self.handovers}, {self.readings_held} readings held "
                "and delivered",
                "",
                "| ms | p50 | p99 | mean |",
                "|---|---|---|---|",
                row("interruption", self.interruption_ms),
                row("key agreement (in it)", self.key_agreement_ms),
            ]
        )


async def _records(target: str) -> list[int]:
    """The record count of every analysis the node at ``target`` holds."""
    async with grpc.aio.insecure_channel(target) as opened:
        listed = await analysis_pb2_grpc.AnalysisServiceStub(opened).ListScores(
            analysis_pb2.ListScoresRequest(), timeout=10
        )
    return [summary.records for summary in listed.analyses]


async def run(
    state_dir: Path,
    *,
    count: int,
    devices: int = 7,
    stream_interval: float = 0.0,
    progress: bool = False,
) -> HandoverRun:
    enrol_testbed(state_dir, devices, 4, RecordRule.COUNTER, per_patient=devices)
    enrol_mec_node(state_dir, 4, RecordRule.COUNTER, NODES[1])
    ttp, platform, mec_1, mec_2, ue = free_targets(5)
    mecs = dict(zip(NODES, (mec_1, mec_2), strict=True))
    quiet = ["--metrics-port", "0"]
    processes = [
        RoleProcess("ttp", ["ttp", "serve", "--listen", ttp, "--store",
                    str(state_dir / "ttp.db"), *quiet], ttp, "mec5g.v1.TtpKeyAgreementService",
                    state_dir),
        RoleProcess("platform", ["platform", "serve", "--listen", platform, *quiet], platform,
                    PLATFORM_SERVICE, state_dir),
        *(
            RoleProcess(node, ["mec", "serve", "--listen", target, "--ttp", ttp, "--state",
                        str(mec_files(state_dir, node)[1]), "--import",
                        str(mec_files(state_dir, node)[0]), "--identity",
                        str(mec_wallet(state_dir, node)), "--platform", platform, *quiet],
                        target, MEC_SERVICE, state_dir)
            for node, target in mecs.items()
        ),
        RoleProcess("ue", ["ue", "serve", "--listen", ue, "--state", str(state_dir / "ue.db"),
                    "--platform", platform, "--mec-host", NODES[0], "--stream-interval",
                    str(stream_interval), "--devices-per-patient", str(devices),
                    "--session-records", "100000", "--session-seconds", "100000", *quiet],
                    ue, UE_SERVICE, state_dir),
    ]  # fmt: skip
    outcomes: list[MoveOutcome] = []
    carried = 0
    try:
        for process in processes:
            await process.start()
        async with grpc.aio.insecure_channel(ue) as control_channel:
            control = ue_control_pb2_grpc.UeControlServiceStub(control_channel)
            ticker = Progress("handovers", count, enabled=progress)
            for round_number in range(count):
                source, target = NODES[round_number % 2], NODES[(round_number + 1) % 2]
                checked_in = await control.CheckIn(
                    ue_control_pb2.CheckInRequest(
                        patient=1,
                        consciousness=int(Consciousness.ALERT),  # type: ignore[arg-type]
                    ),
                    timeout=30,
                )
                before = await _records(mecs[source])
                outcome = await move_patient(platform, 1, target, timeout=60)
                outcomes.append(outcome)
                after, left = await _records(mecs[target]), await _records(mecs[source])
                if (
                    checked_in.acknowledged
                    and outcome.completed
                    and not left
                    and len(after) == 1
                    and after[0] >= max(before, default=0) + 1
                ):
                    carried += 1
                ticker.advance()
            ticker.close()
    finally:
        for process in reversed(processes):
            if process.process is not None and process.process.poll() is None:
                process.process.kill()
                process.process.wait()
    done = [outcome for outcome in outcomes if outcome.completed]
    return HandoverRun(
        handovers=count,
        completed=len(done),
        context_carried=carried,
        interruption_ms=[1e3 * outcome.interruption_seconds for outcome in done],
        key_agreement_ms=[1e3 * outcome.key_agreement_seconds for outcome in done],
        readings_held=sum(outcome.readings_buffered for outcome in done),
        devices=devices,
        stream_interval=stream_interval,
    )


def main(state_dir: Path, count: int, stream_interval: float, as_json: bool) -> int:
    """Run and print; exit status 0 only when every handover completed with its context."""
    import json

    result = asyncio.run(
        run(
            state_dir,
            count=count,
            stream_interval=stream_interval,
            progress=wanted(as_json),
        )
    )
    print(json.dumps(result.as_dict(), indent=1) if as_json else result.render())
    return 0 if result.context_carried == result.completed == count else 1
