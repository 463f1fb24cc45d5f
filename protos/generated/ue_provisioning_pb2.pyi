from mec5g.v1 import scheme_pb2 as _scheme_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class ProvisionedDevice(_message.Message):
    __slots__ = ("device", "did", "dk", "version")
    DEVICE_FIELD_NUMBER: _ClassVar[int]
    DID_FIELD_NUMBER: _ClassVar[int]
    DK_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    device: str
    did: bytes
    dk: bytes
    version: _scheme_pb2.SchemeVersion
    def __init__(self, device: _Optional[str] = ..., did: _Optional[bytes] = ..., dk: _Optional[bytes] = ..., version: _Optional[_Union[_scheme_pb2.SchemeVersion, str]] = ...) -> None: ...

class ProvisionRequest(_message.Message):
    __slots__ = ("devices",)
    DEVICES_FIELD_NUMBER: _ClassVar[int]
    devices: _containers.RepeatedCompositeFieldContainer[ProvisionedDevice]
    def __init__(self, devices: _Optional[_Iterable[_Union[ProvisionedDevice, _Mapping]]] = ...) -> None: ...

class ProvisionResponse(_message.Message):
    __slots__ = ("installed", "replaced")
    INSTALLED_FIELD_NUMBER: _ClassVar[int]
    REPLACED_FIELD_NUMBER: _ClassVar[int]
    installed: int
    replaced: int
    def __init__(self, installed: _Optional[int] = ..., replaced: _Optional[int] = ...) -> None: ...
