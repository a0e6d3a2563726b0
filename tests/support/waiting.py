"""Waiting on a condition (never a bare sleep): poll until it holds or a deadline passes.

The one ``wait_until`` of the tests (the fault suite's harness re-exports it).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


def wait_until(
    condition: Callable[[], T],
    *,
    timeout: float,
    what: str,
    every: float = 0.05,
    between: Callable[[], object] | None = None,
) -> T:
    """Poll ``condition`` until it returns something true; return that value.

    Raises ``TimeoutError`` naming ``what`` after ``timeout`` seconds; ``between`` runs between
    polls (to nudge what is awaited, e.g. a maintenance pass).
    """
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out after {timeout:g} s waiting for {what}")
        if between is not None:
            between()
        time.sleep(every)
