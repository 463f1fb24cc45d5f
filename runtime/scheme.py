"""Which key agreement a testbed's devices run (``--scheme``): the paper's scheme or the
public-key baseline [36] that the paper compares it with.

Every role process takes ``--scheme`` (default ``braeken2021``). The TTP and the MEC serve that
scheme's device key-agreement service and the UE's devices run it; all three must agree. Phases 5
and 6 (users and the MEC) run the anonymous key agreement of ``core.anonymous_agreement``
whatever the scheme; with ``baseline36`` the devices run it too, under the purpose
``DEVICE_SESSION``.
"""

from __future__ import annotations

import enum

from mec5g.v1 import scheme_pb2

# Data sessions agreed by [36] derive their traffic keys under this version (core.data_channel).
BASELINE36_DATA_VERSION = int(scheme_pb2.SCHEME_VERSION_BASELINE36_V1)


class Scheme(enum.Enum):
    """The device key agreement of a testbed, by the name ``--scheme`` and the benchmarks use."""

    BRAEKEN2021 = "braeken2021"  # the paper's scheme (SPEC.md), with its records and credentials
    BASELINE36 = "baseline36"  # [36] reconstructed: ECQV identities, TTP-assisted, anonymous

    @classmethod
    def from_label(cls, label: str) -> Scheme:
        try:
            return cls(label)
        except ValueError:
            known = ", ".join(scheme.value for scheme in cls)
            raise ValueError(f"unknown scheme {label!r}: one of {known}") from None
