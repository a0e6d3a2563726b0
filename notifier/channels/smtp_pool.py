"""A bounded set of kept-open SMTP connections, each used by one send at a time.

Connecting, the TLS handshake and the login cost several round trips; a kept connection pays
them once. Several batches of one worker process send email at the same time (dramatiq runs
several threads), so the provider keeps up to ``size`` connections: a send takes an idle one
(the one used last, likely still fresh), else opens one while there is room, else waits for one
to come back. A connection that saw any error is closed rather than given back, so a message is
never sent on a doubtful session; a connection idle for a while is asked with NOOP first.
"""

from __future__ import annotations

import smtplib
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from notifier.errors import TransientError

# A connection used this recently is trusted without a NOOP first.
FRESH_SECONDS = 2.0


def quit_quietly(smtp: smtplib.SMTP) -> None:
    """QUIT, or just close the socket when the server is gone."""
    try:
        smtp.quit()
    except (smtplib.SMTPException, OSError):
        smtp.close()


@dataclass
class _Kept:
    smtp: smtplib.SMTP
    used: float  # time.monotonic() of its last send
    generation: int


class SmtpPool:
    """Up to ``size`` connections made by ``connect``; safe to use from several threads.

    Parameters:
        size: the most connections open at once (busy and idle together).
        connect: opens, secures and logs in one connection; raises smtplib or OS errors.
        wait: how long a send waits for a connection when all are busy, in seconds.
        fresh: a connection used this many seconds ago or less is taken without a NOOP.
    """

    def __init__(
        self,
        *,
        size: int,
        connect: Callable[[], smtplib.SMTP],
        wait: float,
        fresh: float = FRESH_SECONDS,
    ) -> None:
        self._size = size
        self._connect = connect
        self._wait = wait
        self._fresh = fresh
        self._idle: list[_Kept] = []
        self._open = 0  # busy and idle
        self._generation = 0  # close() starts a new one; older connections are not reused
        self._ready = threading.Condition(threading.Lock())

    @contextmanager
    def connection(self) -> Iterator[smtplib.SMTP]:
        """A connection for one send: given back after it, closed if the send raised.

        Raises:
            TransientError: every connection stayed busy for ``wait`` seconds.
            smtplib.SMTPException, OSError: opening a connection failed.
        """
        kept = self._take()
        try:
            yield kept.smtp
        except BaseException:
            self._discard(kept)
            raise
        kept.used = time.monotonic()
        self._give(kept)

    def close(self) -> None:
        """Close the idle connections now and the busy ones when their send ends."""
        with self._ready:
            idle, self._idle = self._idle, []
            self._open -= len(idle)
            self._generation += 1
            self._ready.notify_all()
        for kept in idle:
            quit_quietly(kept.smtp)

    @property
    def open(self) -> int:
        """How many connections are open (busy or idle)."""
        with self._ready:
            return self._open

    def _take(self) -> _Kept:
        while True:
            kept = self._idle_or_room()
            if kept is None:
                return self._opened()
            if time.monotonic() - kept.used < self._fresh or self._answers(kept.smtp):
                return kept
            self._discard(kept)  # the relay dropped it while idle: take another

    def _idle_or_room(self) -> _Kept | None:
        """The most recently used idle connection, or None with a place taken for a new one."""
        deadline = time.monotonic() + self._wait
        with self._ready:
            while not self._idle and self._open >= self._size:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TransientError(
                        f"smtp: all {self._size} connections busy for {self._wait:g} s"
                    )
                self._ready.wait(left)
            if self._idle:
                return self._idle.pop()
            self._open += 1
            return None

    def _opened(self) -> _Kept:
        with self._ready:
            generation = self._generation
        try:
            smtp = self._connect()
        except BaseException:
            with self._ready:
                self._open -= 1
                self._ready.notify()
            raise
        return _Kept(smtp, time.monotonic(), generation)

    @staticmethod
    def _answers(smtp: smtplib.SMTP) -> bool:
        try:
            return smtp.noop()[0] == 250
        except (smtplib.SMTPException, OSError):
            return False

    def _give(self, kept: _Kept) -> None:
        with self._ready:
            current = kept.generation == self._generation
            if current:
                self._idle.append(kept)
            else:
                self._open -= 1
            self._ready.notify()
        if not current:
            quit_quietly(kept.smtp)

    def _discard(self, kept: _Kept) -> None:
        with self._ready:
            self._open -= 1
            self._ready.notify()
        quit_quietly(kept.smtp)
