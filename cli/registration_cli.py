"""``mec5g ecqv``, ``mec5g user`` and ``mec5g analysis``: phases 1, 2, 5 and 6 from the command
line.

``ecqv`` makes and checks certificate files offline. ``user`` and ``analysis`` are the patient
and doctor apps: they talk to the TTP's registration and monitoring services and keep the user's
ECQV key in a wallet file (mode 0600) that never leaves the user's machine.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import grpc

from mec5g.core import ecqv, ecqv_vectors
from mec5g.core.credentials import HolderState
from mec5g.core.errors import SchemeError
from mec5g.core.profiles import AccessPolicy, DoctorAttributes, PatientAttributes, Role


def add_registration_parsers(roles: Any) -> None:
    _add_ecqv(roles)
    _add_user(roles)
    _add_analysis(roles)


def _add_ecqv(roles: Any) -> None:
    ecqv = roles.add_parser("ecqv", help="ECQV implicit certificates: known answers and checks")
    actions = ecqv.add_subparsers(dest="action", required=True)
    make = actions.add_parser("make-vectors", help="write N known-answer certificates")
    make.add_argument("--count", type=int, default=8)
    make.add_argument("--out", type=Path, help="file to write (standard output without it)")
    make.set_defaults(handler=_make_vectors)
    verify = actions.add_parser(
        "verify",
        help="reconstruct every public key of FILE from its certificate; exit 0 if all match",
    )
    verify.add_argument("file", type=Path)
    verify.set_defaults(handler=_verify)


def _make_vectors(args: Any) -> int:
    text = json.dumps(ecqv_vectors.make(args.count), indent=1) + "\n"
    if args.out is None:
        sys.stdout.write(text)
    else:
        args.out.write_text(text)
    return 0


def _verify(args: Any) -> int:
    try:
        document = json.loads(args.file.read_text())
        mismatches = ecqv_vectors.verify(document)
    except (OSError, UnicodeDecodeError, ValueError) as error:
        print(f"cannot read {args.file}: {error}", file=sys.stderr)
        return 2
    for line in mismatches:
        print(line)
    count = len(document["certs"])
    if mismatches:
        print(f"{len(mismatches)} mismatches in {count} certificates", file=sys.stderr)
        return 1
    print(f"all {count} certificates match")
    return 0


def _common(
    parser: argparse.ArgumentParser, *, wallet_must_exist: bool = True, ttp: bool = True
) -> None:
    if ttp:  # results and watches go to the MEC only, which asks the TTP
        parser.add_argument("--ttp", default="localhost:50051", help="TTP target host:port")
    parser.add_argument(
        "--wallet",
        type=Path,
        required=True,
        help="the user's wallet file" + ("" if wallet_must_exist else " to create (mode 0600)"),
    )


def _add_user(roles: Any) -> None:
    user = roles.add_parser(
        "user",
        help="the patient and doctor app: registration (phase 1), results (5), emergencies (6)",
    )
    actions = user.add_subparsers(dest="action", required=True)
    register = actions.add_parser(
        "register", help="register with an operator's enrolment code; writes the wallet"
    )
    _common(register, wallet_must_exist=False)
    register.add_argument("--user", required=True, help="identity, e.g. alice")
    register.add_argument("--role", choices=["patient", "doctor"], required=True)
    register.add_argument("--code", required=True, help="enrolment code from the operator")
    register.add_argument("--allergy", action="append", default=[], help="patient; repeatable")
    register.add_argument("--blood-group", default="", help="patient: A+, A-, ..., O-")
    register.add_argument("--expertise", help="doctor: medical speciality")
    register.add_argument("--hospital", help="doctor: hospital")
    register.add_argument("--ca-public", help="pin the TTP's CA key (hex, SEC1 compressed)")
    register.set_defaults(handler=_guarded(_register))
    sign = actions.add_parser(
        "sign",
        help="print the signed JSON request of a MonitoringService method, for grpcurl -d @",
    )
    sign.add_argument("--wallet", type=Path, required=True)
    sign.add_argument("--method", choices=sorted(_body_types()), required=True)
    sign.add_argument("--body", default="{}", help="the body as JSON, without its header")
    sign.set_defaults(handler=_guarded(_sign))
    open_sealed = actions.add_parser(
        "open",
        help="open sealed_credentials from a grpcurl answer: print a Provision request",
    )
    open_sealed.add_argument("--wallet", type=Path, required=True)
    open_sealed.add_argument(
        "--method", choices=["CreateAnalysis", "AddDevices", "ReprovisionDevice"], required=True
    )
    open_sealed.add_argument("--analysis", required=True)
    open_sealed.add_argument("--sealed", required=True, help="sealed_credentials, base64")
    open_sealed.set_defaults(handler=_guarded(_open))
    results = actions.add_parser(
        "results",
        help="read an analysis's results at a MEC node, the TTP vouching for the request "
        "(phase 5); prints JSON",
    )
    _common(results, ttp=False)
    results.add_argument("--mec", default="localhost:50052", help="MEC target host:port")
    results.add_argument("--node", required=True, help="the MEC node's identity, e.g. mec-1")
    results.add_argument("--analysis", required=True, help="the analysis identifier IDa")
    results.set_defaults(handler=_guarded(_results))
    emergencies = actions.add_parser(
        "emergencies",
        help="watch an analysis at a MEC node for emergencies (phase 6); one JSON line each",
    )
    _common(emergencies, ttp=False)
    emergencies.add_argument("--mec", default="localhost:50052", help="MEC target host:port")
    emergencies.add_argument("--node", required=True, help="the MEC node's identity")
    emergencies.add_argument("--analysis", required=True, help="the analysis identifier IDa")
    emergencies.add_argument(
        "--count", type=int, default=0, help="stop after N alerts (default: until Ctrl-C)"
    )
    emergencies.set_defaults(handler=_guarded(_emergencies))


def _add_analysis(roles: Any) -> None:
    analysis = roles.add_parser(
        "analysis", help="the patient app: analyses and their devices (phase 2)"
    )
    actions = analysis.add_subparsers(dest="action", required=True)

    def devices_command(name: str, text: str, *, issues: bool) -> argparse.ArgumentParser:
        command: argparse.ArgumentParser = actions.add_parser(name, help=text)
        _common(command)
        if name != "create":
            command.add_argument("--analysis", required=True, help="analysis identity IDa")
        command.add_argument(
            "--device", action="append", required=True, help="device name; repeatable"
        )
        if issues:
            command.add_argument("--ue", help="UE control target to provision the devices into")
            command.add_argument(
                "--out", type=Path, help="or an enrolment file for mec5g ue serve --import"
            )
        return command

    create = devices_command("create", "create an analysis and provision its devices", issues=True)
    for flag, text in (
        ("--doctor", "a doctor who may read results, by identity"),
        ("--hospital", "doctors of this hospital may read results"),
        ("--expertise", "doctors of this expertise may read results"),
    ):
        create.add_argument(flag, action="append", default=[], help=text + "; repeatable")
    create.set_defaults(handler=_guarded(_create))
    devices_command("add-devices", "add devices to an analysis", issues=True).set_defaults(
        handler=_add_devices
    )
    devices_command(
        "reprovision", "fresh credentials for devices (the old ones are forgotten)", issues=True
    ).set_defaults(handler=_guarded(_reprovision))
    devices_command("remove-devices", "remove devices", issues=False).set_defaults(
        handler=_guarded(_remove)
    )
    devices_command(
        "revoke", "revoke devices: their next key agreement fails", issues=False
    ).set_defaults(handler=_guarded(_revoke))
    close = actions.add_parser("close", help="close an analysis and forget its credentials")
    _common(close)
    close.add_argument("--analysis", required=True)
    close.set_defaults(handler=_guarded(_close))
    settings = actions.add_parser(
        "set-spo2-scale", help="(doctor) the NEWS2 SpO2 scale the MEC scores an analysis with"
    )
    _common(settings)
    settings.add_argument("--analysis", required=True)
    settings.add_argument("--scale", type=int, choices=(1, 2), required=True)
    settings.set_defaults(handler=_guarded(_set_scale))
    listing = actions.add_parser("list", help="analyses you own or may read")
    _common(listing)
    listing.set_defaults(handler=_guarded(_list))


def _body_types() -> dict[str, Any]:
    from mec5g.ue.user_app import BODY_TYPES

    return BODY_TYPES


def _guarded(handler: Callable[[argparse.Namespace], int]) -> Callable[[argparse.Namespace], int]:
    """A client command that reports bad input, an unusable wallet or a refused call in one
    line and exits 1, never with a traceback."""

    def guarded(args: argparse.Namespace) -> int:
        try:
            return handler(args)
        except grpc.aio.AioRpcError as error:
            print(f"{error.code().name}: {error.details()}", file=sys.stderr)
        except (SchemeError, OSError, ValueError, ecqv.CertificateRejected) as error:
            print(f"mec5g: {error}", file=sys.stderr)
        return 1

    return guarded


def _register(args: argparse.Namespace) -> int:
    from mec5g.runtime.grpc_server import channel
    from mec5g.ue import user_app
    from mec5g.v1 import registration_pb2_grpc

    role = Role[args.role.upper()]
    attributes: PatientAttributes | DoctorAttributes
    if role is Role.PATIENT:
        attributes = PatientAttributes.checked(args.allergy, args.blood_group)
    else:
        attributes = DoctorAttributes.checked(args.expertise or "", args.hospital or "")
    if args.wallet.exists():
        print(f"mec5g: {args.wallet} exists: a wallet is never overwritten", file=sys.stderr)
        return 1

    async def work() -> int:
        async with channel(args.ttp) as ttp:
            wallet = await user_app.register(
                registration_pb2_grpc.RegistrationServiceStub(ttp),
                args.user,
                role,
                args.code,
                attributes,
                bytes.fromhex(args.ca_public) if args.ca_public else None,
            )
        wallet.write(args.wallet)
        print(f"registered {args.user} as {role.label}; public key {wallet.pair.public.hex()}")
        print(f"wallet {args.wallet}; CA key {wallet.ca_public.hex()}")
        return 0

    return asyncio.run(work())


def _sign(args: argparse.Namespace) -> int:
    from google.protobuf import json_format

    from mec5g.ue import user_app

    wallet = _wallet(args.wallet)
    body = json_format.Parse(args.body, _body_types()[args.method]())
    request = user_app.signed_request(wallet, args.method, body)
    print(json_format.MessageToJson(request, preserving_proto_field_name=True))
    return 0


def _results(args: argparse.Namespace) -> int:
    from google.protobuf import json_format

    from mec5g.runtime.grpc_server import channel
    from mec5g.ue import user_app
    from mec5g.v1 import mec_results_pb2_grpc

    wallet = _wallet(args.wallet)

    async def work() -> int:
        async with channel(args.mec) as mec:
            report = await user_app.read_results(
                mec_results_pb2_grpc.MecResultsServiceStub(mec),
                wallet,
                args.analysis,
                args.node,
            )
        print(json_format.MessageToJson(report, preserving_proto_field_name=True))
        return 0

    return asyncio.run(work())


def _emergencies(args: argparse.Namespace) -> int:
    from google.protobuf import json_format

    from mec5g.runtime.grpc_server import channel
    from mec5g.ue import user_app
    from mec5g.v1 import mec_alerts_pb2_grpc

    wallet = _wallet(args.wallet)

    async def work() -> int:
        received = 0
        async with channel(args.mec) as mec:
            alerts = user_app.watch_emergencies(
                mec_alerts_pb2_grpc.MecAlertsServiceStub(mec),
                wallet,
                args.analysis,
                args.node,
            )
            async for alert in alerts:
                document = {
                    name: json_format.MessageToDict(message, preserving_proto_field_name=True)
                    for name, message in (
                        ("emergency", alert.emergency),
                        ("context", alert.context),
                    )
                }
                print(json.dumps(document), flush=True)
                received += 1
                if received == args.count:
                    await alerts.aclose()
                    break
        return 0

    return asyncio.run(work())


def _open(args: argparse.Namespace) -> int:
    from google.protobuf import json_format

    from mec5g.ue import user_app

    wallet = _wallet(args.wallet)
    states = user_app.open_credentials(
        wallet, args.method, args.analysis, base64.b64decode(args.sealed)
    )
    request = user_app.provision_request(states)
    print(json_format.MessageToJson(request, preserving_proto_field_name=True))
    return 0


async def _deliver(
    args: argparse.Namespace, analysis_id: str, issued: dict[str, HolderState]
) -> None:
    """Install opened credentials into the UE, or write them to an enrolment file."""
    from mec5g.runtime.grpc_server import channel
    from mec5g.runtime.holder_store import EnrolmentFile
    from mec5g.ue import user_app
    from mec5g.v1 import ue_provisioning_pb2_grpc

    if args.ue:
        async with channel(args.ue) as ue:
            answer = await user_app.provision(
                ue_provisioning_pb2_grpc.UeProvisioningServiceStub(ue), issued
            )
        print(f"provisioned {answer.installed} new and {answer.replaced} replaced devices")
    else:
        rules = {state.rule for state in issued.values()}
        if len(rules) != 1:
            raise ValueError("credentials of several record rules: provision them with --ue")
        credentials = {name: state.credential for name, state in issued.items()}
        EnrolmentFile("device", rules.pop(), analysis_id, credentials).write(args.out)
        print(f"credentials in {args.out} (mode 0600): mec5g ue serve --import {args.out}")


def _issuing(args: argparse.Namespace) -> None:
    if bool(args.ue) == bool(args.out):
        raise SystemExit("mec5g: give exactly one of --ue (provision) and --out (a file)")
    if args.out is not None and args.out.exists():
        raise SystemExit(f"mec5g: {args.out} exists and may hold keys not imported yet")


def _monitoring(
    args: argparse.Namespace, method: str, body: Any, after: Callable[[Any, Any], Awaitable[int]]
) -> int:
    """Sign ``body``, call ``method`` and hand the answer and the wallet to ``after``."""
    from mec5g.runtime.grpc_server import channel
    from mec5g.ue import user_app
    from mec5g.v1 import monitoring_pb2_grpc

    wallet = _wallet(args.wallet)

    async def work() -> int:
        async with channel(args.ttp) as ttp:
            stub = monitoring_pb2_grpc.MonitoringServiceStub(ttp)
            answer = await user_app.call(stub, wallet, method, body)
        return await after(answer, wallet)

    return asyncio.run(work())


def _issued(
    args: argparse.Namespace, method: str, analysis: str | None = None
) -> Callable[[Any, Any], Awaitable[int]]:
    async def after(answer: Any, wallet: Any) -> int:
        from mec5g.ue import user_app

        analysis_id = analysis or answer.analysis_id
        issued = user_app.open_credentials(wallet, method, analysis_id, answer.sealed_credentials)
        print(f"analysis {analysis_id}: devices {', '.join(sorted(issued))}")
        await _deliver(args, analysis_id, issued)
        return 0

    return after


def _create(args: argparse.Namespace) -> int:
    from mec5g.runtime.user_requests import policy_to_wire
    from mec5g.ue import user_app
    from mec5g.v1 import monitoring_pb2

    _issuing(args)
    access = AccessPolicy.checked(args.doctor, args.hospital, args.expertise)
    body = monitoring_pb2.CreateAnalysisBody(
        devices=user_app.device_specs(args.device), access=policy_to_wire(access)
    )
    return _monitoring(args, "CreateAnalysis", body, _issued(args, "CreateAnalysis"))


def _add_devices(args: argparse.Namespace) -> int:
    from mec5g.ue import user_app
    from mec5g.v1 import monitoring_pb2

    _issuing(args)
    body = monitoring_pb2.AddDevicesBody(
        analysis_id=args.analysis, devices=user_app.device_specs(args.device)
    )
    return _monitoring(args, "AddDevices", body, _issued(args, "AddDevices", args.analysis))


def _devices_body(args: argparse.Namespace) -> Any:
    from mec5g.v1 import monitoring_pb2

    return monitoring_pb2.DevicesBody(analysis_id=args.analysis, devices=args.device)


def _reprovision(args: argparse.Namespace) -> int:
    _issuing(args)
    return _monitoring(
        args,
        "ReprovisionDevice",
        _devices_body(args),
        _issued(args, "ReprovisionDevice", args.analysis),
    )


def _printing(template: str) -> Callable[[Any, Any], Awaitable[int]]:
    async def after(answer: Any, wallet: Any) -> int:
        print(template.format(answer=answer))
        return 0

    return after


def _remove(args: argparse.Namespace) -> int:
    return _monitoring(
        args, "RemoveDevices", _devices_body(args), _printing("removed {answer.removed} devices")
    )


def _revoke(args: argparse.Namespace) -> int:
    return _monitoring(
        args, "RevokeDevice", _devices_body(args), _printing("revoked {answer.revoked} devices")
    )


def _close(args: argparse.Namespace) -> int:
    from mec5g.v1 import monitoring_pb2

    body = monitoring_pb2.AnalysisBody(analysis_id=args.analysis)
    return _monitoring(args, "CloseAnalysis", body, _printing(f"closed {args.analysis}"))


def _set_scale(args: argparse.Namespace) -> int:
    from mec5g.v1 import monitoring_pb2

    body = monitoring_pb2.AnalysisSettingsBody(analysis_id=args.analysis, spo2_scale=args.scale)
    return _monitoring(
        args,
        "SetAnalysisSettings",
        body,
        _printing(f"{args.analysis}: SpO2 scale {{answer.spo2_scale}} from the next key agreement"),
    )


def _list(args: argparse.Namespace) -> int:
    from google.protobuf import json_format

    from mec5g.v1 import monitoring_pb2

    async def after(answer: Any, wallet: Any) -> int:
        print(json_format.MessageToJson(answer, preserving_proto_field_name=True))
        return 0

    return _monitoring(args, "ListAnalyses", monitoring_pb2.ListAnalysesBody(), after)


def _wallet(path: Path) -> Any:
    from mec5g.runtime.wallet import Wallet

    return Wallet.read(path)
