from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from typing import ClassVar as _ClassVar, Optional as _Optional

DESCRIPTOR: _descriptor.FileDescriptor

class GetResultsRequest(_message.Message):
    __slots__ = ("m1",)
    M1_FIELD_NUMBER: _ClassVar[int]
    m1: bytes
    def __init__(self, m1: _Optional[bytes] = ...) -> None: ...

class GetResultsResponse(_message.Message):
    __slots__ = ("sealed_report", "mec_certificate", "signature", "m4")
    SEALED_REPORT_FIELD_NUMBER: _ClassVar[int]
    MEC_CERTIFICATE_FIELD_NUMBER: _ClassVar[int]
    SIGNATURE_FIELD_NUMBER: _ClassVar[int]
    M4_FIELD_NUMBER: _ClassVar[int]
    sealed_report: bytes
    mec_certificate: bytes
    signature: bytes
    m4: bytes
    def __init__(self, sealed_report: _Optional[bytes] = ..., mec_certificate: _Optional[bytes] = ..., signature: _Optional[bytes] = ..., m4: _Optional[bytes] = ...) -> None: ...
