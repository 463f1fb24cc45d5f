from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class AppTerminationOperationAction(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    APP_TERMINATION_OPERATION_ACTION_UNSPECIFIED: _ClassVar[AppTerminationOperationAction]
    APP_TERMINATION_OPERATION_ACTION_STOPPING: _ClassVar[AppTerminationOperationAction]
    APP_TERMINATION_OPERATION_ACTION_TERMINATING: _ClassVar[AppTerminationOperationAction]
APP_TERMINATION_OPERATION_ACTION_UNSPECIFIED: AppTerminationOperationAction
APP_TERMINATION_OPERATION_ACTION_STOPPING: AppTerminationOperationAction
APP_TERMINATION_OPERATION_ACTION_TERMINATING: AppTerminationOperationAction

class RegisterApplicationRequest(_message.Message):
    __slots__ = ("app_name", "mec_host")
    APP_NAME_FIELD_NUMBER: _ClassVar[int]
    MEC_HOST_FIELD_NUMBER: _ClassVar[int]
    app_name: str
    mec_host: str
    def __init__(self, app_name: _Optional[str] = ..., mec_host: _Optional[str] = ...) -> None: ...

class RegisterApplicationResponse(_message.Message):
    __slots__ = ("app_instance_id", "access_token")
    APP_INSTANCE_ID_FIELD_NUMBER: _ClassVar[int]
    ACCESS_TOKEN_FIELD_NUMBER: _ClassVar[int]
    app_instance_id: str
    access_token: str
    def __init__(self, app_instance_id: _Optional[str] = ..., access_token: _Optional[str] = ...) -> None: ...

class ConfirmReadyRequest(_message.Message):
    __slots__ = ("app_instance_id",)
    APP_INSTANCE_ID_FIELD_NUMBER: _ClassVar[int]
    app_instance_id: str
    def __init__(self, app_instance_id: _Optional[str] = ...) -> None: ...

class ConfirmReadyResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class SubscribeAppTerminationRequest(_message.Message):
    __slots__ = ("app_instance_id",)
    APP_INSTANCE_ID_FIELD_NUMBER: _ClassVar[int]
    app_instance_id: str
    def __init__(self, app_instance_id: _Optional[str] = ...) -> None: ...

class SubscribeAppTerminationResponse(_message.Message):
    __slots__ = ("subscription_id", "notification")
    SUBSCRIPTION_ID_FIELD_NUMBER: _ClassVar[int]
    NOTIFICATION_FIELD_NUMBER: _ClassVar[int]
    subscription_id: str
    notification: AppTerminationNotification
    def __init__(self, subscription_id: _Optional[str] = ..., notification: _Optional[_Union[AppTerminationNotification, _Mapping]] = ...) -> None: ...

class AppTerminationNotification(_message.Message):
    __slots__ = ("operation_action", "max_graceful_timeout", "app_instance_id")
    OPERATION_ACTION_FIELD_NUMBER: _ClassVar[int]
    MAX_GRACEFUL_TIMEOUT_FIELD_NUMBER: _ClassVar[int]
    APP_INSTANCE_ID_FIELD_NUMBER: _ClassVar[int]
    operation_action: AppTerminationOperationAction
    max_graceful_timeout: int
    app_instance_id: str
    def __init__(self, operation_action: _Optional[_Union[AppTerminationOperationAction, str]] = ..., max_graceful_timeout: _Optional[int] = ..., app_instance_id: _Optional[str] = ...) -> None: ...

class ConfirmTerminationRequest(_message.Message):
    __slots__ = ("app_instance_id", "operation_action")
    APP_INSTANCE_ID_FIELD_NUMBER: _ClassVar[int]
    OPERATION_ACTION_FIELD_NUMBER: _ClassVar[int]
    app_instance_id: str
    operation_action: AppTerminationOperationAction
    def __init__(self, app_instance_id: _Optional[str] = ..., operation_action: _Optional[_Union[AppTerminationOperationAction, str]] = ...) -> None: ...

class ConfirmTerminationResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class TerminateAppInstanceRequest(_message.Message):
    __slots__ = ("app_instance_id", "graceful_termination_timeout")
    APP_INSTANCE_ID_FIELD_NUMBER: _ClassVar[int]
    GRACEFUL_TERMINATION_TIMEOUT_FIELD_NUMBER: _ClassVar[int]
    app_instance_id: str
    graceful_termination_timeout: int
    def __init__(self, app_instance_id: _Optional[str] = ..., graceful_termination_timeout: _Optional[int] = ...) -> None: ...

class TerminateAppInstanceResponse(_message.Message):
    __slots__ = ("notified",)
    NOTIFIED_FIELD_NUMBER: _ClassVar[int]
    notified: bool
    def __init__(self, notified: _Optional[bool] = ...) -> None: ...
