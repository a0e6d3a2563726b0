"""``notifier db``: migrations."""

from __future__ import annotations

import click

from notifier.cli.app import App, pass_app
from notifier.services.calendar import working_days as calendar_admin
from notifier.store import migrate


@click.group()
def db() -> None:
    """Database migrations."""


@db.command()
@pass_app
def upgrade(app: App) -> None:
    """Bring the database schema up to date, and seed the working-day calendar."""
    migrate.upgrade(app.settings.database_url)
    click.echo(f"database at revision {migrate.current(app.settings.database_url)}")
    runtime = app.runtime
    seeded = calendar_admin.seed(runtime.sessions, time_source=runtime.time_source)
    if seeded:
        click.echo(f"working-day calendar: {len(seeded)} years seeded ({seeded[0]}-{seeded[-1]})")


@db.command()
@pass_app
def current(app: App) -> None:
    """Show the schema revision of the database."""
    click.echo(migrate.current(app.settings.database_url) or "not migrated")
