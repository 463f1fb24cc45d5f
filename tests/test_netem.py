"""The kernel's link emulation (scenario/netem.py): each process in a network namespace of its
own, links as veth pairs shaped by tc netem.

The namespace plumbing is tested wherever namespaces can be made (root); the shaping only where
the kernel also has the netem qdisc. Elsewhere each test skips, saying exactly why.
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
from pathlib import Path

import pytest

from mec5g.bench.link_bench import ECHO_METHOD, ECHO_SERVICE
from mec5g.main import build_parser
from mec5g.processes import RoleProcess
from mec5g.runtime.link_emulation import DirectionProfile, Distribution, LinkProfile
from mec5g.scenario import loader, netem, runner

NAMESPACES = netem.unavailable(netem=False)
NETEM = netem.unavailable()


def test_a_profile_becomes_netem_options() -> None:
    shaped = DirectionProfile(
        delay_ms=10, jitter_ms=2.5, distribution=Distribution.PARETO, loss=0.01, rate_kbps=500
    )
    assert netem.netem_arguments(shaped) == [
        "delay", "10ms", "2.5ms", "distribution", "pareto", "loss", "1%", "rate", "500kbit",
    ]  # fmt: skip
    uniform = DirectionProfile(delay_ms=4, jitter_ms=1, distribution=Distribution.UNIFORM)
    assert netem.netem_arguments(uniform) == ["delay", "4ms", "1ms"]
    assert netem.netem_arguments(DirectionProfile()) == []


def _namespaces() -> set[str]:
    listed = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True, check=True)
    return {line.split()[0] for line in listed.stdout.splitlines() if line.strip()}


@pytest.mark.skipif(NAMESPACES is not None, reason=f"no network namespaces: {NAMESPACES}")
async def test_a_scenario_runs_in_namespaces_and_leaves_none_behind(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Ideal links need no qdisc, so this runs wherever namespaces can be made."""
    scenario = loader.parse(
        {
            "version": 1,
            "name": "namespaced",
            "duration": 4,
            "zones": [{"name": "z", "radio": "ideal", "backhaul": "ideal",
                       "mec_nodes": [{"name": "mec-a", "credentials": 2}]}],
            "patients": [{"name": "alice", "zone": "z", "devices": ["spo2", "glucose"]}],
        }
    )  # fmt: skip
    before = _namespaces()
    args = build_parser().parse_args(["up", "namespaced"])
    chosen = (netem.NamespaceNetwork(), "test")
    assert await runner.run(scenario, args, tmp_path, chosen) == 0
    out = capsys.readouterr().out
    assert f"gRPC {netem.MANAGEMENT}." in out  # reached through its namespace's management link
    assert "records agree: yes" in out
    assert _namespaces() == before


@pytest.mark.skipif(NETEM is not None, reason=f"no kernel netem: {NETEM}")
async def test_netem_delays_a_call_between_two_namespaces(tmp_path: Path) -> None:
    network = netem.NamespaceNetwork()
    echo: RoleProcess | None = None
    try:
        for node in ("client", "server"):
            await network.place(node)
        delayed = DirectionProfile(delay_ms=40)
        target = await network.connect(
            "radio/client", "client", "server", 50999, LinkProfile(delayed, delayed)
        )
        echo = RoleProcess(
            "echo",
            ["bench", "link-echo", "--listen", "0.0.0.0:50999"],
            f"{network.host('server')}:50999",
            ECHO_SERVICE,
            tmp_path,
            prefix=network.prefix("server"),
        )
        await echo.start()
        client = (
            "import grpc, time\n"
            f"call = grpc.insecure_channel({target!r}).unary_unary({ECHO_METHOD!r})\n"
            "call(bytes(16), timeout=10)\n"
            "started = time.perf_counter(); call(bytes(16), timeout=10)\n"
            "print(time.perf_counter() - started)\n"
        )
        timed = await asyncio.to_thread(
            subprocess.run,
            [*network.prefix("client"), sys.executable, "-c", client],
            capture_output=True, text=True, check=True, timeout=60,
        )  # fmt: skip
        assert 0.080 <= float(timed.stdout) < 1.0
    finally:
        if echo is not None:
            echo.stop()
        await network.close()
