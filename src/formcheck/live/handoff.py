"""Latest-frame-wins hand-off between a producer (the camera) and a consumer (the pose pipeline).

A webcam delivers frames at its own pace whether or not we keep up. Queuing them would add lag that
grows without bound when the CPU falls behind; instead the consumer always takes the *newest* frame
and any frame it had no time for is dropped (and counted). Latency therefore stays bounded by one
frame interval plus one processing time.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import Generic, TypeVar

T = TypeVar("T")


class Closed(Exception):
    """Raised by :meth:`LatestSlot.get` once the slot is closed and empty."""


@dataclass
class SlotStats:
    put: int = 0  # items offered by the producer
    taken: int = 0  # items handed to the consumer
    dropped: int = 0  # items replaced before the consumer took them


class LatestSlot(Generic[T]):
    """A one-item mailbox: ``put`` replaces any unread item, ``get`` waits for the newest one.

    With ``drop=False`` the producer instead waits until the consumer has taken the previous item
    (lock-step, nothing dropped): used to replay a file exactly, frame by frame.
    """

    def __init__(self, drop: bool = True) -> None:
        self._cond = threading.Condition()
        self._item: T | None = None
        self._full = False
        self._closed = False
        self.drop = drop
        self.stats = SlotStats()

    def put(self, item: T, timeout: float | None = None) -> bool:
        """Offer ``item``; returns True when it replaced an unread item (which is then dropped).

        In lock-step mode waits (up to ``timeout``) for the consumer first; returns False if closed.
        """
        with self._cond:
            if not self.drop:
                deadline = None if timeout is None else time.monotonic() + timeout
                while self._full and not self._closed:
                    remaining = None if deadline is None else deadline - time.monotonic()
                    if remaining is not None and remaining <= 0:
                        break
                    self._cond.wait(remaining)
            if self._closed:
                return False
            replaced = self._full
            if replaced:
                self.stats.dropped += 1
            self._item = item
            self._full = True
            self.stats.put += 1
            self._cond.notify_all()
            return replaced

    def get(self, timeout: float | None = None) -> T | None:
        """The newest item; None on timeout. Raises :class:`Closed` once closed and drained."""
        with self._cond:
            deadline = None if timeout is None else time.monotonic() + timeout
            while not self._full:
                if self._closed:
                    raise Closed()
                remaining = None if deadline is None else deadline - time.monotonic()
                if remaining is not None and remaining <= 0:
                    return None
                self._cond.wait(remaining)
            item = self._item
            self._item = None
            self._full = False
            self.stats.taken += 1
            self._cond.notify_all()
            return item

    def peek(self) -> T | None:
        """The unread item, if any, without taking it."""
        with self._cond:
            return self._item if self._full else None

    def close(self) -> None:
        """No more items: wakes every waiter; an unread item can still be taken."""
        with self._cond:
            self._closed = True
            self._cond.notify_all()

    @property
    def closed(self) -> bool:
        return self._closed
