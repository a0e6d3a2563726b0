"""Entry point of the ``notifier`` command."""

from __future__ import annotations

import logging
import os

import click

from notifier.cli import (
    calendar,
    campaigns,
    complaints,
    db,
    deadlines,
    deliveries,
    demo,
    enterprises,
    followups,
    keys,
    policies,
    processes,
    providers,
    purge,
    status,
    templates,
    users,
)
from notifier.cli.app import App, NotifierGroup

LONG_RUNNING = {"worker", "clock", "run", "serve"}


@click.group(cls=NotifierGroup)
@click.option("-v", "--verbose", count=True, help="More log output (-vv for debug).")
@click.pass_context
def cli(ctx: click.Context, verbose: int) -> None:
    """notifier: policies and deadlines, delivered to the enterprises they concern."""
    # Long-running processes report what they do; one-shot commands only what went wrong.
    quiet = logging.INFO if ctx.invoked_subcommand in LONG_RUNNING else logging.WARNING
    level = [quiet, logging.INFO, logging.DEBUG][min(verbose, 2)]
    logging.basicConfig(
        level=os.environ.get("NOTIFIER_LOG_LEVEL", level),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    if verbose < 2:  # their INFO lines say every minute that nothing happened
        for chatty in ("apscheduler", "alembic"):
            logging.getLogger(chatty).setLevel(logging.WARNING)
    app = App()
    ctx.obj = app
    ctx.call_on_close(app.close)


for group in (
    db.db,
    enterprises.enterprises,
    policies.policies,
    deliveries.deliveries,
    deadlines.deadlines,
    campaigns.campaigns,
    templates.templates,
    keys.keys,
    users.users,
    providers.providers,
    calendar.calendar,
    followups.followups,
    complaints.complaints,
):
    cli.add_command(group)
for command in (
    status.status,
    demo.demo,
    purge.purge,
    processes.worker,
    processes.clock,
    processes.run,
    processes.serve,
):
    cli.add_command(command)


def main() -> None:
    """Run the command line."""
    cli(prog_name="notifier")
