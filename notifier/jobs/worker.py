"""Start dramatiq workers inside this process, consuming every queue in ``queues.QUEUES``."""

from __future__ import annotations

import dramatiq

from notifier.jobs.queues import QUEUES


def start_worker(broker: dramatiq.Broker, *, threads: int = 8) -> dramatiq.Worker:
    """Start a worker on ``broker`` (whose actors are declared) consuming every queue."""
    worker = dramatiq.Worker(broker, queues=set(QUEUES), worker_threads=threads, worker_timeout=200)
    # A process takes from the queue only what its threads can start now (dramatiq's default
    # takes twice that): a publication's batches spread over every worker process and machine
    # instead of queueing behind the first one that asked (4 processes sent no faster than 1).
    worker.queue_prefetch = threads
    worker.start()
    return worker
