"""Counting the operations the paper's Table 1 counts, with our additions counted apart.

Table 1 (section 7.1) counts per entity and handshake: Th (hash), Ts (symmetric encryption),
Tm (elliptic-curve point multiplication), Ta (point addition). The primitives record each
operation they perform into the ledger that is active in the current context (``counting``);
with no ledger active, recording costs one context-variable lookup and nothing else.

The same block's wall time is its computation time: the roles' computations do no I/O.

Origins: ``paper`` for what the compared scheme itself does (the paper's H1 and H2; for the
public-key baseline [36], ``core.anonymous_agreement``, all of its operations, also when phases
5 and 6 run it); every other origin names one of our additions (the counter nonce's AES block,
the handle's HKDF key and AEAD, the pseudonym's HMAC; in phase 4 the analysis settings' key and
AEAD, the data sessions' keys and records; a handover's indication, ticket and context), each
under its own label, so that the paper's figures stay comparable and each addition's cost shows
apart. ``ours`` is for additions without a name of their own.
"""

from __future__ import annotations

import enum
import time
from collections import Counter
from contextvars import ContextVar


class Operation(enum.Enum):
    """The paper's units of computation cost."""

    HASH = "Th"
    SYMMETRIC = "Ts"
    POINT_MULTIPLICATION = "Tm"
    POINT_ADDITION = "Ta"

    # Members are singletons compared by identity, so an identity hash agrees with equality and
    # runs in C; Enum's own hash (of the member's name) runs in Python on every ledger entry.
    __hash__ = object.__hash__


class Origin(enum.Enum):
    """Whose operation it is: the paper's scheme, or one of our additions (SPEC.md)."""

    PAPER = "paper"  # the compared scheme's own: the paper's, or [36] as reconstructed
    COUNTER_NONCE = "counter_nonce"  # R = AES(DK, DID xor ctr) and its inverse
    HANDLE_KEY = "handle_key"  # HKDF of the analysis handle's key
    HANDLE_AEAD = "handle_aead"  # sealing or opening the analysis handle
    PSEUDONYM = "pseudonym"  # HMAC of the per-MEC analysis pseudonym
    SETTINGS_KEY = "settings_key"  # HKDF of the analysis settings' key (phase 4)
    SETTINGS_AEAD = "settings_aead"  # sealing or opening the analysis settings (phase 4)
    DATA_KEYS = "data_keys"  # HKDF of a data session's id and traffic keys (phase 4)
    DATA_AEAD = "data_aead"  # sealing or opening a data record or acknowledgement (phase 4)
    HANDOVER = "handover"  # a patient's move between MEC nodes: indication, ticket, context
    OURS = "ours"

    __hash__ = object.__hash__  # as Operation's


OUR_ADDITIONS = frozenset(origin for origin in Origin if origin is not Origin.PAPER)


class Ledger(Counter[tuple[Operation, Origin]]):
    """Operations counted by (operation, origin), and the wall time the counted block took."""

    seconds: float = 0.0


_active: ContextVar[Ledger | None] = ContextVar("mec5g_operation_ledger", default=None)


def record(operation: Operation, origin: Origin, times: int = 1) -> None:
    """Note ``times`` operations in the active ledger, if any."""
    ledger = _active.get()
    if ledger is not None:
        key = (operation, origin)
        ledger[key] = ledger.get(key, 0) + times  # not ``+=``: Counter's __missing__ is Python


class counting:  # noqa: N801 - used as a function: ``with counting() as ledger``
    """Count every operation performed inside the block, and time the block: it holds pure
    computation only, so its time is computation time, kept apart from waiting time. Nested
    blocks count separately.

    A class rather than a generator-based context manager: the roles open several such blocks
    per handshake, and a generator's set-up costs more than the block's own bookkeeping.
    """

    __slots__ = ("_ledger", "_started", "_token")

    def __enter__(self) -> Ledger:
        self._ledger = ledger = Ledger()
        self._token = _active.set(ledger)
        self._started = time.perf_counter()
        return ledger

    def __exit__(self, *exc_info: object) -> None:
        self._ledger.seconds += time.perf_counter() - self._started
        _active.reset(self._token)


def table_notation(ledger: Ledger, origins: Origin | frozenset[Origin]) -> str:
    """A ledger's operations of ``origins`` (one, or a set such as ``OUR_ADDITIONS``) in Table
    1's notation, e.g. ``2Th + 1Ts``; ``0`` when there are none."""
    chosen = {origins} if isinstance(origins, Origin) else origins
    totals = {
        operation: sum(ledger[(operation, origin)] for origin in chosen)
        for operation in (
            Operation.POINT_MULTIPLICATION,
            Operation.POINT_ADDITION,
            Operation.SYMMETRIC,
            Operation.HASH,
        )
    }
    return (
        " + ".join(f"{times}{operation.value}" for operation, times in totals.items() if times)
        or "0"
    )
