from mec5g.v1 import monitoring_pb2 as _monitoring_pb2
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class GrantPurpose(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    GRANT_PURPOSE_UNSPECIFIED: _ClassVar[GrantPurpose]
    GRANT_PURPOSE_RESULTS: _ClassVar[GrantPurpose]
    GRANT_PURPOSE_WATCH: _ClassVar[GrantPurpose]
GRANT_PURPOSE_UNSPECIFIED: GrantPurpose
GRANT_PURPOSE_RESULTS: GrantPurpose
GRANT_PURPOSE_WATCH: GrantPurpose

class GrantAccessBody(_message.Message):
    __slots__ = ("header", "analysis_id", "mec_node", "requester_key", "purpose")
    HEADER_FIELD_NUMBER: _ClassVar[int]
    ANALYSIS_ID_FIELD_NUMBER: _ClassVar[int]
    MEC_NODE_FIELD_NUMBER: _ClassVar[int]
    REQUESTER_KEY_FIELD_NUMBER: _ClassVar[int]
    PURPOSE_FIELD_NUMBER: _ClassVar[int]
    header: _monitoring_pb2.RequestHeader
    analysis_id: str
    mec_node: str
    requester_key: bytes
    purpose: GrantPurpose
    def __init__(self, header: _Optional[_Union[_monitoring_pb2.RequestHeader, _Mapping]] = ..., analysis_id: _Optional[str] = ..., mec_node: _Optional[str] = ..., requester_key: _Optional[bytes] = ..., purpose: _Optional[_Union[GrantPurpose, str]] = ...) -> None: ...

class GrantAccessRequest(_message.Message):
    __slots__ = ("signed",)
    SIGNED_FIELD_NUMBER: _ClassVar[int]
    signed: _monitoring_pb2.SignedBody
    def __init__(self, signed: _Optional[_Union[_monitoring_pb2.SignedBody, _Mapping]] = ...) -> None: ...

class GrantAccessResponse(_message.Message):
    __slots__ = ("grant", "signature")
    GRANT_FIELD_NUMBER: _ClassVar[int]
    SIGNATURE_FIELD_NUMBER: _ClassVar[int]
    grant: bytes
    signature: bytes
    def __init__(self, grant: _Optional[bytes] = ..., signature: _Optional[bytes] = ...) -> None: ...
