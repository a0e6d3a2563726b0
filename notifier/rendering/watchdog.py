"""A time limit for renders that interrupts them, even where the template's own checks do not run.

The sandbox checks its deadline at every loop step and bounds what each operation builds, so a
render normally stops itself. This watchdog is the backstop for what those checks cannot see: one
daemon thread keeps the deadlines of the renders in progress and, when one passes its deadline
plus a grace period, raises :class:`~notifier.rendering.sandbox.OverTime` inside the rendering
thread
(``PyThreadState_SetAsyncExc``). Python delivers such an exception between bytecodes, so any
Python-level runaway stops; a single C call cannot be interrupted, which is why the sandbox
bounds the size of every string, list and integer a template builds before building it.
"""

from __future__ import annotations

import ctypes
import heapq
import itertools
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

from notifier.rendering.sandbox import OverTime

GRACE_SECONDS = 0.5  # the sandbox's own checks usually stop a render at its deadline


class RenderWatchdog:
    """Interrupts a thread whose render runs past its deadline plus :data:`GRACE_SECONDS`."""

    def __init__(self, *, grace: float = GRACE_SECONDS) -> None:
        self._grace = grace
        # A C lock: taking it runs no Python code, so an interruption cannot leave it held.
        self._mutex = threading.Lock()
        self._wakeup = threading.Condition(self._mutex)
        self._due: list[tuple[float, int]] = []  # (time, watch number), earliest first
        self._watched: dict[int, int] = {}  # watch number -> thread id
        self._fired: set[int] = set()
        self._numbers = itertools.count()
        self._thread: threading.Thread | None = None
        # When the watchdog thread wakes next on its own (inf: only when woken): a watch due
        # later needs no wake-up, so a stream of quick renders costs it nothing.
        self._wakes_at = float("inf")

    @contextmanager
    def watch(self, deadline: float) -> Iterator[None]:
        """Run the block under a deadline (``time.monotonic()`` time); past it, interrupt it."""
        number = next(self._numbers)
        thread_id = threading.get_ident()
        with self._mutex:
            self._start()
            self._watched[number] = thread_id
            due = deadline + self._grace
            heapq.heappush(self._due, (due, number))
            if due < self._wakes_at:
                self._wakes_at = due
                self._wakeup.notify()
        try:
            yield
        finally:
            self._finish(number, thread_id)

    def _finish(self, number: int, thread_id: int) -> None:
        while True:
            try:
                with self._mutex:
                    self._watched.pop(number, None)
                    fired = number in self._fired
                    self._fired.discard(number)
                    if fired:
                        # Not delivered yet (the block ended first): take it back, so it
                        # cannot surface in whatever this thread runs next.
                        _raise_in(thread_id, None)
                return
            except OverTime:
                continue  # delivered just as the block ended: the block is over all the same

    def _start(self) -> None:
        if self._thread is None or not self._thread.is_alive():
            self._thread = threading.Thread(
                target=self._run, name="render-watchdog", daemon=True
            )
            self._thread.start()

    def _run(self) -> None:
        with self._mutex:
            while True:
                while self._due and self._due[0][1] not in self._watched:
                    heapq.heappop(self._due)
                if not self._due:
                    self._wakes_at = float("inf")
                    self._wakeup.wait()
                    continue
                due, number = self._due[0]
                wait = due - time.monotonic()
                if wait > 0:
                    self._wakes_at = due
                    self._wakeup.wait(wait)
                    continue
                heapq.heappop(self._due)
                self._fired.add(number)
                _raise_in(self._watched[number], OverTime)


def _raise_in(thread_id: int, exception: type[BaseException] | None) -> None:
    """Raise ``exception`` in the thread ``thread_id`` at its next bytecode (None: cancel it)."""
    ctypes.pythonapi.PyThreadState_SetAsyncExc(
        ctypes.c_ulong(thread_id), ctypes.py_object(exception) if exception else None
    )


WATCHDOG = RenderWatchdog()
