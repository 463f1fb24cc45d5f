"""Fuzzing every RPC of every service over real gRPC: random bytes, truncated and oversized
requests, another method's message, and structured requests with random field values. Every
call gets an answer within its deadline with a status the method may give for bad input, the
servers keep serving, and no store changes (nothing half-written, nothing lost).

The servers run in their own event loop on a thread, so hypothesis drives them from plain
synchronous clients.
"""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import grpc
import pytest
from grpc_stack import enrol, start_mec, start_ttp, start_ue
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mec5g.runtime.request_guard import MAX_REQUEST_BYTES
from mec5g.v1 import (
    analysis_pb2,
    mec_data_pb2,
    mec_key_agreement_pb2,
    ttp_key_agreement_pb2,
    ue_control_pb2,
)

TTP_VERIFY = "/mec5g.v1.TtpKeyAgreementService/Verify"
MEC_AGREE = "/mec5g.v1.MecKeyAgreementService/Agree"
UE_ATTACH = "/mec5g.v1.UeControlService/Attach"
UE_STATUS = "/mec5g.v1.UeControlService/Status"
UE_CHECK_IN = "/mec5g.v1.UeControlService/CheckIn"
UE_INJECT = "/mec5g.v1.UeControlService/InjectEvent"
MEC_SUBMIT = "/mec5g.v1.MecDataService/Submit"
ANALYSIS_LIST = "/mec5g.v1.AnalysisService/ListScores"
ANALYSIS_GET = "/mec5g.v1.AnalysisService/GetAnalysis"
HEALTH_CHECK = "/grpc.health.v1.Health/Check"
REGISTRATION = "/mec5g.v1.RegistrationService/"
MONITORING = "/mec5g.v1.MonitoringService/"
TTP_USER_METHODS = [
    REGISTRATION + "GetAuthority",
    REGISTRATION + "Register",
    *(
        MONITORING + name
        for name in (
            "CreateAnalysis",
            "AddDevices",
            "RemoveDevices",
            "RevokeDevice",
            "ReprovisionDevice",
            "CloseAnalysis",
            "ListAnalyses",
            "SetAnalysisSettings",
        )
    ),
]
UE_PROVISION = "/mec5g.v1.UeProvisioningService/Provision"
# Phases 1 and 2 refuse what they cannot use with one of these, never INTERNAL or UNKNOWN.
USER_REFUSALS = {
    grpc.StatusCode.INVALID_ARGUMENT,
    grpc.StatusCode.UNAUTHENTICATED,
    grpc.StatusCode.PERMISSION_DENIED,
    grpc.StatusCode.NOT_FOUND,
    grpc.StatusCode.FAILED_PRECONDITION,
}

BAD_INPUT = {grpc.StatusCode.INVALID_ARGUMENT, grpc.StatusCode.UNAUTHENTICATED}
# What each method may answer to input it cannot use (OK where any bytes are a valid request).
ALLOWED = {
    TTP_VERIFY: BAD_INPUT,
    MEC_AGREE: BAD_INPUT,
    UE_ATTACH: {grpc.StatusCode.INVALID_ARGUMENT, grpc.StatusCode.NOT_FOUND},
    UE_STATUS: {grpc.StatusCode.OK, grpc.StatusCode.INVALID_ARGUMENT},
    UE_CHECK_IN: {grpc.StatusCode.INVALID_ARGUMENT, grpc.StatusCode.NOT_FOUND},
    # A well-formed event for the UE's one patient starts it: OK, and nothing stored changes.
    UE_INJECT: {grpc.StatusCode.OK, grpc.StatusCode.INVALID_ARGUMENT, grpc.StatusCode.NOT_FOUND},
    MEC_SUBMIT: BAD_INPUT,
    ANALYSIS_LIST: {grpc.StatusCode.OK, grpc.StatusCode.INVALID_ARGUMENT},
    ANALYSIS_GET: {grpc.StatusCode.INVALID_ARGUMENT, grpc.StatusCode.NOT_FOUND},
    HEALTH_CHECK: {
        grpc.StatusCode.OK,
        grpc.StatusCode.NOT_FOUND,
        grpc.StatusCode.INVALID_ARGUMENT,
    },
    # Any message asks for the CA's public key: answered, nothing stored.
    REGISTRATION + "GetAuthority": {grpc.StatusCode.OK, grpc.StatusCode.INVALID_ARGUMENT},
    **dict.fromkeys(TTP_USER_METHODS[1:], USER_REFUSALS),
    UE_PROVISION: USER_REFUSALS,
}
STORES = ("ttp.db", "mec.db", "ue.db")


class ServingStack:
    """TTP, MEC and UE serving from an event loop on a background thread."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.targets: dict[str, str] = {}
        self._loop = asyncio.new_event_loop()
        self._stop = asyncio.Event()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._loop.run_until_complete, args=(self._serve(),))

    async def _serve(self) -> None:
        enrolled = enrol(self.directory, devices=3, mec_credentials=2)
        async with contextlib.AsyncExitStack() as stack:
            ttp = await start_ttp(stack, enrolled.ttp_db)
            mec = await start_mec(stack, self.directory / "mec.db", enrolled.mec_file, ttp.target)
            ue = await start_ue(stack, self.directory / "ue.db", enrolled.ue_file, mec.target)
            self.targets = {
                TTP_VERIFY: ttp.target,
                MEC_AGREE: mec.target,
                UE_ATTACH: ue.target,
                UE_STATUS: ue.target,
                UE_CHECK_IN: ue.target,
                UE_INJECT: ue.target,
                MEC_SUBMIT: mec.target,
                ANALYSIS_LIST: mec.target,
                ANALYSIS_GET: mec.target,
                HEALTH_CHECK: mec.target,
                **dict.fromkeys(TTP_USER_METHODS, ttp.target),
                UE_PROVISION: ue.target,
            }
            self._ready.set()
            await self._stop.wait()

    def __enter__(self) -> ServingStack:
        self._thread.start()
        if not self._ready.wait(30):
            raise RuntimeError("testbed did not start")
        return self

    def __exit__(self, *exc: object) -> None:
        self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(30)

    def stores(self) -> dict[str, list[tuple[Any, ...]]]:
        """Every row of every table of the three stores, in a comparable form."""
        snapshot = {}
        for name in STORES:
            connection = sqlite3.connect(self.directory / name)
            try:
                tables = [
                    row[0]
                    for row in connection.execute(
                        "SELECT name FROM sqlite_master WHERE type = 'table'"
                    )
                ]
                for table in tables:
                    rows = connection.execute(f"SELECT * FROM {table}").fetchall()  # noqa: S608
                    snapshot[f"{name}:{table}"] = sorted(rows, key=repr)
            finally:
                connection.close()
        return snapshot


@pytest.fixture(scope="module")
def testbed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServingStack]:
    with ServingStack(tmp_path_factory.mktemp("fuzz")) as running:
        yield running


@pytest.fixture(scope="module")
def channels(testbed: ServingStack) -> Iterator[dict[str, grpc.Channel]]:
    opened = {target: grpc.insecure_channel(target) for target in set(testbed.targets.values())}
    yield opened
    for channel in opened.values():
        channel.close()


def call(
    testbed: ServingStack, channels: dict[str, grpc.Channel], method: str, payload: bytes
) -> grpc.StatusCode:
    """Send raw bytes as ``method``'s request; the status it ends with."""
    stub = channels[testbed.targets[method]].unary_unary(method)
    try:
        stub(payload, timeout=10)
    except grpc.RpcError as error:
        code: grpc.StatusCode = error.code()
        return code
    return grpc.StatusCode.OK


def _valid_ue_request(method: str, payload: bytes) -> bool:
    """Random bytes that happen to be a real Attach request (of a device the UE has, or of the
    next in turn), or a real check-in of its one patient, run a real key agreement: a valid
    request, so it may change the stores."""
    try:
        if method == UE_ATTACH:
            attach = ue_control_pb2.AttachRequest.FromString(payload)
            return attach.device in ("", "dev-0001", "dev-0002", "dev-0003")
        if method == UE_CHECK_IN:
            check_in = ue_control_pb2.CheckInRequest.FromString(payload)
            return check_in.patient == 1 and 1 <= check_in.consciousness <= 5
    except Exception:
        return False
    return False


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(method=st.sampled_from(sorted(ALLOWED)), payload=st.binary(max_size=400))
def test_random_bytes_to_every_method(
    testbed: ServingStack, channels: dict[str, grpc.Channel], method: str, payload: bytes
) -> None:
    if _valid_ue_request(method, payload):
        return
    before = testbed.stores()
    code = call(testbed, channels, method, payload)
    assert code in ALLOWED[method], (method, payload.hex(), code)
    assert testbed.stores() == before


def _structured() -> st.SearchStrategy[tuple[str, bytes]]:
    """Well-formed messages with random versions and fields of any length."""
    version = st.integers(min_value=0, max_value=2**31 - 1)
    field = st.binary(max_size=300)
    return st.one_of(
        st.tuples(
            st.just(MEC_AGREE),
            st.builds(
                lambda v, m: mec_key_agreement_pb2.AgreeRequest(
                    version=v, m1=m
                ).SerializeToString(),
                version,
                field,
            ),
        ),
        st.tuples(
            st.just(TTP_VERIFY),
            st.builds(
                lambda v, m: ttp_key_agreement_pb2.VerifyRequest(
                    version=v, m2=m
                ).SerializeToString(),
                version,
                field,
            ),
        ),
        st.tuples(
            st.just(MEC_SUBMIT),
            st.builds(lambda r: mec_data_pb2.SubmitRequest(record=r).SerializeToString(), field),
        ),
        st.tuples(
            st.just(ANALYSIS_GET),
            st.builds(
                lambda p: analysis_pb2.GetAnalysisRequest(pseudonym=p).SerializeToString(),
                st.text(max_size=80),
            ),
        ),
        st.tuples(
            st.just(UE_INJECT),
            st.builds(
                lambda p, e, o, d: ue_control_pb2.InjectEventRequest(
                    patient=p, event=e, onset_seconds=o, duration_seconds=d
                ).SerializeToString(),
                st.integers(min_value=0, max_value=2**32 - 1),
                st.sampled_from(["sepsis", "fever", "", "plague"]),
                st.floats(),
                st.floats(),
            ),
        ),
        st.tuples(
            st.just(UE_ATTACH),
            st.builds(
                lambda d: ue_control_pb2.AttachRequest(device=d).SerializeToString(),
                st.text(min_size=1, max_size=40).filter(lambda d: not d.startswith("dev-000")),
            ),
        ),
    )


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(request=_structured())
def test_wrong_fields_to_every_method(
    testbed: ServingStack, channels: dict[str, grpc.Channel], request: tuple[str, bytes]
) -> None:
    method, payload = request
    before = testbed.stores()
    code = call(testbed, channels, method, payload)
    assert code in ALLOWED[method], (method, payload.hex(), code)
    assert testbed.stores() == before


@pytest.mark.parametrize("method", [TTP_VERIFY, MEC_AGREE, UE_ATTACH, MEC_SUBMIT, ANALYSIS_GET])
def test_truncated_oversized_and_foreign_requests(
    testbed: ServingStack, channels: dict[str, grpc.Channel], method: str
) -> None:
    before = testbed.stores()
    oversized = b"\x12" + b"\xff\xff\x07" + bytes(MAX_REQUEST_BYTES + 16)  # field 2, ~128 KiB
    assert call(testbed, channels, method, oversized) == grpc.StatusCode.RESOURCE_EXHAUSTED
    truncated = ttp_key_agreement_pb2.VerifyRequest(version=1, m2=bytes(128)).SerializeToString()[
        :-5
    ]
    assert call(testbed, channels, method, truncated) == grpc.StatusCode.INVALID_ARGUMENT
    foreign = ue_control_pb2.StatusResponse(mec_target="x", attaches_failed=3).SerializeToString()
    assert call(testbed, channels, method, foreign) in ALLOWED[method] - {grpc.StatusCode.OK}
    assert testbed.stores() == before
    # Still serving: a health check answers.
    assert call(testbed, channels, HEALTH_CHECK, b"") == grpc.StatusCode.OK
