"""Users, their attributes and access policies (paper section 4.1, steps 1 and 2), pure.

A patient's attributes (allergies, blood group) and a doctor's (expertise, hospital) are kept by
the TTP only; health attributes never reach a MEC, a log or a metric, so this module gives them
no ``repr`` that shows them. An access policy names the doctors who may read an analysis's
results, by identity, hospital or expertise; the patient may always read its own. A device may
have its own policy, which then replaces the analysis's for that device.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from mec5g.core.errors import InvalidField

NAME_PATTERN = re.compile(r"[A-Za-z0-9._-]{1,64}")
BLOOD_GROUPS = frozenset({"A+", "A-", "B+", "B-", "AB+", "AB-", "O+", "O-"})
MAX_TEXT = 64
MAX_ENTRIES = 32


class Role(enum.IntEnum):
    """A user's role; values are the proto's ``UserRole``."""

    PATIENT = 1
    DOCTOR = 2

    @property
    def label(self) -> str:
        return self.name.lower()


def check_name(value: str, field: str) -> str:
    """Identities and device names: 1 to 64 characters of [A-Za-z0-9._-] (no separators)."""
    if not NAME_PATTERN.fullmatch(value):
        raise InvalidField(field, "1 to 64 characters of [A-Za-z0-9._-]")
    return value


def _check_text(value: str, field: str) -> str:
    if not 0 < len(value) <= MAX_TEXT or not value.isprintable():
        raise InvalidField(field, f"1 to {MAX_TEXT} printable characters")
    return value


def _check_list(
    values: Iterable[str], field: str, check: Callable[[str, str], str] = _check_text
) -> tuple[str, ...]:
    checked = tuple(values)
    if len(checked) > MAX_ENTRIES:
        raise InvalidField(field, f"at most {MAX_ENTRIES} entries")
    return tuple(sorted({check(value, field) for value in checked}))


@dataclass(frozen=True)
class PatientAttributes:
    """Health attributes of a patient: the TTP's only."""

    allergies: tuple[str, ...] = field(default=(), repr=False)
    blood_group: str = field(default="", repr=False)

    @classmethod
    def checked(cls, allergies: Iterable[str], blood_group: str) -> PatientAttributes:
        if blood_group and blood_group not in BLOOD_GROUPS:
            raise InvalidField("blood_group", f"one of {', '.join(sorted(BLOOD_GROUPS))} or empty")
        return cls(_check_list(allergies, "allergies"), blood_group)

    def as_dict(self) -> dict[str, object]:
        return {"allergies": list(self.allergies), "blood_group": self.blood_group}


@dataclass(frozen=True)
class DoctorAttributes:
    """What access policies can name a doctor by."""

    expertise: str
    hospital: str

    @classmethod
    def checked(cls, expertise: str, hospital: str) -> DoctorAttributes:
        return cls(_check_text(expertise, "expertise"), _check_text(hospital, "hospital"))

    def as_dict(self) -> dict[str, object]:
        return {"expertise": self.expertise, "hospital": self.hospital}


@dataclass(frozen=True)
class Doctor:
    """A registered doctor, as access decisions see it."""

    user_id: str
    attributes: DoctorAttributes


@dataclass(frozen=True)
class AccessPolicy:
    """Doctors who may read results: by identity, by hospital or by expertise."""

    doctors: tuple[str, ...] = ()
    hospitals: tuple[str, ...] = ()
    expertise: tuple[str, ...] = ()

    @classmethod
    def checked(
        cls, doctors: Iterable[str], hospitals: Iterable[str], expertise: Iterable[str]
    ) -> AccessPolicy:
        return cls(
            _check_list(doctors, "access.doctors", check_name),
            _check_list(hospitals, "access.hospitals"),
            _check_list(expertise, "access.expertise"),
        )

    def allows(self, doctor: Doctor) -> bool:
        return (
            doctor.user_id in self.doctors
            or doctor.attributes.hospital in self.hospitals
            or doctor.attributes.expertise in self.expertise
        )

    def as_dict(self) -> dict[str, list[str]]:
        return {
            "doctors": list(self.doctors),
            "hospitals": list(self.hospitals),
            "expertise": list(self.expertise),
        }

    @classmethod
    def from_dict(cls, data: dict[str, list[str]]) -> AccessPolicy:
        return cls(tuple(data["doctors"]), tuple(data["hospitals"]), tuple(data["expertise"]))


def may_read(
    reader: str,
    doctor: Doctor | None,
    patient: str,
    analysis_policy: AccessPolicy,
    device_policy: AccessPolicy | None,
) -> bool:
    """Whether ``reader`` may read a device's results: the patient always; a doctor if the
    device's policy (or, without one, the analysis's) allows it; nobody else."""
    if reader == patient:
        return True
    if doctor is None or doctor.user_id != reader:
        return False
    return (device_policy or analysis_policy).allows(doctor)
