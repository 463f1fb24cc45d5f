"""Rate limits, so that a flood of forged requests cannot starve honest devices.

A token bucket per key (a caller's address, a MEC's identity, a device's DIDi): ``rate`` tokens
a second up to ``burst``; a request spends one or is refused with RESOURCE_EXHAUSTED before any
cryptography or store work, so refusing costs next to nothing. The buckets live in a bounded
LRU map: a flood of fresh keys evicts old buckets, which only ever gives an evicted caller a
full bucket back, never an empty one.

Limits slow requests down; they never disable a credential (SPEC.md, our rule). A limit keyed by
DIDi can be spent by anyone who saw that DIDi on the radio link, but such an attacker can already
drop the device's messages; the DIDi changes with every completed key agreement.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass
from typing import Any

import grpc

from mec5g.runtime.interceptors import Behaviour, UnaryServerInterceptor
from mec5g.runtime.metrics import Metrics


@dataclass(frozen=True)
class RatePolicy:
    """``rate`` requests a second, ``burst`` at once; a rate of 0 turns the limit off."""

    rate: float
    burst: float

    @classmethod
    def parse(cls, text: str) -> RatePolicy:
        """``RATE`` or ``RATE:BURST`` (burst defaults to twice the rate); ``0`` is off."""
        rate_text, _, burst_text = text.partition(":")
        try:
            rate = float(rate_text)
            burst = float(burst_text) if burst_text else 2 * rate
        except ValueError:
            raise ValueError(f"rate limit {text!r}: expected RATE or RATE:BURST") from None
        if rate < 0 or burst < (1 if rate else 0):
            raise ValueError(f"rate limit {text!r}: rate must be >= 0 and burst >= 1")
        return cls(rate, burst)

    def __str__(self) -> str:
        return f"{self.rate:g}:{self.burst:g}"

    @property
    def enabled(self) -> bool:
        return self.rate > 0


# Defaults: far above what honest parties send (a local UE swarm is one source), far below a flood.
PER_SOURCE = RatePolicy(1000, 2000)  # MEC, per caller address
PER_MEC = RatePolicy(5000, 10000)  # TTP, per MEC
PER_DEVICE = RatePolicy(5, 10)  # TTP, per DIDi: a device retries a few times at most
OFF = RatePolicy(0, 0)


class TokenBuckets:
    """One token bucket per key, at most ``max_keys`` of them (least recently used go first)."""

    def __init__(
        self,
        policy: RatePolicy,
        max_keys: int = 100_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._policy = policy
        self._max_keys = max_keys
        self._clock = clock
        self._buckets: OrderedDict[Hashable, tuple[float, float]] = OrderedDict()

    def allow(self, key: Hashable) -> bool:
        """Spend one token of ``key``'s bucket if it has one."""
        now = self._clock()
        tokens, last = self._buckets.pop(key, (self._policy.burst, now))
        tokens = min(self._policy.burst, tokens + (now - last) * self._policy.rate)
        allowed = tokens >= 1.0
        self._buckets[key] = (tokens - 1.0 if allowed else tokens, now)
        if len(self._buckets) > self._max_keys:
            self._buckets.popitem(last=False)
        return allowed


KeyOf = Callable[[Any, grpc.aio.ServicerContext], Hashable | None]


@dataclass(frozen=True)
class Limit:
    """A limit on one method, keyed by ``key_of`` (None: the request is not limited by it)."""

    name: str  # the metric label, e.g. "per_source"
    method: str  # full gRPC method name
    key_of: KeyOf
    buckets: TokenBuckets


def peer_host(context: grpc.aio.ServicerContext) -> str:
    """The caller's address without its port: ``ipv4:10.0.0.7:5123`` gives ``10.0.0.7``."""
    peer: str = context.peer()
    kind, _, rest = peer.partition(":")
    if kind in ("ipv4", "ipv6"):
        host = rest.rpartition(":")[0]
        return host.strip("[]")
    return peer


def peer_identity(context: grpc.aio.ServicerContext) -> str:
    """A mutual-TLS caller's certificate name, else its address (plaintext in the testbed)."""
    names = context.auth_context().get("x509_common_name") or []
    return names[0].decode() if names else peer_host(context)


class RateLimitInterceptor(UnaryServerInterceptor):
    """Applies the limits of each method before its handler runs; counts refusals."""

    def __init__(self, limits: Sequence[Limit], metrics: Metrics | None) -> None:
        super().__init__()
        self._limits: dict[str, list[Limit]] = {}
        for limit in limits:
            self._limits.setdefault(limit.method, []).append(limit)
        self._metrics = metrics

    def wrap(self, method: str, handler: grpc.RpcMethodHandler) -> Behaviour | None:
        limits = self._limits.get(method)
        if not limits:
            return None
        inner = handler.unary_unary
        metrics = self._metrics

        async def limited(request: Any, context: grpc.aio.ServicerContext) -> Any:
            for limit in limits:
                key = limit.key_of(request, context)
                if key is not None and not limit.buckets.allow(key):
                    if metrics is not None:
                        metrics.rate_limited.labels(metrics.role, limit.name).inc()
                    await context.abort(
                        grpc.StatusCode.RESOURCE_EXHAUSTED,
                        f"rate limit exceeded ({limit.name}); retry later",
                    )
            return await inner(request, context)

        return limited


def limits(method: str, policies: Sequence[tuple[str, RatePolicy, KeyOf]]) -> list[Limit]:
    """The enabled ones of ``policies`` (name, policy, key) as limits on ``method``."""
    return [
        Limit(name, method, key_of, TokenBuckets(policy))
        for name, policy, key_of in policies
        if policy.enabled
    ]
