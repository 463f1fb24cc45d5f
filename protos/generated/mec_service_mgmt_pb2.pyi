from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class MecServiceState(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    MEC_SERVICE_STATE_UNSPECIFIED: _ClassVar[MecServiceState]
    MEC_SERVICE_STATE_ACTIVE: _ClassVar[MecServiceState]
    MEC_SERVICE_STATE_INACTIVE: _ClassVar[MecServiceState]

class MecTransportType(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    MEC_TRANSPORT_TYPE_UNSPECIFIED: _ClassVar[MecTransportType]
    MEC_TRANSPORT_TYPE_REST_HTTP: _ClassVar[MecTransportType]
    MEC_TRANSPORT_TYPE_MB_TOPIC_BASED: _ClassVar[MecTransportType]
    MEC_TRANSPORT_TYPE_MB_ROUTING: _ClassVar[MecTransportType]
    MEC_TRANSPORT_TYPE_MB_PUBSUB: _ClassVar[MecTransportType]
    MEC_TRANSPORT_TYPE_RPC: _ClassVar[MecTransportType]
    MEC_TRANSPORT_TYPE_RPC_STREAMING: _ClassVar[MecTransportType]
    MEC_TRANSPORT_TYPE_WEBSOCKET: _ClassVar[MecTransportType]

class MecSerializerType(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    MEC_SERIALIZER_TYPE_UNSPECIFIED: _ClassVar[MecSerializerType]
    MEC_SERIALIZER_TYPE_JSON: _ClassVar[MecSerializerType]
    MEC_SERIALIZER_TYPE_XML: _ClassVar[MecSerializerType]
    MEC_SERIALIZER_TYPE_PROTOBUF3: _ClassVar[MecSerializerType]

class MecLocalityType(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    MEC_LOCALITY_TYPE_UNSPECIFIED: _ClassVar[MecLocalityType]
    MEC_LOCALITY_TYPE_MEC_SYSTEM: _ClassVar[MecLocalityType]
    MEC_LOCALITY_TYPE_MEC_HOST: _ClassVar[MecLocalityType]
MEC_SERVICE_STATE_UNSPECIFIED: MecServiceState
MEC_SERVICE_STATE_ACTIVE: MecServiceState
MEC_SERVICE_STATE_INACTIVE: MecServiceState
MEC_TRANSPORT_TYPE_UNSPECIFIED: MecTransportType
MEC_TRANSPORT_TYPE_REST_HTTP: MecTransportType
MEC_TRANSPORT_TYPE_MB_TOPIC_BASED: MecTransportType
MEC_TRANSPORT_TYPE_MB_ROUTING: MecTransportType
MEC_TRANSPORT_TYPE_MB_PUBSUB: MecTransportType
MEC_TRANSPORT_TYPE_RPC: MecTransportType
MEC_TRANSPORT_TYPE_RPC_STREAMING: MecTransportType
MEC_TRANSPORT_TYPE_WEBSOCKET: MecTransportType
MEC_SERIALIZER_TYPE_UNSPECIFIED: MecSerializerType
MEC_SERIALIZER_TYPE_JSON: MecSerializerType
MEC_SERIALIZER_TYPE_XML: MecSerializerType
MEC_SERIALIZER_TYPE_PROTOBUF3: MecSerializerType
MEC_LOCALITY_TYPE_UNSPECIFIED: MecLocalityType
MEC_LOCALITY_TYPE_MEC_SYSTEM: MecLocalityType
MEC_LOCALITY_TYPE_MEC_HOST: MecLocalityType

class MecCategoryRef(_message.Message):
    __slots__ = ("href", "id", "name", "version")
    HREF_FIELD_NUMBER: _ClassVar[int]
    ID_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    href: str
    id: str
    name: str
    version: str
    def __init__(self, href: _Optional[str] = ..., id: _Optional[str] = ..., name: _Optional[str] = ..., version: _Optional[str] = ...) -> None: ...

class MecEndpointAddress(_message.Message):
    __slots__ = ("host", "port")
    HOST_FIELD_NUMBER: _ClassVar[int]
    PORT_FIELD_NUMBER: _ClassVar[int]
    host: str
    port: int
    def __init__(self, host: _Optional[str] = ..., port: _Optional[int] = ...) -> None: ...

class MecTransportInfo(_message.Message):
    __slots__ = ("id", "name", "description", "type", "protocol", "version", "endpoint")
    ID_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    TYPE_FIELD_NUMBER: _ClassVar[int]
    PROTOCOL_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    ENDPOINT_FIELD_NUMBER: _ClassVar[int]
    id: str
    name: str
    description: str
    type: MecTransportType
    protocol: str
    version: str
    endpoint: _containers.RepeatedCompositeFieldContainer[MecEndpointAddress]
    def __init__(self, id: _Optional[str] = ..., name: _Optional[str] = ..., description: _Optional[str] = ..., type: _Optional[_Union[MecTransportType, str]] = ..., protocol: _Optional[str] = ..., version: _Optional[str] = ..., endpoint: _Optional[_Iterable[_Union[MecEndpointAddress, _Mapping]]] = ...) -> None: ...

class MecServiceInfo(_message.Message):
    __slots__ = ("ser_instance_id", "ser_name", "ser_category", "version", "state", "transport_info", "serializer", "scope_of_locality", "consumed_local_only", "is_local", "app_instance_id", "mec_host")
    SER_INSTANCE_ID_FIELD_NUMBER: _ClassVar[int]
    SER_NAME_FIELD_NUMBER: _ClassVar[int]
    SER_CATEGORY_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    TRANSPORT_INFO_FIELD_NUMBER: _ClassVar[int]
    SERIALIZER_FIELD_NUMBER: _ClassVar[int]
    SCOPE_OF_LOCALITY_FIELD_NUMBER: _ClassVar[int]
    CONSUMED_LOCAL_ONLY_FIELD_NUMBER: _ClassVar[int]
    IS_LOCAL_FIELD_NUMBER: _ClassVar[int]
    APP_INSTANCE_ID_FIELD_NUMBER: _ClassVar[int]
    MEC_HOST_FIELD_NUMBER: _ClassVar[int]
    ser_instance_id: str
    ser_name: str
    ser_category: MecCategoryRef
    version: str
    state: MecServiceState
    transport_info: MecTransportInfo
    serializer: MecSerializerType
    scope_of_locality: MecLocalityType
    consumed_local_only: bool
    is_local: bool
    app_instance_id: str
    mec_host: str
    def __init__(self, ser_instance_id: _Optional[str] = ..., ser_name: _Optional[str] = ..., ser_category: _Optional[_Union[MecCategoryRef, _Mapping]] = ..., version: _Optional[str] = ..., state: _Optional[_Union[MecServiceState, str]] = ..., transport_info: _Optional[_Union[MecTransportInfo, _Mapping]] = ..., serializer: _Optional[_Union[MecSerializerType, str]] = ..., scope_of_locality: _Optional[_Union[MecLocalityType, str]] = ..., consumed_local_only: _Optional[bool] = ..., is_local: _Optional[bool] = ..., app_instance_id: _Optional[str] = ..., mec_host: _Optional[str] = ...) -> None: ...

class RegisterAppServiceRequest(_message.Message):
    __slots__ = ("app_instance_id", "service_info")
    APP_INSTANCE_ID_FIELD_NUMBER: _ClassVar[int]
    SERVICE_INFO_FIELD_NUMBER: _ClassVar[int]
    app_instance_id: str
    service_info: MecServiceInfo
    def __init__(self, app_instance_id: _Optional[str] = ..., service_info: _Optional[_Union[MecServiceInfo, _Mapping]] = ...) -> None: ...

class RegisterAppServiceResponse(_message.Message):
    __slots__ = ("service_info",)
    SERVICE_INFO_FIELD_NUMBER: _ClassVar[int]
    service_info: MecServiceInfo
    def __init__(self, service_info: _Optional[_Union[MecServiceInfo, _Mapping]] = ...) -> None: ...

class ListAppServicesRequest(_message.Message):
    __slots__ = ("app_instance_id",)
    APP_INSTANCE_ID_FIELD_NUMBER: _ClassVar[int]
    app_instance_id: str
    def __init__(self, app_instance_id: _Optional[str] = ...) -> None: ...

class ListAppServicesResponse(_message.Message):
    __slots__ = ("service_info",)
    SERVICE_INFO_FIELD_NUMBER: _ClassVar[int]
    service_info: _containers.RepeatedCompositeFieldContainer[MecServiceInfo]
    def __init__(self, service_info: _Optional[_Iterable[_Union[MecServiceInfo, _Mapping]]] = ...) -> None: ...

class DeregisterAppServiceRequest(_message.Message):
    __slots__ = ("app_instance_id", "ser_instance_id")
    APP_INSTANCE_ID_FIELD_NUMBER: _ClassVar[int]
    SER_INSTANCE_ID_FIELD_NUMBER: _ClassVar[int]
    app_instance_id: str
    ser_instance_id: str
    def __init__(self, app_instance_id: _Optional[str] = ..., ser_instance_id: _Optional[str] = ...) -> None: ...

class DeregisterAppServiceResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class ListServicesRequest(_message.Message):
    __slots__ = ("ser_name", "ser_category_id", "mec_host", "ser_instance_id")
    SER_NAME_FIELD_NUMBER: _ClassVar[int]
    SER_CATEGORY_ID_FIELD_NUMBER: _ClassVar[int]
    MEC_HOST_FIELD_NUMBER: _ClassVar[int]
    SER_INSTANCE_ID_FIELD_NUMBER: _ClassVar[int]
    ser_name: str
    ser_category_id: str
    mec_host: str
    ser_instance_id: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, ser_name: _Optional[str] = ..., ser_category_id: _Optional[str] = ..., mec_host: _Optional[str] = ..., ser_instance_id: _Optional[_Iterable[str]] = ...) -> None: ...

class ListServicesResponse(_message.Message):
    __slots__ = ("service_info",)
    SERVICE_INFO_FIELD_NUMBER: _ClassVar[int]
    service_info: _containers.RepeatedCompositeFieldContainer[MecServiceInfo]
    def __init__(self, service_info: _Optional[_Iterable[_Union[MecServiceInfo, _Mapping]]] = ...) -> None: ...

class ListTransportsRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class ListTransportsResponse(_message.Message):
    __slots__ = ("transport_info",)
    TRANSPORT_INFO_FIELD_NUMBER: _ClassVar[int]
    transport_info: _containers.RepeatedCompositeFieldContainer[MecTransportInfo]
    def __init__(self, transport_info: _Optional[_Iterable[_Union[MecTransportInfo, _Mapping]]] = ...) -> None: ...
