"""``notifier worker``, ``clock`` and ``run``: the long-running processes."""

from __future__ import annotations

import logging
import os
import signal
import sys
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING

import click
from apscheduler.schedulers.background import BackgroundScheduler

from notifier.cli.app import App, pass_app
from notifier.errors import ConfigError
from notifier.jobs.clock import add_jobs, run_clock
from notifier.jobs.metrics import export_worker_metrics
from notifier.jobs.supervisor import Supervisor
from notifier.jobs.usage_reporter import UsageReporter
from notifier.jobs.worker import start_worker
from notifier.runtime import Runtime
from notifier.services.providers.usage import process_name

if TYPE_CHECKING:
    from notifier.web.server import RunningServer

log = logging.getLogger(__name__)

# How a worker process starts its children: the same command line, one process each.
_CHILD = [sys.executable, "-c", "from notifier.cli.main import main; main()"]


def _report_usage(runtime: Runtime, role: str) -> UsageReporter:
    """Tell the database which providers this sending process uses, until stopped."""
    return UsageReporter(
        sessions=runtime.sessions,
        settings=runtime.settings,
        catalog=runtime.catalog,
        time_source=runtime.time_source,
        process=process_name(role),
    ).start()


def _wait_for_signal(*, parent: int | None = None) -> None:
    """Return on SIGINT or SIGTERM, or (with ``parent``) once that process is gone."""
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    while not stop.wait(1.0):
        if parent is not None and os.getppid() != parent:
            log.warning("worker process %d: its parent %d is gone; stopping", os.getpid(), parent)
            return


@click.command()
@click.option(
    "--processes",
    type=click.IntRange(1, 64),
    default=1,
    show_default=True,
    help="Worker processes, each with its own connections and --threads threads.",
)
@click.option("--threads", type=click.IntRange(1, 64), default=8, show_default=True)
@click.option("--parent", type=int, default=None, hidden=True)  # set for the children only
@click.pass_context
def worker(ctx: click.Context, processes: int, threads: int, parent: int | None) -> None:
    """Consume the fan-out and delivery queues (needs NOTIFIER_BROKER_URL or NOTIFIER_REDIS_URL)."""
    app = ctx.ensure_object(App)
    if app.settings.embedded:
        raise ConfigError(
            "notifier worker needs a broker: set NOTIFIER_BROKER_URL (or NOTIFIER_REDIS_URL); "
            "without one, `notifier run` does it all"
        )
    queue = app.serving_runtime().queue
    queue.check()  # one clear line now rather than one per child
    app.runtime.catalog.load()  # a provider row that cannot be used: one line now, too
    if processes > 1:
        queue.close()  # the parent only watches its children
        verbose = ctx.find_root().params.get("verbose") or 0
        child = [*_CHILD, *(["-" + "v" * verbose] if verbose else []), "worker"]
        child += ["--threads", str(threads), "--parent", str(os.getpid())]
        click.echo(f"worker starting {processes} processes of {threads} threads; Ctrl-C to stop")
        ctx.exit(Supervisor(child, processes=processes).run())
    folder = app.settings.web.dramatiq_metrics_dir
    if folder is not None:
        export_worker_metrics(queue.broker, folder)
    running = start_worker(queue.broker, threads=threads)
    usage = _report_usage(app.runtime, "worker")
    click.echo(f"worker {os.getpid()} consuming with {threads} threads; Ctrl-C to stop")
    try:
        _wait_for_signal(parent=parent)
    finally:
        running.stop()
        usage.stop()


@click.command()
@pass_app
def clock(app: App) -> None:
    """Run the scheduler: queue newly published policies, sweep lost work."""
    app.serving_runtime().queue.check()
    click.echo("clock running; Ctrl-C to stop")
    run_clock(app.runtime)


HOST_OPTION = click.option("--host", default=None, help="Listen here (default: web.host).")
PORT_OPTION = click.option(
    "--port", type=click.IntRange(0, 65535), default=None, help="Port (default: web.port)."
)


def _where(runtime: Runtime, host: str | None, port: int | None) -> tuple[str, int]:
    web = runtime.settings.web
    return host or web.host, web.port if port is None else port


def _start_web(runtime: Runtime, *, host: str, port: int) -> RunningServer:
    # Imported here: FastAPI and uvicorn cost every other command a second of start-up.
    from notifier.web.server import start_in_thread

    return start_in_thread(runtime, host=host, port=port)


def run_system(
    runtime: Runtime,
    *,
    threads: int,
    host: str,
    port: int,
    web: bool = True,
    announce: Callable[[str], None] | None = None,
) -> None:
    """Worker, clock and (with ``web``) the web server in this process, until SIGINT/SIGTERM.

    ``announce`` is told the web server's address once it listens.
    """
    runtime.queue.check()
    runtime.catalog.load()
    server = _start_web(runtime, host=host, port=port) if web else None
    running = start_worker(runtime.queue.broker, threads=threads)
    usage = _report_usage(runtime, "run")
    scheduler = BackgroundScheduler(timezone=runtime.settings.zone)
    leadership = add_jobs(scheduler, runtime)
    scheduler.start()
    broker = "embedded" if runtime.queue.embedded else "redis"
    click.echo(f"notifier running ({broker} broker, {threads} threads); Ctrl-C to stop")
    if server is not None:
        click.echo(f"web: {server.address}/api/docs (API {server.address}/api/v1)")
        if announce is not None:
            announce(server.address)
    try:
        _wait_for_signal()
    finally:
        if server is not None:
            server.stop()
        scheduler.shutdown(wait=False)
        leadership.release()
        running.stop()
        usage.stop()


@click.command()
@click.option("--threads", type=click.IntRange(1, 64), default=4, show_default=True)
@click.option("--web/--no-web", default=True, show_default=True, help="Serve the HTTP API too.")
@HOST_OPTION
@PORT_OPTION
@pass_app
def run(app: App, threads: int, web: bool, host: str | None, port: int | None) -> None:
    """Run worker, clock and the web server together in this process (the embedded default)."""
    app.make_local_key()
    runtime = app.serving_runtime()
    where_host, where_port = _where(runtime, host, port)
    run_system(runtime, threads=threads, host=where_host, port=where_port, web=web)


@click.command()
@HOST_OPTION
@PORT_OPTION
@pass_app
def serve(app: App, host: str | None, port: int | None) -> None:
    """Serve the HTTP API (/api/v1, docs at /api/docs) until Ctrl-C.

    With a broker, run `notifier worker` and `notifier clock` beside it; without one (embedded),
    `notifier run` serves the API with the worker and clock in one process.
    """
    runtime = app.serving_runtime()
    if runtime.settings.embedded:
        log.warning(
            "no broker: what the API publishes waits for `notifier run` (worker and time_source); "
            "`notifier run` also serves the API"
        )
    where_host, where_port = _where(runtime, host, port)
    server = _start_web(runtime, host=where_host, port=where_port)
    click.echo(f"web: {server.address}/api/docs (API {server.address}/api/v1); Ctrl-C to stop")
    try:
        _wait_for_signal()
    finally:
        server.stop()
