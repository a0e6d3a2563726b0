"""``/metrics`` for Prometheus: requests, deliveries by channel and status, and the workers'.

Each app has its own registry (no process-wide one). Deliveries are counted from the database
when Prometheus scrapes, so every web process reports the same truth. dramatiq's own metrics
(messages, errors, retries, durations per actor) are gathered by its ``Prometheus`` middleware
in each ``notifier worker`` process when ``web.dramatiq_metrics_dir`` is set
(:func:`notifier.jobs.metrics.export_worker_metrics`): the middleware writes them in
prometheus_client's multiprocess files in that folder, and this registry reads the folder with
a ``MultiProcessCollector``, so a web process on the same machine (or sharing the folder)
reports them.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator

from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector
from sqlalchemy.exc import SQLAlchemyError
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from notifier.runtime import Runtime
from notifier.store.deliveries import channel_status_counts

log = logging.getLogger(__name__)


class DeliveryCollector(Collector):
    """Deliveries per channel and status, read from the database at each scrape."""

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime

    @staticmethod
    def _family() -> GaugeMetricFamily:
        return GaugeMetricFamily(
            "notifier_deliveries", "Deliveries by channel and status.", labels=["channel", "status"]
        )

    def describe(self) -> Iterator[Metric]:
        """The metric's name only: registering must not query the database."""
        yield self._family()

    def collect(self) -> Iterator[Metric]:
        family = self._family()
        try:
            with self.runtime.sessions() as session:
                counts = channel_status_counts(session)
        except SQLAlchemyError as exc:  # the scrape still answers; /healthz says what is down
            log.warning("metrics: cannot count deliveries: %s", exc)
            counts = {}
        for channel, statuses in sorted(counts.items()):
            for status, number in sorted(statuses.items()):
                family.add_metric([channel, status], number)
        yield family


class Metrics:
    """The app's registry and its request metrics."""

    def __init__(self, runtime: Runtime) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "notifier_http_requests",
            "HTTP requests by method, route and status.",
            ["method", "route", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "notifier_http_request_seconds",
            "HTTP request latency by method and route.",
            ["method", "route"],
            registry=self.registry,
        )
        self.registry.register(DeliveryCollector(runtime))
        folder = runtime.settings.web.dramatiq_metrics_dir
        if folder is not None:
            folder.mkdir(parents=True, exist_ok=True)  # the workers may not have started yet
            MultiProcessCollector(self.registry, path=str(folder))


def _route_of(scope: Scope) -> str:
    """The matched route's path template (``/api/v1/deliveries/{delivery_id}``), not the raw
    path: labels stay few whatever the ids. The router leaves the route in the scope."""
    route = scope.get("route")
    return str(getattr(route, "path_format", None) or getattr(route, "path", "unmatched"))


class RequestMetrics:
    """ASGI middleware counting requests and timing them."""

    def __init__(self, app: ASGIApp, *, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def tracking_send(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, tracking_send)
        finally:
            route = _route_of(scope)
            self.metrics.requests.labels(scope["method"], route, str(status)).inc()
            self.metrics.latency.labels(scope["method"], route).observe(
                time.perf_counter() - started
            )
