"""Several worker processes on one machine: a parent that starts, watches and stops them.

dramatiq's process model: each child is a whole single-process ``notifier worker`` that builds
its own settings, engine, broker and actors, so nothing is shared across a fork. The parent
only forwards signals. A child that dies on its own (a crash, the OOM killer) is not restarted:
the parent logs it, stops the others and exits with status 1, so that whatever runs the worker
(systemd, a Procfile runner, Kubernetes) restarts the whole group instead of the parent hiding a
crash loop. What the dead child had taken is recovered like any lost work (the sweeper).
"""

from __future__ import annotations

import logging
import signal
import subprocess
import time
from collections.abc import Sequence
from types import FrameType

log = logging.getLogger(__name__)

_POLL_SECONDS = 0.2


class Supervisor:
    """Run ``processes`` copies of ``command`` until a signal, or until one of them dies."""

    def __init__(self, command: Sequence[str], *, processes: int) -> None:
        self._command = list(command)
        self._count = processes
        self._children: list[subprocess.Popen[bytes]] = []
        self._stopping = False
        self._failed = False

    def run(self) -> int:
        """Start the children and wait for all of them to end.

        Returns:
            0 when they stopped because this process was told to stop, 1 when one died first.
        """
        signals = (signal.SIGINT, signal.SIGTERM)
        previous = {sig: signal.signal(sig, self._on_signal) for sig in signals}
        try:
            for _ in range(self._count):
                if self._stopping:
                    break
                self._children.append(subprocess.Popen(self._command))
            if self._stopping:  # a signal came while they were starting: stop the late ones too
                self._stop(signal.SIGTERM)
            log.info("started worker processes %s", [child.pid for child in self._children])
            self._watch()
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)
        return 1 if self._failed else 0

    def _watch(self) -> None:
        running = list(self._children)
        while running:
            time.sleep(_POLL_SECONDS)
            for child in [c for c in running if c.poll() is not None]:
                running.remove(child)
                self._ended(child)

    def _ended(self, child: subprocess.Popen[bytes]) -> None:
        if self._stopping:
            log.info("worker process %d stopped (status %s)", child.pid, child.returncode)
            return
        log.error(
            "worker process %d exited unexpectedly (status %s); stopping the others",
            child.pid,
            child.returncode,
        )
        self._failed = True
        self._stop(signal.SIGTERM)

    def _on_signal(self, signum: int, frame: FrameType | None) -> None:
        # The first signal asks each child to finish what it is doing; a second one insists.
        self._stop(signal.SIGKILL if self._stopping else signal.SIGTERM)

    def _stop(self, sig: signal.Signals) -> None:
        self._stopping = True
        for child in self._children:
            child.send_signal(sig)  # a no-op for a child that has already ended
