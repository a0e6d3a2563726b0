"""Waiting on a condition (never a bare sleep): poll until it holds or a deadline passes."""

from __future__ import annotations

import time


def wait_until(condition, *, timeout: float, what: str, every: float = 0.05, between=None):
    """Poll ``condition`` until it returns something true; return that value."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out waiting for {what}")
        if between is not None:
            between()
        time.sleep(every)
