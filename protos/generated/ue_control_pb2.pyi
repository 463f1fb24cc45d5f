from mec5g.v1 import vitals_pb2 as _vitals_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class AttachOutcome(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    ATTACH_OUTCOME_UNSPECIFIED: _ClassVar[AttachOutcome]
    ATTACH_OUTCOME_SUCCESS: _ClassVar[AttachOutcome]
    ATTACH_OUTCOME_REFUSED: _ClassVar[AttachOutcome]
    ATTACH_OUTCOME_BAD_ANSWER: _ClassVar[AttachOutcome]
    ATTACH_OUTCOME_UNAVAILABLE: _ClassVar[AttachOutcome]
    ATTACH_OUTCOME_BUSY: _ClassVar[AttachOutcome]
ATTACH_OUTCOME_UNSPECIFIED: AttachOutcome
ATTACH_OUTCOME_SUCCESS: AttachOutcome
ATTACH_OUTCOME_REFUSED: AttachOutcome
ATTACH_OUTCOME_BAD_ANSWER: AttachOutcome
ATTACH_OUTCOME_UNAVAILABLE: AttachOutcome
ATTACH_OUTCOME_BUSY: AttachOutcome

class AttachRequest(_message.Message):
    __slots__ = ("device",)
    DEVICE_FIELD_NUMBER: _ClassVar[int]
    device: str
    def __init__(self, device: _Optional[str] = ...) -> None: ...

class AttachResponse(_message.Message):
    __slots__ = ("device", "outcome", "latency_us", "sk_fingerprint", "credential_epoch", "attempts")
    DEVICE_FIELD_NUMBER: _ClassVar[int]
    OUTCOME_FIELD_NUMBER: _ClassVar[int]
    LATENCY_US_FIELD_NUMBER: _ClassVar[int]
    SK_FINGERPRINT_FIELD_NUMBER: _ClassVar[int]
    CREDENTIAL_EPOCH_FIELD_NUMBER: _ClassVar[int]
    ATTEMPTS_FIELD_NUMBER: _ClassVar[int]
    device: str
    outcome: AttachOutcome
    latency_us: int
    sk_fingerprint: str
    credential_epoch: int
    attempts: int
    def __init__(self, device: _Optional[str] = ..., outcome: _Optional[_Union[AttachOutcome, str]] = ..., latency_us: _Optional[int] = ..., sk_fingerprint: _Optional[str] = ..., credential_epoch: _Optional[int] = ..., attempts: _Optional[int] = ...) -> None: ...

class StatusRequest(_message.Message):
    __slots__ = ("summary_only",)
    SUMMARY_ONLY_FIELD_NUMBER: _ClassVar[int]
    summary_only: bool
    def __init__(self, summary_only: _Optional[bool] = ...) -> None: ...

class StatusResponse(_message.Message):
    __slots__ = ("mec_target", "devices", "attaches_succeeded", "attaches_failed", "records_acknowledged", "records_failed", "sessions_renewed", "devices_total", "devices_waiting", "devices_attached", "devices_streaming")
    MEC_TARGET_FIELD_NUMBER: _ClassVar[int]
    DEVICES_FIELD_NUMBER: _ClassVar[int]
    ATTACHES_SUCCEEDED_FIELD_NUMBER: _ClassVar[int]
    ATTACHES_FAILED_FIELD_NUMBER: _ClassVar[int]
    RECORDS_ACKNOWLEDGED_FIELD_NUMBER: _ClassVar[int]
    RECORDS_FAILED_FIELD_NUMBER: _ClassVar[int]
    SESSIONS_RENEWED_FIELD_NUMBER: _ClassVar[int]
    DEVICES_TOTAL_FIELD_NUMBER: _ClassVar[int]
    DEVICES_WAITING_FIELD_NUMBER: _ClassVar[int]
    DEVICES_ATTACHED_FIELD_NUMBER: _ClassVar[int]
    DEVICES_STREAMING_FIELD_NUMBER: _ClassVar[int]
    mec_target: str
    devices: _containers.RepeatedCompositeFieldContainer[DeviceStatus]
    attaches_succeeded: int
    attaches_failed: int
    records_acknowledged: int
    records_failed: int
    sessions_renewed: int
    devices_total: int
    devices_waiting: int
    devices_attached: int
    devices_streaming: int
    def __init__(self, mec_target: _Optional[str] = ..., devices: _Optional[_Iterable[_Union[DeviceStatus, _Mapping]]] = ..., attaches_succeeded: _Optional[int] = ..., attaches_failed: _Optional[int] = ..., records_acknowledged: _Optional[int] = ..., records_failed: _Optional[int] = ..., sessions_renewed: _Optional[int] = ..., devices_total: _Optional[int] = ..., devices_waiting: _Optional[int] = ..., devices_attached: _Optional[int] = ..., devices_streaming: _Optional[int] = ...) -> None: ...

class DeviceStatus(_message.Message):
    __slots__ = ("device", "credential_epoch", "did_fingerprint", "attempt_counter", "last_outcome", "last_sk_fingerprint", "sensor", "patient", "session_active", "session_records", "session_age_seconds", "session_confirmed", "serving_mec_host", "terminal")
    DEVICE_FIELD_NUMBER: _ClassVar[int]
    CREDENTIAL_EPOCH_FIELD_NUMBER: _ClassVar[int]
    DID_FINGERPRINT_FIELD_NUMBER: _ClassVar[int]
    ATTEMPT_COUNTER_FIELD_NUMBER: _ClassVar[int]
    LAST_OUTCOME_FIELD_NUMBER: _ClassVar[int]
    LAST_SK_FINGERPRINT_FIELD_NUMBER: _ClassVar[int]
    SENSOR_FIELD_NUMBER: _ClassVar[int]
    PATIENT_FIELD_NUMBER: _ClassVar[int]
    SESSION_ACTIVE_FIELD_NUMBER: _ClassVar[int]
    SESSION_RECORDS_FIELD_NUMBER: _ClassVar[int]
    SESSION_AGE_SECONDS_FIELD_NUMBER: _ClassVar[int]
    SESSION_CONFIRMED_FIELD_NUMBER: _ClassVar[int]
    SERVING_MEC_HOST_FIELD_NUMBER: _ClassVar[int]
    TERMINAL_FIELD_NUMBER: _ClassVar[int]
    device: str
    credential_epoch: int
    did_fingerprint: str
    attempt_counter: int
    last_outcome: AttachOutcome
    last_sk_fingerprint: str
    sensor: _vitals_pb2.SensorKind
    patient: int
    session_active: bool
    session_records: int
    session_age_seconds: float
    session_confirmed: bool
    serving_mec_host: str
    terminal: str
    def __init__(self, device: _Optional[str] = ..., credential_epoch: _Optional[int] = ..., did_fingerprint: _Optional[str] = ..., attempt_counter: _Optional[int] = ..., last_outcome: _Optional[_Union[AttachOutcome, str]] = ..., last_sk_fingerprint: _Optional[str] = ..., sensor: _Optional[_Union[_vitals_pb2.SensorKind, str]] = ..., patient: _Optional[int] = ..., session_active: _Optional[bool] = ..., session_records: _Optional[int] = ..., session_age_seconds: _Optional[float] = ..., session_confirmed: _Optional[bool] = ..., serving_mec_host: _Optional[str] = ..., terminal: _Optional[str] = ...) -> None: ...

class CheckInRequest(_message.Message):
    __slots__ = ("patient", "consciousness", "supplemental_oxygen")
    PATIENT_FIELD_NUMBER: _ClassVar[int]
    CONSCIOUSNESS_FIELD_NUMBER: _ClassVar[int]
    SUPPLEMENTAL_OXYGEN_FIELD_NUMBER: _ClassVar[int]
    patient: int
    consciousness: _vitals_pb2.Consciousness
    supplemental_oxygen: bool
    def __init__(self, patient: _Optional[int] = ..., consciousness: _Optional[_Union[_vitals_pb2.Consciousness, str]] = ..., supplemental_oxygen: _Optional[bool] = ...) -> None: ...

class CheckInResponse(_message.Message):
    __slots__ = ("device", "acknowledged")
    DEVICE_FIELD_NUMBER: _ClassVar[int]
    ACKNOWLEDGED_FIELD_NUMBER: _ClassVar[int]
    device: str
    acknowledged: bool
    def __init__(self, device: _Optional[str] = ..., acknowledged: _Optional[bool] = ...) -> None: ...

class InjectEventRequest(_message.Message):
    __slots__ = ("patient", "event", "onset_seconds", "duration_seconds")
    PATIENT_FIELD_NUMBER: _ClassVar[int]
    EVENT_FIELD_NUMBER: _ClassVar[int]
    ONSET_SECONDS_FIELD_NUMBER: _ClassVar[int]
    DURATION_SECONDS_FIELD_NUMBER: _ClassVar[int]
    patient: int
    event: str
    onset_seconds: float
    duration_seconds: float
    def __init__(self, patient: _Optional[int] = ..., event: _Optional[str] = ..., onset_seconds: _Optional[float] = ..., duration_seconds: _Optional[float] = ...) -> None: ...

class InjectEventResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...
