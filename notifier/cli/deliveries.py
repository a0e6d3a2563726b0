"""``notifier deliveries``: the delivery log."""

from __future__ import annotations

import click
from rich.console import Console
from rich.table import Table

from notifier.cli.app import (
    FORMAT_OPTION,
    ID,
    LISTING_FORMAT_OPTION,
    App,
    pass_app,
    print_json,
    shown,
)
from notifier.domain.channel_names import CHANNELS
from notifier.domain.csv_export import write_csv
from notifier.errors import InputError
from notifier.services.enterprises.listings import DELIVERY_COLUMNS, attempt_row, delivery_row
from notifier.store import deliveries as store
from notifier.store.deliveries import DeliveryFilter
from notifier.store.models import DeliveryStatus


def _short(moment: object) -> str:
    return str(moment)[:16].replace("T", " ") if moment else ""


@click.group()
def deliveries() -> None:
    """The delivery log."""


@deliveries.command("list")
@click.option("--policy", "policy_id", type=ID, help="Only this policy's deliveries.")
@click.option("--status", type=click.Choice([s.value for s in DeliveryStatus]))
@click.option("--channel", type=click.Choice(CHANNELS))
@click.option("--limit", type=click.IntRange(min=1), default=50, show_default=True)
@click.option("--all", "show_all", is_flag=True, help="Every matching delivery (no limit).")
@LISTING_FORMAT_OPTION
@pass_app
def list_(
    app: App,
    policy_id: int | None,
    status: str | None,
    channel: str | None,
    limit: int,
    show_all: bool,
    output_format: str,
) -> None:
    """List deliveries, newest first."""
    filters = DeliveryFilter(policy_id=policy_id, status=status, channel=channel)
    with app.runtime.sessions() as session:
        if policy_id is not None and not store.policy_exists(session, policy_id):
            raise InputError(f"policy {policy_id} does not exist", field="policy")
        rows = [
            delivery_row(d, app.settings.zone)
            for d in store.list_deliveries(session, filters, limit=None if show_all else limit)
        ]
    if output_format == "json":
        print_json(rows)
        return
    if output_format == "csv":
        write_csv(rows, DELIVERY_COLUMNS)
        return
    table = Table(
        "id", "policy", "credit code", "channel", "status", "tries", "next try", "last error"
    )
    for row in rows:
        table.add_row(
            str(row["id"]),
            str(row["policy_id"] or "-"),
            shown(row["credit_code"]),
            shown(row["channel"]),
            shown(row["status"]),
            str(row["attempts"]),
            _short(row["next_attempt_at"]),
            shown(row["last_error"] or ""),
        )
    Console().print(table)


@deliveries.command("show")
@click.argument("delivery_id", type=ID)
@FORMAT_OPTION
@pass_app
def show(app: App, delivery_id: int, output_format: str) -> None:
    """One delivery: why it was sent, and every attempt."""
    zone = app.settings.zone
    with app.runtime.sessions() as session:
        delivery = store.get_delivery(session, delivery_id)
        if delivery is None:
            raise InputError(f"delivery {delivery_id} does not exist", field="id")
        row = delivery_row(delivery, zone)
        row["attempts_made"] = row.pop("attempts")
        row["attempts"] = [attempt_row(a, zone) for a in store.attempts_of(session, delivery_id)]
    if output_format == "json":
        print_json(row)
        return
    console = Console(highlight=False, soft_wrap=True)
    for key, value in row.items():
        if key != "attempts":
            console.print(f"{key}: {shown(_short(value) if key.endswith('_at') else value)}")
    table = Table("#", "outcome", "provider", "started", "finished", "error")
    attempts = row["attempts"]
    assert isinstance(attempts, list)
    for attempt in attempts:
        table.add_row(
            str(attempt["number"]),
            shown(attempt["outcome"]),
            shown(attempt["provider"] or ""),
            _short(attempt["started_at"]),
            _short(attempt["finished_at"]),
            shown(attempt["error"] or ""),
        )
    console.print(table)
