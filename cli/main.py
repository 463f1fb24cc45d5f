"""The ``mec5g`` command: one CLI fronting every role, the local testbed, vectors and benchmarks.

Every ``serve`` flag can also come from an environment variable (shown in ``--help``), which is
how a container is configured.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from mec5g.core.credentials import RecordRule
from mec5g.core.records import RecordKind
from mec5g.runtime.grpc_server import TlsOptions
from mec5g.runtime.rate_limit import PER_DEVICE, PER_MEC, PER_SOURCE, RatePolicy

LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s %(message)s"


def _env(flag: str) -> str:
    return "MEC5G_" + flag.lstrip("-").replace("-", "_").upper()


def _add(
    parser: argparse.ArgumentParser,
    flag: str,
    *,
    default: object,
    help: str,
    type: Callable[[str], object] = str,
) -> None:
    """A flag whose default can come from MEC5G_<FLAG>."""
    env = _env(flag)
    parser.add_argument(
        flag,
        type=type,
        default=type(os.environ[env]) if env in os.environ else default,
        help=f"{help} (env {env}; default: %(default)s)",
    )


def _add_tls(parser: argparse.ArgumentParser, prefix: str, side: str) -> None:
    for part, text in (
        ("cert", "certificate (PEM)"),
        ("key", "private key (PEM)"),
        ("ca", "CA bundle (PEM)"),
    ):
        _add(parser, f"--{prefix}tls-{part}", default=None, type=Path, help=f"{side} TLS {text}")
    if side == "client":
        _add(
            parser,
            f"--{prefix}tls-server-name",
            default=None,
            help="name expected in the server certificate",
        )


def _add_health_listen(parser: argparse.ArgumentParser) -> None:
    _add(
        parser,
        "--health-listen",
        default=None,
        help="also serve grpc.health.v1 alone, in plaintext, on this address (for probes that "
        "cannot speak TLS)",
    )


def _add_compute(parser: argparse.ArgumentParser, cores: int | None) -> None:
    _add(
        parser,
        "--compute-profile",
        default=None,
        type=Path,
        help="emulate the hardware of this compute profile file (bench/profiles/*.json): "
        "computation takes at least the profile's cost of its operations",
    )
    _add(
        parser,
        "--compute-cores",
        default=cores,
        type=int,
        help="computations the emulated hardware runs at once (0: each task its own)",
    )


def _install_compute(args: argparse.Namespace) -> None:
    """A ``serve`` command's compute emulation, for the process's metrics to pick up."""
    path = getattr(args, "compute_profile", None)
    if path is None:
        return
    from mec5g.runtime import compute_emulation
    from mec5g.runtime.compute_profile import ProfileError, load_profile

    try:
        profile = load_profile(path)
        emulation = compute_emulation.ComputeEmulation(profile, args.compute_cores or None)
    except (ProfileError, ValueError) as error:
        raise SystemExit(f"mec5g {args.command} serve: --compute-profile: {error}") from None
    compute_emulation.install(emulation)
    logging.getLogger("mec5g").info(
        "emulating the compute profile %s (%s), %s cores",
        profile.name,
        profile.hardware,
        emulation.cores or "unlimited",
    )


def _add_store(parser: argparse.ArgumentParser) -> None:
    _add(parser, "--store", default=Path("ttp.db"), type=Path, help="SQLite key store")
    _add(
        parser,
        "--store-url",
        default=None,
        help="PostgreSQL store URL instead of --store, shared by several TTP replicas",
    )
    _add(
        parser,
        "--master-key-file",
        default=None,
        type=Path,
        help="32-byte master key (raw or hex) sealing the device and MEC keys at rest",
    )


def _tls(args: argparse.Namespace, prefix: str) -> TlsOptions:
    attribute = prefix.replace("-", "_") + "tls_"
    try:
        return TlsOptions(
            cert=getattr(args, attribute + "cert"),
            key=getattr(args, attribute + "key"),
            ca=getattr(args, attribute + "ca"),
            server_name=getattr(args, attribute + "server_name", None),
        )
    except ValueError as error:
        raise SystemExit(f"mec5g: --{prefix}tls-*: {error}") from None


def _add_scheme(parser: argparse.ArgumentParser) -> None:
    from mec5g.runtime.scheme import Scheme

    _add(
        parser,
        "--scheme",
        default=Scheme.BRAEKEN2021.value,
        type=_scheme_label,
        help="the devices' key agreement: braeken2021 (the paper's) or baseline36 (the public-key "
        "baseline [36]); TTP, MEC and UE must agree",
    )


def _scheme_label(value: str) -> str:
    from mec5g.runtime.scheme import Scheme

    try:
        return Scheme.from_label(value).value
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def _rule(value: str) -> RecordRule:
    try:
        return RecordRule.from_label(value)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="mec5g", description=__doc__)
    parser.add_argument("--log-level", default=os.environ.get("MEC5G_LOG_LEVEL", "INFO"))
    roles = parser.add_subparsers(dest="command", required=True)

    vectors = roles.add_parser("vectors", help="make and verify phase-3 test vectors")
    vectors_cmd = vectors.add_subparsers(dest="action", required=True)
    make = vectors_cmd.add_parser("make", help="write N vectors from fresh random inputs")
    make.add_argument("--count", type=int, required=True)
    make.add_argument("--out", type=Path, help="file to write (standard output without it)")
    verify = vectors_cmd.add_parser("verify", help="recompute every vector of FILE")
    verify.add_argument("file", type=Path)

    ttp = roles.add_parser("ttp", help="the TTP (cloud): key store, enrolment, service")
    ttp_cmd = ttp.add_subparsers(dest="action", required=True)
    serve = ttp_cmd.add_parser("serve", help="run the TTP key-agreement service")
    _add(serve, "--listen", default="[::]:50051", help="address to listen on")
    _add_store(serve)
    _add(serve, "--metrics-port", default=9151, type=int, help="Prometheus port, 0 for none")
    _add(
        serve,
        "--record-rule",
        default=RecordRule.COUNTER,
        type=_rule,
        help="record rule of the device records patients' analyses create",
    )
    _add(
        serve,
        "--rate-limit-mec",
        default=PER_MEC,
        type=RatePolicy.parse,
        help="requests per second per MEC (certificate name or address), RATE[:BURST]; 0 is off",
    )
    _add(
        serve,
        "--rate-limit-device",
        default=PER_DEVICE,
        type=RatePolicy.parse,
        help="requests per second per device identity DIDi, RATE[:BURST]; 0 is off",
    )
    _add_scheme(serve)
    _add_tls(serve, "", "server")
    _add_health_listen(serve)
    _add_compute(serve, 1)
    migrate = ttp_cmd.add_parser("migrate", help="create or upgrade the key store schema")
    _add_store(migrate)
    enrol_devices = ttp_cmd.add_parser("enrol-devices", help="enrol N devices of one analysis")
    _add_store(enrol_devices)
    enrol_devices.add_argument("--count", type=int, required=True)
    enrol_devices.add_argument("--analysis", default="default")
    enrol_devices.add_argument("--first", type=int, default=1, help="number of the first device")
    enrol_devices.add_argument("--record-rule", type=_rule, default=RecordRule.COUNTER)
    enrol_devices.add_argument("--out", type=Path, required=True, help="enrolment file for the UE")
    enrol_devices.add_argument(
        "--identities",
        action="store_true",
        help="also issue each device an ECQV identity for --scheme baseline36, in the same file",
    )
    enrol_identities = ttp_cmd.add_parser(
        "enrol-identities",
        help="issue ECQV identities (--scheme baseline36) for devices a patient's analysis will "
        "create, as an enrolment file for the UE",
    )
    _add_store(enrol_identities)
    enrol_identities.add_argument(
        "--device", action="append", required=True, help="device label, patient/device; repeatable"
    )
    enrol_identities.add_argument("--out", type=Path, required=True, help="file for the UE")
    enrol_mec = ttp_cmd.add_parser("enrol-mec", help="enrol K credentials for one MEC node")
    _add_store(enrol_mec)
    enrol_mec.add_argument("--node", required=True, help="MEC node identity, e.g. mec-1")
    enrol_mec.add_argument("--count", type=int, default=16)
    enrol_mec.add_argument("--record-rule", type=_rule, default=RecordRule.COUNTER)
    enrol_mec.add_argument("--out", type=Path, required=True, help="enrolment file for the MEC")
    enrol_mec.add_argument(
        "--identity-request",
        type=Path,
        help="the node's `mec5g mec identity-request` file: also issue its ECQV certificate",
    )
    enrol_mec.add_argument(
        "--k8s-secret",
        metavar="NAME",
        help="write a Kubernetes Secret manifest named NAME (key enrolment.json) instead",
    )

    code = ttp_cmd.add_parser(
        "enrolment-code",
        help="issue a one-time, expiring code with which one user registers (mec5g user register)",
    )
    _add_store(code)
    code.add_argument("--user", required=True, help="the identity the code registers")
    code.add_argument("--role", choices=["patient", "doctor"], required=True)
    code.add_argument("--ttl", type=float, default=86400.0, help="seconds until it expires")

    certificates = ttp_cmd.add_parser(
        "certificates",
        help="every user's and MEC node's certificate and public key, for mec5g ecqv verify",
    )
    _add_store(certificates)

    reprovision = ttp_cmd.add_parser(
        "reprovision",
        help="new credentials for existing records (holders locked out by a restore or loss)",
    )
    _add_store(reprovision)
    reprovision.add_argument("--kind", choices=["device", "mec"], required=True)
    reprovision.add_argument(
        "--label",
        action="append",
        required=True,
        help="record to re-provision, e.g. dev-0007 or mec-1/cred-003; "
        "repeat for more (one owner at a time)",
    )
    reprovision.add_argument(
        "--out", type=Path, required=True, help="file for the holder's `reprovision` command"
    )

    rotate = ttp_cmd.add_parser(
        "rotate-master-key",
        help="re-seal every device and MEC key under a new master key (stop the TTPs first); "
        "with no --master-key-file, seal a store whose keys are in the clear",
    )
    _add_store(rotate)
    rotate.add_argument(
        "--new-master-key-file", type=Path, required=True, help="the master key from now on"
    )

    set_analysis = ttp_cmd.add_parser(
        "set-analysis",
        help="set an analysis's settings, sealed to the MEC from its next key agreement on",
    )
    _add_store(set_analysis)
    set_analysis.add_argument("--analysis", required=True, help="analysis, e.g. patient-001")
    set_analysis.add_argument(
        "--spo2-scale",
        type=int,
        choices=[1, 2],
        required=True,
        help="NEWS2 SpO2 scale a clinician chose (2: hypercapnic respiratory failure)",
    )

    mec = roles.add_parser("mec", help="the MEC edge app")
    mec_cmd = mec.add_subparsers(dest="action", required=True)
    serve = mec_cmd.add_parser("serve", help="run the MEC key-agreement service")
    _add(serve, "--listen", default="[::]:50052", help="address to listen on")
    _add(
        serve,
        "--ttp",
        default="localhost:50051",
        help="TTP target host:port; several replicas: ipv4:host:port,host:port (round-robin)",
    )
    _add(serve, "--state", default=Path("mec.db"), type=Path, help="SQLite credential state")
    _add(serve, "--import", default=None, type=Path, help="enrolment file to import first")
    _add(serve, "--metrics-port", default=9152, type=int, help="Prometheus port, 0 for none")
    _add(
        serve,
        "--lease-wait",
        default=2.0,
        type=float,
        help="seconds to wait for a free credential before RESOURCE_EXHAUSTED",
    )
    _add(
        serve,
        "--ttp-timeout",
        default=3.0,
        type=float,
        help="seconds before an unanswered TTP call gives UNAVAILABLE",
    )
    _add(
        serve,
        "--rate-limit-source",
        default=PER_SOURCE,
        type=RatePolicy.parse,
        help="key-agreement requests per second per caller address, RATE[:BURST]; 0 is off",
    )
    _add(
        serve,
        "--session-max-records",
        default=1000,
        type=int,
        help="data records a session accepts before it ends",
    )
    _add(
        serve,
        "--session-max-seconds",
        default=3600.0,
        type=float,
        help="seconds a data session lasts at most",
    )
    _add(
        serve,
        "--session-unconfirmed-seconds",
        default=60.0,
        type=float,
        help="seconds a session waits for its first valid record before it is dropped",
    )
    _add(serve, "--replay-window", default=32, type=int, help="anti-replay window, in records")
    _add(
        serve,
        "--stale-after",
        default=900.0,
        type=float,
        help="seconds after which a reading no longer counts in NEWS2",
    )
    _add(
        serve,
        "--retention-seconds",
        default=6 * 3600.0,
        type=float,
        help="seconds of readings an analysis keeps for its trends",
    )
    _add(
        serve,
        "--identity",
        default=None,
        type=Path,
        help="the node's ECQV wallet (`mec5g mec identity-install`): answers user requests",
    )
    _add(
        serve,
        "--emergency-aggregate",
        default=7,
        type=int,
        help="NEWS2 aggregate from which an analysis is an emergency (phase 6)",
    )
    _add(
        serve,
        "--emergency-single",
        default=3,
        type=int,
        help="points in any single NEWS2 parameter from which an analysis is an emergency",
    )
    _add_scheme(serve)
    _add(
        serve,
        "--platform",
        default=None,
        help="MEC platform host:port: register there (MEC 011), take part in handovers; "
        "needs --identity, whose name is the node's MEC host",
    )
    _add(
        serve,
        "--advertise",
        default=None,
        help="host:port at which UEs and other nodes reach this node (default: 127.0.0.1 and "
        "the listening port)",
    )
    _add(
        serve,
        "--transfer-timeout",
        default=3.0,
        type=float,
        help="seconds to fetch a moving patient's context from the node it leaves",
    )
    _add_tls(serve, "", "server")
    _add_tls(serve, "ttp-", "client")
    _add_tls(serve, "platform-", "client")
    _add_tls(serve, "peer-", "client")
    _add_health_listen(serve)
    _add_compute(serve, 1)
    _add_holder_reprovision(mec_cmd, "mec.db", "MEC credentials")
    identity_request = mec_cmd.add_parser(
        "identity-request", help="make the node's ECQV secret k and write R for the operator"
    )
    identity_request.add_argument("--node", required=True)
    identity_request.add_argument("--key", type=Path, required=True, help="file to keep k in")
    identity_request.add_argument("--out", type=Path, required=True, help="request for the TTP")
    identity_install = mec_cmd.add_parser(
        "identity-install", help="reconstruct the node's ECQV key pair from k and its enrolment"
    )
    identity_install.add_argument("--key", type=Path, required=True)
    identity_install.add_argument(
        "--from", dest="source", type=Path, required=True, help="enrolment file or Secret manifest"
    )
    identity_install.add_argument("--wallet", type=Path, required=True, help="wallet to write")

    ue = roles.add_parser("ue", help="the UE emulator holding N devices")
    ue_cmd = ue.add_subparsers(dest="action", required=True)
    serve = ue_cmd.add_parser("serve", help="run the UE control service")
    _add(serve, "--listen", default="[::]:50053", help="address to listen on")
    _add(serve, "--mec", default="localhost:50052", help="MEC target host:port")
    _add(serve, "--state", default=Path("ue.db"), type=Path, help="SQLite device state")
    _add(serve, "--import", default=None, type=Path, help="enrolment file to import first")
    _add(serve, "--metrics-port", default=9153, type=int, help="Prometheus port, 0 for none")
    _add(serve, "--max-attempts", default=4, type=int, help="attempts per attach")
    _add(serve, "--rpc-timeout", default=5.0, type=float, help="seconds per MEC call")
    _add(
        serve,
        "--load-concurrency",
        default=0,
        type=int,
        help="attaches kept running continuously, 0 for on demand only",
    )
    _add(
        serve,
        "--load-pause",
        default=0.0,
        type=float,
        help="seconds each continuous worker pauses between attaches",
    )
    _add(
        serve,
        "--stream-interval",
        default=0.0,
        type=float,
        help="seconds between each device's readings, 0 for none",
    )
    _add(
        serve,
        "--session-records",
        default=100,
        type=int,
        help="records after which a device renews its session by key agreement",
    )
    _add(
        serve,
        "--session-seconds",
        default=300.0,
        type=float,
        help="seconds after which a device renews its session by key agreement",
    )
    _add(
        serve,
        "--devices-per-patient",
        default=7,
        type=int,
        help="devices, in name order, that make up one patient (one analysis)",
    )
    _add(
        serve,
        "--ramp-up-rate",
        default=0.0,
        type=float,
        help="devices started (attached, then streaming) per second, 0 for no pacing",
    )
    _add(
        serve,
        "--ramp-up-seconds",
        default=0.0,
        type=float,
        help="spread the start of each batch of new devices over S seconds, 0 for no pacing",
    )
    _add(
        serve,
        "--max-in-flight",
        default=64,
        type=int,
        help="data-record sends (with their attaches) under way toward the MEC at once",
    )
    _add(serve, "--seed", default=None, type=int, help="seed of the sensor models")
    _add_scheme(serve)
    _add(
        serve,
        "--mec-node",
        default=None,
        help="the MEC node's identity, e.g. mec-1: with --scheme baseline36, M1 names it",
    )
    _add(
        serve,
        "--platform",
        default=None,
        help="MEC platform host:port: discover the MEC there instead of --mec, and follow "
        "patients' mobility events",
    )
    _add(
        serve,
        "--mec-host",
        default="",
        help="with --platform: the MEC host whose MEC the devices start with (default: any)",
    )
    _add(
        serve,
        "--name",
        default="ue-1",
        help="the UE's name at the platform; its patients are the terminals <name>/patient-<n>",
    )
    _add_tls(serve, "", "server")
    _add_tls(serve, "mec-", "client")
    _add_tls(serve, "platform-", "client")
    _add_health_listen(serve)
    _add_compute(serve, 0)
    _add_holder_reprovision(ue_cmd, "ue.db", "devices")

    platform = roles.add_parser(
        "platform", help="the MEC platform (MEC 011 app enablement, MEC 021 app mobility)"
    )
    platform_cmd = platform.add_subparsers(dest="action", required=True)
    serve = platform_cmd.add_parser("serve", help="run the MEC platform of every MEC host")
    _add(serve, "--listen", default="[::]:50054", help="address to listen on")
    _add(serve, "--metrics-port", default=9154, type=int, help="Prometheus port, 0 for none")
    _add_tls(serve, "", "server")
    _add_health_listen(serve)
    move = platform_cmd.add_parser(
        "move", help="move a UE's patient to another MEC host and wait for the handover"
    )
    _add(move, "--platform", default="localhost:50054", help="MEC platform host:port")
    move.add_argument("--ue-name", default="ue-1", help="the UE's --name")
    move.add_argument("--patient", type=int, default=1, help="the patient, as Status numbers it")
    move.add_argument("--to", dest="target", required=True, help="the MEC host, e.g. mec-2")
    move.add_argument("--timeout", type=float, default=30.0, help="seconds to wait")

    from mec5g.testbed import add_up_parser

    add_up_parser(roles)
    from mec5g.scenario.cli import add_scenario_parser

    add_scenario_parser(roles)
    from mec5g.bench.cli import add_bench_parser

    add_bench_parser(roles)
    from mec5g.report import add_report_parser

    add_report_parser(roles)
    from mec5g.attacker.cli import add_attack_parser, add_crash_parser

    add_attack_parser(roles)
    add_crash_parser(roles)
    from mec5g.kube import add_k8s_parser

    add_k8s_parser(roles)
    from mec5g.registration_cli import add_registration_parsers

    add_registration_parsers(roles)
    return parser


def _add_holder_reprovision(actions: Any, state: str, what: str) -> None:
    command = actions.add_parser(
        "reprovision",
        help=f"replace {what} with the credentials of a TTP re-provisioning file (run once, "
        "with the process stopped)",
    )
    _add(command, "--state", default=Path(state), type=Path, help="SQLite holder state")
    command.add_argument(
        "--from",
        dest="source",
        type=Path,
        required=True,
        help="file written by `mec5g ttp reprovision`",
    )


def _holder_reprovision(args: argparse.Namespace, kind: str) -> int:
    from mec5g.runtime.holder_store import EnrolmentFile, HolderStore

    enrolment = EnrolmentFile.read(args.source)
    if enrolment.kind != kind:
        print(f"{args.source} holds {enrolment.kind} credentials, not {kind}", file=sys.stderr)
        return 1
    store = HolderStore(args.state)
    try:
        replaced = store.import_holders(enrolment.holder_states(), replace=True)
    finally:
        store.close()
    print(f"re-provisioned {replaced} {kind} credentials in {args.state}; delete {args.source}")
    return 0


def _vectors(args: argparse.Namespace) -> int:
    from mec5g.core import vectors

    if args.action == "make":
        text = json.dumps(vectors.make(args.count), indent=1) + "\n"
        if args.out is None:
            sys.stdout.write(text)
        else:
            args.out.write_text(text)
        return 0
    try:
        document = json.loads(args.file.read_text())
        mismatches = vectors.verify(document)
    except (OSError, UnicodeDecodeError, json.JSONDecodeError, vectors.VectorFileError) as error:
        print(f"cannot read {args.file}: {error}", file=sys.stderr)
        return 2
    for line in mismatches:
        print(line)
    count = len(document["vectors"])
    if mismatches:
        print(f"{len(mismatches)} mismatches in {count} vectors", file=sys.stderr)
        return 1
    print(f"all {count} vectors match")
    return 0


def _ttp(args: argparse.Namespace) -> int:
    from mec5g.core.errors import SchemeError
    from mec5g.runtime.group_commit import StoreUnavailable
    from mec5g.ttp import keystore, registry
    from mec5g.ttp.at_rest import MasterKeyRefused

    try:
        return _ttp_action(args)
    except (MasterKeyRefused, StoreUnavailable) as error:
        print(f"mec5g ttp: {error}", file=sys.stderr)
        return 1
    except (keystore.EnrolmentRefused, registry.Refused, SchemeError, ValueError) as refusal:
        print(f"enrolment refused: {refusal}", file=sys.stderr)
        return 1


def _shown(store: object) -> str:
    """A store location for messages: a URL without its user information (a password)."""
    text = str(store)
    scheme, separator, rest = text.partition("://")
    return f"{scheme}://{rest.rpartition('@')[2]}" if separator else text


def _ttp_action(args: argparse.Namespace) -> int:
    from mec5g.ttp import enrolment
    from mec5g.ttp.at_rest import MasterKey

    # A PostgreSQL URL (--store-url) wins over the SQLite file (--store, always defaulted).
    store = args.store_url if getattr(args, "store_url", None) else args.store
    key_file = getattr(args, "master_key_file", None)
    master_key = MasterKey.from_file(key_file) if key_file is not None else None
    if args.action == "serve":
        from mec5g.runtime.scheme import Scheme
        from mec5g.ttp.server import TtpConfig, serve

        config = TtpConfig(
            args.listen,
            store,
            args.metrics_port,
            _tls(args, ""),
            rate_per_mec=args.rate_limit_mec,
            rate_per_device=args.rate_limit_device,
            health_listen=args.health_listen,
            device_rule=args.record_rule,
            master_key=master_key,
            scheme=Scheme(args.scheme),
        )
        asyncio.run(serve(config))
    elif args.action == "migrate":
        from mec5g.ttp import postgres_store, schema

        if store is args.store:
            before, now = schema.migrate(args.store), schema.SCHEMA_VERSION
        else:
            before, now = postgres_store.migrate(store), postgres_store.SCHEMA_VERSION
        print(f"key store {_shown(store)} is at schema version {now} (was {before})")
    elif args.action == "enrol-devices":
        issued = enrolment.enrol_devices(
            store,
            args.out,
            args.count,
            analysis=args.analysis,
            rule=args.record_rule,
            first=args.first,
            master_key=master_key,
            identities=args.identities,
        )
        print(
            f"enrolled {len(issued.credentials)} devices of analysis {args.analysis!r}"
            f"{' with ECQV identities' if args.identities else ''}; enrolment file {args.out}"
        )
    elif args.action == "enrol-identities":
        identities = enrolment.enrol_identities(store, args.out, args.device, master_key=master_key)
        print(
            f"issued {len(identities.identities)} device ECQV identities; enrolment file "
            f"{args.out} (mec5g ue serve --import)"
        )
    elif args.action == "enrolment-code":
        from mec5g.core.profiles import Role
        from mec5g.ttp.registry import Registry

        with Registry(store, master_key=master_key) as registry:
            code = registry.issue_enrolment_code(args.user, Role[args.role.upper()], args.ttl)
        print(code)
    elif args.action == "certificates":
        from mec5g.ttp.registry import Registry

        with Registry(store, master_key=master_key) as registry:
            print(json.dumps(registry.certificates(), indent=1))
    elif args.action == "reprovision":
        issued = enrolment.reprovision(
            store, args.out, RecordKind(args.kind), args.label, master_key=master_key
        )
        print(
            f"re-provisioned {len(issued.credentials)} {args.kind} records; give {args.out} to "
            f"the holder: mec5g {'ue' if args.kind == 'device' else 'mec'} reprovision "
            f"--from {args.out}"
        )
    elif args.action == "set-analysis":
        from mec5g.core.handle import AnalysisSettings
        from mec5g.core.news2 import SpO2Scale
        from mec5g.ttp.stores import open_key_store

        opened = open_key_store(store, master_key=master_key)
        try:
            opened.set_analysis_settings(
                args.analysis, AnalysisSettings(SpO2Scale(args.spo2_scale))
            )
        finally:
            opened.close()
        print(f"analysis {args.analysis!r}: SpO2 scale {args.spo2_scale} from the next session")
    elif args.action == "rotate-master-key":
        from mec5g.ttp.stores import rotate_master_key

        new_key = MasterKey.from_file(args.new_master_key_file)
        count = rotate_master_key(store, master_key, new_key)
        print(f"{count} records re-sealed under master key {new_key.key_id.hex()}")
    elif args.action == "enrol-mec":
        from mec5g.mec.identity import read_request

        issued = enrolment.enrol_mec(
            store,
            args.out,
            args.node,
            args.count,
            rule=args.record_rule,
            identity_request=(
                read_request(args.identity_request, args.node) if args.identity_request else None
            ),
            secret_name=args.k8s_secret,
            master_key=master_key,
        )
        print(
            f"enrolled {len(issued.credentials)} credentials for MEC node {args.node!r}; "
            f"enrolment file {args.out}"
        )
    return 0


def _mec_identity(args: argparse.Namespace) -> int:
    from mec5g.mec import identity

    try:
        if args.action == "identity-request":
            identity.write_request(args.node, args.key, args.out)
            print(f"k kept in {args.key}; give {args.out} to the TTP operator")
            return 0
        document = json.loads(args.source.read_text())
        if document.get("kind") == "Secret":
            document = json.loads(document["stringData"]["enrolment.json"])
        wallet = identity.install(args.key, document, args.wallet)
    except (OSError, ValueError, KeyError) as error:
        print(f"mec5g: {error}", file=sys.stderr)
        return 1
    print(f"MEC node {wallet.identity}: ECQV key {wallet.pair.public.hex()} in {args.wallet}")
    return 0


def _mec(args: argparse.Namespace) -> int:
    if args.action == "reprovision":
        return _holder_reprovision(args, "mec")
    if args.action.startswith("identity-"):
        return _mec_identity(args)
    from mec5g.core.emergency import EmergencyThreshold
    from mec5g.mec.analysis import AnalysisLimits
    from mec5g.mec.server import MecConfig, serve
    from mec5g.mec.sessions import SessionLimits
    from mec5g.runtime.scheme import Scheme

    asyncio.run(
        serve(
            MecConfig(
                listen=args.listen,
                ttp_target=args.ttp,
                state=args.state,
                import_file=getattr(args, "import"),
                metrics_port=args.metrics_port,
                lease_wait=args.lease_wait,
                ttp_timeout=args.ttp_timeout,
                tls=_tls(args, ""),
                ttp_tls=_tls(args, "ttp-"),
                rate_per_source=args.rate_limit_source,
                health_listen=args.health_listen,
                sessions=SessionLimits(
                    max_records=args.session_max_records,
                    max_age=args.session_max_seconds,
                    unconfirmed_ttl=args.session_unconfirmed_seconds,
                    window=args.replay_window,
                ),
                analysis=AnalysisLimits(
                    stale_after=args.stale_after, retention_seconds=args.retention_seconds
                ),
                identity=args.identity,
                emergency=EmergencyThreshold(args.emergency_aggregate, args.emergency_single),
                scheme=Scheme(args.scheme),
                platform=args.platform,
                platform_tls=_tls(args, "platform-"),
                advertise=args.advertise,
                peer_tls=_tls(args, "peer-"),
                transfer_timeout=args.transfer_timeout,
            )
        )
    )
    return 0


def _ue(args: argparse.Namespace) -> int:
    if args.action == "reprovision":
        return _holder_reprovision(args, "device")
    from mec5g.runtime.scheme import Scheme
    from mec5g.ue.fleet import RetryPolicy
    from mec5g.ue.schedule import RampUp
    from mec5g.ue.server import UeConfig, serve
    from mec5g.ue.streaming import StreamPolicy

    try:
        stream = StreamPolicy(
            interval=args.stream_interval,
            session_records=args.session_records,
            session_seconds=args.session_seconds,
            devices_per_patient=args.devices_per_patient,
            rpc_timeout=args.rpc_timeout,
            ramp_up=RampUp(args.ramp_up_rate, args.ramp_up_seconds),
            max_in_flight=args.max_in_flight,
        )
    except ValueError as error:
        raise SystemExit(f"mec5g ue serve: {error}") from None
    asyncio.run(
        serve(
            UeConfig(
                listen=args.listen,
                mec_target=args.mec,
                state=args.state,
                import_file=getattr(args, "import"),
                metrics_port=args.metrics_port,
                policy=RetryPolicy(max_attempts=args.max_attempts, rpc_timeout=args.rpc_timeout),
                load_concurrency=args.load_concurrency,
                load_pause=args.load_pause,
                tls=_tls(args, ""),
                mec_tls=_tls(args, "mec-"),
                health_listen=args.health_listen,
                seed=args.seed,
                stream=stream,
                scheme=Scheme(args.scheme),
                mec_node=args.mec_node,
                platform=args.platform,
                platform_tls=_tls(args, "platform-"),
                mec_host=args.mec_host,
                name=args.name,
            )
        )
    )
    return 0


def _platform(args: argparse.Namespace) -> int:
    if args.action == "move":
        import grpc

        from mec5g.mobility import move_patient

        try:
            outcome = asyncio.run(
                move_patient(
                    args.platform,
                    args.patient,
                    args.target,
                    ue_name=args.ue_name,
                    timeout=args.timeout,
                )
            )
        except grpc.aio.AioRpcError as error:
            print(f"mec5g: the platform refused: {error.details()}", file=sys.stderr)
            return 1
        except TimeoutError:
            print(f"mec5g: no end of the handover within {args.timeout:g} s", file=sys.stderr)
            return 1
        print(outcome.describe())
        return 0 if outcome.completed else 1
    from mec5g.edge_platform.server import PlatformConfig, serve

    asyncio.run(
        serve(
            PlatformConfig(
                listen=args.listen,
                metrics_port=args.metrics_port,
                tls=_tls(args, ""),
                health_listen=args.health_listen,
            )
        )
    )
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=args.log_level.upper(), format=LOG_FORMAT, stream=sys.stderr)
    if getattr(args, "action", None) == "serve":
        _install_compute(args)
    if args.command == "vectors":
        return _vectors(args)
    if args.command == "ttp":
        return _ttp(args)
    if args.command == "mec":
        return _mec(args)
    if args.command == "ue":
        return _ue(args)
    if args.command == "platform":
        return _platform(args)
    handler: Callable[[argparse.Namespace], int] = args.handler
    return handler(args)


if __name__ == "__main__":
    raise SystemExit(main())
