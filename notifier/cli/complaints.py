"""``notifier complaints``: log a firm's complaint, and the monthly complaint and opt-out report."""

from __future__ import annotations

import click

from notifier.cli.app import FORMAT_OPTION, App, pass_app, print_json
from notifier.services.sms_rules.complaints import log_complaint
from notifier.services.sms_rules.report import MAX_MONTHS, MonthRates, monthly_rates


@click.group()
def complaints() -> None:
    """Complaints (投诉) and opt-outs (退订、拒收): log one, see the monthly rates."""


@complaints.command("log")
@click.argument("firm")
@click.option("--text", required=True, help="What the firm complained of (at most 2,000 chars).")
@pass_app
def log(app: App, firm: str, text: str) -> None:
    """Log a complaint from FIRM (its credit code), kept with its latest SMS (记录投诉)."""
    logged = log_complaint(app.context, firm, text)
    answered = f"短信 SMS #{logged.delivery_id}" if logged.delivery_id else "无短信 no SMS yet"
    click.echo(f"已记录投诉 complaint #{logged.complaint_id} logged ({answered})")


def _rate(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}‰"


def _line(row: MonthRates) -> str:
    return (
        f"  {row.month}  {row.sms_sent:>8}  {row.complaints:>6} {_rate(row.complaint_rate):>9}  "
        f"{row.opt_outs:>6} {_rate(row.opt_out_rate):>9}  "
        f"(回复 replies {row.reply_opt_outs}, 页面 page {row.page_opt_outs})"
    )


@complaints.command("report")
@click.option(
    "--months", default=12, show_default=True, type=click.IntRange(1, MAX_MONTHS),
    help="The last months shown, this one included.",
)
@FORMAT_OPTION
@pass_app
def report(app: App, months: int, output_format: str) -> None:
    """Complaint and opt-out rates per month, per 1,000 SMS sent (投诉率、退订率)."""
    rows = monthly_rates(app.context, months=months)
    if output_format == "json":
        print_json([row.as_json() for row in rows])
        return
    click.echo("  月份 month  短信 SMS  投诉 complaints  退订 opt-outs (每千条 per 1,000)")
    for row in rows:
        click.echo(_line(row))
