from mec5g.v1 import vitals_pb2 as _vitals_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class WatchRequest(_message.Message):
    __slots__ = ("m1",)
    M1_FIELD_NUMBER: _ClassVar[int]
    m1: bytes
    def __init__(self, m1: _Optional[bytes] = ...) -> None: ...

class WatchResponse(_message.Message):
    __slots__ = ("sealed_alert", "mec_certificate", "signature", "sealed_context", "m4", "sequence")
    SEALED_ALERT_FIELD_NUMBER: _ClassVar[int]
    MEC_CERTIFICATE_FIELD_NUMBER: _ClassVar[int]
    SIGNATURE_FIELD_NUMBER: _ClassVar[int]
    SEALED_CONTEXT_FIELD_NUMBER: _ClassVar[int]
    M4_FIELD_NUMBER: _ClassVar[int]
    SEQUENCE_FIELD_NUMBER: _ClassVar[int]
    sealed_alert: bytes
    mec_certificate: bytes
    signature: bytes
    sealed_context: bytes
    m4: bytes
    sequence: int
    def __init__(self, sealed_alert: _Optional[bytes] = ..., mec_certificate: _Optional[bytes] = ..., signature: _Optional[bytes] = ..., sealed_context: _Optional[bytes] = ..., m4: _Optional[bytes] = ..., sequence: _Optional[int] = ...) -> None: ...

class Emergency(_message.Message):
    __slots__ = ("pseudonym", "level", "aggregate", "points", "raised_at_unix_ms")
    class PointsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: int
        def __init__(self, key: _Optional[str] = ..., value: _Optional[int] = ...) -> None: ...
    PSEUDONYM_FIELD_NUMBER: _ClassVar[int]
    LEVEL_FIELD_NUMBER: _ClassVar[int]
    AGGREGATE_FIELD_NUMBER: _ClassVar[int]
    POINTS_FIELD_NUMBER: _ClassVar[int]
    RAISED_AT_UNIX_MS_FIELD_NUMBER: _ClassVar[int]
    pseudonym: str
    level: _vitals_pb2.AlertLevel
    aggregate: int
    points: _containers.ScalarMap[str, int]
    raised_at_unix_ms: int
    def __init__(self, pseudonym: _Optional[str] = ..., level: _Optional[_Union[_vitals_pb2.AlertLevel, str]] = ..., aggregate: _Optional[int] = ..., points: _Optional[_Mapping[str, int]] = ..., raised_at_unix_ms: _Optional[int] = ...) -> None: ...
