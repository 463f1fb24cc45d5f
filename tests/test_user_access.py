"""Phase 5 in the core (``core.user_access``): grants, the MEC's checks and the sealed, signed
report, without a network. Every refusal the MEC and the user make is exercised."""

from __future__ import annotations

import pytest

from mec5g.core import ecqv
from mec5g.core.errors import AuthenticationFailed, InvalidField, MalformedField
from mec5g.core.operations import Operation, Origin, counting
from mec5g.core.user_access import (
    MAX_GRANT_SECONDS,
    Grant,
    GrantPurpose,
    SpentGrants,
    ephemeral_key,
    issue_grant,
    open_report,
    seal_report,
    verify_grant,
)

NODE = "mec-1"
NOW = 1_800_000_000.0
PSEUDONYM = bytes(range(32))


def _authority() -> ecqv.KeyPair:
    private = ecqv.random_scalar()
    return ecqv.KeyPair(private, ecqv.public_key(private))


def _node(ca: ecqv.KeyPair, node: str = NODE) -> tuple[ecqv.KeyPair, bytes]:
    k, request_point = ecqv.request(node)
    issued = ecqv.issue(ca.private, node, request_point)
    return ecqv.reconstruct_private(k, issued, ca.public), issued.certificate.encoded


def _grant(
    ca: ecqv.KeyPair, requester: bytes, node: str = NODE, expires: float = NOW + 60
) -> tuple[bytes, bytes]:
    return issue_grant(ca, GrantPurpose.RESULTS, PSEUDONYM, requester, node, expires)


def test_a_granted_user_opens_the_report_the_mec_sealed_and_signed() -> None:
    ca = _authority()
    mec, certificate = _node(ca)
    user = ephemeral_key()
    raw, signature = _grant(ca, user.public)
    grant = verify_grant(ca.public, NODE, GrantPurpose.RESULTS, raw, signature, NOW)
    assert (grant.pseudonym, grant.requester_key, grant.node) == (PSEUDONYM, user.public, NODE)
    assert grant.expires_at == NOW + 60
    sealed, report_signature = seal_report(mec, raw, b"the results")
    assert b"the results" not in sealed
    with counting() as ledger:
        opened = open_report(user, ca.public, raw, certificate, sealed, report_signature)
    assert opened == b"the results"
    # Reconstructing Q_mec (SEC 4), then verifying its signature and opening the report.
    assert ledger[(Operation.POINT_MULTIPLICATION, Origin.PAPER)] == 1
    assert ledger[(Operation.POINT_MULTIPLICATION, Origin.OURS)] == 3


def test_grants_are_fresh_and_say_nothing_but_their_fields() -> None:
    ca = _authority()
    key = ephemeral_key().public
    first, _ = _grant(ca, key)
    second, _ = _grant(ca, key)
    assert Grant.decode(first).nonce != Grant.decode(second).nonce
    assert Grant.decode(first).encode() == first
    assert len(first) == len(NODE) + 91


@pytest.mark.parametrize("position", [0, 1, 2, 20, 30, 60, 95])
def test_a_tampered_grant_is_refused(position: int) -> None:
    ca = _authority()
    raw, signature = _grant(ca, ephemeral_key().public)
    tampered = bytearray(raw)
    tampered[position] ^= 0x01
    with pytest.raises((AuthenticationFailed, InvalidField)):
        verify_grant(ca.public, NODE, GrantPurpose.RESULTS, bytes(tampered), signature, NOW)


def test_a_grant_signed_by_another_key_is_refused() -> None:
    raw, signature = _grant(_authority(), ephemeral_key().public)
    with pytest.raises(AuthenticationFailed) as refused:
        verify_grant(_authority().public, NODE, GrantPurpose.RESULTS, raw, signature, NOW)
    assert refused.value.reason == "bad_signature"


@pytest.mark.parametrize(
    ("node", "now", "expires", "reason"),
    [
        ("mec-2", NOW, NOW + 60, "grant_for_another_node"),
        (NODE, NOW, NOW, "expired_grant"),
        (NODE, NOW + 61, NOW + 60, "expired_grant"),
        (NODE, NOW, NOW + MAX_GRANT_SECONDS + 1, "grant_lifetime_too_long"),
    ],
)
def test_the_mec_refuses_grants_for_others_expired_or_too_long(
    node: str, now: float, expires: float, reason: str
) -> None:
    ca = _authority()
    raw, signature = _grant(ca, ephemeral_key().public, expires=expires)
    with pytest.raises(AuthenticationFailed) as refused:
        verify_grant(ca.public, node, GrantPurpose.RESULTS, raw, signature, now)
    assert refused.value.reason == reason


def test_a_watch_grant_does_not_pass_for_a_results_grant() -> None:
    ca = _authority()
    raw, signature = issue_grant(
        ca, GrantPurpose.WATCH, PSEUDONYM, ephemeral_key().public, NODE, NOW + 60
    )
    assert verify_grant(ca.public, NODE, GrantPurpose.WATCH, raw, signature, NOW)
    with pytest.raises(AuthenticationFailed) as refused:
        verify_grant(ca.public, NODE, GrantPurpose.RESULTS, raw, signature, NOW)
    assert refused.value.reason == "grant_for_another_purpose"


def test_a_grant_is_spent_once_and_forgotten_after_it_expires() -> None:
    ca = _authority()
    spent = SpentGrants()
    grant = verify_grant(
        ca.public, NODE, GrantPurpose.RESULTS, *_grant(ca, ephemeral_key().public), NOW
    )
    spent.spend(grant, NOW)
    with pytest.raises(AuthenticationFailed) as refused:
        spent.spend(grant, NOW + 1)
    assert refused.value.reason == "replayed_grant"
    other = verify_grant(
        ca.public, NODE, GrantPurpose.RESULTS, *_grant(ca, ephemeral_key().public), NOW
    )
    spent.spend(other, NOW + 61)
    assert len(spent) == 1, "the expired grant's nonce is dropped"


def test_malformed_grants_and_signatures_are_named() -> None:
    ca = _authority()
    raw, signature = _grant(ca, ephemeral_key().public)
    with pytest.raises(MalformedField, match="grant_signature"):
        verify_grant(ca.public, NODE, GrantPurpose.RESULTS, raw, signature[:10], NOW)
    for short in (b"", raw[:91], raw + b"x" * 64):
        with pytest.raises(InvalidField, match="grant"):
            Grant.decode(short)
    with pytest.raises(InvalidField, match="requester_key"):
        _grant(ca, b"\x05" + bytes(32))


def test_the_user_refuses_a_report_not_signed_by_the_granted_node() -> None:
    ca = _authority()
    user = ephemeral_key()
    raw, _ = _grant(ca, user.public)
    mec, certificate = _node(ca)
    other, other_certificate = _node(ca, "mec-2")
    sealed, signature = seal_report(mec, raw, b"results")

    def opened(
        *,
        certificate: bytes = certificate,
        sealed: bytes = sealed,
        signature: bytes = signature,
        key: ecqv.KeyPair = user,
    ) -> bytes:
        return open_report(key, ca.public, raw, certificate, sealed, signature)

    with pytest.raises(AuthenticationFailed, match="authentication failed"):
        opened(certificate=other_certificate)
    # The TTP holds the CA key but not the MEC's: what it signs does not pass as the MEC's.
    _, forged = seal_report(ca, raw, b"forged")
    with pytest.raises(AuthenticationFailed):
        opened(signature=forged)
    foreign_sealed, foreign_signature = seal_report(other, raw, b"results")
    with pytest.raises(AuthenticationFailed):
        opened(sealed=foreign_sealed, signature=foreign_signature)
    tampered = bytearray(sealed)
    tampered[-1] ^= 1
    with pytest.raises(AuthenticationFailed):
        opened(sealed=bytes(tampered))
    with pytest.raises(AuthenticationFailed):
        opened(signature=signature[:10])
    with pytest.raises(AuthenticationFailed):
        opened(key=ephemeral_key())
