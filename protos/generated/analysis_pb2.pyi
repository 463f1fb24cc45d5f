from mec5g.v1 import vitals_pb2 as _vitals_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class ListScoresRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class ListScoresResponse(_message.Message):
    __slots__ = ("analyses",)
    ANALYSES_FIELD_NUMBER: _ClassVar[int]
    analyses: _containers.RepeatedCompositeFieldContainer[ScoreSummary]
    def __init__(self, analyses: _Optional[_Iterable[_Union[ScoreSummary, _Mapping]]] = ...) -> None: ...

class ScoreSummary(_message.Message):
    __slots__ = ("pseudonym", "news2", "records")
    PSEUDONYM_FIELD_NUMBER: _ClassVar[int]
    NEWS2_FIELD_NUMBER: _ClassVar[int]
    RECORDS_FIELD_NUMBER: _ClassVar[int]
    pseudonym: str
    news2: News2Score
    records: int
    def __init__(self, pseudonym: _Optional[str] = ..., news2: _Optional[_Union[News2Score, _Mapping]] = ..., records: _Optional[int] = ...) -> None: ...

class GetAnalysisRequest(_message.Message):
    __slots__ = ("pseudonym",)
    PSEUDONYM_FIELD_NUMBER: _ClassVar[int]
    pseudonym: str
    def __init__(self, pseudonym: _Optional[str] = ...) -> None: ...

class GetAnalysisResponse(_message.Message):
    __slots__ = ("pseudonym", "spo2_scale", "news2", "vital_signs", "check_in", "score_history", "records")
    PSEUDONYM_FIELD_NUMBER: _ClassVar[int]
    SPO2_SCALE_FIELD_NUMBER: _ClassVar[int]
    NEWS2_FIELD_NUMBER: _ClassVar[int]
    VITAL_SIGNS_FIELD_NUMBER: _ClassVar[int]
    CHECK_IN_FIELD_NUMBER: _ClassVar[int]
    SCORE_HISTORY_FIELD_NUMBER: _ClassVar[int]
    RECORDS_FIELD_NUMBER: _ClassVar[int]
    pseudonym: str
    spo2_scale: _vitals_pb2.SpO2Scale
    news2: News2Score
    vital_signs: _containers.RepeatedCompositeFieldContainer[VitalSignTrend]
    check_in: CheckInState
    score_history: _containers.RepeatedCompositeFieldContainer[ScorePoint]
    records: int
    def __init__(self, pseudonym: _Optional[str] = ..., spo2_scale: _Optional[_Union[_vitals_pb2.SpO2Scale, str]] = ..., news2: _Optional[_Union[News2Score, _Mapping]] = ..., vital_signs: _Optional[_Iterable[_Union[VitalSignTrend, _Mapping]]] = ..., check_in: _Optional[_Union[CheckInState, _Mapping]] = ..., score_history: _Optional[_Iterable[_Union[ScorePoint, _Mapping]]] = ..., records: _Optional[int] = ...) -> None: ...

class News2Score(_message.Message):
    __slots__ = ("aggregate", "level", "complete", "missing", "stale", "points")
    class PointsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: int
        def __init__(self, key: _Optional[str] = ..., value: _Optional[int] = ...) -> None: ...
    AGGREGATE_FIELD_NUMBER: _ClassVar[int]
    LEVEL_FIELD_NUMBER: _ClassVar[int]
    COMPLETE_FIELD_NUMBER: _ClassVar[int]
    MISSING_FIELD_NUMBER: _ClassVar[int]
    STALE_FIELD_NUMBER: _ClassVar[int]
    POINTS_FIELD_NUMBER: _ClassVar[int]
    aggregate: int
    level: _vitals_pb2.AlertLevel
    complete: bool
    missing: _containers.RepeatedScalarFieldContainer[str]
    stale: _containers.RepeatedScalarFieldContainer[str]
    points: _containers.ScalarMap[str, int]
    def __init__(self, aggregate: _Optional[int] = ..., level: _Optional[_Union[_vitals_pb2.AlertLevel, str]] = ..., complete: _Optional[bool] = ..., missing: _Optional[_Iterable[str]] = ..., stale: _Optional[_Iterable[str]] = ..., points: _Optional[_Mapping[str, int]] = ...) -> None: ...

class VitalSignTrend(_message.Message):
    __slots__ = ("kind", "latest", "age_seconds", "stale", "samples", "mean", "slope_per_hour")
    KIND_FIELD_NUMBER: _ClassVar[int]
    LATEST_FIELD_NUMBER: _ClassVar[int]
    AGE_SECONDS_FIELD_NUMBER: _ClassVar[int]
    STALE_FIELD_NUMBER: _ClassVar[int]
    SAMPLES_FIELD_NUMBER: _ClassVar[int]
    MEAN_FIELD_NUMBER: _ClassVar[int]
    SLOPE_PER_HOUR_FIELD_NUMBER: _ClassVar[int]
    kind: _vitals_pb2.SensorKind
    latest: _containers.RepeatedScalarFieldContainer[float]
    age_seconds: float
    stale: bool
    samples: int
    mean: float
    slope_per_hour: float
    def __init__(self, kind: _Optional[_Union[_vitals_pb2.SensorKind, str]] = ..., latest: _Optional[_Iterable[float]] = ..., age_seconds: _Optional[float] = ..., stale: _Optional[bool] = ..., samples: _Optional[int] = ..., mean: _Optional[float] = ..., slope_per_hour: _Optional[float] = ...) -> None: ...

class CheckInState(_message.Message):
    __slots__ = ("consciousness", "supplemental_oxygen", "age_seconds", "stale")
    CONSCIOUSNESS_FIELD_NUMBER: _ClassVar[int]
    SUPPLEMENTAL_OXYGEN_FIELD_NUMBER: _ClassVar[int]
    AGE_SECONDS_FIELD_NUMBER: _ClassVar[int]
    STALE_FIELD_NUMBER: _ClassVar[int]
    consciousness: _vitals_pb2.Consciousness
    supplemental_oxygen: bool
    age_seconds: float
    stale: bool
    def __init__(self, consciousness: _Optional[_Union[_vitals_pb2.Consciousness, str]] = ..., supplemental_oxygen: _Optional[bool] = ..., age_seconds: _Optional[float] = ..., stale: _Optional[bool] = ...) -> None: ...

class ScorePoint(_message.Message):
    __slots__ = ("age_seconds", "aggregate", "level")
    AGE_SECONDS_FIELD_NUMBER: _ClassVar[int]
    AGGREGATE_FIELD_NUMBER: _ClassVar[int]
    LEVEL_FIELD_NUMBER: _ClassVar[int]
    age_seconds: float
    aggregate: int
    level: _vitals_pb2.AlertLevel
    def __init__(self, age_seconds: _Optional[float] = ..., aggregate: _Optional[int] = ..., level: _Optional[_Union[_vitals_pb2.AlertLevel, str]] = ...) -> None: ...
