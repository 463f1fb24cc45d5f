"""``mec5g bench core``: how many requests per second the TTP's verify-and-answer handles.

Requests are prepared ahead (devices and MEC credentials computing M1 and M2 with real counters)
outside the timed region; the timed region is ``InMemoryRecords.answer`` alone, on one core:
parse-free M2 in, both H1, both counter decryptions, the checks, R3, M3, the analysis handle and
both record updates out.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from mec5g.core import device_role, mec_role
from mec5g.core.credentials import HolderState, RecordRule
from mec5g.core.memory_records import InMemoryRecords
from mec5g.core.messages import M2
from mec5g.core.records import RecordKind
from mec5g.core.ttp_role import Accepted
from mec5g.runtime.grpc_server import tune_collector


@dataclass(frozen=True)
class CoreResult:
    requests: int
    seconds: float
    rule: str

    @property
    def per_second(self) -> float:
        return self.requests / self.seconds

    @property
    def microseconds_each(self) -> float:
        return 1e6 * self.seconds / self.requests


class Workload:
    """Devices and MEC credentials producing valid, strictly newer requests on demand.

    The holders never adopt an answer: a request naming the confirmed credential with a higher
    counter stays valid, so every prepared request is accepted in order. The lists are updated in
    place, so a caller may share them (``bench growth`` does, with its end-to-end client).
    """

    def __init__(self, devices: list[HolderState], mecs: list[HolderState]) -> None:
        self.devices = devices
        self.mecs = mecs
        self.turn = 0

    def requests(self, count: int) -> list[M2]:
        prepared = []
        for _ in range(count):
            device_index = self.turn % len(self.devices)
            mec_index = self.turn % len(self.mecs)
            self.turn += 1
            self.devices[device_index], device_attempt = self.devices[device_index].begin_attempt()
            self.mecs[mec_index], mec_attempt = self.mecs[mec_index].begin_attempt()
            m1 = device_role.start(device_attempt).m1.to_bytes()
            prepared.append(mec_role.forward(mec_attempt, m1).m2)
        return prepared


def run(
    seconds: float,
    *,
    devices: int = 1000,
    mec_credentials: int = 16,
    rule: RecordRule = RecordRule.COUNTER,
    chunk: int = 20_000,
) -> CoreResult:
    """Answer prepared requests for at least ``seconds`` of timed work."""
    records = InMemoryRecords()
    workload = Workload(
        [
            HolderState(records.enrol(RecordKind.DEVICE, "analysis", rule)[1], rule)
            for _ in range(devices)
        ],
        [
            HolderState(records.enrol(RecordKind.MEC, "mec-1", rule)[1], rule)
            for _ in range(mec_credentials)
        ],
    )
    version = int(rule)
    answer = records.answer
    tune_collector()  # as a serving TTP process has it
    timed = 0.0
    answered = 0
    while timed < seconds:
        batch = workload.requests(chunk)
        started = time.perf_counter()
        for m2 in batch:
            result = answer(m2, version)
            if not isinstance(result, Accepted):
                raise AssertionError(f"benchmark request refused: {result.reason}")
        timed += time.perf_counter() - started
        answered += len(batch)
    return CoreResult(answered, timed, rule.label)
