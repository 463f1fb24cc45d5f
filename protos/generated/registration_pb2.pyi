from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class UserRole(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    USER_ROLE_UNSPECIFIED: _ClassVar[UserRole]
    USER_ROLE_PATIENT: _ClassVar[UserRole]
    USER_ROLE_DOCTOR: _ClassVar[UserRole]
USER_ROLE_UNSPECIFIED: UserRole
USER_ROLE_PATIENT: UserRole
USER_ROLE_DOCTOR: UserRole

class GetAuthorityRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class GetAuthorityResponse(_message.Message):
    __slots__ = ("ca_public_key",)
    CA_PUBLIC_KEY_FIELD_NUMBER: _ClassVar[int]
    ca_public_key: bytes
    def __init__(self, ca_public_key: _Optional[bytes] = ...) -> None: ...

class PatientAttributes(_message.Message):
    __slots__ = ("allergies", "blood_group")
    ALLERGIES_FIELD_NUMBER: _ClassVar[int]
    BLOOD_GROUP_FIELD_NUMBER: _ClassVar[int]
    allergies: _containers.RepeatedScalarFieldContainer[str]
    blood_group: str
    def __init__(self, allergies: _Optional[_Iterable[str]] = ..., blood_group: _Optional[str] = ...) -> None: ...

class DoctorAttributes(_message.Message):
    __slots__ = ("expertise", "hospital")
    EXPERTISE_FIELD_NUMBER: _ClassVar[int]
    HOSPITAL_FIELD_NUMBER: _ClassVar[int]
    expertise: str
    hospital: str
    def __init__(self, expertise: _Optional[str] = ..., hospital: _Optional[str] = ...) -> None: ...

class RegisterRequest(_message.Message):
    __slots__ = ("enrolment_code", "user_id", "role", "request_point", "patient", "doctor")
    ENROLMENT_CODE_FIELD_NUMBER: _ClassVar[int]
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    ROLE_FIELD_NUMBER: _ClassVar[int]
    REQUEST_POINT_FIELD_NUMBER: _ClassVar[int]
    PATIENT_FIELD_NUMBER: _ClassVar[int]
    DOCTOR_FIELD_NUMBER: _ClassVar[int]
    enrolment_code: str
    user_id: str
    role: UserRole
    request_point: bytes
    patient: PatientAttributes
    doctor: DoctorAttributes
    def __init__(self, enrolment_code: _Optional[str] = ..., user_id: _Optional[str] = ..., role: _Optional[_Union[UserRole, str]] = ..., request_point: _Optional[bytes] = ..., patient: _Optional[_Union[PatientAttributes, _Mapping]] = ..., doctor: _Optional[_Union[DoctorAttributes, _Mapping]] = ...) -> None: ...

class RegisterResponse(_message.Message):
    __slots__ = ("certificate", "private_key_contribution", "ca_public_key", "registered_at_unix_ms")
    CERTIFICATE_FIELD_NUMBER: _ClassVar[int]
    PRIVATE_KEY_CONTRIBUTION_FIELD_NUMBER: _ClassVar[int]
    CA_PUBLIC_KEY_FIELD_NUMBER: _ClassVar[int]
    REGISTERED_AT_UNIX_MS_FIELD_NUMBER: _ClassVar[int]
    certificate: bytes
    private_key_contribution: bytes
    ca_public_key: bytes
    registered_at_unix_ms: int
    def __init__(self, certificate: _Optional[bytes] = ..., private_key_contribution: _Optional[bytes] = ..., ca_public_key: _Optional[bytes] = ..., registered_at_unix_ms: _Optional[int] = ...) -> None: ...
