from mec5g.v1 import scheme_pb2 as _scheme_pb2
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class VerifyRequest(_message.Message):
    __slots__ = ("version", "m2", "handover_indication")
    VERSION_FIELD_NUMBER: _ClassVar[int]
    M2_FIELD_NUMBER: _ClassVar[int]
    HANDOVER_INDICATION_FIELD_NUMBER: _ClassVar[int]
    version: _scheme_pb2.SchemeVersion
    m2: bytes
    handover_indication: bytes
    def __init__(self, version: _Optional[_Union[_scheme_pb2.SchemeVersion, str]] = ..., m2: _Optional[bytes] = ..., handover_indication: _Optional[bytes] = ...) -> None: ...

class VerifyResponse(_message.Message):
    __slots__ = ("version", "m3", "analysis_handle", "analysis_settings", "transfer_ticket")
    VERSION_FIELD_NUMBER: _ClassVar[int]
    M3_FIELD_NUMBER: _ClassVar[int]
    ANALYSIS_HANDLE_FIELD_NUMBER: _ClassVar[int]
    ANALYSIS_SETTINGS_FIELD_NUMBER: _ClassVar[int]
    TRANSFER_TICKET_FIELD_NUMBER: _ClassVar[int]
    version: _scheme_pb2.SchemeVersion
    m3: bytes
    analysis_handle: bytes
    analysis_settings: bytes
    transfer_ticket: bytes
    def __init__(self, version: _Optional[_Union[_scheme_pb2.SchemeVersion, str]] = ..., m3: _Optional[bytes] = ..., analysis_handle: _Optional[bytes] = ..., analysis_settings: _Optional[bytes] = ..., transfer_ticket: _Optional[bytes] = ...) -> None: ...
