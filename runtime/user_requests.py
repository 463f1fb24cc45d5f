"""What the TTP, the MEC and the user app share about signed requests and sealed answers.

Both ends must agree byte for byte on the name a signature covers (the full gRPC method name)
and on the associated data of sealed credentials; both convert access policies to and from the
wire. Kept here so that the TTP and the UE side never import each other.
"""

from __future__ import annotations

from mec5g.core.profiles import AccessPolicy
from mec5g.v1 import emergency_pb2, monitoring_pb2

NONCE_BYTES = 16
# The seal purpose of the TTP's emergency context for a watcher (phase 6).
CONTEXT_PURPOSE = "emergency-context"
# The service whose requests are signed by users (phase 5's requests are signed inside the
# anonymous key agreement instead).
_SIGNED_SERVICE = monitoring_pb2.DESCRIPTOR.services_by_name["MonitoringService"]


def method_name(method: str) -> str:
    """The full gRPC method name a signature covers, e.g. /mec5g.v1.MonitoringService/AddDevices."""
    if method in _SIGNED_SERVICE.methods_by_name:
        return f"/{_SIGNED_SERVICE.full_name}/{method}"
    raise KeyError(f"no signed request method {method!r}")


def emergency_method() -> str:
    """What a MEC node's emergency signature covers as its method (docs/protocol.md)."""
    service = emergency_pb2.DESCRIPTOR.services_by_name["EmergencyService"]
    return f"/{service.full_name}/RaiseEmergency"


def sealing_context(method: str, patient_id: str, analysis_id: str) -> bytes:
    """The associated data of sealed credentials: they belong to this answer only."""
    return b"\x00".join((method_name(method).encode(), patient_id.encode(), analysis_id.encode()))


def policy_from_wire(access: monitoring_pb2.AccessPolicy) -> AccessPolicy:
    return AccessPolicy.checked(access.doctors, access.hospitals, access.expertise)


def policy_to_wire(policy: AccessPolicy) -> monitoring_pb2.AccessPolicy:
    return monitoring_pb2.AccessPolicy(
        doctors=policy.doctors, hospitals=policy.hospitals, expertise=policy.expertise
    )
