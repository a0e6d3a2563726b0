"""Start dramatiq workers inside this process, consuming every queue in ``queues.QUEUES``."""

from __future__ import annotations

import dramatiq

from notifier.jobs.queues import QUEUES
from notifier.runtime import Runtime, install


def start_worker(runtime: Runtime, *, threads: int = 8) -> dramatiq.Worker:
    """Install the runtime for the actors and start a worker on its broker."""
    install(runtime)
    worker = dramatiq.Worker(
        runtime.queue.broker, queues=set(QUEUES), worker_threads=threads, worker_timeout=200
    )
    worker.start()
    return worker
