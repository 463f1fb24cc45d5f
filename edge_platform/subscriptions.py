"""Subscriptions of the platform's APIs (MEC 011's app termination, MEC 021's mobility
procedure) as in-memory queues behind server streams, in place of ETSI's callback URIs.

Each subscription has a filter and a bounded backlog: a subscriber that stops reading while
``MAX_BACKLOG`` notifications pile up is ended (its stream closes with RESOURCE_EXHAUSTED)
rather than let the platform's memory grow or drop notifications silently.
"""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Generic, TypeVar

T = TypeVar("T")
MAX_BACKLOG = 1024


class SubscriberTooSlow(Exception):
    """The subscriber left ``MAX_BACKLOG`` notifications unread: its subscription ended."""


@dataclass
class Subscription(Generic[T]):
    """One subscriber: its identifier, what it wants, and what it has not read yet."""

    matches: Callable[[T], bool]
    subscription_id: str = field(default_factory=lambda: secrets.token_hex(16))
    _queue: asyncio.Queue[T | None] = field(default_factory=asyncio.Queue)
    overflowed: bool = False

    def offer(self, item: T) -> bool:
        """Queue ``item`` if the subscriber wants it; False once the subscription is over."""
        if self.overflowed:
            return False
        if self.matches(item):
            if self._queue.qsize() >= MAX_BACKLOG:
                self.overflowed = True
                self._queue.put_nowait(None)
                return False
            self._queue.put_nowait(item)
        return True

    async def items(self) -> AsyncIterator[T]:
        """The notifications as they come; raises SubscriberTooSlow after an overflow."""
        while True:
            item = await self._queue.get()
            if item is None:
                raise SubscriberTooSlow(self.subscription_id)
            yield item


class Subscriptions(Generic[T]):
    """Every open subscription of one kind."""

    def __init__(self) -> None:
        self._open: dict[str, Subscription[T]] = {}

    def __len__(self) -> int:
        return len(self._open)

    def open(self, matches: Callable[[T], bool]) -> Subscription[T]:
        subscription = Subscription(matches)
        self._open[subscription.subscription_id] = subscription
        return subscription

    def close(self, subscription: Subscription[T]) -> None:
        self._open.pop(subscription.subscription_id, None)

    def publish(self, item: T) -> None:
        """Offer ``item`` to every subscriber; an overflowing one is closed."""
        for subscription in list(self._open.values()):
            if not subscription.offer(item):
                self.close(subscription)
