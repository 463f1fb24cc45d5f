"""Enrolment documents waiting for their holders, kept in the TTP's store until handed over.

``mec5g k8s enrol`` (the Helm chart's enrolment hook) creates records and hands each holder its
keys through a Secret. Between the two it must remember the keys somewhere that survives the
hook being killed, and it has no volume of its own (with the PostgreSQL store, neither has the
TTP). So the documents live in the store: each is written in the same transaction as the records
(or the MEC node's identity) whose keys it carries, so that no record ever exists without its
keys; it is read back and published as often as it takes; it is removed once published. They are
rows of ``ttp_secrets`` named ``handover/<file>``, sealed under the store's master key like the
TTP's own secrets (and re-sealed with them on rotation); only names are ever logged.

The MEC node's identity is made here too, as ``mec5g up`` makes it: k, R = kG, the certificate
from the registry, and the wallet (d = e·k + r) kept for the MEC. The TTP's services never read
a hand-over document.
"""

from __future__ import annotations

from mec5g.core import ecqv
from mec5g.core.credentials import Credential, RecordRule
from mec5g.core.records import RecordKind
from mec5g.runtime.holder_store import EnrolmentFile
from mec5g.runtime.wallet import Wallet
from mec5g.ttp.at_rest import Sealer
from mec5g.ttp.database import Connection, Database
from mec5g.ttp.registry import Registry
from mec5g.ttp.stores import RecordStore

PREFIX = "handover/"


def _name(file: str) -> str:
    return PREFIX + file


def keep(connection: Connection, sealer: Sealer, file: str, content: str) -> None:
    """Keep ``file``'s content in the caller's transaction, sealed and bound to its name."""
    name = _name(file)
    connection.execute(
        "INSERT INTO ttp_secrets VALUES (?, ?)", (name, sealer.seal_secret(name, content.encode()))
    )


def waiting(database: Database, sealer: Sealer) -> dict[str, bytes]:
    """Every document not yet handed over, by file name."""
    with database.reading() as connection:
        rows = connection.execute(
            "SELECT name, value FROM ttp_secrets WHERE name LIKE ? ORDER BY name", (PREFIX + "%",)
        ).fetchall()
    return {
        name.removeprefix(PREFIX): sealer.open_secret(name, bytes(value)) for name, value in rows
    }


def handed_over(database: Database, file: str) -> None:
    """Forget ``file``: its holder has it now."""
    with database.transaction() as connection:
        connection.execute("DELETE FROM ttp_secrets WHERE name = ?", (_name(file),))


def enrol(
    store: RecordStore,
    file: str,
    kind: RecordKind,
    labels: list[str],
    owner: str,
    rule: RecordRule,
) -> None:
    """Records with fresh credentials for ``labels``, and their enrolment file kept as ``file``,
    in one transaction."""
    issued = {label: Credential.generate() for label in labels}
    text = EnrolmentFile(kind.value, rule, owner, issued).text()
    store.enrol(
        kind,
        issued,
        owner,
        rule,
        also=lambda connection: keep(connection, store.codec.sealer, file, text),
    )


def enrol_mec_identity(store: RecordStore, registry: Registry, file: str, node: str) -> None:
    """MEC node ``node``'s ECQV identity at the TTP, and its wallet kept as ``file``, in one
    transaction."""
    k, request_point = ecqv.request(node)
    issued, register = registry.mec_identity(node, request_point)
    pair = ecqv.reconstruct_private(k, issued, registry.ca_public)
    wallet = Wallet(node, "mec", pair, issued.certificate.encoded, registry.ca_public)
    with store.database.transaction() as connection:
        register(connection)
        keep(connection, store.codec.sealer, file, wallet.text())
