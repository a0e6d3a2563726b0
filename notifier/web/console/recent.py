"""Figures kept for a few seconds: the dashboard's counts scan a day's and a week's deliveries,
and several clerks opening it at once while a district-wide policy goes out need not each pay
for the same scan. A figure is at most ``seconds`` old; nothing else is kept."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Hashable
from typing import Any, TypeVar

T = TypeVar("T")


class Recent:
    """A value per key, computed again once it is older than ``seconds``."""

    def __init__(self, seconds: float, monotonic: Callable[[], float] = time.monotonic) -> None:
        self._seconds = seconds
        self._monotonic = monotonic
        self._lock = threading.Lock()  # guards the dict; never held while computing
        self._kept: dict[Hashable, tuple[float, Any]] = {}

    def get(self, key: Hashable, compute: Callable[[], T]) -> T:
        """The value kept for ``key`` if it is fresh, else ``compute()`` (kept from now).

        Only the newest key is kept (the dashboard's key changes with the day)."""
        now = self._monotonic()
        with self._lock:
            kept = self._kept.get(key)
        if kept is not None and now - kept[0] < self._seconds:
            value: T = kept[1]
            return value
        value = compute()
        with self._lock:
            self._kept = {key: (now, value)}
        return value
