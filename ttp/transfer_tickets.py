"""The TTP's part of a handover (``core.handover``): open a device's indication, issue the
transfer ticket for the node the device arrives at, and seal it beside M3.

It runs after the key store has answered M2 (so the store's durable transaction stays as it
was), only for a request that carries an indication, in a worker thread. The TTP is the one
party that may map the analysis between nodes: it finds IDa from the device's record (the
handshake resolved it), computes the pseudonym at the node left, seals it to that node's ECQV
key and signs the ticket with its CA key, all from the registry (``ttp.registry``, SQLite or
PostgreSQL).

No ticket, and the handshake answered as always, when: the indication does not open (tampered,
or not this attempt's), it names the node the device arrives at, or a node without an ECQV
identity. The device's readings then go on at the new node; only the analysis's history stays
behind. Each outcome is counted in ``mec5g_phase_results_total{role="ttp",phase="handover"}``
(``accepted``: a ticket was issued).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable

from mec5g.core import handover, ttp_role
from mec5g.core.errors import AuthenticationFailed
from mec5g.core.messages import M2
from mec5g.core.operations import counting
from mec5g.core.primitives import local_fingerprint
from mec5g.runtime.metrics import HANDOVER, Metrics
from mec5g.ttp.registry import Registry

LOG = logging.getLogger("mec5g.ttp")
TICKET_LIFETIME_SECONDS = 60.0


class TransferTickets:
    """Tickets under the CA key of the TTP's registry (either backend)."""

    def __init__(
        self, registry: Registry, metrics: Metrics, clock: Callable[[], float] = time.time
    ) -> None:
        self._registry = registry
        self._metrics = metrics
        self._now = clock

    async def ticket_for(
        self, indication: bytes, m2: M2, version: int, accepted: ttp_role.Accepted
    ) -> bytes:
        """The sealed ticket for the MEC of this handshake, or b"" when there is none."""
        started = time.perf_counter()

        def counted() -> tuple[bytes, str]:
            with counting() as ledger:
                result = self._issue(indication, m2, version, accepted)
            self._metrics.count_operations(HANDOVER, ledger)
            return result

        sealed, outcome = await asyncio.to_thread(counted)
        self._metrics.observe(HANDOVER, outcome, time.perf_counter() - started)
        return sealed

    def _issue(
        self, indication: bytes, m2: M2, version: int, accepted: ttp_role.Accepted
    ) -> tuple[bytes, str]:
        target = accepted.mec_record.owner
        try:
            source = handover.open_indication(
                indication, c3_i=accepted.c3_i, c4_i=accepted.c4_i, version=version, m1=m2.m1
            )
        except AuthenticationFailed as failure:
            LOG.info("handover indication refused: %s", failure.reason)
            return b"", "bad_indication"
        if source == target:
            return b"", "same_node"
        source_key = self._registry.node_key(source)
        if source_key is None:
            LOG.info("no ticket: node %s has no ECQV identity", local_fingerprint(source.encode()))
            return b"", "unknown_source"
        ticket, signature = handover.issue_ticket(
            self._registry.authority,
            source_key,
            self._registry.pseudonym(accepted.device_record.owner, source),
            source,
            target,
            self._now() + TICKET_LIFETIME_SECONDS,
        )
        sealed = handover.seal_ticket(
            ticket,
            signature,
            c3_m=accepted.c3_m,
            c4_m=accepted.c4_m,
            version=version,
            m2=m2,
            m3=accepted.m3,
        )
        return sealed, "accepted"
