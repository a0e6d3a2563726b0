"""``notifier policies``: publish and list."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

import click

from notifier.cli.app import FORMAT_OPTION, App, pass_app, print_json
from notifier.cli.preview import print_preview
from notifier.jobs.worker import start_worker
from notifier.policy_file import read_policy_file
from notifier.preview import preview_policy
from notifier.progress import follow
from notifier.publishing import publish as publish_policy
from notifier.runtime import Runtime
from notifier.store import policies as store


@contextlib.contextmanager
def embedded_worker(runtime: Runtime) -> Iterator[None]:
    """In embedded mode, run a worker in this process for as long as the block lasts."""
    if not runtime.queue.embedded:
        yield
        return
    worker = start_worker(runtime.queue.broker, threads=4)
    try:
        yield
    finally:
        worker.stop()


@click.group()
def policies() -> None:
    """Policies: publish and list."""


def _show_preview(app: App, file: Path, output_format: str, samples: int) -> None:
    runtime = app.runtime
    draft = read_policy_file(file.read_bytes(), zone=runtime.settings.zone)
    result = preview_policy(
        runtime.sessions,
        draft,
        providers=runtime.providers,
        messages=runtime.messages,
        samples=samples,
    )
    if output_format == "json":
        print_json(result.as_dict())
    else:
        print_preview(result)


SAMPLES_OPTION = click.option(
    "--samples",
    type=click.IntRange(0, 100),
    default=5,
    show_default=True,
    help="How many enterprises to list with why each is reached.",
)


@policies.command()
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@SAMPLES_OPTION
@FORMAT_OPTION
@pass_app
def preview(app: App, file: Path, samples: int, output_format: str) -> None:
    """Show whom FILE.json would reach and what they would read; nothing is sent."""
    _show_preview(app, file, output_format, samples)


@policies.command()
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--wait", is_flag=True, help="With Redis: follow the deliveries to the end.")
@click.option(
    "--wait-for-worker",
    type=click.FloatRange(min=0.1, max=3600),
    default=10.0,
    show_default=True,
    help="With --wait: seconds to wait for a worker to start before saying none is running.",
)
@click.option("--dry-run", is_flag=True, help="Preview only: store and send nothing.")
@SAMPLES_OPTION
@FORMAT_OPTION
@pass_app
def publish(
    app: App,
    file: Path,
    wait: bool,
    wait_for_worker: float,
    dry_run: bool,
    samples: int,
    output_format: str,
) -> None:
    """Publish the policy in FILE.json to the enterprises it targets."""
    if dry_run:
        _show_preview(app, file, output_format, samples)
        return
    runtime = app.runtime
    draft = read_policy_file(file.read_bytes(), zone=runtime.settings.zone)
    # Embedded mode finishes the work it started before it exits.
    embedded = runtime.queue.embedded
    wait = wait or embedded
    show = output_format == "text"
    with embedded_worker(runtime):
        result = publish_policy(runtime.sessions, runtime.dispatch, draft, clock=runtime.clock)
        state = (
            follow(
                runtime.sessions,
                result.trigger_id,
                show=show,
                idle_limit=None if embedded else wait_for_worker,
            )
            if wait and result.trigger_id
            else None
        )
    if output_format == "json":
        print_json(
            {
                "id": result.policy_id,
                "created": result.created,
                "trigger_id": result.trigger_id,
                "deliveries": state.counts if state else None,
            }
        )
        return
    note = "published" if result.created else "already published; nothing sent twice"
    click.echo(f"policy {result.policy_id}: {note}")
    if state:
        click.echo(
            ", ".join(f"{n} {s}" for s, n in sorted(state.counts.items())) or "no recipients"
        )
    elif result.trigger_id is None:
        click.echo("scheduled: the clock sends it at its publication time")


@policies.command("list")
@click.option("--limit", type=click.IntRange(min=1), default=50, show_default=True)
@FORMAT_OPTION
@pass_app
def list_(app: App, limit: int, output_format: str) -> None:
    """List the newest policies."""
    zone = app.settings.zone
    with app.runtime.sessions() as session:
        rows = [
            {
                "id": p.id,
                "title": p.title,
                "department": p.department,
                "published_at": p.published_at.astimezone(zone).isoformat(),
                "targets": p.targets.as_dict(),
                "topics": p.topics,
            }
            for p in store.list_recent(session, limit=limit)
        ]
    if output_format == "json":
        print_json(rows)
        return
    for row in rows:
        published = str(row["published_at"])[:16]
        click.echo(f"{row['id']:>5}  {published}  {row['department']}  {row['title']}")
