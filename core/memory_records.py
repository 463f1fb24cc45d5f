"""An in-memory TTP record store for the pure core: property tests, vectors and ``bench core``.

It keeps the same semantics as the durable stores of ``mec5g.ttp.keystore``: one DID index per
namespace, both records of a handshake replaced together or not at all, and enrolment refusing a
DID that exists in either namespace.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

from mec5g.core import ttp_role
from mec5g.core.credentials import Credential, RecordRule
from mec5g.core.handle import Pseudonyms
from mec5g.core.messages import M2
from mec5g.core.primitives import random_bytes
from mec5g.core.records import CredentialRecord, RecordKind


@dataclass
class InMemoryRecords:
    """Records by id, with a (kind, DID) index over both slots of every record."""

    pseudonym_key: bytes = field(default_factory=lambda: random_bytes(32))
    records: dict[int, CredentialRecord] = field(default_factory=dict)
    _device_index: dict[bytes, int] = field(default_factory=dict)
    _mec_index: dict[bytes, int] = field(default_factory=dict)

    def _index(self, kind: RecordKind) -> dict[bytes, int]:
        """The DID index of one namespace (identity tests: cheaper than hashing the enum)."""
        return self._device_index if kind is RecordKind.DEVICE else self._mec_index

    def enrol(
        self,
        kind: RecordKind,
        owner: str,
        rule: RecordRule = RecordRule.COUNTER,
        credential: Credential | None = None,
    ) -> tuple[int, Credential]:
        """Create a record; the holder stores the returned credential with counter 0."""
        credential = credential if credential is not None else Credential.generate()
        if credential.did in self._device_index or credential.did in self._mec_index:
            raise ValueError("a record with this DID exists already")
        record_id = len(self.records) + 1
        self.records[record_id] = CredentialRecord(kind, rule, credential, owner)
        self._index(kind)[credential.did] = record_id
        return record_id, credential

    def resolve(self, kind: RecordKind, did: bytes) -> ttp_role.Resolution | None:
        record_id = self._index(kind).get(did)
        if record_id is None:
            return None
        record = self.records[record_id]
        slot = record.slot_of(did)
        if slot is None:  # the index and the record disagree: a bug, never an input
            raise AssertionError("index names a DID its record does not hold")
        return ttp_role.Resolution(record_id, record, slot)

    @cached_property
    def _pseudonyms(self) -> Pseudonyms:
        return Pseudonyms(self.pseudonym_key)

    def pseudonym_for(self, device: CredentialRecord, mec: CredentialRecord) -> bytes:
        return self._pseudonyms(device.owner, mec.owner)

    def answer(
        self, m2: M2, version: int, r3: bytes | None = None
    ) -> ttp_role.Accepted | ttp_role.Refused:
        """Verify and answer one request, writing both records only if it is accepted."""
        result = ttp_role.answer(
            m2,
            version,
            self.resolve(RecordKind.DEVICE, m2.m1.did_i),
            self.resolve(RecordKind.MEC, m2.did_m),
            pseudonym_for=self.pseudonym_for,
            r3=r3,
        )
        if isinstance(result, ttp_role.Accepted):
            self._replace(result.device, result.device_record)
            self._replace(result.mec, result.mec_record)
        return result

    def _replace(self, found: ttp_role.Resolution, new: CredentialRecord) -> None:
        assert isinstance(found.record_id, int)
        old = self.records[found.record_id]
        index = self._index(new.kind)
        kept = {new.confirmed.did} if new.pending is None else {new.confirmed.did, new.pending.did}
        for credential in (old.confirmed, old.pending):
            if credential is not None and credential.did not in kept:
                del index[credential.did]
        for did in kept:
            index[did] = found.record_id
        self.records[found.record_id] = new
