"""Bounds on a block of code: peak allocation and wall time."""

from __future__ import annotations

import contextlib
import time
import tracemalloc


@contextlib.contextmanager
def memory_and_time_bounded(*, max_bytes: int = 8_000_000, max_seconds: float = 10.0):
    """Fail the test when the block's peak allocation or wall time (a hang guard) is over."""
    tracemalloc.start()
    started = time.monotonic()
    try:
        yield
    finally:
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
    elapsed = time.monotonic() - started
    assert peak < max_bytes, f"peak allocation {peak:,} bytes"
    assert elapsed < max_seconds, f"took {elapsed:.1f} s"
