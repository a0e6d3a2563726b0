"""A deadline for a whole exchange with an outside party: connect, send, and every read.

A socket timeout bounds each wait, not their sum: a peer that answers one byte every few
seconds never trips it. :func:`within` starts a :class:`Cutoff` for the calling thread; the
guarded connections (:mod:`notifier.channels.netguard`) hand it each socket the exchange uses, and
one
watchdog thread per process shuts those sockets down once the deadline has passed. A read or
write blocked on them then returns at once (end of stream, or an error), and the caller, seeing
:attr:`Cutoff.fired`, reports the deadline.
"""

from __future__ import annotations

import contextlib
import heapq
import itertools
import logging
import os
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

log = logging.getLogger(__name__)


class Cutoff:
    """The deadline of one exchange and the sockets it is using."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.ends = time.monotonic() + seconds
        self.fired = False
        self._done = False
        self._sockets: list[socket.socket] = []
        self._lock = threading.Lock()

    @property
    def passed(self) -> bool:
        """True once the deadline has passed, whether or not the watchdog has acted yet."""
        return self.fired or time.monotonic() >= self.ends

    @property
    def done(self) -> bool:
        """True once the exchange has ended: the cutoff never fires after that."""
        return self._done

    def watch(self, sock: socket.socket) -> None:
        """Shut ``sock`` down at the deadline (at once if it has passed)."""
        with self._lock:
            if not self.fired:
                if sock not in self._sockets:
                    self._sockets.append(sock)
                return
        _shut(sock)

    def forget(self, sock: socket.socket) -> None:
        """Leave ``sock`` alone: its connection went back to the pool, for other exchanges."""
        with self._lock:
            if sock in self._sockets:
                self._sockets.remove(sock)

    def fire(self) -> None:
        """The deadline has passed: shut down every socket still watched."""
        with self._lock:
            if self._done:
                return
            self.fired = True
            sockets, self._sockets = self._sockets, []
        for sock in sockets:
            _shut(sock)

    def finish(self) -> None:
        """The exchange is over; nothing is shut down from now on."""
        with self._lock:
            self._done = True
            self._sockets = []


def _shut(sock: socket.socket) -> None:
    # The plain socket's shutdown, even for a TLS socket: it wakes a blocked read or write
    # without touching the TLS object the reading thread is inside.
    with contextlib.suppress(OSError):  # already closed, or never connected
        socket.socket.shutdown(sock, socket.SHUT_RDWR)


class _Watchdog:
    """One thread per process that fires cutoffs when their deadlines pass."""

    def __init__(self) -> None:
        self._reset()
        os.register_at_fork(after_in_child=self._reset)

    def _reset(self) -> None:
        # A forked worker starts with no thread and no waiting cutoffs of its parent.
        self._due: list[tuple[float, int, Cutoff]] = []
        self._order = itertools.count()
        self._condition = threading.Condition()
        self._thread: threading.Thread | None = None

    def add(self, cutoff: Cutoff) -> None:
        with self._condition:
            heapq.heappush(self._due, (cutoff.ends, next(self._order), cutoff))
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(
                    target=self._run, name="notifier-cutoff", daemon=True
                )
                self._thread.start()
            if self._due[0][2] is cutoff:  # the new first deadline: the watchdog sleeps too long
                self._condition.notify()

    def _run(self) -> None:
        while True:
            for cutoff in self._wait_for_due():
                log.info("exchange cut off after %g s", cutoff.seconds)
                cutoff.fire()

    def _wait_for_due(self) -> list[Cutoff]:
        with self._condition:
            while True:
                now = time.monotonic()
                due = []
                # Finished exchanges leave when they reach the top; the heap stays small.
                while self._due and (self._due[0][2].done or self._due[0][0] <= now):
                    cutoff = heapq.heappop(self._due)[2]
                    if not cutoff.done:
                        due.append(cutoff)
                if due:
                    return due
                self._condition.wait(self._due[0][0] - now if self._due else None)


_WATCHDOG = _Watchdog()
_current = threading.local()


@contextmanager
def within(seconds: float) -> Iterator[Cutoff]:
    """Run an exchange that must end within ``seconds``; its sockets are cut off after that."""
    cutoff = Cutoff(seconds)
    outer = current()
    _current.cutoff = cutoff
    _WATCHDOG.add(cutoff)
    try:
        yield cutoff
    finally:
        cutoff.finish()
        _current.cutoff = outer


def current() -> Cutoff | None:
    """The cutoff of the exchange this thread is making, if any."""
    return getattr(_current, "cutoff", None)


def watch(sock: socket.socket | None) -> None:
    """Hand ``sock`` to this thread's cutoff, if it has one."""
    cutoff = current()
    if cutoff is not None and sock is not None:
        cutoff.watch(sock)


def forget(sock: socket.socket | None) -> None:
    """Take ``sock`` from this thread's cutoff (its connection is going back to the pool)."""
    cutoff = current()
    if cutoff is not None and sock is not None:
        cutoff.forget(sock)
