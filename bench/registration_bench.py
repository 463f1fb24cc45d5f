"""``mec5g bench registration``: the cost of phases 1 and 2 per entity, pure core, one core.

Registration (phase 1): the user makes k and R = kG; the TTP checks the enrolment code, issues
the certificate and r and reconstructs Q to store it; the user reconstructs d and checks Q = dG;
anyone reconstructs Q from the certificate. Initialisation (phase 2): the patient signs its
request; the TTP verifies it and seals the devices' fresh (DIDi, DKi) to the patient's Q; the
patient opens them. Each step runs ``rounds`` times; its operations are counted in the paper's
units (Tm, Ta, Ts, Th; ``paper`` for ECQV, ``ours`` for what the paper leaves unspecified) and
its time is the median over the rounds. The database and gRPC are left out: they are measured by
the gRPC tests' latency metrics, not here.
"""

from __future__ import annotations

import statistics
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from mec5g.core import ecqv, user_crypto
from mec5g.core.credentials import Credential
from mec5g.core.operations import Ledger, Origin, counting, table_notation
from mec5g.core.primitives import random_bytes

T = TypeVar("T")
_ENROLMENT_CODE = "bench-enrolment-code"
_METHOD = "/mec5g.v1.MonitoringService/CreateAnalysis"


@dataclass(frozen=True)
class Step:
    phase: str
    entity: str
    step: str
    paper: str
    ours: str
    microseconds: float


def measure(rounds: int, work: Callable[[], T]) -> tuple[Ledger, float, T]:
    """Run ``work`` ``rounds`` times; the ledger of one run and the median time in µs."""
    if rounds < 1:
        raise ValueError("rounds must be at least 1")
    times = []
    for _ in range(rounds):
        with counting() as ledger:
            result = work()
        times.append(ledger.seconds * 1e6)
    return ledger, statistics.median(times), result


def run(rounds: int = 200, devices: int = 2) -> list[Step]:
    """Every step of phases 1 and 2 with ``devices`` devices per analysis."""
    from mec5g.ttp.registry import hash_code

    steps: list[Step] = []

    def step(phase: str, entity: str, name: str, work: Callable[[], T]) -> T:
        ledger, microseconds, result = measure(rounds, work)
        steps.append(
            Step(
                phase,
                entity,
                name,
                table_notation(ledger, Origin.PAPER),
                table_notation(ledger, Origin.OURS),
                microseconds,
            )
        )
        return result

    ca_private = ecqv.random_scalar()
    ca_public = ecqv.public_key(ca_private)
    k, request_point = step("registration", "user", "k, R = kG", lambda: ecqv.request("alice"))

    def issue() -> ecqv.Issued:
        hash_code(_ENROLMENT_CODE)
        issued = ecqv.issue(ca_private, "alice", request_point)
        ecqv.reconstruct_public(issued.certificate, ca_public)  # Q, stored with the user
        return issued

    issued = step("registration", "TTP", "check code, issue Cert and r, store Q", issue)
    pair = step(
        "registration",
        "user",
        "d = ek + r, check Q = dG",
        lambda: ecqv.reconstruct_private(k, issued, ca_public),
    )
    step(
        "registration",
        "anyone",
        "Q = eP + Q_TTP",
        lambda: ecqv.reconstruct_public(issued.certificate, ca_public),
    )

    body = random_bytes(40 + 24 * devices)
    signature = step(
        "initialisation",
        "patient",
        "sign the request",
        lambda: user_crypto.sign(pair, _METHOD, "alice", body),
    )

    def answer() -> bytes:
        user_crypto.verify(pair.public, _METHOD, "alice", body, signature)
        bundle = b"".join(
            Credential.generate().did + Credential.generate().dk for _ in range(devices)
        )
        return user_crypto.seal(pair.public, bundle, purpose=_METHOD, associated_data=b"ad")

    sealed = step("initialisation", "TTP", f"verify, {devices} credentials, seal to Q", answer)
    step(
        "initialisation",
        "patient",
        "open the credentials",
        lambda: user_crypto.open_sealed(pair, sealed, purpose=_METHOD, associated_data=b"ad"),
    )
    return steps
