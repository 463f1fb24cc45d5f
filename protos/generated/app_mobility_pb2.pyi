from mec5g.v1 import mec_service_mgmt_pb2 as _mec_service_mgmt_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class AssociateIdType(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    ASSOCIATE_ID_TYPE_UNSPECIFIED: _ClassVar[AssociateIdType]
    ASSOCIATE_ID_TYPE_UE_IPV4_ADDRESS: _ClassVar[AssociateIdType]
    ASSOCIATE_ID_TYPE_UE_IPV6_ADDRESS: _ClassVar[AssociateIdType]
    ASSOCIATE_ID_TYPE_NATED_IP_ADDRESS: _ClassVar[AssociateIdType]
    ASSOCIATE_ID_TYPE_GTP_TEID: _ClassVar[AssociateIdType]
    ASSOCIATE_ID_TYPE_TERMINAL_ID: _ClassVar[AssociateIdType]

class AppMobilityServiceLevel(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    APP_MOBILITY_SERVICE_LEVEL_UNSPECIFIED: _ClassVar[AppMobilityServiceLevel]
    APP_MOBILITY_SERVICE_LEVEL_NOT_ALLOWED: _ClassVar[AppMobilityServiceLevel]
    APP_MOBILITY_SERVICE_LEVEL_WITH_CONFIRMATION: _ClassVar[AppMobilityServiceLevel]
    APP_MOBILITY_SERVICE_LEVEL_WITHOUT_CONFIRMATION: _ClassVar[AppMobilityServiceLevel]

class ContextTransferState(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    CONTEXT_TRANSFER_STATE_UNSPECIFIED: _ClassVar[ContextTransferState]
    CONTEXT_TRANSFER_STATE_NOT_TRANSFERRED: _ClassVar[ContextTransferState]
    CONTEXT_TRANSFER_STATE_USER_CONTEXT_TRANSFER_COMPLETED: _ClassVar[ContextTransferState]

class MobilityStatus(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    MOBILITY_STATUS_UNSPECIFIED: _ClassVar[MobilityStatus]
    MOBILITY_STATUS_INTERHOST_MOVEOUT_TRIGGERED: _ClassVar[MobilityStatus]
    MOBILITY_STATUS_INTERHOST_MOVEOUT_COMPLETED: _ClassVar[MobilityStatus]
    MOBILITY_STATUS_INTERHOST_MOVEOUT_FAILED: _ClassVar[MobilityStatus]
ASSOCIATE_ID_TYPE_UNSPECIFIED: AssociateIdType
ASSOCIATE_ID_TYPE_UE_IPV4_ADDRESS: AssociateIdType
ASSOCIATE_ID_TYPE_UE_IPV6_ADDRESS: AssociateIdType
ASSOCIATE_ID_TYPE_NATED_IP_ADDRESS: AssociateIdType
ASSOCIATE_ID_TYPE_GTP_TEID: AssociateIdType
ASSOCIATE_ID_TYPE_TERMINAL_ID: AssociateIdType
APP_MOBILITY_SERVICE_LEVEL_UNSPECIFIED: AppMobilityServiceLevel
APP_MOBILITY_SERVICE_LEVEL_NOT_ALLOWED: AppMobilityServiceLevel
APP_MOBILITY_SERVICE_LEVEL_WITH_CONFIRMATION: AppMobilityServiceLevel
APP_MOBILITY_SERVICE_LEVEL_WITHOUT_CONFIRMATION: AppMobilityServiceLevel
CONTEXT_TRANSFER_STATE_UNSPECIFIED: ContextTransferState
CONTEXT_TRANSFER_STATE_NOT_TRANSFERRED: ContextTransferState
CONTEXT_TRANSFER_STATE_USER_CONTEXT_TRANSFER_COMPLETED: ContextTransferState
MOBILITY_STATUS_UNSPECIFIED: MobilityStatus
MOBILITY_STATUS_INTERHOST_MOVEOUT_TRIGGERED: MobilityStatus
MOBILITY_STATUS_INTERHOST_MOVEOUT_COMPLETED: MobilityStatus
MOBILITY_STATUS_INTERHOST_MOVEOUT_FAILED: MobilityStatus

class AmsAssociateId(_message.Message):
    __slots__ = ("type", "value")
    TYPE_FIELD_NUMBER: _ClassVar[int]
    VALUE_FIELD_NUMBER: _ClassVar[int]
    type: AssociateIdType
    value: str
    def __init__(self, type: _Optional[_Union[AssociateIdType, str]] = ..., value: _Optional[str] = ...) -> None: ...

class HandoverMeasurement(_message.Message):
    __slots__ = ("interruption_seconds", "key_agreement_seconds", "readings_buffered", "devices", "source_mec_host", "target_mec_host")
    INTERRUPTION_SECONDS_FIELD_NUMBER: _ClassVar[int]
    KEY_AGREEMENT_SECONDS_FIELD_NUMBER: _ClassVar[int]
    READINGS_BUFFERED_FIELD_NUMBER: _ClassVar[int]
    DEVICES_FIELD_NUMBER: _ClassVar[int]
    SOURCE_MEC_HOST_FIELD_NUMBER: _ClassVar[int]
    TARGET_MEC_HOST_FIELD_NUMBER: _ClassVar[int]
    interruption_seconds: float
    key_agreement_seconds: float
    readings_buffered: int
    devices: int
    source_mec_host: str
    target_mec_host: str
    def __init__(self, interruption_seconds: _Optional[float] = ..., key_agreement_seconds: _Optional[float] = ..., readings_buffered: _Optional[int] = ..., devices: _Optional[int] = ..., source_mec_host: _Optional[str] = ..., target_mec_host: _Optional[str] = ...) -> None: ...

class AmsDeviceInformation(_message.Message):
    __slots__ = ("associate_id", "app_mobility_service_level", "context_transfer_state", "handover")
    ASSOCIATE_ID_FIELD_NUMBER: _ClassVar[int]
    APP_MOBILITY_SERVICE_LEVEL_FIELD_NUMBER: _ClassVar[int]
    CONTEXT_TRANSFER_STATE_FIELD_NUMBER: _ClassVar[int]
    HANDOVER_FIELD_NUMBER: _ClassVar[int]
    associate_id: AmsAssociateId
    app_mobility_service_level: AppMobilityServiceLevel
    context_transfer_state: ContextTransferState
    handover: HandoverMeasurement
    def __init__(self, associate_id: _Optional[_Union[AmsAssociateId, _Mapping]] = ..., app_mobility_service_level: _Optional[_Union[AppMobilityServiceLevel, str]] = ..., context_transfer_state: _Optional[_Union[ContextTransferState, str]] = ..., handover: _Optional[_Union[HandoverMeasurement, _Mapping]] = ...) -> None: ...

class AmsServiceConsumerId(_message.Message):
    __slots__ = ("app_instance_id", "mep_id")
    APP_INSTANCE_ID_FIELD_NUMBER: _ClassVar[int]
    MEP_ID_FIELD_NUMBER: _ClassVar[int]
    app_instance_id: str
    mep_id: str
    def __init__(self, app_instance_id: _Optional[str] = ..., mep_id: _Optional[str] = ...) -> None: ...

class AmsRegistrationInfo(_message.Message):
    __slots__ = ("app_mobility_service_id", "service_consumer_id", "device_information")
    APP_MOBILITY_SERVICE_ID_FIELD_NUMBER: _ClassVar[int]
    SERVICE_CONSUMER_ID_FIELD_NUMBER: _ClassVar[int]
    DEVICE_INFORMATION_FIELD_NUMBER: _ClassVar[int]
    app_mobility_service_id: str
    service_consumer_id: AmsServiceConsumerId
    device_information: _containers.RepeatedCompositeFieldContainer[AmsDeviceInformation]
    def __init__(self, app_mobility_service_id: _Optional[str] = ..., service_consumer_id: _Optional[_Union[AmsServiceConsumerId, _Mapping]] = ..., device_information: _Optional[_Iterable[_Union[AmsDeviceInformation, _Mapping]]] = ...) -> None: ...

class RegisterAppMobilityServiceRequest(_message.Message):
    __slots__ = ("registration_info",)
    REGISTRATION_INFO_FIELD_NUMBER: _ClassVar[int]
    registration_info: AmsRegistrationInfo
    def __init__(self, registration_info: _Optional[_Union[AmsRegistrationInfo, _Mapping]] = ...) -> None: ...

class RegisterAppMobilityServiceResponse(_message.Message):
    __slots__ = ("registration_info",)
    REGISTRATION_INFO_FIELD_NUMBER: _ClassVar[int]
    registration_info: AmsRegistrationInfo
    def __init__(self, registration_info: _Optional[_Union[AmsRegistrationInfo, _Mapping]] = ...) -> None: ...

class UpdateAppMobilityServiceRequest(_message.Message):
    __slots__ = ("registration_info",)
    REGISTRATION_INFO_FIELD_NUMBER: _ClassVar[int]
    registration_info: AmsRegistrationInfo
    def __init__(self, registration_info: _Optional[_Union[AmsRegistrationInfo, _Mapping]] = ...) -> None: ...

class UpdateAppMobilityServiceResponse(_message.Message):
    __slots__ = ("registration_info",)
    REGISTRATION_INFO_FIELD_NUMBER: _ClassVar[int]
    registration_info: AmsRegistrationInfo
    def __init__(self, registration_info: _Optional[_Union[AmsRegistrationInfo, _Mapping]] = ...) -> None: ...

class DeregisterAppMobilityServiceRequest(_message.Message):
    __slots__ = ("app_mobility_service_id",)
    APP_MOBILITY_SERVICE_ID_FIELD_NUMBER: _ClassVar[int]
    app_mobility_service_id: str
    def __init__(self, app_mobility_service_id: _Optional[str] = ...) -> None: ...

class DeregisterAppMobilityServiceResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class MobilityProcedureFilterCriteria(_message.Message):
    __slots__ = ("app_instance_id", "associate_id", "mobility_status")
    APP_INSTANCE_ID_FIELD_NUMBER: _ClassVar[int]
    ASSOCIATE_ID_FIELD_NUMBER: _ClassVar[int]
    MOBILITY_STATUS_FIELD_NUMBER: _ClassVar[int]
    app_instance_id: str
    associate_id: _containers.RepeatedCompositeFieldContainer[AmsAssociateId]
    mobility_status: _containers.RepeatedScalarFieldContainer[MobilityStatus]
    def __init__(self, app_instance_id: _Optional[str] = ..., associate_id: _Optional[_Iterable[_Union[AmsAssociateId, _Mapping]]] = ..., mobility_status: _Optional[_Iterable[_Union[MobilityStatus, str]]] = ...) -> None: ...

class SubscribeMobilityProcedureRequest(_message.Message):
    __slots__ = ("filter_criteria",)
    FILTER_CRITERIA_FIELD_NUMBER: _ClassVar[int]
    filter_criteria: MobilityProcedureFilterCriteria
    def __init__(self, filter_criteria: _Optional[_Union[MobilityProcedureFilterCriteria, _Mapping]] = ...) -> None: ...

class AmsTargetAppInfo(_message.Message):
    __slots__ = ("app_instance_id", "comm_interface", "mec_host")
    APP_INSTANCE_ID_FIELD_NUMBER: _ClassVar[int]
    COMM_INTERFACE_FIELD_NUMBER: _ClassVar[int]
    MEC_HOST_FIELD_NUMBER: _ClassVar[int]
    app_instance_id: str
    comm_interface: _containers.RepeatedCompositeFieldContainer[_mec_service_mgmt_pb2.MecEndpointAddress]
    mec_host: str
    def __init__(self, app_instance_id: _Optional[str] = ..., comm_interface: _Optional[_Iterable[_Union[_mec_service_mgmt_pb2.MecEndpointAddress, _Mapping]]] = ..., mec_host: _Optional[str] = ...) -> None: ...

class MobilityProcedureNotification(_message.Message):
    __slots__ = ("time_stamp", "associate_id", "mobility_status", "target_app_info", "handover")
    TIME_STAMP_FIELD_NUMBER: _ClassVar[int]
    ASSOCIATE_ID_FIELD_NUMBER: _ClassVar[int]
    MOBILITY_STATUS_FIELD_NUMBER: _ClassVar[int]
    TARGET_APP_INFO_FIELD_NUMBER: _ClassVar[int]
    HANDOVER_FIELD_NUMBER: _ClassVar[int]
    time_stamp: float
    associate_id: _containers.RepeatedCompositeFieldContainer[AmsAssociateId]
    mobility_status: MobilityStatus
    target_app_info: AmsTargetAppInfo
    handover: HandoverMeasurement
    def __init__(self, time_stamp: _Optional[float] = ..., associate_id: _Optional[_Iterable[_Union[AmsAssociateId, _Mapping]]] = ..., mobility_status: _Optional[_Union[MobilityStatus, str]] = ..., target_app_info: _Optional[_Union[AmsTargetAppInfo, _Mapping]] = ..., handover: _Optional[_Union[HandoverMeasurement, _Mapping]] = ...) -> None: ...

class SubscribeMobilityProcedureResponse(_message.Message):
    __slots__ = ("subscription_id", "notification")
    SUBSCRIPTION_ID_FIELD_NUMBER: _ClassVar[int]
    NOTIFICATION_FIELD_NUMBER: _ClassVar[int]
    subscription_id: str
    notification: MobilityProcedureNotification
    def __init__(self, subscription_id: _Optional[str] = ..., notification: _Optional[_Union[MobilityProcedureNotification, _Mapping]] = ...) -> None: ...

class ListAdjacentAppInstancesRequest(_message.Message):
    __slots__ = ("app_instance_id",)
    APP_INSTANCE_ID_FIELD_NUMBER: _ClassVar[int]
    app_instance_id: str
    def __init__(self, app_instance_id: _Optional[str] = ...) -> None: ...

class AdjacentAppInstanceInfo(_message.Message):
    __slots__ = ("app_instance_id", "comm_interface", "mec_host")
    APP_INSTANCE_ID_FIELD_NUMBER: _ClassVar[int]
    COMM_INTERFACE_FIELD_NUMBER: _ClassVar[int]
    MEC_HOST_FIELD_NUMBER: _ClassVar[int]
    app_instance_id: str
    comm_interface: _containers.RepeatedCompositeFieldContainer[_mec_service_mgmt_pb2.MecEndpointAddress]
    mec_host: str
    def __init__(self, app_instance_id: _Optional[str] = ..., comm_interface: _Optional[_Iterable[_Union[_mec_service_mgmt_pb2.MecEndpointAddress, _Mapping]]] = ..., mec_host: _Optional[str] = ...) -> None: ...

class ListAdjacentAppInstancesResponse(_message.Message):
    __slots__ = ("adjacent_app_instance_info",)
    ADJACENT_APP_INSTANCE_INFO_FIELD_NUMBER: _ClassVar[int]
    adjacent_app_instance_info: _containers.RepeatedCompositeFieldContainer[AdjacentAppInstanceInfo]
    def __init__(self, adjacent_app_instance_info: _Optional[_Iterable[_Union[AdjacentAppInstanceInfo, _Mapping]]] = ...) -> None: ...

class SendMobilityEventRequest(_message.Message):
    __slots__ = ("associate_id", "target_mec_host")
    ASSOCIATE_ID_FIELD_NUMBER: _ClassVar[int]
    TARGET_MEC_HOST_FIELD_NUMBER: _ClassVar[int]
    associate_id: AmsAssociateId
    target_mec_host: str
    def __init__(self, associate_id: _Optional[_Union[AmsAssociateId, _Mapping]] = ..., target_mec_host: _Optional[str] = ...) -> None: ...

class SendMobilityEventResponse(_message.Message):
    __slots__ = ("target_app_info",)
    TARGET_APP_INFO_FIELD_NUMBER: _ClassVar[int]
    target_app_info: AmsTargetAppInfo
    def __init__(self, target_app_info: _Optional[_Union[AmsTargetAppInfo, _Mapping]] = ...) -> None: ...
