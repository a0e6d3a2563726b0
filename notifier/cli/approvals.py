"""``notifier approvals``: the sends waiting for approval (待审核), shown, approved or returned.

Deciding takes ``--as NAME``: the operator acts as that approver (or admin) user, whose name
the self-approval rule compares with the request's author.
"""

from __future__ import annotations

from typing import Any

import click

from notifier.cli.app import FORMAT_OPTION, App, pass_app, print_json, shown
from notifier.services.approval.deciding import approve as approve_request
from notifier.services.approval.deciding import return_
from notifier.services.approval.listings import list_approvals, show_approval
from notifier.services.approval.operators import acting_as
from notifier.services.context import Actor

STATUSES = ("pending", "approved", "returned", "withdrawn", "all")
AS_OPTION = click.option(
    "--as", "as_name", required=True, metavar="NAME",
    help="The approver (or admin) user you act as; never the request's author.",
)  # fmt: skip


@click.group()
def approvals() -> None:
    """Sends waiting for approval (待审核): list, show, approve, return."""


def _line(row: dict[str, Any]) -> str:
    preview = row["preview"]
    title = shown(preview.get("title", ""))
    return (
        f"{row['id']:>5}  {row['status']:<9}  {row['kind']:<10}  {row['requested_at'] or '':<16}"
        f"  {preview.get('firms', 0):>6} 家  {shown(row['author'])}  {title}"
    )


@approvals.command("list")
@click.option("--status", type=click.Choice(STATUSES), default="pending", show_default=True)
@FORMAT_OPTION
@pass_app
def list_(app: App, status: str, output_format: str) -> None:
    """The requests of one status, newest first (default: those waiting)."""
    rows = list_approvals(app.context, status=None if status == "all" else status)
    if output_format == "json":
        print_json(rows)
        return
    if not rows:
        click.echo("没有审核申请 / no requests")
    for row in rows:
        click.echo(_line(row))


@approvals.command()
@click.argument("approval_id", type=int)
@FORMAT_OPTION
@pass_app
def show(app: App, approval_id: int, output_format: str) -> None:
    """One request: author, the frozen preview (audience, texts, SMS parts and cost), decision."""
    row = show_approval(app.context, approval_id)
    if output_format == "json":
        print_json(row)
        return
    preview = row["preview"]
    click.echo(_line(row))
    click.echo(f"规则 rules: {', '.join(row['rules'])}")
    counts = ", ".join(f"{ch} {n}" for ch, n in preview.get("recipients", {}).items())
    click.echo(f"企业 firms: {preview.get('firms')}  ({counts})")
    sms = preview.get("sms", {})
    estimated = " (估算 estimated)" if sms.get("estimated") else ""
    click.echo(f"短信 SMS: {sms.get('parts')} 条 parts{estimated}, ¥{sms.get('cost_yuan')}")
    for channel, rendering in preview.get("renderings", {}).items():
        click.echo(f"--- {channel}")
        click.echo(shown(rendering.get("text") or rendering.get("error") or ""))
    if row["decided_by"]:
        reason = f": {shown(row['reason'])}" if row["reason"] else ""
        click.echo(f"{row['status']} by {shown(row['decided_by'])} at {row['decided_at']}{reason}")


@approvals.command()
@click.argument("approval_id", type=int)
@AS_OPTION
@FORMAT_OPTION
@pass_app
def approve(app: App, approval_id: int, as_name: str, output_format: str) -> None:
    """Approve a request: its send is queued now."""
    runtime = app.runtime
    actor = acting_as(runtime.sessions, Actor.operator(), as_name)
    decided = approve_request(runtime.context(actor), approval_id)
    if output_format == "json":
        print_json({"approval_id": approval_id, "status": str(decided.status),
                    "trigger_id": decided.trigger_id})  # fmt: skip
        return
    click.echo(f"已审核通过 / approved: {approval_id} (trigger {decided.trigger_id or '-'})")


@approvals.command("return")
@click.argument("approval_id", type=int)
@click.option("--reason", required=True, help="Why it goes back; its author reads this.")
@AS_OPTION
@FORMAT_OPTION
@pass_app
def return_command(
    app: App, approval_id: int, reason: str, as_name: str, output_format: str
) -> None:
    """Return a request to its author with the reason: nothing is sent."""
    runtime = app.runtime
    actor = acting_as(runtime.sessions, Actor.operator(), as_name)
    decided = return_(runtime.context(actor), approval_id, reason)
    if output_format == "json":
        print_json({"approval_id": approval_id, "status": str(decided.status)})
        return
    click.echo(f"已退回 / returned: {approval_id}")
