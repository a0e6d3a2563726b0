"""``notifier worker``, ``clock`` and ``run``: the long-running processes."""

from __future__ import annotations

import signal
import threading

import click
from apscheduler.schedulers.background import BackgroundScheduler

from notifier.cli.app import App, pass_app
from notifier.errors import ConfigError
from notifier.jobs.clock import add_jobs, run_clock
from notifier.jobs.worker import start_worker


def _wait_for_signal() -> None:
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    stop.wait()


@click.command()
@click.option("--threads", type=click.IntRange(1, 64), default=8, show_default=True)
@pass_app
def worker(app: App, threads: int) -> None:
    """Consume the fan-out and delivery queues (needs NOTIFIER_REDIS_URL)."""
    if app.settings.redis_url is None:
        raise ConfigError(
            "notifier worker needs NOTIFIER_REDIS_URL; without Redis, `notifier run` does it all"
        )
    app.runtime.queue.check()
    running = start_worker(app.runtime.queue.broker, threads=threads)
    click.echo(f"worker consuming with {threads} threads; Ctrl-C to stop")
    try:
        _wait_for_signal()
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
