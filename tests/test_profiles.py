"""Users' attributes and access policies (paper section 4.1, steps 1 and 2): checks and the
read decision that listing (and phase 5) use."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mec5g.core.errors import InvalidField
from mec5g.core.profiles import (
    AccessPolicy,
    Doctor,
    DoctorAttributes,
    PatientAttributes,
    check_name,
    may_read,
)

names = st.sampled_from(["ann", "bob", "cy"])
places = st.sampled_from(["North", "South"])
fields = st.sampled_from(["cardiology", "surgery"])
policies = st.builds(
    AccessPolicy.checked,
    st.lists(names, max_size=2),
    st.lists(places, max_size=2),
    st.lists(fields, max_size=2),
)
doctors = st.builds(Doctor, names, st.builds(DoctorAttributes.checked, fields, places))


@given(doctor=doctors, analysis=policies, device=st.none() | policies)
def test_a_doctor_reads_exactly_what_the_governing_policy_names(
    doctor: Doctor, analysis: AccessPolicy, device: AccessPolicy | None
) -> None:
    governing = device if device is not None else analysis
    expected = (
        doctor.user_id in governing.doctors
        or doctor.attributes.hospital in governing.hospitals
        or doctor.attributes.expertise in governing.expertise
    )
    assert may_read(doctor.user_id, doctor, "pat", analysis, device) is expected
    assert may_read("pat", None, "pat", analysis, device)  # the patient always
    assert not may_read("stranger", None, "pat", analysis, device)
    assert not may_read("stranger", doctor, "pat", analysis, device)  # not its own profile


def test_attributes_are_checked() -> None:
    with pytest.raises(InvalidField, match="blood_group must be one of"):
        PatientAttributes.checked([], "C+")
    with pytest.raises(InvalidField, match="allergies must be 1 to 64 printable"):
        PatientAttributes.checked([""], "")
    with pytest.raises(InvalidField, match="hospital"):
        DoctorAttributes.checked("surgery", "x" * 65)
    with pytest.raises(InvalidField, match=r"access\.doctors"):
        AccessPolicy.checked(["a/b"], [], [])
    for bad in ("", "a/b", "x" * 65, "space here"):
        with pytest.raises(InvalidField):
            check_name(bad, "user_id")
    assert PatientAttributes.checked(["b", "a", "a"], "AB+").allergies == ("a", "b")
