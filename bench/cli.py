"""``mec5g bench``: benchmark commands. Each prints its figures, or JSON with ``--json``."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
from pathlib import Path
from typing import Any

from mec5g.core.credentials import RecordRule


def add_bench_parser(roles: Any) -> None:
    bench = roles.add_parser("bench", help="benchmarks (not run in CI)")
    kinds = bench.add_subparsers(dest="bench", required=True)

    handshake = kinds.add_parser(
        "handshake", help="handshakes over real gRPC vs a bare echo chain, in one run"
    )
    handshake.add_argument("--devices", type=int, default=1000)
    handshake.add_argument("--concurrency", type=int, default=64)
    handshake.add_argument("--duration", type=float, default=10.0, help="seconds per topology")
    handshake.add_argument("--mec-credentials", type=int, default=16)
    handshake.add_argument("--json", action="store_true")
    handshake.set_defaults(handler=_handshake)

    core = kinds.add_parser("core", help="the TTP's verify-and-answer, pure core, one core")
    core.add_argument("--duration", type=float, default=5.0, help="seconds of timed work")
    core.add_argument("--record-rule", type=RecordRule.from_label, default=RecordRule.COUNTER)
    core.add_argument("--json", action="store_true")
    core.set_defaults(handler=_core)

    tls = kinds.add_parser(
        "tls", help="a mutually authenticated TLS 1.3 handshake (the alternative) vs the scheme"
    )
    tls.add_argument("--handshakes", type=int, default=200)
    tls.add_argument("--json", action="store_true")
    tls.set_defaults(handler=_tls)

    soak = kinds.add_parser(
        "soak", help="hold a fraction of measured capacity; report errors and memory growth"
    )
    soak.add_argument("--duration", type=float, default=600.0, help="seconds at the held rate")
    soak.add_argument("--fraction", type=float, default=0.8, help="of the measured capacity")
    soak.add_argument("--devices", type=int, default=200)
    soak.add_argument("--probe", type=float, default=15.0, help="seconds measuring capacity")
    soak.add_argument("--state-dir", type=Path, help="keep the stores and logs here")
    soak.add_argument("--json", action="store_true")
    soak.set_defaults(handler=_soak)
    registration = kinds.add_parser(
        "registration", help="phases 1 and 2 per entity: operation counts and microseconds"
    )
    registration.add_argument("--rounds", type=int, default=200, help="runs of each step")
    registration.add_argument("--devices", type=int, default=2, help="devices per analysis")
    registration.add_argument("--json", action="store_true")
    registration.set_defaults(handler=_registration)

    echo_ttp = kinds.add_parser("echo-ttp", help=argparse.SUPPRESS)
    echo_ttp.add_argument("--listen", required=True)
    echo_ttp.set_defaults(handler=_echo_ttp)
    echo_mec = kinds.add_parser("echo-mec", help=argparse.SUPPRESS)
    echo_mec.add_argument("--listen", required=True)
    echo_mec.add_argument("--ttp", required=True)
    echo_mec.set_defaults(handler=_echo_mec)


def _soak(args: argparse.Namespace) -> int:
    from mec5g.bench import soak

    with tempfile.TemporaryDirectory(prefix="mec5g-soak-") as scratch:
        state_dir = args.state_dir or Path(scratch)
        state_dir.mkdir(parents=True, exist_ok=True)
        report = asyncio.run(
            soak.run(
                state_dir,
                seconds=args.duration,
                fraction=args.fraction,
                devices=args.devices,
                probe_seconds=args.probe,
                progress=not args.json and sys.stderr.isatty(),
            )
        )
    print(json.dumps(report.as_dict(), indent=1) if args.json else report.render())
    return 0 if report.error_count == 0 else 1


def _handshake(args: argparse.Namespace) -> int:
    from mec5g.bench import handshake_bench

    report = asyncio.run(
        handshake_bench.run(
            args.devices, args.concurrency, args.duration, mec_credentials=args.mec_credentials
        )
    )
    if args.json:
        print(json.dumps(report.as_dict(), indent=1))
        return 0
    print(
        f"devices {report.devices}, concurrency {report.concurrency}, "
        f"{report.duration:g} s per topology, K = {report.mec_credentials} MEC credentials"
    )
    for name, run in (("handshake", report.handshake), ("echo chain", report.echo)):
        print(
            f"  {name:10}  {run.per_second:9.1f}/s  p50 {run.p50_ms:7.3f} ms  "
            f"p99 {run.p99_ms:7.3f} ms  ({run.completed} ok, {run.failed} failed)"
        )
        cpu = "  ".join(f"{role} {ms:.3f}" for role, ms in sorted(run.cpu_ms_per_op.items()))
        print(f"              CPU ms per operation: {cpu}")
    print(f"  ratio handshake/echo = {report.ratio:.3f}")
    return 0


def _core(args: argparse.Namespace) -> int:
    from mec5g.bench import core_bench

    result = core_bench.run(args.duration, rule=args.record_rule)
    if args.json:
        print(
            json.dumps(
                {
                    "rule": result.rule,
                    "requests": result.requests,
                    "seconds": result.seconds,
                    "per_second": result.per_second,
                    "microseconds_each": result.microseconds_each,
                },
                indent=1,
            )
        )
        return 0
    print(
        f"TTP verify-and-answer ({result.rule} rule, in-memory records, one core): "
        f"{result.per_second:,.0f}/s ({result.microseconds_each:.1f} µs each, "
        f"{result.requests} requests)"
    )
    return 0


def _tls(args: argparse.Namespace) -> int:
    from dataclasses import asdict

    from mec5g.bench import tls_comparator

    result = tls_comparator.run(args.handshakes)
    if args.json:
        print(json.dumps({**asdict(result), "tls_bytes": result.tls_bytes}, indent=1))
        return 0
    print(
        f"device <-> MEC, {result.handshakes} handshakes, per handshake:\n"
        f"  TLS 1.3 mutual auth (ECDHE P-256, ECDSA P-256): {result.tls_bytes:.0f} bytes "
        f"({result.tls_client_to_server_bytes:.0f} up, {result.tls_server_to_client_bytes:.0f} "
        f"down); CPU device {result.tls_client_cpu_us:.0f} us, "
        f"MEC {result.tls_server_cpu_us:.0f} us\n"
        f"  mec5g scheme (M1 + M4, the paper's bytes): {result.scheme_device_mec_bytes} bytes; "
        f"CPU device {result.scheme_device_cpu_us:.0f} us, MEC {result.scheme_mec_cpu_us:.0f} us "
        f"(core only; the MEC also talks to the TTP)"
    )
    return 0


def _registration(args: argparse.Namespace) -> int:
    from dataclasses import asdict

    from mec5g.bench import registration_bench

    steps = registration_bench.run(args.rounds, args.devices)
    if args.json:
        print(json.dumps([asdict(step) for step in steps], indent=1))
        return 0
    print(
        f"phases 1 and 2, pure core, one core, median of {args.rounds} runs per step; "
        "paper = ECQV (SEC 4), ours = what the paper leaves open"
    )
    print(f"  {'phase':15} {'entity':8} {'step':42} {'paper':16} {'ours':22} {'µs':>8}")
    for step in steps:
        print(
            f"  {step.phase:15} {step.entity:8} {step.step:42} {step.paper:16} {step.ours:22} "
            f"{step.microseconds:8.0f}"
        )
    return 0


def _echo_ttp(args: argparse.Namespace) -> int:
    from mec5g.bench.echo import serve_echo_ttp

    asyncio.run(serve_echo_ttp(args.listen))
    return 0


def _echo_mec(args: argparse.Namespace) -> int:
    from mec5g.bench.echo import serve_echo_mec

    asyncio.run(serve_echo_mec(args.listen, args.ttp))
    return 0
