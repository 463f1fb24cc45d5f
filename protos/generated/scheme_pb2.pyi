from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from typing import ClassVar as _ClassVar

DESCRIPTOR: _descriptor.FileDescriptor

class SchemeVersion(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    SCHEME_VERSION_UNSPECIFIED: _ClassVar[SchemeVersion]
    SCHEME_VERSION_PHASE3_COUNTER_V1: _ClassVar[SchemeVersion]
    SCHEME_VERSION_PHASE3_PAPER_V1: _ClassVar[SchemeVersion]
    SCHEME_VERSION_BASELINE36_V1: _ClassVar[SchemeVersion]
SCHEME_VERSION_UNSPECIFIED: SchemeVersion
SCHEME_VERSION_PHASE3_COUNTER_V1: SchemeVersion
SCHEME_VERSION_PHASE3_PAPER_V1: SchemeVersion
SCHEME_VERSION_BASELINE36_V1: SchemeVersion
