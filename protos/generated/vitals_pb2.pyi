from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from typing import ClassVar as _ClassVar

DESCRIPTOR: _descriptor.FileDescriptor

class SensorKind(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    SENSOR_KIND_UNSPECIFIED: _ClassVar[SensorKind]
    SENSOR_KIND_SPO2: _ClassVar[SensorKind]
    SENSOR_KIND_HEART_RATE: _ClassVar[SensorKind]
    SENSOR_KIND_RESPIRATION_RATE: _ClassVar[SensorKind]
    SENSOR_KIND_BLOOD_PRESSURE: _ClassVar[SensorKind]
    SENSOR_KIND_BODY_TEMPERATURE: _ClassVar[SensorKind]
    SENSOR_KIND_GLUCOSE: _ClassVar[SensorKind]
    SENSOR_KIND_AIR_QUALITY: _ClassVar[SensorKind]

class Consciousness(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    CONSCIOUSNESS_UNSPECIFIED: _ClassVar[Consciousness]
    CONSCIOUSNESS_ALERT: _ClassVar[Consciousness]
    CONSCIOUSNESS_CONFUSION: _ClassVar[Consciousness]
    CONSCIOUSNESS_VOICE: _ClassVar[Consciousness]
    CONSCIOUSNESS_PAIN: _ClassVar[Consciousness]
    CONSCIOUSNESS_UNRESPONSIVE: _ClassVar[Consciousness]

class AlertLevel(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    ALERT_LEVEL_UNSPECIFIED: _ClassVar[AlertLevel]
    ALERT_LEVEL_NONE: _ClassVar[AlertLevel]
    ALERT_LEVEL_LOW: _ClassVar[AlertLevel]
    ALERT_LEVEL_URGENT_WARD: _ClassVar[AlertLevel]
    ALERT_LEVEL_URGENT: _ClassVar[AlertLevel]
    ALERT_LEVEL_EMERGENCY: _ClassVar[AlertLevel]

class SpO2Scale(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    SP_O2_SCALE_UNSPECIFIED: _ClassVar[SpO2Scale]
    SP_O2_SCALE_1: _ClassVar[SpO2Scale]
    SP_O2_SCALE_2: _ClassVar[SpO2Scale]
SENSOR_KIND_UNSPECIFIED: SensorKind
SENSOR_KIND_SPO2: SensorKind
SENSOR_KIND_HEART_RATE: SensorKind
SENSOR_KIND_RESPIRATION_RATE: SensorKind
SENSOR_KIND_BLOOD_PRESSURE: SensorKind
SENSOR_KIND_BODY_TEMPERATURE: SensorKind
SENSOR_KIND_GLUCOSE: SensorKind
SENSOR_KIND_AIR_QUALITY: SensorKind
CONSCIOUSNESS_UNSPECIFIED: Consciousness
CONSCIOUSNESS_ALERT: Consciousness
CONSCIOUSNESS_CONFUSION: Consciousness
CONSCIOUSNESS_VOICE: Consciousness
CONSCIOUSNESS_PAIN: Consciousness
CONSCIOUSNESS_UNRESPONSIVE: Consciousness
ALERT_LEVEL_UNSPECIFIED: AlertLevel
ALERT_LEVEL_NONE: AlertLevel
ALERT_LEVEL_LOW: AlertLevel
ALERT_LEVEL_URGENT_WARD: AlertLevel
ALERT_LEVEL_URGENT: AlertLevel
ALERT_LEVEL_EMERGENCY: AlertLevel
SP_O2_SCALE_UNSPECIFIED: SpO2Scale
SP_O2_SCALE_1: SpO2Scale
SP_O2_SCALE_2: SpO2Scale
