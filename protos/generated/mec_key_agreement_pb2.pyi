from mec5g.v1 import scheme_pb2 as _scheme_pb2
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class AgreeRequest(_message.Message):
    __slots__ = ("version", "m1", "handover_indication")
    VERSION_FIELD_NUMBER: _ClassVar[int]
    M1_FIELD_NUMBER: _ClassVar[int]
    HANDOVER_INDICATION_FIELD_NUMBER: _ClassVar[int]
    version: _scheme_pb2.SchemeVersion
    m1: bytes
    handover_indication: bytes
    def __init__(self, version: _Optional[_Union[_scheme_pb2.SchemeVersion, str]] = ..., m1: _Optional[bytes] = ..., handover_indication: _Optional[bytes] = ...) -> None: ...

class AgreeResponse(_message.Message):
    __slots__ = ("version", "m4")
    VERSION_FIELD_NUMBER: _ClassVar[int]
    M4_FIELD_NUMBER: _ClassVar[int]
    version: _scheme_pb2.SchemeVersion
    m4: bytes
    def __init__(self, version: _Optional[_Union[_scheme_pb2.SchemeVersion, str]] = ..., m4: _Optional[bytes] = ...) -> None: ...
