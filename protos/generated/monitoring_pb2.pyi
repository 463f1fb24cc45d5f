from mec5g.v1 import scheme_pb2 as _scheme_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class SignedBody(_message.Message):
    __slots__ = ("user_id", "body", "signature")
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    BODY_FIELD_NUMBER: _ClassVar[int]
    SIGNATURE_FIELD_NUMBER: _ClassVar[int]
    user_id: str
    body: bytes
    signature: bytes
    def __init__(self, user_id: _Optional[str] = ..., body: _Optional[bytes] = ..., signature: _Optional[bytes] = ...) -> None: ...

class RequestHeader(_message.Message):
    __slots__ = ("nonce", "issued_at_unix_ms")
    NONCE_FIELD_NUMBER: _ClassVar[int]
    ISSUED_AT_UNIX_MS_FIELD_NUMBER: _ClassVar[int]
    nonce: bytes
    issued_at_unix_ms: int
    def __init__(self, nonce: _Optional[bytes] = ..., issued_at_unix_ms: _Optional[int] = ...) -> None: ...

class AccessPolicy(_message.Message):
    __slots__ = ("doctors", "hospitals", "expertise")
    DOCTORS_FIELD_NUMBER: _ClassVar[int]
    HOSPITALS_FIELD_NUMBER: _ClassVar[int]
    EXPERTISE_FIELD_NUMBER: _ClassVar[int]
    doctors: _containers.RepeatedScalarFieldContainer[str]
    hospitals: _containers.RepeatedScalarFieldContainer[str]
    expertise: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, doctors: _Optional[_Iterable[str]] = ..., hospitals: _Optional[_Iterable[str]] = ..., expertise: _Optional[_Iterable[str]] = ...) -> None: ...

class DeviceSpec(_message.Message):
    __slots__ = ("device", "access")
    DEVICE_FIELD_NUMBER: _ClassVar[int]
    ACCESS_FIELD_NUMBER: _ClassVar[int]
    device: str
    access: AccessPolicy
    def __init__(self, device: _Optional[str] = ..., access: _Optional[_Union[AccessPolicy, _Mapping]] = ...) -> None: ...

class CreateAnalysisBody(_message.Message):
    __slots__ = ("header", "devices", "access")
    HEADER_FIELD_NUMBER: _ClassVar[int]
    DEVICES_FIELD_NUMBER: _ClassVar[int]
    ACCESS_FIELD_NUMBER: _ClassVar[int]
    header: RequestHeader
    devices: _containers.RepeatedCompositeFieldContainer[DeviceSpec]
    access: AccessPolicy
    def __init__(self, header: _Optional[_Union[RequestHeader, _Mapping]] = ..., devices: _Optional[_Iterable[_Union[DeviceSpec, _Mapping]]] = ..., access: _Optional[_Union[AccessPolicy, _Mapping]] = ...) -> None: ...

class CreateAnalysisRequest(_message.Message):
    __slots__ = ("signed",)
    SIGNED_FIELD_NUMBER: _ClassVar[int]
    signed: SignedBody
    def __init__(self, signed: _Optional[_Union[SignedBody, _Mapping]] = ...) -> None: ...

class DeviceCredential(_message.Message):
    __slots__ = ("device", "did", "dk", "installed_at_unix_ms", "version")
    DEVICE_FIELD_NUMBER: _ClassVar[int]
    DID_FIELD_NUMBER: _ClassVar[int]
    DK_FIELD_NUMBER: _ClassVar[int]
    INSTALLED_AT_UNIX_MS_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    device: str
    did: bytes
    dk: bytes
    installed_at_unix_ms: int
    version: _scheme_pb2.SchemeVersion
    def __init__(self, device: _Optional[str] = ..., did: _Optional[bytes] = ..., dk: _Optional[bytes] = ..., installed_at_unix_ms: _Optional[int] = ..., version: _Optional[_Union[_scheme_pb2.SchemeVersion, str]] = ...) -> None: ...

class DeviceCredentialBundle(_message.Message):
    __slots__ = ("analysis_id", "patient_id", "devices")
    ANALYSIS_ID_FIELD_NUMBER: _ClassVar[int]
    PATIENT_ID_FIELD_NUMBER: _ClassVar[int]
    DEVICES_FIELD_NUMBER: _ClassVar[int]
    analysis_id: str
    patient_id: str
    devices: _containers.RepeatedCompositeFieldContainer[DeviceCredential]
    def __init__(self, analysis_id: _Optional[str] = ..., patient_id: _Optional[str] = ..., devices: _Optional[_Iterable[_Union[DeviceCredential, _Mapping]]] = ...) -> None: ...

class CreateAnalysisResponse(_message.Message):
    __slots__ = ("analysis_id", "created_at_unix_ms", "sealed_credentials")
    ANALYSIS_ID_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_UNIX_MS_FIELD_NUMBER: _ClassVar[int]
    SEALED_CREDENTIALS_FIELD_NUMBER: _ClassVar[int]
    analysis_id: str
    created_at_unix_ms: int
    sealed_credentials: bytes
    def __init__(self, analysis_id: _Optional[str] = ..., created_at_unix_ms: _Optional[int] = ..., sealed_credentials: _Optional[bytes] = ...) -> None: ...

class AddDevicesBody(_message.Message):
    __slots__ = ("header", "analysis_id", "devices")
    HEADER_FIELD_NUMBER: _ClassVar[int]
    ANALYSIS_ID_FIELD_NUMBER: _ClassVar[int]
    DEVICES_FIELD_NUMBER: _ClassVar[int]
    header: RequestHeader
    analysis_id: str
    devices: _containers.RepeatedCompositeFieldContainer[DeviceSpec]
    def __init__(self, header: _Optional[_Union[RequestHeader, _Mapping]] = ..., analysis_id: _Optional[str] = ..., devices: _Optional[_Iterable[_Union[DeviceSpec, _Mapping]]] = ...) -> None: ...

class AddDevicesRequest(_message.Message):
    __slots__ = ("signed",)
    SIGNED_FIELD_NUMBER: _ClassVar[int]
    signed: SignedBody
    def __init__(self, signed: _Optional[_Union[SignedBody, _Mapping]] = ...) -> None: ...

class AddDevicesResponse(_message.Message):
    __slots__ = ("sealed_credentials",)
    SEALED_CREDENTIALS_FIELD_NUMBER: _ClassVar[int]
    sealed_credentials: bytes
    def __init__(self, sealed_credentials: _Optional[bytes] = ...) -> None: ...

class DevicesBody(_message.Message):
    __slots__ = ("header", "analysis_id", "devices")
    HEADER_FIELD_NUMBER: _ClassVar[int]
    ANALYSIS_ID_FIELD_NUMBER: _ClassVar[int]
    DEVICES_FIELD_NUMBER: _ClassVar[int]
    header: RequestHeader
    analysis_id: str
    devices: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, header: _Optional[_Union[RequestHeader, _Mapping]] = ..., analysis_id: _Optional[str] = ..., devices: _Optional[_Iterable[str]] = ...) -> None: ...

class RemoveDevicesRequest(_message.Message):
    __slots__ = ("signed",)
    SIGNED_FIELD_NUMBER: _ClassVar[int]
    signed: SignedBody
    def __init__(self, signed: _Optional[_Union[SignedBody, _Mapping]] = ...) -> None: ...

class RemoveDevicesResponse(_message.Message):
    __slots__ = ("removed",)
    REMOVED_FIELD_NUMBER: _ClassVar[int]
    removed: int
    def __init__(self, removed: _Optional[int] = ...) -> None: ...

class RevokeDeviceRequest(_message.Message):
    __slots__ = ("signed",)
    SIGNED_FIELD_NUMBER: _ClassVar[int]
    signed: SignedBody
    def __init__(self, signed: _Optional[_Union[SignedBody, _Mapping]] = ...) -> None: ...

class RevokeDeviceResponse(_message.Message):
    __slots__ = ("revoked",)
    REVOKED_FIELD_NUMBER: _ClassVar[int]
    revoked: int
    def __init__(self, revoked: _Optional[int] = ...) -> None: ...

class ReprovisionDeviceRequest(_message.Message):
    __slots__ = ("signed",)
    SIGNED_FIELD_NUMBER: _ClassVar[int]
    signed: SignedBody
    def __init__(self, signed: _Optional[_Union[SignedBody, _Mapping]] = ...) -> None: ...

class ReprovisionDeviceResponse(_message.Message):
    __slots__ = ("sealed_credentials",)
    SEALED_CREDENTIALS_FIELD_NUMBER: _ClassVar[int]
    sealed_credentials: bytes
    def __init__(self, sealed_credentials: _Optional[bytes] = ...) -> None: ...

class AnalysisBody(_message.Message):
    __slots__ = ("header", "analysis_id")
    HEADER_FIELD_NUMBER: _ClassVar[int]
    ANALYSIS_ID_FIELD_NUMBER: _ClassVar[int]
    header: RequestHeader
    analysis_id: str
    def __init__(self, header: _Optional[_Union[RequestHeader, _Mapping]] = ..., analysis_id: _Optional[str] = ...) -> None: ...

class AnalysisSettingsBody(_message.Message):
    __slots__ = ("header", "analysis_id", "spo2_scale")
    HEADER_FIELD_NUMBER: _ClassVar[int]
    ANALYSIS_ID_FIELD_NUMBER: _ClassVar[int]
    SPO2_SCALE_FIELD_NUMBER: _ClassVar[int]
    header: RequestHeader
    analysis_id: str
    spo2_scale: int
    def __init__(self, header: _Optional[_Union[RequestHeader, _Mapping]] = ..., analysis_id: _Optional[str] = ..., spo2_scale: _Optional[int] = ...) -> None: ...

class SetAnalysisSettingsRequest(_message.Message):
    __slots__ = ("signed",)
    SIGNED_FIELD_NUMBER: _ClassVar[int]
    signed: SignedBody
    def __init__(self, signed: _Optional[_Union[SignedBody, _Mapping]] = ...) -> None: ...

class SetAnalysisSettingsResponse(_message.Message):
    __slots__ = ("spo2_scale",)
    SPO2_SCALE_FIELD_NUMBER: _ClassVar[int]
    spo2_scale: int
    def __init__(self, spo2_scale: _Optional[int] = ...) -> None: ...

class CloseAnalysisRequest(_message.Message):
    __slots__ = ("signed",)
    SIGNED_FIELD_NUMBER: _ClassVar[int]
    signed: SignedBody
    def __init__(self, signed: _Optional[_Union[SignedBody, _Mapping]] = ...) -> None: ...

class CloseAnalysisResponse(_message.Message):
    __slots__ = ("closed_at_unix_ms",)
    CLOSED_AT_UNIX_MS_FIELD_NUMBER: _ClassVar[int]
    closed_at_unix_ms: int
    def __init__(self, closed_at_unix_ms: _Optional[int] = ...) -> None: ...

class ListAnalysesBody(_message.Message):
    __slots__ = ("header",)
    HEADER_FIELD_NUMBER: _ClassVar[int]
    header: RequestHeader
    def __init__(self, header: _Optional[_Union[RequestHeader, _Mapping]] = ...) -> None: ...

class ListAnalysesRequest(_message.Message):
    __slots__ = ("signed",)
    SIGNED_FIELD_NUMBER: _ClassVar[int]
    signed: SignedBody
    def __init__(self, signed: _Optional[_Union[SignedBody, _Mapping]] = ...) -> None: ...

class DeviceSummary(_message.Message):
    __slots__ = ("device", "installed_at_unix_ms", "revoked", "access")
    DEVICE_FIELD_NUMBER: _ClassVar[int]
    INSTALLED_AT_UNIX_MS_FIELD_NUMBER: _ClassVar[int]
    REVOKED_FIELD_NUMBER: _ClassVar[int]
    ACCESS_FIELD_NUMBER: _ClassVar[int]
    device: str
    installed_at_unix_ms: int
    revoked: bool
    access: AccessPolicy
    def __init__(self, device: _Optional[str] = ..., installed_at_unix_ms: _Optional[int] = ..., revoked: _Optional[bool] = ..., access: _Optional[_Union[AccessPolicy, _Mapping]] = ...) -> None: ...

class AnalysisSummary(_message.Message):
    __slots__ = ("analysis_id", "patient_id", "created_at_unix_ms", "closed_at_unix_ms", "access", "devices")
    ANALYSIS_ID_FIELD_NUMBER: _ClassVar[int]
    PATIENT_ID_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_UNIX_MS_FIELD_NUMBER: _ClassVar[int]
    CLOSED_AT_UNIX_MS_FIELD_NUMBER: _ClassVar[int]
    ACCESS_FIELD_NUMBER: _ClassVar[int]
    DEVICES_FIELD_NUMBER: _ClassVar[int]
    analysis_id: str
    patient_id: str
    created_at_unix_ms: int
    closed_at_unix_ms: int
    access: AccessPolicy
    devices: _containers.RepeatedCompositeFieldContainer[DeviceSummary]
    def __init__(self, analysis_id: _Optional[str] = ..., patient_id: _Optional[str] = ..., created_at_unix_ms: _Optional[int] = ..., closed_at_unix_ms: _Optional[int] = ..., access: _Optional[_Union[AccessPolicy, _Mapping]] = ..., devices: _Optional[_Iterable[_Union[DeviceSummary, _Mapping]]] = ...) -> None: ...

class ListAnalysesResponse(_message.Message):
    __slots__ = ("analyses",)
    ANALYSES_FIELD_NUMBER: _ClassVar[int]
    analyses: _containers.RepeatedCompositeFieldContainer[AnalysisSummary]
    def __init__(self, analyses: _Optional[_Iterable[_Union[AnalysisSummary, _Mapping]]] = ...) -> None: ...
