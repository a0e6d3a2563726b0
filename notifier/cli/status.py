"""``notifier status``: what the system holds and how deliveries stand."""

from __future__ import annotations

from typing import Any

import click

from notifier.cli.app import FORMAT_OPTION, App, pass_app, print_json
from notifier.services.providers.admin import listing
from notifier.store import deliveries, migrate
from notifier.store.totals import totals


@click.command()
@FORMAT_OPTION
@pass_app
def status(app: App, output_format: str) -> None:
    """Show configuration, counts and delivery status per channel."""
    settings = app.settings
    with app.runtime.sessions() as session:
        info: dict[str, Any] = {
            "database": settings.database_url.split("@")[-1],
            "schema": migrate.current(settings.database_url),
            "broker": settings.broker_kind,
            "timezone": settings.timezone,
            # Those in force: rows of the database, then the settings (secrets never read here).
            "providers": {
                row["name"]: {"channel": row["channel"], "kind": row["kind"]}
                for row in listing(app.runtime.sessions, settings)
                if row["in_force"]
            },
            **totals(session),
            "deliveries": deliveries.channel_status_counts(session),
        }
    if output_format == "json":
        print_json(info)
        return
    for key in ("database", "schema", "broker", "timezone", "enterprises", "policies", "triggers"):
        click.echo(f"{key:>12}: {info[key]}")
    shown = ", ".join(f"{p['channel']}={name}" for name, p in info["providers"].items())
    click.echo(f"{'providers':>12}: {shown}")
    for channel, counts in sorted(info["deliveries"].items()):
        click.echo(f"{channel:>12}: " + ", ".join(f"{n} {s}" for s, n in sorted(counts.items())))
