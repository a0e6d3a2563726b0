"""``notifier deliveries``: the delivery log."""

from __future__ import annotations

from datetime import tzinfo

import click
from rich.console import Console
from rich.table import Table

from notifier.channel_names import CHANNELS
from notifier.cli.app import FORMAT_OPTION, App, pass_app, print_json
from notifier.models import Delivery, DeliveryStatus
from notifier.store import deliveries as store
from notifier.store.deliveries import DeliveryFilter


def delivery_row(delivery: Delivery, zone: tzinfo) -> dict[str, object]:
    """One delivery as the log shows it (times in the deployment's zone)."""
    return {
        "id": delivery.id,
        "policy_id": delivery.policy_id,
        "trigger": delivery.trigger.key,
        "credit_code": delivery.enterprise.credit_code,
        "enterprise": delivery.enterprise.name,
        "channel": delivery.channel,
        "address": delivery.address,
        "status": delivery.status,
        "attempts": delivery.attempts,
        "last_error": delivery.last_error,
        "provider": delivery.provider,
        "provider_message_id": delivery.provider_message_id,
        "idempotency_key": delivery.idempotency_key,
        "reason": delivery.reason,
        "sent_at": delivery.sent_at.astimezone(zone).isoformat() if delivery.sent_at else None,
    }


@click.group()
def deliveries() -> None:
    """The delivery log."""


@deliveries.command("list")
@click.option("--policy", "policy_id", type=int, help="Only this policy's deliveries.")
@click.option("--status", type=click.Choice([s.value for s in DeliveryStatus]))
@click.option("--channel", type=click.Choice(CHANNELS))
@click.option("--limit", type=click.IntRange(min=1), default=50, show_default=True)
@click.option("--all", "show_all", is_flag=True, help="Every matching delivery (no limit).")
@FORMAT_OPTION
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
        rows = [
            delivery_row(d, app.settings.zone)
            for d in store.list_deliveries(session, filters, limit=None if show_all else limit)
        ]
    if output_format == "json":
        print_json(rows)
        return
    table = Table("id", "policy", "credit code", "channel", "status", "tries", "last error")
    for row in rows:
        table.add_row(
            str(row["id"]),
            str(row["policy_id"] or "-"),
            str(row["credit_code"]),
            str(row["channel"]),
            str(row["status"]),
            str(row["attempts"]),
            str(row["last_error"] or ""),
        )
    Console().print(table)
