from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from typing import ClassVar as _ClassVar, Optional as _Optional

DESCRIPTOR: _descriptor.FileDescriptor

class GetResultsRequest(_message.Message):
    __slots__ = ("grant", "grant_signature")
    GRANT_FIELD_NUMBER: _ClassVar[int]
    GRANT_SIGNATURE_FIELD_NUMBER: _ClassVar[int]
    grant: bytes
    grant_signature: bytes
    def __init__(self, grant: _Optional[bytes] = ..., grant_signature: _Optional[bytes] = ...) -> None: ...

class GetResultsResponse(_message.Message):
    __slots__ = ("sealed_report", "mec_certificate", "signature")
    SEALED_REPORT_FIELD_NUMBER: _ClassVar[int]
    MEC_CERTIFICATE_FIELD_NUMBER: _ClassVar[int]
    SIGNATURE_FIELD_NUMBER: _ClassVar[int]
    sealed_report: bytes
    mec_certificate: bytes
    signature: bytes
    def __init__(self, sealed_report: _Optional[bytes] = ..., mec_certificate: _Optional[bytes] = ..., signature: _Optional[bytes] = ...) -> None: ...
