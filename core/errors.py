"""What can go wrong in the scheme, in two kinds that the transport maps differently.

``MalformedField`` is the caller's mistake and may say exactly what was wrong (gRPC
INVALID_ARGUMENT). ``AuthenticationFailed`` must not: its ``reason`` is for the TTP's own logs
and metrics only, and the transport answers every instance with one fixed status and message
(SPEC.md "Uniform failure").
"""

from __future__ import annotations

import enum


class SchemeError(Exception):
    """Base of every error the core raises on purpose."""


class MalformedInput(SchemeError):
    """Input that can never be valid (a size out of range, an unknown code): the caller's
    mistake, said exactly. ``field`` names the input, the message what is allowed."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


class MalformedField(MalformedInput):
    """A field has the wrong length or is missing."""

    def __init__(self, field: str, expected_bytes: int, actual_bytes: int) -> None:
        super().__init__(
            field,
            f"{field} must be exactly {expected_bytes} bytes ({expected_bytes * 8} bits), "
            f"got {actual_bytes}",
        )
        self.expected_bytes = expected_bytes
        self.actual_bytes = actual_bytes


class RefusalReason(enum.Enum):
    """Why the TTP refused a request. Never sent to the requester."""

    UNKNOWN_DEVICE = "unknown_device"
    UNKNOWN_MEC = "unknown_mec"
    BAD_DEVICE_HASH = "bad_device_hash"
    BAD_MEC_HASH = "bad_mec_hash"
    STALE_DEVICE_COUNTER = "stale_device_counter"
    STALE_MEC_COUNTER = "stale_mec_counter"
    VERSION_MISMATCH = "version_mismatch"
    SAME_RECORD = "same_record"


class AuthenticationFailed(SchemeError):
    """A message failed authentication. The reason stays on the side that detected it."""

    def __init__(self, reason: RefusalReason | str) -> None:
        super().__init__("authentication failed")
        self.reason = reason.value if isinstance(reason, RefusalReason) else reason


class InvalidField(SchemeError):
    """A field has the right size but a value that cannot be used (not a point, not UTF-8)."""

    def __init__(self, field: str, expected: str) -> None:
        super().__init__(f"{field} must be {expected}")
        self.field = field
        self.expected = expected
