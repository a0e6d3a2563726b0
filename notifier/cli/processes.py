"""``notifier worker``, ``clock`` and ``run``: the long-running processes."""

from __future__ import annotations

import logging
import os
import signal
import sys
import threading

import click
from apscheduler.schedulers.background import BackgroundScheduler

from notifier.cli.app import App, pass_app
from notifier.errors import ConfigError
from notifier.jobs.clock import add_jobs, run_clock
from notifier.jobs.supervisor import Supervisor
from notifier.jobs.worker import start_worker

log = logging.getLogger(__name__)

# How a worker process starts its children: the same command line, one process each.
_CHILD = [sys.executable, "-c", "from notifier.cli.main import main; main()"]


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
    queue = app.runtime.queue
    queue.check()  # one clear line now rather than one per child
    app.runtime.catalog.load()  # a provider row that cannot be used: one line now, too
    if processes > 1:
        queue.close()  # the parent only watches its children
        verbose = ctx.find_root().params.get("verbose") or 0
        child = [*_CHILD, *(["-" + "v" * verbose] if verbose else []), "worker"]
        child += ["--threads", str(threads), "--parent", str(os.getpid())]
        click.echo(f"worker starting {processes} processes of {threads} threads; Ctrl-C to stop")
        ctx.exit(Supervisor(child, processes=processes).run())
    running = start_worker(queue.broker, threads=threads)
    click.echo(f"worker {os.getpid()} consuming with {threads} threads; Ctrl-C to stop")
    try:
        _wait_for_signal(parent=parent)
    finally:
        running.stop()


@click.command()
@pass_app
def clock(app: App) -> None:
    """Run the scheduler: queue newly published policies, sweep lost work."""
    app.runtime.queue.check()
    click.echo("clock running; Ctrl-C to stop")
    run_clock(app.runtime)


@click.command()
@click.option("--threads", type=click.IntRange(1, 64), default=4, show_default=True)
@pass_app
def run(app: App, threads: int) -> None:
    """Run worker and clock together in this process (the embedded default)."""
    runtime = app.runtime
    runtime.queue.check()
    runtime.catalog.load()
    running = start_worker(runtime.queue.broker, threads=threads)
    scheduler = BackgroundScheduler(timezone=runtime.settings.zone)
    leadership = add_jobs(scheduler, runtime)
    scheduler.start()
    broker = "embedded" if runtime.queue.embedded else "redis"
    click.echo(f"notifier running ({broker} broker, {threads} threads); Ctrl-C to stop")
    try:
        _wait_for_signal()
    finally:
        scheduler.shutdown(wait=False)
        leadership.release()
        running.stop()
