"""Entry point of the ``notifier`` command."""

from __future__ import annotations

import logging
import os

import click

from notifier.cli.app import App
from notifier.cli.lazy import Entry, LazyGroup

LONG_RUNNING = {"worker", "clock", "run", "serve"}

# Every subcommand: its module (imported only when it runs, see notifier.cli.lazy) and the
# summary `notifier --help` shows (its docstring's first sentence; tests/cli keep them equal).
COMMANDS = {
    "approvals": Entry(
        "notifier.cli.approvals",
        "Sends waiting for approval (待审核): list, show, approve, return.",
    ),
    "calendar": Entry(
        "notifier.cli.calendar",
        "Working-day calendar: holidays and worked weekends (调休) per year.",
    ),
    "campaigns": Entry(
        "notifier.cli.campaigns",
        "推送活动 Campaigns: create, list, show, preview, test-send, pause, resume, cancel, watch.",
    ),
    "clock": Entry(
        "notifier.cli.processes",
        "Run the scheduler: queue newly published policies, sweep lost work.",
    ),
    "communities": Entry(
        "notifier.cli.communities", "Industrial communities (工业社区): add, list, set-regions."
    ),
    "complaints": Entry(
        "notifier.cli.complaints",
        "Complaints (投诉) and opt-outs (退订、拒收): log one, see the monthly rates.",
    ),
    "db": Entry("notifier.cli.db", "Database migrations."),
    "deadlines": Entry(
        "notifier.cli.deadlines", "Deadlines and their reminders: list, move, cancel, done."
    ),
    "deliveries": Entry("notifier.cli.deliveries", "The delivery log."),
    "demo": Entry(
        "notifier.cli.demo",
        "Seed a demo park, publish two policies, deliver them through dry-run, print a summary.",
    ),
    "departments": Entry(
        "notifier.cli.communities",
        "District departments (委办局) that publish policies: add, list.",
    ),
    "enterprises": Entry(
        "notifier.cli.enterprises", "Enterprises: import from CSV, list, unsubscribe."
    ),
    "followups": Entry(
        "notifier.cli.followups",
        "Follow-ups (回访): firms a policy has not reached, and staff calls to them.",
    ),
    "keys": Entry("notifier.cli.keys", "API keys for the HTTP API: create, list, revoke."),
    "policies": Entry(
        "notifier.cli.policies",
        "Policies: preview, publish, list, show, revise (更正) and cancel.",
    ),
    "providers": Entry(
        "notifier.cli.providers", "Provider accounts kept in the database (服务商)."
    ),
    "purge": Entry(
        "notifier.cli.purge",
        "Purge finished deliveries older than the retention period (statuses and counts stay).",
    ),
    "run": Entry(
        "notifier.cli.processes",
        "Run worker, clock and the web server together in this process (the embedded default).",
    ),
    "serve": Entry(
        "notifier.cli.processes", "Serve the HTTP API (/api/v1, docs at /api/docs) until Ctrl-C."
    ),
    "status": Entry(
        "notifier.cli.status", "Show configuration, counts and delivery status per channel."
    ),
    "templates": Entry(
        "notifier.cli.templates",
        "消息模板 Message templates stored in the database: list, show, set, variables.",
    ),
    "users": Entry(
        "notifier.cli.users", "People's console accounts: add, list, disable, reset-password."
    ),
    "worker": Entry(
        "notifier.cli.processes",
        "Consume the fan-out and delivery queues "
        "(needs NOTIFIER_BROKER_URL or NOTIFIER_REDIS_URL).",
    ),
}


@click.group(cls=LazyGroup, entries=COMMANDS)
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


def main() -> None:
    """Run the command line."""
    cli(prog_name="notifier")
