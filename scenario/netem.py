"""The kernel's link emulation: network namespaces, veth pairs and tc netem (needs root).

``NamespaceNetwork`` gives every process of a scenario a network namespace of its own
(``mec5g-<run>-<node>``), joined to the ``mec5g up`` process's namespace by an unshaped
management veth pair (198.18.<k>.1 here, .2 there: how the orchestrator and the apps reach the
node), and makes each link a veth pair between the two nodes' namespaces (198.19.<j>.1 on the
upstream side, .2 on the downstream side) with a netem qdisc on each end: the downstream end's
egress is the uplink, the upstream end's the downlink. Both ranges come from 198.18.0.0/15,
which RFC 2544 sets aside for network benchmarks, so they clash with no real network; one
namespace scenario runs at a time on a machine.

The profile maps onto netem as: ``delay DELAY JITTER distribution normal|pareto`` (``uniform``
is netem's default and names no distribution), ``loss PERCENT`` (per packet, which for TCP is
per segment, as in the in-process model), ``rate KBITkbit``. netem's own tables bound its
jitter; ``jitter_bound_ms`` has no netem counterpart and is not applied. netem may reorder
packets that jitter delays differently; TCP puts them back in order.

``unavailable`` says precisely why this cannot run here (not root, no iproute2, no namespaces,
no sch_netem in the kernel), or None.
"""

from __future__ import annotations

import os
import secrets
import shutil
import subprocess

from mec5g.runtime.link_emulation import DirectionProfile, LinkProfile
from mec5g.scenario.links import Network

MANAGEMENT = "198.18"
LINKS = "198.19"
MAX_PLACES = 250  # /24 numbers per range


class NetemError(RuntimeError):
    """An ip or tc command failed: the message has the command and what it said."""


def _run(*command: str) -> None:
    completed = subprocess.run(command, capture_output=True, text=True, check=False, timeout=30)
    if completed.returncode != 0:
        said = (completed.stderr or completed.stdout).strip()
        raise NetemError(f"{' '.join(command)}: {said or f'exit status {completed.returncode}'}")


def unavailable(*, netem: bool = True) -> str | None:
    """Why namespaces (and, with ``netem``, the netem qdisc) cannot be used here, or None.

    Tried for real: a throw-away namespace is made, and a netem qdisc added to its loopback.
    """
    if os.geteuid() != 0:
        return "network namespaces and tc netem need root"
    for tool in ("ip", "tc"):
        if shutil.which(tool) is None:
            return f"no {tool} command (iproute2) on the PATH"
    probe = f"mec5g-probe-{os.getpid()}-{secrets.token_hex(2)}"
    try:
        _run("ip", "netns", "add", probe)
    except NetemError as error:
        return f"cannot make a network namespace: {error}"
    try:
        if netem:
            _run("tc", "-n", probe, "qdisc", "add", "dev", "lo", "root", "netem", "delay", "1ms")
    except NetemError as error:
        return f"the kernel has no netem qdisc (sch_netem): {error}"
    finally:
        subprocess.run(["ip", "netns", "delete", probe], capture_output=True, check=False)
    return None


def netem_arguments(direction: DirectionProfile) -> list[str]:
    """The netem options of one direction (empty for an ideal one)."""
    arguments: list[str] = []
    if direction.delay_ms or direction.jitter_ms:
        arguments += ["delay", f"{direction.delay_ms:g}ms"]
        if direction.jitter_ms:
            arguments.append(f"{direction.jitter_ms:g}ms")
            if direction.distribution.value != "uniform":
                arguments += ["distribution", direction.distribution.value]
    if direction.loss:
        arguments += ["loss", f"{100 * direction.loss:g}%"]
    if direction.rate_kbps:
        arguments += ["rate", f"{direction.rate_kbps:g}kbit"]
    return arguments


class NamespaceNetwork(Network):
    """Namespaces, veth pairs and netem (module docstring)."""

    description = "network namespaces with tc netem"

    def __init__(self) -> None:
        self._run_id = secrets.token_hex(2)
        self._places: dict[str, int] = {}  # node -> management number
        self._links: dict[str, tuple[int, str, str, LinkProfile]] = {}  # j, down ns, up ns

    def namespace(self, node: str) -> str:
        return f"mec5g-{self._run_id}-{node}"

    async def place(self, node: str) -> None:
        number = len(self._places) + 1
        if number > MAX_PLACES:
            raise NetemError(f"at most {MAX_PLACES} processes in namespaces")
        namespace = self.namespace(node)
        _run("ip", "netns", "add", namespace)
        self._places[node] = number
        outside, inside = f"m5{self._run_id}m{number:03d}", f"mgmt{number:03d}"
        _run("ip", "-n", namespace, "link", "set", "lo", "up")
        _run("ip", "link", "add", outside, "type", "veth", "peer", "name", inside,
             "netns", namespace)  # fmt: skip
        _run("ip", "addr", "add", f"{MANAGEMENT}.{number}.1/24", "dev", outside)
        _run("ip", "link", "set", outside, "up")
        _run("ip", "-n", namespace, "addr", "add", f"{MANAGEMENT}.{number}.2/24", "dev", inside)
        _run("ip", "-n", namespace, "link", "set", inside, "up")

    def listen(self, node: str, port: int) -> str:
        return f"0.0.0.0:{port}"

    def host(self, node: str) -> str:
        return f"{MANAGEMENT}.{self._places[node]}.2"

    def prefix(self, node: str) -> list[str]:
        return ["ip", "netns", "exec", self.namespace(node)]

    async def connect(
        self, link: str, downstream: str, upstream: str, port: int, profile: LinkProfile
    ) -> str:
        number = len(self._links) + 1
        if number > MAX_PLACES:
            raise NetemError(f"at most {MAX_PLACES} links in namespaces")
        down, up = self.namespace(downstream), self.namespace(upstream)
        _run("ip", "link", "add", "name", f"up{number}", "netns", down, "type", "veth",
             "peer", "name", f"dn{number}", "netns", up)  # fmt: skip
        for namespace, device, host in ((down, f"up{number}", 2), (up, f"dn{number}", 1)):
            _run("ip", "-n", namespace, "addr", "add", f"{LINKS}.{number}.{host}/24",
                 "dev", device)  # fmt: skip
            _run("ip", "-n", namespace, "link", "set", device, "up")
        self._links[link] = (number, down, up, LinkProfile())
        await self.set_profile(link, profile)
        return f"{LINKS}.{number}.1:{port}"

    def profile(self, link: str) -> LinkProfile:
        return self._links[link][3]

    async def set_profile(self, link: str, profile: LinkProfile) -> None:
        number, down, up, _ = self._links[link]
        for namespace, device, direction in (
            (down, f"up{number}", profile.uplink),
            (up, f"dn{number}", profile.downlink),
        ):
            arguments = netem_arguments(direction)
            if arguments:
                _run("tc", "-n", namespace, "qdisc", "replace", "dev", device, "root", "netem",
                     *arguments)  # fmt: skip
            else:  # ideal: no qdisc of ours (none may be there yet)
                subprocess.run(
                    ["tc", "-n", namespace, "qdisc", "del", "dev", device, "root"],
                    capture_output=True,
                    check=False,
                )
        self._links[link] = (number, down, up, profile)

    async def close(self) -> None:
        for node in list(self._places):
            subprocess.run(
                ["ip", "netns", "delete", self.namespace(node)], capture_output=True, check=False
            )
        self._places.clear()
        self._links.clear()
