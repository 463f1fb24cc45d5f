"""``mec5g bench``: benchmark commands. Each prints its figures, or JSON with ``--json``.

The evaluation's parts (``computation``, ``messages``, ``concurrency``, ``growth``, ``hardware``,
or ``all`` of them) also write ``<part>.md``, ``<part>.json`` and PNGs into ``--out``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from mec5g.bench.results import PartResult
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
    _live_scheme_option(handshake)
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
    swarm = kinds.add_parser(
        "swarm", help="one UE emulating N devices: memory per device, ramp-up attach rate, errors"
    )
    swarm.add_argument(
        "--devices",
        type=_positive_ints,
        default=[1000, 10_000],
        help="swarm sizes, comma-separated, after a baseline of 0 (default 1000,10000)",
    )
    swarm.add_argument(
        "--ramp-up-rate", type=float, default=100.0, help="devices started per second"
    )
    swarm.add_argument(
        "--stream-interval", type=float, default=30.0, help="seconds between a device's readings"
    )
    swarm.add_argument(
        "--steady", type=float, default=60.0, help="seconds of streaming after the ramp-up"
    )
    swarm.add_argument("--max-in-flight", type=int, default=64, help="the UE's sends at once")
    swarm.add_argument("--state-dir", type=Path, help="keep each size's stores and logs here")
    _output_options(swarm)
    swarm.set_defaults(handler=_swarm)
    store = kinds.add_parser(
        "store",
        help="store answers/s and latency (SQLite; PostgreSQL with 1, 2 and 3 replicas) and "
        "each operation's latency alone",
    )
    store.add_argument("--store-url", help="a PostgreSQL database to use (else SQLite only)")
    store.add_argument("--requests", type=int, default=2000, help="answers per configuration")
    store.add_argument("--in-flight", type=int, default=32, help="requests at once")
    store.add_argument("--rounds", type=int, default=200, help="runs of each operation alone")
    store.add_argument("--json", action="store_true")
    store.set_defaults(handler=_store)
    handover = kinds.add_parser(
        "handover",
        help="N handovers of one patient between two MEC processes: interruption p50/p99",
    )
    handover.add_argument("--count", type=int, default=50, help="handovers")
    handover.add_argument(
        "--stream-interval",
        type=float,
        default=0.0,
        help="seconds between each device's readings during the run (0: none)",
    )
    handover.add_argument("--state-dir", type=Path, help="keep the stores and logs here")
    handover.add_argument("--json", action="store_true")
    handover.set_defaults(handler=_handover)
    replicas = kinds.add_parser(
        "replicas",
        help="key agreements/s through a real MEC with 1, 2 and 3 TTP processes on one "
        "PostgreSQL, and one SQLite TTP",
    )
    replicas.add_argument("--store-url", required=True, help="a PostgreSQL database to use")
    replicas.add_argument("--devices", type=int, default=1000, help="devices per setup")
    replicas.add_argument("--concurrency", type=int, default=32, help="handshakes in flight")
    replicas.add_argument("--duration", type=float, default=10.0, help="seconds per setup")
    replicas.add_argument("--mec-credentials", type=int, default=16)
    replicas.add_argument("--json", action="store_true")
    replicas.set_defaults(handler=_replicas)
    registration = kinds.add_parser(
        "registration", help="phases 1 and 2 per entity: operation counts and microseconds"
    )
    registration.add_argument("--rounds", type=int, default=200, help="runs of each step")
    registration.add_argument("--devices", type=int, default=2, help="devices per analysis")
    registration.add_argument("--json", action="store_true")
    registration.set_defaults(handler=_registration)
    link = kinds.add_parser(
        "link", help="the link emulator's delay, jitter, loss and rate against its profiles"
    )
    link.add_argument("--calls", type=int, default=100, help="calls per delay configuration")
    link.add_argument("--json", action="store_true")
    link.set_defaults(handler=_link)
    for part, (summary, options, _) in PARTS.items():
        parser = kinds.add_parser(part, help=summary)
        _common_options(parser)
        for add_option in options:
            add_option(parser)
        parser.set_defaults(handler=_part, parts=[part])
    every = kinds.add_parser("all", help="every part of the evaluation, one after the other")
    _common_options(every)
    for add_option in dict.fromkeys(
        option for _, options, _ in PARTS.values() for option in options
    ):
        add_option(every)
    every.set_defaults(handler=_part, parts=list(PARTS))

    echo_ttp = kinds.add_parser("echo-ttp", help=argparse.SUPPRESS)
    echo_ttp.add_argument("--listen", required=True)
    echo_ttp.set_defaults(handler=_echo_ttp)
    echo_mec = kinds.add_parser("echo-mec", help=argparse.SUPPRESS)
    echo_mec.add_argument("--listen", required=True)
    echo_mec.add_argument("--ttp", required=True)
    echo_mec.set_defaults(handler=_echo_mec)
    link_echo = kinds.add_parser("link-echo", help=argparse.SUPPRESS)
    link_echo.add_argument("--listen", required=True)
    link_echo.set_defaults(handler=_link_echo)


def _soak(args: argparse.Namespace) -> int:
    from mec5g.bench import soak
    from mec5g.processes import state_directory

    with state_directory(args.state_dir, "mec5g-soak-") as state_dir:
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


def _link(args: argparse.Namespace) -> int:
    from mec5g.bench import link_bench

    if args.calls < 10:
        print("mec5g bench link: --calls must be 10 or more", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory(prefix="mec5g-link-") as scratch:
        report = asyncio.run(link_bench.run(Path(scratch), args.calls))
    print(json.dumps(report.as_dict(), indent=1) if args.json else report.render())
    return 0


def _link_echo(args: argparse.Namespace) -> int:
    from mec5g.bench.link_bench import serve_echo

    asyncio.run(serve_echo(args.listen))
    return 0


def _handover(args: argparse.Namespace) -> int:
    from mec5g.bench import handover_bench
    from mec5g.processes import state_directory

    if args.count < 1:
        print("mec5g bench handover: --count must be 1 or more", file=sys.stderr)
        return 2
    with state_directory(args.state_dir, "mec5g-handover-") as state_dir:
        return handover_bench.main(state_dir, args.count, args.stream_interval, args.json)


def _swarm(args: argparse.Namespace) -> int:
    from mec5g.bench import progress, results, swarm

    settings = swarm.SwarmSettings(
        ramp_up_rate=args.ramp_up_rate,
        interval=args.stream_interval,
        steady=args.steady,
        max_in_flight=args.max_in_flight,
    )
    try:
        result = swarm.run(
            args.devices,
            settings,
            state_dir=args.state_dir,
            show_progress=progress.wanted(args.json),
        )
    except ValueError as error:
        print(f"mec5g bench swarm: {error}", file=sys.stderr)
        return 2
    document, written = results.write(result, args.out, results.command_line(), None)
    print(json.dumps(document, indent=1) if args.json else written[0].read_text())
    print("written: " + ", ".join(str(path) for path in written), file=sys.stderr)
    failed = any(not run["ramped_up"] or run["attaches_failed"] for run in document["runs"])
    return 1 if failed else 0


def _store(args: argparse.Namespace) -> int:
    from mec5g.bench import store_bench

    with tempfile.TemporaryDirectory(prefix="mec5g-store-") as scratch:
        report = asyncio.run(
            store_bench.run(
                Path(scratch) / "ttp.db", args.store_url, args.requests, args.in_flight, args.rounds
            )
        )
    if args.json:
        print(json.dumps(report.as_dict(), indent=1))
        return 0
    print(report.render())
    print(
        "The replicas share this process and the machine's cores with the database server: "
        "these figures are costs per operation, not a scaling measurement (see `mec5g bench "
        "replicas` for TTP processes); a 2-core machine cannot show scaling."
    )
    return 0


def _replicas(args: argparse.Namespace) -> int:
    from mec5g.bench import replicas_bench
    from mec5g.bench.handshake_bench import SLICE_SECONDS, slices_per_level
    from mec5g.bench.progress import Progress, wanted

    slices = slices_per_level(args.duration, SLICE_SECONDS) * len(replicas_bench.SETUPS)
    progress = Progress("replicas", slices, enabled=wanted(args.json))
    report = asyncio.run(
        replicas_bench.run(
            args.store_url,
            devices=args.devices,
            concurrency=args.concurrency,
            duration=args.duration,
            mec_credentials=args.mec_credentials,
            on_slice=progress.advance,
        )
    )
    progress.close()
    print(json.dumps(report.as_dict(), indent=1) if args.json else report.render())
    return 0


def _handshake(args: argparse.Namespace) -> int:
    from mec5g.bench import handshake_bench

    report = asyncio.run(
        handshake_bench.run(
            args.devices,
            args.concurrency,
            args.duration,
            schemes=args.scheme or handshake_bench.LIVE_SCHEMES,
            mec_credentials=args.mec_credentials,
        )
    )
    if args.json:
        print(json.dumps(report.as_dict(), indent=1))
        return 0
    print(
        f"devices {report.devices}, concurrency {report.concurrency}, "
        f"{report.duration:g} s per topology, K = {report.mec_credentials} MEC credentials"
    )
    for name, run in [*report.schemes.items(), ("echo chain", report.echo)]:
        print(
            f"  {name:11}  {run.per_second:9.1f}/s  p50 {run.p50_ms:7.3f} ms  "
            f"p99 {run.p99_ms:7.3f} ms  ({run.completed} ok, {run.failed} failed)"
        )
        cpu = "  ".join(f"{role} {ms:.3f}" for role, ms in sorted(run.cpu_ms_per_op.items()))
        print(f"               CPU ms per operation: {cpu}")
    for name in report.schemes:
        print(f"  ratio {name}/echo = {report.ratio(name):.3f}")
    if report.baseline_ratio is not None:
        print(f"  ratio baseline36/braeken2021 = {report.baseline_ratio:.3f} (rates of one run)")
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


# -- the evaluation's parts ---------------------------------------------------------------------


def _positive_ints(text: str) -> list[int]:
    """``1,4,16`` as [1, 4, 16]; each at least 1."""
    try:
        values = [int(item.replace("_", "")) for item in text.split(",") if item]
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected numbers separated by commas: {text!r}"
        ) from None
    if not values or min(values) < 1:
        raise argparse.ArgumentTypeError(f"expected positive numbers: {text!r}")
    return values


def _output_options(parser: argparse.ArgumentParser) -> None:
    from mec5g.bench.results import DEFAULT_OUT

    parser.add_argument(
        "--out", type=Path, default=DEFAULT_OUT, help="results folder (default: results/)"
    )
    parser.add_argument("--json", action="store_true", help="print the JSON document on stdout")


def _common_options(parser: argparse.ArgumentParser) -> None:
    _output_options(parser)
    parser.add_argument("--no-plots", action="store_true", help="tables and JSON only")


def _scheme_option(parser: argparse.ArgumentParser) -> None:
    from mec5g.bench.schemes import SCHEMES

    parser.add_argument(
        "--scheme",
        action="append",
        choices=sorted(SCHEMES),
        help="a scheme to measure (repeatable; default: every registered scheme)",
    )


def _live_scheme_option(parser: argparse.ArgumentParser) -> None:
    from mec5g.bench.handshake_bench import LIVE_SCHEMES

    parser.add_argument(
        "--scheme",
        action="append",
        choices=LIVE_SCHEMES,
        help="a scheme to run live (repeatable; default: both, side by side)",
    )


def _runs_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--runs", type=int, default=10_000, help="handshakes per scheme (default 10,000)"
    )


def _mec_credentials_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--mec-credentials", type=int, default=16)


def _concurrency_options(parser: argparse.ArgumentParser) -> None:
    from mec5g.bench.concurrency import DEFAULT_CONCURRENCIES

    parser.add_argument("--devices", type=int, default=1000)
    parser.add_argument(
        "--concurrency",
        type=_positive_ints,
        default=list(DEFAULT_CONCURRENCIES),
        help="concurrencies, comma-separated (default 1,4,16,64,128)",
    )
    parser.add_argument(
        "--duration", type=float, default=6.0, help="seconds per topology and concurrency"
    )


def _growth_options(parser: argparse.ArgumentParser) -> None:
    from mec5g.bench.growth import DEFAULT_SIZES

    parser.add_argument(
        "--sizes",
        type=_positive_ints,
        default=list(DEFAULT_SIZES),
        help="registered devices, increasing, comma-separated (default 1000,10000,100000,1000000)",
    )
    parser.add_argument(
        "--seconds", type=float, default=3.0, help="seconds of timed work per size and rate"
    )
    parser.add_argument("--in-flight", type=int, default=256, help="in-process requests in flight")
    parser.add_argument(
        "--sample", type=int, default=10_000, help="devices whose credentials drive the load"
    )
    parser.add_argument("--e2e-concurrency", type=int, default=64)
    parser.add_argument(
        "--no-end-to-end", action="store_true", help="in-process rate and store size only"
    )


def _profiles_option(parser: argparse.ArgumentParser) -> None:
    from mec5g.bench.hardware import PROFILES

    parser.add_argument(
        "--profiles",
        type=Path,
        default=PROFILES,
        help="folder of per-entity profile files (default: the shipped ones)",
    )


def _computation(args: argparse.Namespace, progress: bool) -> PartResult:
    from mec5g.bench import computation
    from mec5g.bench.schemes import SCHEMES

    return computation.run(args.scheme or list(SCHEMES), args.runs, show_progress=progress)


def _messages(args: argparse.Namespace, progress: bool) -> PartResult:
    from mec5g.bench import messages
    from mec5g.bench.schemes import SCHEMES

    return messages.run(args.scheme or list(SCHEMES))


def _concurrency(args: argparse.Namespace, progress: bool) -> PartResult:
    from mec5g.bench import concurrency
    from mec5g.bench.handshake_bench import LIVE_SCHEMES

    # --scheme is shared with the in-process parts (``all``); only live schemes have servers.
    chosen = [name for name in args.scheme or LIVE_SCHEMES if name in LIVE_SCHEMES]
    if not chosen:
        raise ValueError(
            f"no live scheme among --scheme: concurrency runs {', '.join(LIVE_SCHEMES)}"
        )
    return concurrency.run(
        args.devices,
        args.concurrency,
        args.duration,
        schemes=chosen,
        mec_credentials=args.mec_credentials,
        show_progress=progress,
    )


def _growth(args: argparse.Namespace, progress: bool) -> PartResult:
    from mec5g.bench import growth

    return growth.run(
        args.sizes,
        seconds=args.seconds,
        in_flight=args.in_flight,
        sample=args.sample,
        mec_credentials=args.mec_credentials,
        end_to_end=not args.no_end_to_end,
        concurrency=args.e2e_concurrency,
        show_progress=progress,
    )


def _hardware(args: argparse.Namespace, progress: bool) -> PartResult:
    from mec5g.bench import hardware

    return hardware.run(args.runs, args.profiles, show_progress=progress)


def _phases_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--rounds",
        type=int,
        default=100,
        help="records, requests and emergencies over gRPC (default 100; the core steps 200+)",
    )


def _phases(args: argparse.Namespace, progress: bool) -> PartResult:
    from mec5g.bench import phases

    return phases.run(args.rounds, show_progress=progress)


Option = Callable[[argparse.ArgumentParser], None]
PARTS: dict[str, tuple[str, list[Option], Callable[[argparse.Namespace, bool], PartResult]]] = {
    "computation": (
        "(a) per-entity computation, median and p99, every scheme",
        [_runs_option, _scheme_option],
        _computation,
    ),
    "messages": ("(b) bits per message, beside the paper's Table 2", [_scheme_option], _messages),
    "concurrency": (
        "(c) end-to-end handshakes/s and latency over gRPC by concurrency, both schemes live",
        [_concurrency_options, _mec_credentials_option, _scheme_option],
        _concurrency,
    ),
    "growth": (
        "(d) TTP rate and store bytes per device, 10^3 to 10^6 devices",
        [_growth_options, _mec_credentials_option],
        _growth,
    ),
    "hardware": (
        "(e) Figure 4 emulated on the paper's hardware from profile files",
        [_runs_option, _profiles_option],
        _hardware,
    ),
    "phases": (
        "phases 4-6: operations per entity, bytes per message, latency over gRPC",
        [_phases_options],
        _phases,
    ),
}


def _part(args: argparse.Namespace) -> int:
    from mec5g.bench import progress, results
    from mec5g.bench.hardware import ProfileError

    show_progress = progress.wanted(args.json)
    command = results.command_line()
    documents = {}
    for part in args.parts:
        try:
            result = PARTS[part][2](args, show_progress)
        except (ValueError, ProfileError) as error:
            print(f"mec5g bench {part}: {error}", file=sys.stderr)
            return 2
        plotter = None
        if not args.no_plots:
            from mec5g.bench.plots import PLOTTERS

            plotter = PLOTTERS[part]
        document, written = results.write(result, args.out, command, plotter)
        documents[part] = document
        if not args.json:
            print(written[0].read_text())
        print("written: " + ", ".join(str(path) for path in written), file=sys.stderr)
    if args.json:
        print(json.dumps(documents if len(documents) > 1 else documents[args.parts[0]], indent=1))
    return 0
