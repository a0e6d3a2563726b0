"""``notifier followups``: the firms staff should call about open policies, and logging a call."""

from __future__ import annotations

import click

from notifier.cli.app import FORMAT_OPTION, ID, App, pass_app, print_json, shown
from notifier.services.reach import followups as listing
from notifier.services.reach.calls import log_call
from notifier.services.reach.followups import FollowUp, firm_id, read_outcome
from notifier.web.i18n import ZH, Translator, translator

# The list is read this many items at a time (all of it is printed).
_BATCH = 1000


@click.group()
def followups() -> None:
    """Follow-ups (回访): firms a policy has not reached, and staff calls to them."""


def _line(item: FollowUp, t: Translator) -> str:
    reasons = "、".join(t(f"followups.reason_{reason}") for reason in item.reasons)
    phones = ",".join(item.contacts.get("sms", [])) or "-"
    tried = f"{len(item.deliveries)} 条发送 sent, {len(item.calls)} 次电话 calls"
    return (
        f"  {item.firm['credit_code']}  {shown(item.firm['name'])}  "
        f"{shown(item.firm['region'].rsplit('/', 1)[-1])}  "
        f"{t('reach_state.' + item.state)}  [{reasons}]  {phones}  {tried}"
    )


@followups.command("list")
@click.option(
    "--community", help="A community or street: its full path or its name (灵峰工业社区)."
)
@click.option("--policy", "policy_id", type=ID, help="Only this policy.")
@FORMAT_OPTION
@pass_app
def list_(app: App, community: str | None, policy_id: int | None, output_format: str) -> None:
    """The firms to call (回访名单): unreachable, not opened in time, or with a question;
    by the policy's nearest deadline, then firm name."""
    context = app.context
    items: list[FollowUp] = []
    number = 1
    while True:
        found = listing.followups(
            context, community, policy_id, number=number, size=_BATCH, refresh=number == 1
        )
        items.extend(found.page.rows)
        if not found.page.has_next:
            break
        number += 1
    if output_format == "json":
        print_json([item.as_json() for item in items])
        return
    t = translator(ZH)
    if found.unknown_year is not None:
        click.echo(t("followups.unknown_year", year=found.unknown_year), err=True)
    click.echo(f"回访 follow-ups: {len(items)}")
    policy = None
    for item in items:
        if item.policy.id != policy:
            policy = item.policy.id
            due = item.policy.deadline.isoformat()[:16] if item.policy.deadline else "-"
            click.echo(f"政策 policy {policy}: {shown(item.policy.title)}  截止 deadline {due}")
        click.echo(_line(item, t))


@followups.command("log")
@click.argument("policy_id", type=ID)
@click.argument("firm")
@click.option(
    "--outcome",
    required=True,
    help="已电话告知|informed, 无人接听|no_answer, 号码错误|wrong_number, 不适用|not_applicable, "
    "需要帮助|needs_help.",
)
@click.option("--note", default="", help="What was said (at most 500 characters).")
@pass_app
def log(app: App, policy_id: int, firm: str, outcome: str, note: str) -> None:
    """Log a call to FIRM (its credit code or id) about POLICY_ID (记录回访电话)."""
    context = app.context
    chosen = read_outcome(outcome)
    logged = log_call(context, policy_id, firm_id(context, firm), chosen, note)
    t = translator(ZH)
    click.echo(
        f"已记录 logged: {t('reach_call.' + logged.outcome.value)}; "
        f"状态 state {t('reach_state.' + logged.state)}"
        + (" (疑问未解决 question open)" if logged.question_open else "")
    )
