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
    __slots__ = ()
    def __init__(self) -> None: ...

class StatusResponse(_message.Message):
    __slots__ = ("mec_target", "devices", "attaches_succeeded", "attaches_failed")
    MEC_TARGET_FIELD_NUMBER: _ClassVar[int]
    DEVICES_FIELD_NUMBER: _ClassVar[int]
    ATTACHES_SUCCEEDED_FIELD_NUMBER: _ClassVar[int]
    ATTACHES_FAILED_FIELD_NUMBER: _ClassVar[int]
    mec_target: str
    devices: _containers.RepeatedCompositeFieldContainer[DeviceStatus]
    attaches_succeeded: int
    attaches_failed: int
    def __init__(self, mec_target: _Optional[str] = ..., devices: _Optional[_Iterable[_Union[DeviceStatus, _Mapping]]] = ..., attaches_succeeded: _Optional[int] = ..., attaches_failed: _Optional[int] = ...) -> None: ...

class DeviceStatus(_message.Message):
    __slots__ = ("device", "credential_epoch", "did_fingerprint", "attempt_counter", "last_outcome", "last_sk_fingerprint")
    DEVICE_FIELD_NUMBER: _ClassVar[int]
    CREDENTIAL_EPOCH_FIELD_NUMBER: _ClassVar[int]
    DID_FINGERPRINT_FIELD_NUMBER: _ClassVar[int]
    ATTEMPT_COUNTER_FIELD_NUMBER: _ClassVar[int]
    LAST_OUTCOME_FIELD_NUMBER: _ClassVar[int]
    LAST_SK_FINGERPRINT_FIELD_NUMBER: _ClassVar[int]
    device: str
    credential_epoch: int
    did_fingerprint: str
    attempt_counter: int
    last_outcome: AttachOutcome
    last_sk_fingerprint: str
    def __init__(self, device: _Optional[str] = ..., credential_epoch: _Optional[int] = ..., did_fingerprint: _Optional[str] = ..., attempt_counter: _Optional[int] = ..., last_outcome: _Optional[_Union[AttachOutcome, str]] = ..., last_sk_fingerprint: _Optional[str] = ...) -> None: ...
