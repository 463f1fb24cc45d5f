"""Phases 5 and 6 in the core (``core.user_access``): what the TTP vouches, and the reports the
MEC seals under the session key and signs, without a network. Every refusal the user makes is
exercised."""

from __future__ import annotations

import pytest

from mec5g.core import anonymous_agreement as aa
from mec5g.core import ecqv
from mec5g.core.anonymous_agreement import Purpose, Session
from mec5g.core.errors import AuthenticationFailed
from mec5g.core.operations import Operation, Origin, counting
from mec5g.core.user_access import WATCH_ID_BYTES, Vouched, open_report, seal_report

NODE = "mec-1"
PSEUDONYM = bytes(range(32))


class World:
    """A CA, a MEC node and a user who agreed a session with it for ``purpose``."""

    def __init__(self, purpose: Purpose = Purpose.RESULTS) -> None:
        private = ecqv.random_scalar()
        self.ca = ecqv.KeyPair(private, ecqv.public_key(private))
        self.mec = aa.issue_identity(private, NODE)
        user = aa.issue_identity(private, "alice")
        state, m1 = aa.initiator_start(user, self.ca.public, NODE, purpose)
        responder_state, m2 = aa.responder_forward(self.mec, self.ca.public, purpose, m1)
        m3 = aa.ttp_vouch(aa.ttp_open(self.ca, purpose, m2), Vouched(PSEUDONYM).encode())
        at_mec = aa.responder_finish(responder_state, m3)
        self.mec_session = at_mec.session
        self.user_session = aa.initiator_finish(state, at_mec.m4)

    def open(self, sealed: bytes, signature: bytes, sequence: int = 1, **change: object) -> bytes:
        arguments: dict[str, object] = {
            "session": self.user_session,
            "ca_public": self.ca.public,
            "mec_certificate": self.mec.certificate.encoded,
            "sequence": sequence,
            "sealed": sealed,
            "signature": signature,
        }
        arguments.update(change)
        return open_report(**arguments)  # type: ignore[arg-type]


def test_the_user_opens_the_reports_the_mec_sealed_and_signed() -> None:
    world = World(Purpose.WATCH)
    first = seal_report(world.mec.pair, world.mec_session, 1, b"the results")
    second = seal_report(world.mec.pair, world.mec_session, 2, b"the results")
    assert b"the results" not in first[0]
    assert first[0] != second[0], "each report has its own nonce"
    with counting() as ledger:
        assert world.open(*first) == b"the results"
    assert world.open(*second, sequence=2) == b"the results"
    # Reconstructing Q_mec (SEC 4), then verifying its signature and opening the report.
    assert ledger[(Operation.POINT_MULTIPLICATION, Origin.PAPER)] == 1
    assert ledger[(Operation.POINT_MULTIPLICATION, Origin.OURS)] == 2
    assert ledger[(Operation.SYMMETRIC, Origin.OURS)] == 1


def test_vouched_layouts_per_purpose() -> None:
    results = Vouched(PSEUDONYM)
    watch = Vouched(PSEUDONYM, bytes(WATCH_ID_BYTES))
    assert Vouched.decode(results.encode(), Purpose.RESULTS) == results
    assert Vouched.decode(watch.encode(), Purpose.WATCH) == watch
    for raw, purpose in (
        (watch.encode(), Purpose.RESULTS),
        (results.encode(), Purpose.WATCH),
        (results.encode(), Purpose.DEVICE_SESSION),
    ):
        with pytest.raises(AuthenticationFailed):
            Vouched.decode(raw, purpose)


def test_the_user_refuses_a_report_not_signed_by_the_sessions_node() -> None:
    world = World()
    sealed, signature = seal_report(world.mec.pair, world.mec_session, 1, b"results")
    other = World()
    with pytest.raises(AuthenticationFailed, match="authentication failed"):
        world.open(
            sealed,
            signature,
            mec_certificate=aa.issue_identity(world.ca.private, "mec-2").certificate.encoded,
        )
    # The TTP holds the CA key but not the MEC's: what it signs does not pass as the MEC's.
    _, forged = seal_report(world.ca, world.mec_session, 1, b"forged")
    with pytest.raises(AuthenticationFailed):
        world.open(sealed, forged)
    foreign = seal_report(other.mec.pair, world.mec_session, 1, b"results")
    with pytest.raises(AuthenticationFailed):
        world.open(*foreign)
    tampered = bytearray(sealed)
    tampered[-1] ^= 1
    with pytest.raises(AuthenticationFailed):
        world.open(bytes(tampered), signature)
    with pytest.raises(AuthenticationFailed):
        world.open(sealed, signature[:10])
    with pytest.raises(AuthenticationFailed):
        world.open(sealed, signature, sequence=2)  # replayed as a later report
    with pytest.raises(AuthenticationFailed):
        world.open(sealed, signature, session=other.user_session)  # another session's


def test_a_report_binds_the_session_not_only_the_key() -> None:
    world = World()
    moved = Session(
        world.user_session.key,
        world.user_session.responder_point,
        world.user_session.initiator_point,
        NODE,
        Purpose.RESULTS,
    )
    sealed, signature = seal_report(world.mec.pair, world.mec_session, 1, b"results")
    with pytest.raises(AuthenticationFailed):
        world.open(sealed, signature, session=moved)
