"""Entry point of the ``notifier`` command."""

from __future__ import annotations

import logging
import os

import click

from notifier.cli import db, deliveries, demo, enterprises, policies, processes, status
from notifier.cli.app import App, NotifierGroup


@click.group(cls=NotifierGroup)
@click.option("-v", "--verbose", count=True, help="More log output (-vv for debug).")
@click.pass_context
def cli(ctx: click.Context, verbose: int) -> None:
    """notifier: policies and deadlines, delivered to the enterprises they concern."""
    level = [logging.WARNING, logging.INFO, logging.DEBUG][min(verbose, 2)]
    logging.basicConfig(
        level=os.environ.get("NOTIFIER_LOG_LEVEL", level),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    app = App()
    ctx.obj = app
    ctx.call_on_close(app.close)


for group in (db.db, enterprises.enterprises, policies.policies, deliveries.deliveries):
    cli.add_command(group)
for command in (status.status, demo.demo, processes.worker, processes.clock, processes.run):
    cli.add_command(command)


def main() -> None:
    """Run the command line."""
    cli(prog_name="notifier")
