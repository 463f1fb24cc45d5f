"""The TTP's part of a handover (``core.handover``): open a device's indication, issue the
transfer ticket for the node the device arrives at, and seal it beside M3.

It runs after the key store has answered M2 (so the store's durable transaction stays as it
was), only for a request that carries an indication, in a worker thread. The TTP is the one
party that may map the analysis between nodes: it finds IDa from the device's record (the
handshake resolved it), computes the pseudonym at the node left, seals it to that node's ECQV
key and signs the ticket with its CA key.

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
from pathlib import Path

from mec5g.core import ecqv, handover, ttp_role
from mec5g.core.errors import AuthenticationFailed
from mec5g.core.handle import Pseudonyms
from mec5g.core.messages import M2
from mec5g.core.operations import counting
from mec5g.core.primitives import local_fingerprint
from mec5g.runtime.group_commit import connect
from mec5g.runtime.metrics import HANDOVER, Metrics
from mec5g.ttp import schema
from mec5g.ttp.at_rest import MasterKey, Sealer, read_secret

LOG = logging.getLogger("mec5g.ttp")
TICKET_LIFETIME_SECONDS = 60.0


class TransferTickets:
    """Tickets under the CA key of the TTP database at ``path`` (migrated on open)."""

    def __init__(
        self,
        path: Path,
        metrics: Metrics,
        master_key: MasterKey | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._path = path
        self._metrics = metrics
        self._now = clock
        schema.migrate(path)
        sealer = Sealer(master_key)
        connection = connect(path)
        try:
            ca = read_secret(connection.execute, "?", sealer, schema.CA_SECRET)
            pseudonym_key = read_secret(connection.execute, "?", sealer, schema.PSEUDONYM_SECRET)
        finally:
            connection.close()
        if ca is None or pseudonym_key is None:
            raise RuntimeError(f"{path} has no CA key or no pseudonym key")
        private = int.from_bytes(ca, "big")
        self._ca = ecqv.KeyPair(private, ecqv.public_key(private))
        self._pseudonyms = Pseudonyms(pseudonym_key)

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
        connection = connect(self._path)
        try:
            row = connection.execute(
                "SELECT public_key FROM mec_nodes WHERE node = ?", (source,)
            ).fetchone()
        finally:
            connection.close()
        if row is None:
            LOG.info("no ticket: node %s has no ECQV identity", local_fingerprint(source.encode()))
            return b"", "unknown_source"
        ticket, signature = handover.issue_ticket(
            self._ca,
            bytes(row[0]),
            self._pseudonyms(accepted.device_record.owner, source),
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
