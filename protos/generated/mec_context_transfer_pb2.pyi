from mec5g.v1 import vitals_pb2 as _vitals_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class TransferContextRequest(_message.Message):
    __slots__ = ("ticket", "ticket_signature", "target_key", "target_certificate", "target_signature")
    TICKET_FIELD_NUMBER: _ClassVar[int]
    TICKET_SIGNATURE_FIELD_NUMBER: _ClassVar[int]
    TARGET_KEY_FIELD_NUMBER: _ClassVar[int]
    TARGET_CERTIFICATE_FIELD_NUMBER: _ClassVar[int]
    TARGET_SIGNATURE_FIELD_NUMBER: _ClassVar[int]
    ticket: bytes
    ticket_signature: bytes
    target_key: bytes
    target_certificate: bytes
    target_signature: bytes
    def __init__(self, ticket: _Optional[bytes] = ..., ticket_signature: _Optional[bytes] = ..., target_key: _Optional[bytes] = ..., target_certificate: _Optional[bytes] = ..., target_signature: _Optional[bytes] = ...) -> None: ...

class TransferContextResponse(_message.Message):
    __slots__ = ("sealed_context", "source_certificate", "source_signature")
    SEALED_CONTEXT_FIELD_NUMBER: _ClassVar[int]
    SOURCE_CERTIFICATE_FIELD_NUMBER: _ClassVar[int]
    SOURCE_SIGNATURE_FIELD_NUMBER: _ClassVar[int]
    sealed_context: bytes
    source_certificate: bytes
    source_signature: bytes
    def __init__(self, sealed_context: _Optional[bytes] = ..., source_certificate: _Optional[bytes] = ..., source_signature: _Optional[bytes] = ...) -> None: ...

class AnalysisContext(_message.Message):
    __slots__ = ("spo2_scale", "records", "series", "check_in", "history", "emergency_level")
    SPO2_SCALE_FIELD_NUMBER: _ClassVar[int]
    RECORDS_FIELD_NUMBER: _ClassVar[int]
    SERIES_FIELD_NUMBER: _ClassVar[int]
    CHECK_IN_FIELD_NUMBER: _ClassVar[int]
    HISTORY_FIELD_NUMBER: _ClassVar[int]
    EMERGENCY_LEVEL_FIELD_NUMBER: _ClassVar[int]
    spo2_scale: _vitals_pb2.SpO2Scale
    records: int
    series: _containers.RepeatedCompositeFieldContainer[ContextSeries]
    check_in: ContextCheckIn
    history: _containers.RepeatedCompositeFieldContainer[ContextEvaluation]
    emergency_level: _vitals_pb2.AlertLevel
    def __init__(self, spo2_scale: _Optional[_Union[_vitals_pb2.SpO2Scale, str]] = ..., records: _Optional[int] = ..., series: _Optional[_Iterable[_Union[ContextSeries, _Mapping]]] = ..., check_in: _Optional[_Union[ContextCheckIn, _Mapping]] = ..., history: _Optional[_Iterable[_Union[ContextEvaluation, _Mapping]]] = ..., emergency_level: _Optional[_Union[_vitals_pb2.AlertLevel, str]] = ...) -> None: ...

class ContextSeries(_message.Message):
    __slots__ = ("kind", "samples")
    KIND_FIELD_NUMBER: _ClassVar[int]
    SAMPLES_FIELD_NUMBER: _ClassVar[int]
    kind: _vitals_pb2.SensorKind
    samples: _containers.RepeatedCompositeFieldContainer[ContextSample]
    def __init__(self, kind: _Optional[_Union[_vitals_pb2.SensorKind, str]] = ..., samples: _Optional[_Iterable[_Union[ContextSample, _Mapping]]] = ...) -> None: ...

class ContextSample(_message.Message):
    __slots__ = ("age_seconds", "values")
    AGE_SECONDS_FIELD_NUMBER: _ClassVar[int]
    VALUES_FIELD_NUMBER: _ClassVar[int]
    age_seconds: float
    values: _containers.RepeatedScalarFieldContainer[float]
    def __init__(self, age_seconds: _Optional[float] = ..., values: _Optional[_Iterable[float]] = ...) -> None: ...

class ContextCheckIn(_message.Message):
    __slots__ = ("age_seconds", "consciousness", "supplemental_oxygen", "taken_at")
    AGE_SECONDS_FIELD_NUMBER: _ClassVar[int]
    CONSCIOUSNESS_FIELD_NUMBER: _ClassVar[int]
    SUPPLEMENTAL_OXYGEN_FIELD_NUMBER: _ClassVar[int]
    TAKEN_AT_FIELD_NUMBER: _ClassVar[int]
    age_seconds: float
    consciousness: _vitals_pb2.Consciousness
    supplemental_oxygen: bool
    taken_at: float
    def __init__(self, age_seconds: _Optional[float] = ..., consciousness: _Optional[_Union[_vitals_pb2.Consciousness, str]] = ..., supplemental_oxygen: _Optional[bool] = ..., taken_at: _Optional[float] = ...) -> None: ...

class ContextEvaluation(_message.Message):
    __slots__ = ("age_seconds", "points", "missing", "stale")
    class PointsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: int
        def __init__(self, key: _Optional[str] = ..., value: _Optional[int] = ...) -> None: ...
    AGE_SECONDS_FIELD_NUMBER: _ClassVar[int]
    POINTS_FIELD_NUMBER: _ClassVar[int]
    MISSING_FIELD_NUMBER: _ClassVar[int]
    STALE_FIELD_NUMBER: _ClassVar[int]
    age_seconds: float
    points: _containers.ScalarMap[str, int]
    missing: _containers.RepeatedScalarFieldContainer[str]
    stale: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, age_seconds: _Optional[float] = ..., points: _Optional[_Mapping[str, int]] = ..., missing: _Optional[_Iterable[str]] = ..., stale: _Optional[_Iterable[str]] = ...) -> None: ...
