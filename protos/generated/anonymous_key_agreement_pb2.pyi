from mec5g.v1 import monitoring_pb2 as _monitoring_pb2
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class AnonymousPurpose(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    ANONYMOUS_PURPOSE_UNSPECIFIED: _ClassVar[AnonymousPurpose]
    ANONYMOUS_PURPOSE_DEVICE_SESSION: _ClassVar[AnonymousPurpose]
    ANONYMOUS_PURPOSE_RESULTS: _ClassVar[AnonymousPurpose]
    ANONYMOUS_PURPOSE_WATCH: _ClassVar[AnonymousPurpose]
ANONYMOUS_PURPOSE_UNSPECIFIED: AnonymousPurpose
ANONYMOUS_PURPOSE_DEVICE_SESSION: AnonymousPurpose
ANONYMOUS_PURPOSE_RESULTS: AnonymousPurpose
ANONYMOUS_PURPOSE_WATCH: AnonymousPurpose

class VouchRequest(_message.Message):
    __slots__ = ("purpose", "m2")
    PURPOSE_FIELD_NUMBER: _ClassVar[int]
    M2_FIELD_NUMBER: _ClassVar[int]
    purpose: AnonymousPurpose
    m2: bytes
    def __init__(self, purpose: _Optional[_Union[AnonymousPurpose, str]] = ..., m2: _Optional[bytes] = ...) -> None: ...

class VouchResponse(_message.Message):
    __slots__ = ("m3",)
    M3_FIELD_NUMBER: _ClassVar[int]
    m3: bytes
    def __init__(self, m3: _Optional[bytes] = ...) -> None: ...

class AgreeAnonymouslyRequest(_message.Message):
    __slots__ = ("m1",)
    M1_FIELD_NUMBER: _ClassVar[int]
    m1: bytes
    def __init__(self, m1: _Optional[bytes] = ...) -> None: ...

class AgreeAnonymouslyResponse(_message.Message):
    __slots__ = ("m4",)
    M4_FIELD_NUMBER: _ClassVar[int]
    m4: bytes
    def __init__(self, m4: _Optional[bytes] = ...) -> None: ...

class AnonymousRequestBody(_message.Message):
    __slots__ = ("header", "analysis_id")
    HEADER_FIELD_NUMBER: _ClassVar[int]
    ANALYSIS_ID_FIELD_NUMBER: _ClassVar[int]
    header: _monitoring_pb2.RequestHeader
    analysis_id: str
    def __init__(self, header: _Optional[_Union[_monitoring_pb2.RequestHeader, _Mapping]] = ..., analysis_id: _Optional[str] = ...) -> None: ...
