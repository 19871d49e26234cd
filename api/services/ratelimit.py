"""An in-process rate limiter: at most ``limit`` events per ``window_s`` for each key.

State lives in the server process (a restart forgets it; several processes behind one address
each count on their own). Windows are sliding: the oldest event leaving the window frees a slot.
"""

from __future__ import annotations

import math
import threading
import time
from collections import deque

__all__ = ["RateLimiter"]


class RateLimiter:
    """Sliding-window limiter keyed by any string (an api_key's id, a client address).

    Parameters
    ----------
    max_keys
        Keys remembered at most; the least recently used are forgotten beyond it.

    Examples
    --------
    >>> limiter = RateLimiter()
    >>> [limiter.hit("a", limit=2, window_s=60, now=t) for t in (0, 1, 2)]
    [0.0, 0.0, 58.0]
    """

    def __init__(self, max_keys: int = 100_000) -> None:
        self.max_keys = max_keys
        self._events: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def hit(self, key: str, *, limit: int, window_s: float, now: float | None = None) -> float:
        """Count one event for ``key``; 0 if allowed, else the seconds until one would be.

        A refused event is not counted.
        """
        now = time.monotonic() if now is None else now
        with self._lock:
            events = self._events.pop(key, None) or deque()
            self._events[key] = events  # most recently used last
            while events and events[0] <= now - window_s:
                events.popleft()
            if len(events) >= limit:
                return float(max(0.0, events[0] + window_s - now))
            events.append(now)
            while len(self._events) > self.max_keys:
                self._events.pop(next(iter(self._events)))
            return 0.0

    @staticmethod
    def retry_after(wait_s: float) -> str:
        """The ``Retry-After`` header value (whole seconds, at least 1)."""
        return str(max(1, math.ceil(wait_s)))
