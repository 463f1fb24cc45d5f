"""Counting the operations the paper's Table 1 counts, with our additions counted apart.

Table 1 (section 7.1) counts per entity and handshake: Th (hash), Ts (symmetric encryption),
Tm (elliptic-curve point multiplication), Ta (point addition). The primitives record each
operation they perform into the ledger that is active in the current context (``counting``);
with no ledger active, recording costs one context-variable lookup and nothing else.

The same block's wall time is its computation time: the roles' computations do no I/O.

Origins: ``paper`` for what the paper's scheme does (H1, H2); ``ours`` for what our additions
cost (the counter nonce's AES block, the handle's HKDF and AEAD, the pseudonym's HMAC), reported
apart so that the paper's figures stay comparable.
"""

from __future__ import annotations

import contextlib
import enum
import time
from collections import Counter
from collections.abc import Iterator
from contextvars import ContextVar


class Operation(enum.Enum):
    """The paper's units of computation cost."""

    HASH = "Th"
    SYMMETRIC = "Ts"
    POINT_MULTIPLICATION = "Tm"
    POINT_ADDITION = "Ta"


class Origin(enum.Enum):
    PAPER = "paper"
    OURS = "ours"


class Ledger(Counter[tuple[Operation, Origin]]):
    """Operations counted by (operation, origin), and the wall time the counted block took."""

    seconds: float = 0.0


_active: ContextVar[Ledger | None] = ContextVar("mec5g_operation_ledger", default=None)


def record(operation: Operation, origin: Origin, times: int = 1) -> None:
    """Note ``times`` operations in the active ledger, if any."""
    ledger = _active.get()
    if ledger is not None:
        ledger[(operation, origin)] += times


@contextlib.contextmanager
def counting() -> Iterator[Ledger]:
    """Count every operation performed inside the block, and time the block: it holds pure
    computation only, so its time is computation time, kept apart from waiting time. Nested
    blocks count separately."""
    ledger = Ledger()
    token = _active.set(ledger)
    started = time.perf_counter()
    try:
        yield ledger
    finally:
        ledger.seconds += time.perf_counter() - started
        _active.reset(token)


def table_notation(ledger: Ledger, origin: Origin) -> str:
    """A ledger in Table 1's notation, e.g. ``2Th + 1Ts``; ``0`` when empty."""
    terms = [
        f"{ledger[(operation, origin)]}{operation.value}"
        for operation in (
            Operation.POINT_MULTIPLICATION,
            Operation.POINT_ADDITION,
            Operation.SYMMETRIC,
            Operation.HASH,
        )
        if ledger[(operation, origin)]
    ]
    return " + ".join(terms) or "0"
