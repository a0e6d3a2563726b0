"""``notifier demo``: seed the demo park, publish two policies, deliver through dry-run."""

from __future__ import annotations

import io
import secrets
from dataclasses import replace
from typing import Any

import click
from rich.console import Console
from rich.table import Table

from notifier.cli.app import FORMAT_OPTION, App, pass_app, print_json
from notifier.cli.policies import embedded_worker
from notifier.cli.processes import run_system
from notifier.config import QuietHoursSettings, Settings
from notifier.domain.channel_names import CHANNELS
from notifier.inputs.policy_file import parse_policy
from notifier.runtime import Runtime
from notifier.services import demo as demo_data
from notifier.services.access.api_keys import create_key
from notifier.services.access.users import add_user, list_users, reset_password
from notifier.services.approval.deciding import approve
from notifier.services.approval.operators import acting_as
from notifier.services.context import Actor
from notifier.services.delivery.progress import follow
from notifier.services.enterprises.importing import import_enterprises
from notifier.services.policies.publishing import Published, publish_policy
from notifier.store import enterprises, migrate
from notifier.store.deliveries import DeliveryFilter, channel_status_counts


def dry_run_settings(settings: Settings) -> Settings:
    """The same settings with every channel on the dry-run provider."""
    sections = {
        name: getattr(settings, name).model_copy(update={"provider": "dry-run"})
        for name in CHANNELS
    }
    # Listed providers would send for real: the demo leaves them out. Its messages only reach
    # the outbox, so quiet hours do not hold them back (a demo at night still shows SMS sent).
    quiet = QuietHoursSettings(sms=None, email=None, webhook=None)
    return settings.model_copy(update={**sections, "providers": [], "quiet_hours": quiet})


def _demo_staff_key(runtime: Runtime) -> str:
    """A staff key for the demo's console and API (made anew at each demo)."""
    new = create_key(
        runtime.sessions,
        role="staff",
        name="演示 / demo",
        credit_code=None,
        secret=runtime.settings.secret_key.get_secret_value(),
        time_source=runtime.time_source,
    )
    return new.key


# The demo's people, who sign in by name as the district's staff do: a clerk of the district
# office, a clerk of 灵峰工业社区 (its firms only), a publisher of 经信局, an approver, an admin.
# The approver approves the first demo policy when approval applies (docs/approval.md) and
# leaves the second waiting (待审核), to be approved in the console.
DEMO_APPROVER = "演示审核员"
DEMO_PEOPLE: tuple[tuple[str, str, dict[str, str]], ...] = (
    ("演示科员", "staff", {}),
    ("灵峰 演示社区科员", "staff", {"community": "灵峰工业社区"}),
    ("经信局 演示发布人", "publisher", {"department": "北仑区经济和信息化局"}),
    (DEMO_APPROVER, "approver", {}),
    ("演示管理员", "admin", {}),
)


def demo_people(runtime: Runtime) -> list[tuple[str, str, str]]:
    """The demo's people (name, role, password), each with a new password at each demo: added
    the first time, their password reset after (both audited as the operator)."""
    context = runtime.context(Actor.operator())
    known = {str(user["name"]) for user in list_users(runtime.sessions)}
    people = []
    demo_data.seed_shape(context)
    for name, role, place in DEMO_PEOPLE:
        password = secrets.token_urlsafe(9)
        if name in known:
            reset_password(context, name, password)
        else:
            add_user(context, name=name, role=role, password=password, **place)
        people.append((name, role, password))
    return people


def _serve(runtime: Runtime, people: list[tuple[str, str, str]]) -> None:
    key = _demo_staff_key(runtime)

    def announce(address: str) -> None:
        click.echo(f"控制台 / console: {address}/console/")
        for name, role, password in people:
            click.echo(f"  登录 / sign in: 姓名 name {name} · 密码 password {password} ({role})")
        click.echo(f"演示员工密钥 / demo staff key: {key}")
        click.echo(f"  curl -H 'Authorization: Bearer {key}' {address}/api/v1/deliveries")

    web = runtime.settings.web
    run_system(runtime, threads=4, host=web.host, port=web.port, announce=announce)


@click.command()
@click.option(
    "--serve",
    is_flag=True,
    help="Then keep running (worker, time_source, web server) and print a demo staff key.",
)
@FORMAT_OPTION
@pass_app
def demo(app: App, serve: bool, output_format: str) -> None:
    """Seed a demo park, publish two policies, deliver them through dry-run, print a summary."""
    if serve:
        app.make_local_key()  # the console it serves can then add providers with secrets
    settings = dry_run_settings(app.settings)
    migrate.upgrade(settings.database_url)
    runtime = Runtime.build(settings)
    try:
        report = import_enterprises(
            runtime.sessions,
            io.StringIO(demo_data.enterprises_csv()),
            dry_run=False,
            box=runtime.box,
        )
        with runtime.sessions.begin() as session:
            enterprises.unsubscribe(session, [demo_data.UNSUBSCRIBED])
        people = demo_people(runtime)
        summary = {}
        approved = False
        with embedded_worker(runtime):
            for raw in demo_data.POLICIES:
                draft = parse_policy(raw, zone=settings.zone)
                result = publish_policy(runtime.context(Actor.operator()), draft)
                if result.held and result.approval_id is not None and not approved:
                    result = _approve(runtime, result)
                    approved = True
                if result.trigger_id is not None:
                    show = output_format == "text"
                    follow(runtime.sessions, result.trigger_id, show=show, timeout=300)
                with runtime.sessions() as session:
                    counts = channel_status_counts(
                        session, DeliveryFilter(policy_id=result.policy_id)
                    )
                summary[result.policy_id] = {
                    "title": raw["title"], "channels": counts, "held": result.held,
                    "approval_id": result.approval_id,
                }
        if output_format == "json":
            print_json(
                {
                    "enterprises": report.imported,
                    "policies": summary,
                    "outbox": str(settings.outbox_dir),
                }
            )
        else:
            _print_summary(report.imported, summary, settings)
        if serve:
            _serve(runtime, people)
    finally:
        runtime.close()


def _approve(runtime: Runtime, result: Published) -> Published:
    """Approve a held demo policy as the demo's approver: it goes out as publish would send it."""
    actor = acting_as(runtime.sessions, Actor.operator(), DEMO_APPROVER)
    decided = approve(runtime.context(actor), result.approval_id or 0)
    return replace(result, held=False, trigger_id=decided.trigger_id)


def _print_summary(imported: int, summary: dict[int, dict[str, Any]], settings: Settings) -> None:
    console = Console()
    console.print(
        f"demo park: {imported} enterprises in 灵峰工业社区 and 新碶工业社区 (one unsubscribed)"
    )
    for policy_id, item in summary.items():
        console.print(f"policy {policy_id}: {item['title']}")
        if item["held"]:
            console.print(f"  待审核 waiting for approval (request {item['approval_id']}): "
                          f"sign in as {DEMO_APPROVER} to approve it")  # fmt: skip
    table = Table("policy", "channel", "sent", "failed", "other", title="deliveries per channel")
    for policy_id, item in summary.items():
        for channel, counts in sorted(item["channels"].items()):
            other = sum(n for s, n in counts.items() if s not in ("sent", "failed"))
            table.add_row(
                str(policy_id),
                channel,
                str(counts.get("sent", 0)),
                str(counts.get("failed", 0)),
                str(other),
            )
    console.print(table)
    console.print(f"messages written to {settings.outbox_dir}/ (dry-run provider)")
    console.print("next: `notifier deliveries list`, `notifier status`, `notifier run`")
