"""The TTP's record of one credential and the record rules' transitions (SPEC.md "TTP record").

A record has a fixed size: ``confirmed`` (DID, DK), ``last_counter``, and ``pending`` (DID, DK) or
none. Enrolment and re-provisioning set last_counter = 0 and pending = none.

On an accepted request (both hashes verify, both counters pass), in one transaction:
if it named the pending DID, confirmed <- pending and the old confirmed is deleted; then
last_counter <- ctr and pending <- (c2, c3).

The paper's two-slot rule (section 5.2-5.3.3: ``cur``/``prev``) has the same slot transitions with
prev = confirmed and cur = pending (at initialisation cur = prev, i.e. pending = none); it differs
only in having no counter, hence no refusal of an old request. That is the lockout SPEC.md shows.
"""

from __future__ import annotations

import enum
from typing import NamedTuple

from mec5g.core.credentials import Credential, RecordRule


class RecordKind(enum.Enum):
    """Which namespace a record lives in: DIDi is looked up only among devices, DIDm among MECs."""

    DEVICE = "device"
    MEC = "mec"

    # Identity hash, as for ``operations.Operation``: the TTP keys dictionaries by kind per request.
    __hash__ = object.__hash__


class Slot(enum.Enum):
    """Which of a record's two credentials a request named."""

    CONFIRMED = "confirmed"
    PENDING = "pending"


class CredentialRecord(NamedTuple):
    """The TTP's state for one device or one MEC credential.

    ``owner`` is the analysis a device belongs to, or the MEC node that holds a MEC credential.
    A named tuple (immutable, and built in a third of a frozen dataclass's time): the TTP decodes
    two records and builds two more per key agreement.
    """

    kind: RecordKind
    rule: RecordRule
    confirmed: Credential
    owner: str
    last_counter: int = 0
    pending: Credential | None = None

    def slot_of(self, did: bytes) -> Slot | None:
        """Which slot ``did`` names in this record, if any."""
        if did == self.confirmed.did:
            return Slot.CONFIRMED
        if self.pending is not None and did == self.pending.did:
            return Slot.PENDING
        return None

    def credential_in(self, slot: Slot) -> Credential:
        if slot is Slot.PENDING:
            if self.pending is None:
                raise ValueError("record has no pending credential")
            return self.pending
        return self.confirmed

    def counter_floor(self, slot: Slot) -> int:
        """A request's counter must exceed this: last_counter for confirmed, 0 for pending."""
        return self.last_counter if slot is Slot.CONFIRMED else 0

    def after_accept(self, slot: Slot, counter: int, successor: Credential) -> CredentialRecord:
        """The record after a request naming ``slot`` with ``counter`` was accepted."""
        return CredentialRecord(  # positional: kind, rule, confirmed, owner, last_counter, pending
            self.kind,
            self.rule,
            self.credential_in(slot),
            self.owner,
            counter if self.rule is RecordRule.COUNTER else 0,
            successor,
        )

    def holds(self, credential: Credential) -> bool:
        """Whether a holder with ``credential`` can still authenticate against this record."""
        return credential in (self.confirmed, self.pending)

    def __repr__(self) -> str:
        return (
            f"CredentialRecord(kind={self.kind.value}, rule={self.rule.label}, owner={self.owner})"
        )
