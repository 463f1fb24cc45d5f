"""The real grpcurl (a separate process) against in-process TTP, MEC and UE servers, plaintext.

Covers DESIGN.md decision 2 (server reflection and ``grpc.health.v1`` on every server, so grpcurl
needs no .proto files) and "What it is" (operators drive UE clients with grpcurl): list, describe,
UeControlService/Attach with JSON output, Health/Check. The servers run on this test's event loop,
so grpcurl is awaited with ``asyncio.create_subprocess_exec`` to keep them serving meanwhile.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from grpc_stack import (
    MEC_SERVICE,
    TTP_SERVICE,
    UE_SERVICE,
    Mec,
    Ttp,
    Ue,
    enrol,
    grpcurl_path,
    start_mec,
    start_ttp,
    start_ue,
)

from mec5g.ue.fleet import RetryPolicy

HEALTH = "grpc.health.v1.Health"
REFLECTION = "grpc.reflection.v1alpha.ServerReflection"


@dataclass
class Stack:
    ttp: Ttp
    mec: Mec
    ue: Ue


@pytest.fixture
async def stack(tmp_path: Path) -> AsyncIterator[Stack]:
    enrolled = enrol(tmp_path, 3, 2)
    async with contextlib.AsyncExitStack() as exits:
        ttp = await start_ttp(exits, enrolled.ttp_db)
        mec = await start_mec(exits, tmp_path / "mec.db", enrolled.mec_file, ttp.target)
        ue = await start_ue(
            exits,
            tmp_path / "ue.db",
            enrolled.ue_file,
            mec.target,
            policy=RetryPolicy(max_attempts=1),
        )
        yield Stack(ttp, mec, ue)


async def grpcurl(*args: str) -> tuple[int, str, str]:
    """Run grpcurl with a bounded wait; return its exit code, stdout and stderr."""
    process = await asyncio.create_subprocess_exec(
        grpcurl_path(),
        "-max-time",
        "20",
        *args,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        out, err = await asyncio.wait_for(process.communicate(), timeout=30)
    except TimeoutError:
        process.kill()
        await process.wait()
        raise
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()


@pytest.mark.parametrize(
    ("role", "service"), [("ue", UE_SERVICE), ("mec", MEC_SERVICE), ("ttp", TTP_SERVICE)]
)
async def test_list_shows_the_service_health_and_reflection(
    stack: Stack, role: str, service: str
) -> None:
    target = getattr(stack, role).target
    code, out, err = await grpcurl("-plaintext", target, "list")
    assert code == 0, err
    listed = out.split()
    assert service in listed
    assert HEALTH in listed
    assert REFLECTION in listed


async def test_describe_ue_control_service(stack: Stack) -> None:
    code, out, err = await grpcurl("-plaintext", stack.ue.target, "describe", UE_SERVICE)
    assert code == 0, err
    assert f"{UE_SERVICE} is a service" in out
    assert "rpc Attach ( .mec5g.v1.AttachRequest ) returns ( .mec5g.v1.AttachResponse );" in out
    assert "rpc Status ( .mec5g.v1.StatusRequest ) returns ( .mec5g.v1.StatusResponse );" in out
    code, out, err = await grpcurl(
        "-plaintext", stack.ue.target, "describe", "mec5g.v1.AttachOutcome"
    )
    assert code == 0, err
    assert "ATTACH_OUTCOME_SUCCESS = 1;" in out


async def test_attach_and_status_through_grpcurl(stack: Stack) -> None:
    code, out, err = await grpcurl(
        "-plaintext", "-d", "{}", stack.ue.target, f"{UE_SERVICE}/Attach"
    )
    assert code == 0, err
    reply = json.loads(out)
    # grpcurl 1.8.6 prints the proto's own field names (sk_fingerprint), not lowerCamelCase.
    assert reply["outcome"] == "ATTACH_OUTCOME_SUCCESS"
    assert len(reply["sk_fingerprint"]) == 16
    assert reply["device"] == "dev-0001"
    assert reply["credential_epoch"] == "1"  # uint64 is a JSON string in proto3 JSON
    assert reply["attempts"] == 1

    code, out, err = await grpcurl(
        "-plaintext", "-d", '{"device": "dev-0003"}', stack.ue.target, f"{UE_SERVICE}/Attach"
    )
    assert code == 0, err
    assert json.loads(out)["device"] == "dev-0003"

    code, out, err = await grpcurl(
        "-plaintext", "-d", '{"device": "nobody"}', stack.ue.target, f"{UE_SERVICE}/Attach"
    )
    assert code != 0
    assert "NotFound" in err
    assert "nobody" in err

    code, out, err = await grpcurl("-plaintext", stack.ue.target, f"{UE_SERVICE}/Status")
    assert code == 0, err
    status = json.loads(out)
    assert status["attaches_succeeded"] == "2"
    assert [device["device"] for device in status["devices"]] == [
        "dev-0001",
        "dev-0002",
        "dev-0003",
    ]
    await stack.mec.pool.drain()
    states = stack.ue.store.load()
    assert status["devices"][0]["last_sk_fingerprint"] == reply["sk_fingerprint"]
    assert status["devices"][0]["credential_epoch"] == str(states["dev-0001"].epoch)
    assert "credential_epoch" not in status["devices"][1], "dev-0002 never attached"


@pytest.mark.parametrize("role", ["ue", "mec", "ttp"])
async def test_health_check_reports_serving(stack: Stack, role: str) -> None:
    target = getattr(stack, role).target
    code, out, err = await grpcurl("-plaintext", target, f"{HEALTH}/Check")
    assert code == 0, err
    assert json.loads(out) == {"status": "SERVING"}
    service = {"ue": UE_SERVICE, "mec": MEC_SERVICE, "ttp": TTP_SERVICE}[role]
    code, out, err = await grpcurl(
        "-plaintext", "-d", json.dumps({"service": service}), target, f"{HEALTH}/Check"
    )
    assert code == 0, err
    assert json.loads(out) == {"status": "SERVING"}


async def test_registration_and_initialisation_through_grpcurl(
    stack: Stack, tmp_path: Path
) -> None:
    """Phases 1 and 2 reachable with grpcurl alone, plus ``mec5g user sign|open`` for the
    signature and the sealed answer, which a shell cannot compute."""
    from mec5g.core import ecqv
    from mec5g.core.profiles import Role
    from mec5g.ttp.registry import Registry

    code, out, err = await grpcurl(
        "-plaintext", stack.ttp.target, "mec5g.v1.RegistrationService/GetAuthority"
    )
    assert code == 0, err
    ca_public = base64.b64decode(json.loads(out)["ca_public_key"])
    enrolment_code = Registry(stack.ttp.store.path).issue_enrolment_code("gina", Role.PATIENT, 60)
    k, point = ecqv.request("gina")
    register = {
        "enrolment_code": enrolment_code,
        "user_id": "gina",
        "role": "USER_ROLE_PATIENT",
        "request_point": base64.b64encode(point).decode(),
        "patient": {"allergies": ["latex"], "blood_group": "B+"},
    }
    code, out, err = await grpcurl(
        "-plaintext", "-d", json.dumps(register), stack.ttp.target,
        "mec5g.v1.RegistrationService/Register",
    )  # fmt: skip
    assert code == 0, err
    answer = json.loads(out)
    issued = ecqv.Issued(
        ecqv.Certificate.parse(base64.b64decode(answer["certificate"])),
        int.from_bytes(base64.b64decode(answer["private_key_contribution"]), "big"),
    )
    pair = ecqv.reconstruct_private(k, issued, ca_public)
    from mec5g.runtime.wallet import Wallet

    wallet = tmp_path / "gina.json"
    Wallet("gina", "patient", pair, issued.certificate.encoded, ca_public).write(wallet)

    async def mec5g(*args: str) -> str:
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "mec5g", *args,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        )  # fmt: skip
        out, err = await asyncio.wait_for(process.communicate(), timeout=60)
        assert process.returncode == 0, err.decode()
        return out.decode()

    body = json.dumps({"devices": [{"device": "ecg"}]})
    request = await mec5g(
        "user", "sign", "--wallet", str(wallet), "--method", "CreateAnalysis", "--body", body
    )
    code, out, err = await grpcurl(
        "-plaintext", "-d", request, stack.ttp.target, "mec5g.v1.MonitoringService/CreateAnalysis"
    )
    assert code == 0, err
    created = json.loads(out)
    provision = await mec5g(
        "user", "open", "--wallet", str(wallet), "--method", "CreateAnalysis",
        "--analysis", created["analysis_id"], "--sealed", created["sealed_credentials"],
    )  # fmt: skip
    code, out, err = await grpcurl(
        "-plaintext", "-d", provision, stack.ue.target, "mec5g.v1.UeProvisioningService/Provision"
    )
    assert code == 0, err
    assert json.loads(out) == {"installed": 1}
    code, out, err = await grpcurl(
        "-plaintext", "-d", '{"device": "gina/ecg"}', stack.ue.target, f"{UE_SERVICE}/Attach"
    )
    assert code == 0, err
    assert json.loads(out)["outcome"] == "ATTACH_OUTCOME_SUCCESS"
    # Replaying the signed request is refused, without saying why.
    code, out, err = await grpcurl(
        "-plaintext", "-d", request, stack.ttp.target, "mec5g.v1.MonitoringService/CreateAnalysis"
    )
    assert code != 0
    assert "Unauthenticated" in err
    assert "authentication failed" in err


async def test_check_in_then_the_analysis_through_grpcurl(stack: Stack) -> None:
    """Phase 4 as an operator drives it: a check-in through the UE, then the MEC's analysis
    listed and fetched by pseudonym (the MEC's AnalysisService, found by reflection)."""
    check_in = {"patient": 1, "consciousness": "CONSCIOUSNESS_CONFUSION"}
    code, out, err = await grpcurl(
        "-plaintext", "-d", json.dumps(check_in), stack.ue.target, f"{UE_SERVICE}/CheckIn"
    )
    assert code == 0, err
    assert json.loads(out) == {"device": "dev-0001", "acknowledged": True}

    analysis_service = "mec5g.v1.AnalysisService"
    code, out, err = await grpcurl("-plaintext", stack.mec.target, "list")
    assert code == 0, err
    assert {analysis_service, "mec5g.v1.MecDataService"} <= set(out.split())
    code, out, err = await grpcurl("-plaintext", stack.mec.target, f"{analysis_service}/ListScores")
    assert code == 0, err
    [summary] = json.loads(out)["analyses"]
    assert summary["news2"]["level"] == "ALERT_LEVEL_URGENT_WARD"
    assert summary["news2"]["points"] == {"consciousness": 3, "supplemental_oxygen": 0}
    code, out, err = await grpcurl(
        "-plaintext",
        "-d",
        json.dumps({"pseudonym": summary["pseudonym"]}),
        stack.mec.target,
        f"{analysis_service}/GetAnalysis",
    )
    assert code == 0, err
    analysis = json.loads(out)
    assert analysis["check_in"]["consciousness"] == "CONSCIOUSNESS_CONFUSION"
    assert "temperature" in analysis["news2"]["missing"]


async def test_user_requests_and_emergencies_are_reachable_with_grpcurl(
    stack: Stack, tmp_path: Path
) -> None:
    """Phases 5 and 6 and the anonymous key agreement are listed by reflection; a results
    request's M1, made by a registered user's app, reaches the MEC with grpcurl (this stack's
    MEC node has no ECQV identity: FAILED_PRECONDITION); the TTP's Vouch names what is
    malformed."""
    from mec5g.core.anonymous_agreement import Purpose
    from mec5g.core.profiles import PatientAttributes, Role
    from mec5g.runtime.grpc_server import channel
    from mec5g.ttp.registry import Registry
    from mec5g.ue import user_app
    from mec5g.v1 import registration_pb2_grpc

    for target, services in (
        (
            stack.ttp.target,
            ["mec5g.v1.TtpAnonymousKeyAgreementService", "mec5g.v1.EmergencyService"],
        ),
        (stack.mec.target, ["mec5g.v1.MecResultsService", "mec5g.v1.MecAlertsService"]),
    ):
        code, out, err = await grpcurl("-plaintext", target, "list")
        assert code == 0, err
        assert set(services) <= set(out.split())
    code_text = Registry(stack.ttp.store.path).issue_enrolment_code("hana", Role.PATIENT, 60)
    async with channel(stack.ttp.target) as ttp:
        wallet = await user_app.register(
            registration_pb2_grpc.RegistrationServiceStub(ttp),
            "hana",
            Role.PATIENT,
            code_text,
            PatientAttributes.checked([], ""),
        )
    _, m1 = user_app.start_request(wallet, Purpose.RESULTS, "a-none", "mec-test")
    request = json.dumps({"m1": base64.b64encode(m1).decode()})
    code, out, err = await grpcurl(
        "-plaintext", "-d", request, stack.mec.target, "mec5g.v1.MecResultsService/GetResults"
    )
    assert code != 0
    assert "FailedPrecondition" in err
    assert "no ECQV identity" in err
    vouch = "mec5g.v1.TtpAnonymousKeyAgreementService/Vouch"
    for body, field in (
        ({"m2": base64.b64encode(m1).decode()}, "purpose"),
        ({"purpose": "ANONYMOUS_PURPOSE_RESULTS", "m2": "AAAA"}, "m2"),
    ):
        code, out, err = await grpcurl(
            "-plaintext", "-d", json.dumps(body), stack.ttp.target, vouch
        )
        assert code != 0
        assert "InvalidArgument" in err
        assert field in err
