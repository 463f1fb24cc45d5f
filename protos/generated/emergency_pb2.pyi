from mec5g.v1 import vitals_pb2 as _vitals_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class EmergencyBody(_message.Message):
    __slots__ = ("nonce", "raised_at_unix_ms", "pseudonym", "level", "aggregate", "watch_ids")
    NONCE_FIELD_NUMBER: _ClassVar[int]
    RAISED_AT_UNIX_MS_FIELD_NUMBER: _ClassVar[int]
    PSEUDONYM_FIELD_NUMBER: _ClassVar[int]
    LEVEL_FIELD_NUMBER: _ClassVar[int]
    AGGREGATE_FIELD_NUMBER: _ClassVar[int]
    WATCH_IDS_FIELD_NUMBER: _ClassVar[int]
    nonce: bytes
    raised_at_unix_ms: int
    pseudonym: bytes
    level: _vitals_pb2.AlertLevel
    aggregate: int
    watch_ids: _containers.RepeatedScalarFieldContainer[bytes]
    def __init__(self, nonce: _Optional[bytes] = ..., raised_at_unix_ms: _Optional[int] = ..., pseudonym: _Optional[bytes] = ..., level: _Optional[_Union[_vitals_pb2.AlertLevel, str]] = ..., aggregate: _Optional[int] = ..., watch_ids: _Optional[_Iterable[bytes]] = ...) -> None: ...

class RaiseEmergencyRequest(_message.Message):
    __slots__ = ("node", "body", "signature")
    NODE_FIELD_NUMBER: _ClassVar[int]
    BODY_FIELD_NUMBER: _ClassVar[int]
    SIGNATURE_FIELD_NUMBER: _ClassVar[int]
    node: str
    body: bytes
    signature: bytes
    def __init__(self, node: _Optional[str] = ..., body: _Optional[bytes] = ..., signature: _Optional[bytes] = ...) -> None: ...

class RaiseEmergencyResponse(_message.Message):
    __slots__ = ("involved",)
    INVOLVED_FIELD_NUMBER: _ClassVar[int]
    involved: _containers.RepeatedCompositeFieldContainer[InvolvedWatcher]
    def __init__(self, involved: _Optional[_Iterable[_Union[InvolvedWatcher, _Mapping]]] = ...) -> None: ...

class InvolvedWatcher(_message.Message):
    __slots__ = ("watch_id", "sealed_context")
    WATCH_ID_FIELD_NUMBER: _ClassVar[int]
    SEALED_CONTEXT_FIELD_NUMBER: _ClassVar[int]
    watch_id: bytes
    sealed_context: bytes
    def __init__(self, watch_id: _Optional[bytes] = ..., sealed_context: _Optional[bytes] = ...) -> None: ...

class EmergencyContext(_message.Message):
    __slots__ = ("analysis_id", "patient_id", "allergies", "blood_group")
    ANALYSIS_ID_FIELD_NUMBER: _ClassVar[int]
    PATIENT_ID_FIELD_NUMBER: _ClassVar[int]
    ALLERGIES_FIELD_NUMBER: _ClassVar[int]
    BLOOD_GROUP_FIELD_NUMBER: _ClassVar[int]
    analysis_id: str
    patient_id: str
    allergies: _containers.RepeatedScalarFieldContainer[str]
    blood_group: str
    def __init__(self, analysis_id: _Optional[str] = ..., patient_id: _Optional[str] = ..., allergies: _Optional[_Iterable[str]] = ..., blood_group: _Optional[str] = ...) -> None: ...
