"""Credentials, record rules and the holder's attempt state (SPEC.md "Our rule").

A *holder* is a device or one of a MEC's credentials. It keeps (DID, DK), the counter of its
latest attempt and an epoch (how many times it has adopted a new credential). Each transmission
is a new attempt: the counter is incremented and persisted before the request is sent, and an
answer is adopted only if the stored (credential, counter) still equals the attempt's.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from mec5g.core.errors import MalformedField
from mec5g.core.primitives import (
    COUNTER_MAX,
    IDENTITY_BYTES,
    KEY_BYTES,
    NONCE_BYTES,
    counter_nonce,
    local_fingerprint,
    random_bytes,
)


class RecordRule(enum.IntEnum):
    """The record rule, fixed per credential at enrolment; its value is the wire scheme version.

    The version travels beside the paper's bytes (proto ``SchemeVersion``). It is not covered by
    c1/cm1, so it never selects the rule: the TTP uses the record's rule and refuses a mismatch.
    """

    COUNTER = 1  # SCHEME_VERSION_PHASE3_COUNTER_V1, the default
    PAPER = 2  # SCHEME_VERSION_PHASE3_PAPER_V1, the paper's two-slot rule, kept to show its attack

    @property
    def label(self) -> str:
        return self.name.lower()

    @classmethod
    def from_label(cls, label: str) -> RecordRule:
        try:
            return cls[label.upper()]
        except KeyError:
            raise ValueError(f"unknown record rule {label!r}; expected counter or paper") from None


@dataclass(frozen=True, slots=True)
class Credential:
    """A dynamic identity DID and the key DK shared with the TTP."""

    did: bytes
    dk: bytes

    def __post_init__(self) -> None:
        if len(self.did) != IDENTITY_BYTES:
            raise MalformedField("did", IDENTITY_BYTES, len(self.did))
        if len(self.dk) != KEY_BYTES:
            raise MalformedField("dk", KEY_BYTES, len(self.dk))

    @classmethod
    def generate(cls) -> Credential:
        return cls(random_bytes(IDENTITY_BYTES), random_bytes(KEY_BYTES))

    def __repr__(self) -> str:
        # Keys never reach a log, not even through a debugging repr.
        return f"Credential(did_fp={local_fingerprint(self.did)})"


@dataclass(frozen=True, slots=True)
class Attempt:
    """One key-agreement attempt of a holder: which credential and which counter it used."""

    credential: Credential
    counter: int
    nonce: bytes


@dataclass(frozen=True, slots=True)
class HolderState:
    """What a holder persists: its credential, its latest counter and its epoch."""

    credential: Credential
    rule: RecordRule
    counter: int = 0
    epoch: int = 0

    def begin_attempt(self, random_nonce: bytes | None = None) -> tuple[HolderState, Attempt]:
        """Start the next attempt: a new counter, and the nonce that goes with it.

        Under the counter rule the nonce is AES-128-Enc(DK, DID ⊕ ctr); under the paper's rule it
        is fresh randomness (``random_nonce`` lets vectors and tests fix it).
        """
        counter = self.counter + 1
        if counter > COUNTER_MAX:
            raise OverflowError("attempt counter exhausted; re-provision this credential")
        if self.rule is RecordRule.COUNTER:
            nonce = counter_nonce(self.credential.dk, self.credential.did, counter)
        else:
            nonce = random_nonce if random_nonce is not None else random_bytes(NONCE_BYTES)
        # Built directly: dataclasses.replace looks every field up by name, on every attempt.
        advanced = HolderState(self.credential, self.rule, counter, self.epoch)
        return advanced, Attempt(self.credential, counter, nonce)

    def is_current(self, attempt: Attempt) -> bool:
        """Whether an answer to ``attempt`` may still be adopted (it is the latest attempt)."""
        return self.credential == attempt.credential and self.counter == attempt.counter

    def adopt(self, attempt: Attempt, successor: Credential) -> HolderState:
        """The state after adopting ``successor`` as the answer to ``attempt``."""
        if not self.is_current(attempt):
            raise ValueError("answer to an attempt that is no longer the latest")
        return HolderState(successor, self.rule, 0, self.epoch + 1)
