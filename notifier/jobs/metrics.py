"""dramatiq's own Prometheus metrics from a ``notifier worker`` process, for ``/metrics``.

dramatiq's ``Prometheus`` middleware (``dramatiq.middleware.prometheus``, not in its default
middleware) counts messages, errors, retries, dead letters, in-progress messages and durations
per queue and actor. It keeps them in prometheus_client's *multiprocess* mode: each process
writes its values to memory-mapped files in a folder (``PROMETHEUS_MULTIPROC_DIR``), and any
process can read the whole folder with a ``MultiProcessCollector``. dramatiq's own exposition
server (a fork of its CLI) is not used: notifier's web app reads the folder
(``web.dramatiq_metrics_dir``) on each scrape, so run the web process on the same machine as
the workers or share the folder with it.

prometheus_client picks multiprocess mode when it is first imported, and a ``notifier``
process has imported it already (the web app's request metrics), so the mode is switched here,
before the middleware makes its metrics. Only ``notifier worker`` does this: ``notifier run``
serves the web app in the same process, whose own metrics must stay in memory.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

import dramatiq

log = logging.getLogger(__name__)


def export_worker_metrics(broker: dramatiq.Broker, folder: Path) -> None:
    """Add dramatiq's Prometheus middleware to ``broker``, writing into ``folder``.

    Call before the worker starts consuming.
    """
    folder.mkdir(parents=True, exist_ok=True)
    path = str(folder.resolve())
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = path
    from prometheus_client import values

    values.ValueClass = values.get_value_class()  # multiprocess from here on, in this process
    from dramatiq.middleware import prometheus

    prometheus.DB_PATH = path  # read from the environment when dramatiq's module was imported
    middleware = prometheus.Prometheus()
    broker.add_middleware(middleware)
    middleware.after_process_boot(broker)  # where it makes its metrics; workers boot no broker
    log.info("dramatiq metrics: writing to %s", path)
