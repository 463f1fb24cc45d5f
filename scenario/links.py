"""Where a scenario's processes run and what lies on the links between them.

A ``Network`` places each process (the TTP, each MEC node, each patient's UE), says where it
listens and where the orchestrator reaches it, and puts a link with a profile between a
downstream process and an upstream one, returning the address the downstream process dials.
Two networks do this:

- ``EmulatorNetwork``: every process on loopback; each link is an in-process ``EmulatedLink``
  (``runtime/link_emulation.py``) in the ``mec5g up`` process, which counts what it carries.
- ``NamespaceNetwork`` (``netem.py``): every process in a network namespace of its own, each
  link a veth pair with tc netem on both ends, where the kernel offers it (root).
"""

from __future__ import annotations

import abc

from mec5g.runtime.link_emulation import DirectionStats, EmulatedLink, LinkProfile


class Network(abc.ABC):
    """Places processes and links them (module docstring)."""

    description: str

    async def place(self, node: str) -> None:  # noqa: B027 - most networks need nothing
        """Prepare ``node``'s place before it starts (nothing to do on loopback)."""

    @abc.abstractmethod
    def listen(self, node: str, port: int) -> str:
        """The address ``node`` listens on."""

    @abc.abstractmethod
    def host(self, node: str) -> str:
        """Where the orchestrator (and the apps of patients and doctors) reach ``node``."""

    def prefix(self, node: str) -> list[str]:
        """What ``node``'s command runs under (none on loopback)."""
        return []

    @abc.abstractmethod
    async def connect(
        self, link: str, downstream: str, upstream: str, port: int, profile: LinkProfile
    ) -> str:
        """A link named ``link`` from ``downstream`` to ``upstream``'s ``port``, with
        ``profile``; returns the address ``downstream`` dials."""

    @abc.abstractmethod
    def profile(self, link: str) -> LinkProfile:
        """The profile ``link`` has now."""

    @abc.abstractmethod
    async def set_profile(self, link: str, profile: LinkProfile) -> None:
        """Change ``link``'s profile from now on (link degradation)."""

    def stats(self, link: str) -> tuple[DirectionStats, DirectionStats] | None:
        """What ``link`` carried (uplink, downlink), where the network counts it."""
        return None

    @abc.abstractmethod
    async def close(self) -> None:
        """Remove every link and place."""


class EmulatorNetwork(Network):
    """Loopback and in-process emulated links, seeded by the scenario."""

    description = "in-process link emulator"

    def __init__(self, seed: int) -> None:
        self._seed = seed
        self._links: dict[str, EmulatedLink] = {}

    def listen(self, node: str, port: int) -> str:
        return f"127.0.0.1:{port}"

    def host(self, node: str) -> str:
        return "127.0.0.1"

    async def connect(
        self, link: str, downstream: str, upstream: str, port: int, profile: LinkProfile
    ) -> str:
        emulated = EmulatedLink(link, f"127.0.0.1:{port}", profile, seed=self._seed)
        await emulated.start()
        self._links[link] = emulated
        return emulated.target

    def profile(self, link: str) -> LinkProfile:
        return self._links[link].profile

    async def set_profile(self, link: str, profile: LinkProfile) -> None:
        self._links[link].set_profile(profile)

    def stats(self, link: str) -> tuple[DirectionStats, DirectionStats] | None:
        emulated = self._links[link]
        return emulated.uplink.stats, emulated.downlink.stats

    async def close(self) -> None:
        for emulated in self._links.values():
            await emulated.close()
        self._links.clear()
