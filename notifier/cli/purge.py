"""``notifier purge``: forget addresses and texts of deliveries past the retention period."""

from __future__ import annotations

import click

from notifier.cli.app import FORMAT_OPTION, App, pass_app, print_json
from notifier.services.delivery.retention import purge as run_purge


@click.command()
@click.option(
    "--days",
    type=click.IntRange(1, 3650),
    default=None,
    help="Keep this many days (default: the retention.days setting).",
)
@FORMAT_OPTION
@pass_app
def purge(app: App, days: int | None, output_format: str) -> None:
    """Purge finished deliveries older than the retention period (statuses and counts stay)."""
    settings = app.settings
    kept = days or settings.retention.days
    result = run_purge(app.runtime.sessions, days=kept, outbox_dir=settings.outbox_dir)
    if output_format == "json":
        print_json(
            {
                "days": kept,
                "deliveries": result.deliveries,
                "outbox_files": result.outbox_files,
                "reach_events": result.reach_events,
            }
        )
        return
    click.echo(
        f"purged {result.deliveries} deliveries, {result.outbox_files} outbox files and "
        f"{result.reach_events} page and call events older than {kept} days"
    )
