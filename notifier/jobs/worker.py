"""Start dramatiq workers inside this process, consuming every queue in ``queues.QUEUES``."""

from __future__ import annotations

import dramatiq

from notifier.jobs.queues import QUEUES


def start_worker(broker: dramatiq.Broker, *, threads: int = 8) -> dramatiq.Worker:
    """Start a worker on ``broker`` (whose actors are declared) consuming every queue."""
    worker = dramatiq.Worker(broker, queues=set(QUEUES), worker_threads=threads, worker_timeout=200)
    worker.start()
    return worker
