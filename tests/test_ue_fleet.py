"""The UE's retry policy (SPEC.md "Attempts": a refused or timed-out attempt ends; the device
retries with the next counter after an exponential backoff with jitter)."""

from __future__ import annotations

import random

from mec5g.ue.fleet import RetryPolicy


def test_retry_backoff_is_exponential_with_full_jitter() -> None:
    """SPEC.md "Attempts": devices back off exponentially with jitter, capped."""
    policy = RetryPolicy(backoff_base=0.05, backoff_cap=1.0)
    rng = random.Random(3)
    for failures, ceiling in ((1, 0.05), (2, 0.1), (3, 0.2), (5, 0.8), (6, 1.0), (20, 1.0)):
        delays = [policy.delay(failures, rng) for _ in range(200)]
        assert all(0.0 <= delay <= ceiling for delay in delays)
        assert max(delays) > 0.8 * ceiling, "the whole jitter range is used"
        assert len(set(delays)) > 150, "delays are spread, not fixed"
