"""The public-key baseline [36] as reconstructed (core/baseline36.py): agreement, refusal of every
altered byte, the device's anonymity towards the MEC, operation counts and sizes against the
paper's Tables 1 and 2 (the differences asserted exactly), and known-answer vectors.

Regenerate the vectors (only when the scheme changes on purpose):
``python tests/test_baseline36.py`` writes tests/vectors/baseline36_vectors.json.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from mec5g.bench import paper
from mec5g.bench.schemes import SCHEMES
from mec5g.core import baseline36, ecqv
from mec5g.core.ecqv import Certificate, KeyPair
from mec5g.core.errors import AuthenticationFailed, SchemeError
from mec5g.core.operations import Ledger, Origin, counting

VECTORS = Path(__file__).resolve().parent / "vectors" / "baseline36_vectors.json"
DEVICE = "sensor-device-01"
MEC = "mec-node-edge-01"

# What the reconstruction counts per entity and handshake, all under the scheme's own origin.
BASELINE36_COUNTED: dict[str, dict[str, float]] = {
    "device": {"Tm": 5.0, "Ts": 2.0, "Th": 7.0},
    "mec": {"Tm": 5.0, "Ts": 2.0, "Th": 7.0},
    "ttp": {"Tm": 8.0, "Ta": 4.0, "Ts": 4.0, "Th": 8.0},
}
# Counted minus Table 1's [36] column: docs/evaluation.md explains each difference.
TABLE_1_DIFFERENCE = {
    "device": {"Tm": -2, "Ta": -2, "Ts": 0, "Th": -5},
    "mec": {"Tm": -2, "Ta": -2, "Ts": 0, "Th": -6},
    "ttp": {"Tm": -1, "Ta": 0, "Ts": 0, "Th": -5},
}
BASELINE36_BITS = {"M1": 1816, "M2": 3632, "M3": 256, "M4": 648}
TABLE_2_DIFFERENCE = {"M1": +664, "M2": +1840, "M3": -768, "M4": -632}


class Parties:
    """A TTP, one device and one MEC node, each with an ECQV identity issued by the TTP."""

    def __init__(self) -> None:
        private = ecqv.random_scalar()
        self.ttp = KeyPair(private, ecqv.public_key(private))
        self.device = baseline36.enrol(private, DEVICE)
        self.mec = baseline36.enrol(private, MEC)
        self.registered = {DEVICE, MEC}


@pytest.fixture(scope="module")
def parties() -> Parties:
    return Parties()


def _handshake(parties: Parties) -> dict[str, Any]:
    """One complete handshake; every message, state and key, and each entity's operations."""
    ledgers = {entity: Ledger() for entity in ("device", "mec", "ttp")}
    with counting() as ledger:
        device_state, m1 = baseline36.device_start(parties.device, parties.ttp.public, MEC)
    ledgers["device"].update(ledger)
    with counting() as ledger:
        mec_state, m2 = baseline36.mec_forward(parties.mec, parties.ttp.public, m1)
    ledgers["mec"].update(ledger)
    with counting() as ledger:
        m3 = baseline36.ttp_answer(parties.ttp, m2, parties.registered)
    ledgers["ttp"].update(ledger)
    with counting() as ledger:
        at_mec = baseline36.mec_finish(mec_state, m3)
    ledgers["mec"].update(ledger)
    with counting() as ledger:
        key = baseline36.device_finish(device_state, at_mec.m4)
    ledgers["device"].update(ledger)
    return {
        "m1": m1,
        "m2": m2,
        "m3": m3,
        "m4": at_mec.m4,
        "device_state": device_state,
        "mec_state": mec_state,
        "device_key": key,
        "mec_key": at_mec.session_key,
        "ledgers": ledgers,
    }


def _units(ledger: Ledger, origin: Origin) -> dict[str, float]:
    return {op.value: float(n) for (op, o), n in ledger.items() if o is origin and n}


def test_both_ends_derive_the_same_key(parties: Parties) -> None:
    first, second = _handshake(parties), _handshake(parties)
    assert first["device_key"] == first["mec_key"]
    assert len(first["device_key"]) == baseline36.SESSION_KEY_BYTES
    assert first["device_key"] != second["device_key"], "fresh ephemerals, fresh key"


def test_counts_per_entity_against_table_1(parties: Parties) -> None:
    ledgers = _handshake(parties)["ledgers"]
    for entity, ledger in ledgers.items():
        counted = _units(ledger, Origin.PAPER)
        assert counted == BASELINE36_COUNTED[entity]
        assert not [key for key in ledger if key[1] is not Origin.PAPER], "no additions of ours"
        published = paper.TABLE_1[paper.BASELINE][entity]
        for unit in paper.UNITS:
            difference = counted.get(unit, 0) - published.get(unit, 0)
            assert difference == TABLE_1_DIFFERENCE[entity][unit], (entity, unit)


def test_sizes_against_table_2(parties: Parties) -> None:
    run = _handshake(parties)
    for name, bits in BASELINE36_BITS.items():
        assert 8 * len(run[name.lower()]) == bits
        assert bits - paper.TABLE_2[paper.BASELINE][name] == TABLE_2_DIFFERENCE[name]
    sizes = (baseline36.M1_BYTES, baseline36.M2_BYTES, baseline36.M3_BYTES, baseline36.M4_BYTES)
    assert [8 * size for size in sizes] == list(BASELINE36_BITS.values())


def test_both_schemes_side_by_side_from_the_registry() -> None:
    """The paper's scheme: 2Th/2Th/3Th under ``paper``, our additions under their own origins;
    [36]: everything under ``paper``."""
    ours = SCHEMES[paper.THIS]().handshake().operations
    for entity, counts in paper.TABLE_1[paper.THIS].items():
        assert _units(ours[entity], Origin.PAPER) == {u: float(n) for u, n in counts.items()}
    assert _units(ours["device"], Origin.COUNTER_NONCE) == {"Ts": 1.0}
    baseline = SCHEMES[paper.BASELINE_SCHEME]().handshake().operations
    for entity, counts in BASELINE36_COUNTED.items():
        assert _units(baseline[entity], Origin.PAPER) == counts


def _flip(message: bytes, index: int) -> bytes:
    return message[:index] + bytes([message[index] ^ 0x01]) + message[index + 1 :]


def _relay(parties: Parties, m1: bytes) -> bytes:
    """The MEC forwards M1 and the TTP answers: M3."""
    _, m2 = baseline36.mec_forward(parties.mec, parties.ttp.public, m1)
    return baseline36.ttp_answer(parties.ttp, m2, parties.registered)


def _finish(run: dict[str, Any], m3: bytes) -> bytes:
    """The MEC finishes with M3 and the device with its M4: the device's key."""
    at_mec = baseline36.mec_finish(run["mec_state"], m3)
    return baseline36.device_finish(run["device_state"], at_mec.m4)


def test_every_altered_byte_is_refused(parties: Parties) -> None:
    run = _handshake(parties)
    for index in range(len(run["m1"])):
        with pytest.raises(SchemeError):
            _relay(parties, _flip(run["m1"], index))
    for index in range(len(run["m2"])):
        with pytest.raises(SchemeError):
            baseline36.ttp_answer(parties.ttp, _flip(run["m2"], index), parties.registered)
    # A_M is the MEC's to check; A_D it passes on, and the device checks it.
    for index in range(len(run["m3"])):
        with pytest.raises(AuthenticationFailed):
            _finish(run, _flip(run["m3"], index))
    for index in range(len(run["m4"])):
        with pytest.raises(SchemeError):
            baseline36.device_finish(run["device_state"], _flip(run["m4"], index))


def test_unregistered_users_and_the_wrong_mec_are_refused(parties: Parties) -> None:
    run = _handshake(parties)
    with pytest.raises(AuthenticationFailed) as refused:
        baseline36.ttp_answer(parties.ttp, run["m2"], {MEC})
    assert refused.value.reason == "unknown_device"
    with pytest.raises(AuthenticationFailed) as refused:
        baseline36.ttp_answer(parties.ttp, run["m2"], {DEVICE})
    assert refused.value.reason == "unknown_mec"
    # The device meant another MEC node: its signature binds X to that node's identity.
    _, m1 = baseline36.device_start(parties.device, parties.ttp.public, "mec-node-edge-02")
    with pytest.raises(AuthenticationFailed):
        _relay(parties, m1)


def test_a_certificate_from_another_ttp_is_refused(parties: Parties) -> None:
    impostor = baseline36.enrol(ecqv.random_scalar(), DEVICE)
    _, m1 = baseline36.device_start(impostor, parties.ttp.public, MEC)
    with pytest.raises(AuthenticationFailed):
        _relay(parties, m1)


def test_the_mec_never_sees_the_devices_long_term_identity(parties: Parties) -> None:
    run, again = _handshake(parties), _handshake(parties)
    long_term = (
        DEVICE.encode(),
        parties.device.certificate.encoded,
        parties.device.certificate.point,
        parties.device.pair.public,
        parties.device.pair.public[1:],  # the x-coordinate alone
    )
    seen_by_mec = run["m1"] + run["m3"] + repr(run["mec_state"]).encode()
    for secret in long_term:
        assert secret not in seen_by_mec
    # Unlinkable: two handshakes of the same device share no 8-byte run in M1.
    windows = {run["m1"][i : i + 8] for i in range(len(run["m1"]) - 7)}
    assert not [i for i in range(len(again["m1"]) - 7) if again["m1"][i : i + 8] in windows]


def test_no_secret_in_a_repr(parties: Parties) -> None:
    run = _handshake(parties)
    shown = repr(run["device_state"]) + repr(run["mec_state"])
    for secret in (
        run["device_state"].response_key,
        run["mec_state"].response_key,
        run["device_key"],
    ):
        assert secret.hex() not in shown
    assert str(run["device_state"].x) not in shown


def _identity(entry: dict[str, str]) -> baseline36.Identity:
    private = int(entry["private"], 16)
    return baseline36.Identity(
        Certificate.parse(bytes.fromhex(entry["cert"])), KeyPair(private, ecqv.public_key(private))
    )


def test_known_answers() -> None:
    """The recorded handshake: the TTP's answer, the MEC's M4 and both keys are deterministic
    given M2 and the recorded secrets (signatures and seals are randomised, so M1 and M2 are
    checked by the TTP accepting them)."""
    vectors = json.loads(VECTORS.read_text())
    assert vectors["scheme"] == "mec5g/baseline36/v1"
    for case in vectors["cases"]:
        ttp_private = int(case["ttp_private"], 16)
        ttp = KeyPair(ttp_private, ecqv.public_key(ttp_private))
        device, mec = _identity(case["device"]), _identity(case["mec"])
        m1, m2, m3, m4 = (bytes.fromhex(case[name]) for name in ("m1", "m2", "m3", "m4"))
        x, y = int(case["x"], 16), int(case["y"], 16)
        x_point, y_point = ecqv.public_key(x), ecqv.public_key(y)
        assert m1.startswith(x_point)
        assert m2.startswith(m1 + y_point + mec.certificate.encoded)
        registered = {device.certificate.identity, mec.certificate.identity}
        assert baseline36.ttp_answer(ttp, m2, registered) == m3
        mec_state = baseline36.MecState(
            y, x_point, y_point, bytes.fromhex(case["mec_response_key"]), mec.certificate.identity
        )
        at_mec = baseline36.mec_finish(mec_state, m3)
        assert at_mec.m4 == m4
        assert at_mec.session_key.hex() == case["session_key"]
        device_state = baseline36.DeviceState(
            x, x_point, bytes.fromhex(case["device_response_key"]), mec.certificate.identity
        )
        assert baseline36.device_finish(device_state, m4).hex() == case["session_key"]


def _record_case() -> dict[str, Any]:
    """One known-answer case from a real handshake (for regenerating the vectors)."""
    parties = Parties()
    run = _handshake(parties)

    def identity(who: baseline36.Identity) -> dict[str, str]:
        return {"cert": who.certificate.encoded.hex(), "private": f"{who.pair.private:064x}"}

    return {
        "ttp_private": f"{parties.ttp.private:064x}",
        "device": identity(parties.device),
        "mec": identity(parties.mec),
        "x": f"{run['device_state'].x:064x}",
        "y": f"{run['mec_state'].y:064x}",
        "device_response_key": run["device_state"].response_key.hex(),
        "mec_response_key": run["mec_state"].response_key.hex(),
        **{name: run[name].hex() for name in ("m1", "m2", "m3", "m4")},
        "session_key": run["device_key"].hex(),
    }


if __name__ == "__main__":
    document = {"scheme": "mec5g/baseline36/v1", "cases": [_record_case(), _record_case()]}
    VECTORS.write_text(json.dumps(document, indent=2) + "\n")
