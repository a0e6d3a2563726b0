"""``notifier deadlines``: list, move, cancel and mark done."""

from __future__ import annotations

from datetime import datetime

import click

from notifier.cli.app import FORMAT_OPTION, ID, App, pass_app, print_json, shown
from notifier.errors import InputError
from notifier.inputs.policy_file import read_due_at
from notifier.services.deadlines.operations import cancel_deadline, mark_done, move_deadline, report


@click.group()
def deadlines() -> None:
    """Deadlines and their reminders: list, move, cancel, done."""


@deadlines.command("list")
@click.option("--limit", type=click.IntRange(min=1), default=None, help="At most N deadlines.")
@FORMAT_OPTION
@pass_app
def list_(app: App, limit: int | None, output_format: str) -> None:
    """Each deadline, its reminder rungs and which went out."""
    rows = report(app.context, limit=limit)
    if output_format == "json":
        print_json(rows)
        return
    for row in rows:
        flags = " (cancelled)" if row["cancelled"] else ""
        done = f", {row['done']} done" if row["done"] else ""
        click.echo(
            f"{row['id']:>5}  {row['due_at']}  {shown(row['title'])}{flags}  "
            f"[policy {row['policy_id']}{done}]"
        )
        for rung in row["rungs"]:
            sent = f" to {rung['recipients']}" if rung.get("recipients") else ""
            note = f"  {shown(rung['note'])}" if rung.get("note") else ""
            click.echo(f"       {rung['rung']:>4}  {rung['at']}  {rung['state']}{sent}{note}")


def _due(text: str, app: App) -> datetime:
    """A new due time as the policy file reads it: a date alone is the end of that day."""
    try:
        return read_due_at(text, zone=app.settings.zone)
    except InputError as exc:
        raise InputError(f"NEW_DUE: {exc}", field="due_at") from None


@deadlines.command()
@click.argument("deadline_id", type=ID)
@click.argument("new_due")
@pass_app
def move(app: App, deadline_id: int, new_due: str) -> None:
    """Move a deadline to NEW_DUE (2026-10-15 or 2026-10-15T17:00); unsent rungs follow."""
    changed = move_deadline(app.context, deadline_id, _due(new_due, app))
    when = changed.due_at.astimezone(app.settings.zone).strftime("%Y-%m-%d %H:%M")
    click.echo(f"deadline {deadline_id}: now due {when}; {changed.cancelled_triggers} rungs moved")


@deadlines.command()
@click.argument("deadline_id", type=ID)
@pass_app
def cancel(app: App, deadline_id: int) -> None:
    """Cancel a deadline: no more reminders go out for it."""
    changed = cancel_deadline(app.context, deadline_id)
    click.echo(
        f"deadline {deadline_id}: cancelled; {changed.cancelled_triggers} rungs and "
        f"{changed.cancelled_deliveries} deliveries will not be sent"
    )


@deadlines.command()
@click.argument("deadline_id", type=ID)
@click.argument("credit_code")
@pass_app
def done(app: App, deadline_id: int, credit_code: str) -> None:
    """Record that CREDIT_CODE has done the deadline: it gets no more reminders for it."""
    new = mark_done(app.context, deadline_id, credit_code)
    note = "marked done" if new else "already marked done"
    click.echo(f"deadline {deadline_id}: {shown(credit_code)} {note}; no more reminders")
