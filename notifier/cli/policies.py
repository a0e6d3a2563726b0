"""``notifier policies``: preview, publish, list, show, reach, revise and cancel."""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import click

from notifier.cli.app import FORMAT_OPTION, ID, App, pass_app, print_json, shown
from notifier.inputs.policy_file import read_policy_file
from notifier.services.policies.publishing import publish_policy

# The other commands' modules (previews, corrections, reach and its spreadsheet) are imported
# in the commands that use them: `publish` starts without them.
if TYPE_CHECKING:
    from notifier.runtime import Runtime
    from notifier.services.delivery.progress import Snapshot
    from notifier.services.policies.corrections import Revised


@contextlib.contextmanager
def embedded_worker(runtime: Runtime) -> Iterator[None]:
    """In embedded mode, run a worker in this process for as long as the block lasts."""
    if not runtime.queue.embedded:
        yield
        return
    from notifier.jobs.worker import start_worker

    worker = start_worker(runtime.queue.broker, threads=4)
    try:
        yield
    finally:
        worker.stop()


@click.group()
def policies() -> None:
    """Policies: preview, publish, list, show, revise (更正) and cancel."""


def _show_preview(app: App, file: Path, output_format: str, samples: int) -> None:
    from notifier.cli.preview import print_preview
    from notifier.services.policies.preview import preview_policy

    runtime = app.runtime
    draft = read_policy_file(file.read_bytes(), zone=runtime.settings.zone)
    result = preview_policy(app.context, draft, samples=samples)
    if output_format == "json":
        print_json(result.as_dict())
    else:
        print_preview(result)


SAMPLES_OPTION = click.option(
    "--samples",
    type=click.IntRange(0, 100),
    default=5,
    show_default=True,
    help="How many enterprises to list with why each is reached.",
)


@policies.command()
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@SAMPLES_OPTION
@FORMAT_OPTION
@pass_app
def preview(app: App, file: Path, samples: int, output_format: str) -> None:
    """Show whom FILE.json would reach and what they would read; nothing is sent."""
    _show_preview(app, file, output_format, samples)


WAIT_OPTION = click.option(
    "--wait", is_flag=True, help="With Redis: follow the deliveries to the end."
)
WAIT_FOR_WORKER_OPTION = click.option(
    "--wait-for-worker",
    type=click.FloatRange(min=0.1, max=3600),
    default=10.0,
    show_default=True,
    help="With --wait: seconds to wait for a worker to start before saying none is running.",
)


def _follow(
    runtime: Runtime, trigger_id: int | None, *, wait: bool, wait_for_worker: float, show: bool
) -> Snapshot | None:
    """Follow the trigger's deliveries when asked to, or always in embedded mode (which
    finishes the work it started before it exits); None when not followed."""
    embedded = runtime.queue.embedded
    if trigger_id is None or not (wait or embedded):
        return None
    from notifier.services.delivery.progress import follow  # its progress bar: rich

    return follow(
        runtime.sessions,
        trigger_id,
        show=show,
        idle_limit=None if embedded else wait_for_worker,
    )


@policies.command()
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@WAIT_OPTION
@WAIT_FOR_WORKER_OPTION
@click.option("--dry-run", is_flag=True, help="Preview only: store and send nothing.")
@SAMPLES_OPTION
@FORMAT_OPTION
@pass_app
def publish(
    app: App,
    file: Path,
    wait: bool,
    wait_for_worker: float,
    dry_run: bool,
    samples: int,
    output_format: str,
) -> None:
    """Publish the policy in FILE.json to the enterprises it targets."""
    if dry_run:
        _show_preview(app, file, output_format, samples)
        return
    runtime = app.runtime
    draft = read_policy_file(file.read_bytes(), zone=runtime.settings.zone)
    show = output_format == "text"
    with embedded_worker(runtime):
        result = publish_policy(app.context, draft)
        state = _follow(
            runtime, result.trigger_id, wait=wait, wait_for_worker=wait_for_worker, show=show
        )
    if output_format == "json":
        print_json(
            {
                "id": result.policy_id,
                "created": result.created,
                "trigger_id": result.trigger_id,
                "deliveries": state.counts if state else None,
                "held": result.held,
                "approval_id": result.approval_id,
            }
        )
        return
    note = "published" if result.created else "already published; nothing sent twice"
    click.echo(f"policy {result.policy_id}: {note}")
    if result.held:
        click.echo(
            f"待审核 waiting for approval (request {result.approval_id}): nothing is sent until "
            f"another approver runs `notifier approvals approve {result.approval_id} --as NAME`"
        )
    elif state:
        click.echo(
            ", ".join(f"{n} {s}" for s, n in sorted(state.counts.items())) or "no recipients"
        )
    elif result.trigger_id is None:
        click.echo("scheduled: the clock sends it at its publication time")


@policies.command("list")
@click.option("--limit", type=click.IntRange(min=1), default=50, show_default=True)
@FORMAT_OPTION
@pass_app
def list_(app: App, limit: int, output_format: str) -> None:
    """List the newest policies."""
    from notifier.store import policies as store

    zone = app.settings.zone
    with app.runtime.sessions() as session:
        recent = store.list_recent(session, limit=limit)
        revised = store.revision_counts(session, [p.id for p in recent])
        rows = [
            {
                "id": p.id,
                "title": p.title,
                "department": p.department,
                "published_at": p.published_at.astimezone(zone).isoformat(),
                "targets": p.targets.as_dict(),
                "topics": p.topics,
                "cancelled": p.cancelled_at is not None,
                "revisions": revised.get(p.id, 0),
            }
            for p in recent
        ]
    if output_format == "json":
        print_json(rows)
        return
    for row in rows:
        published = str(row["published_at"])[:16]
        notes = "  已撤回 cancelled" if row["cancelled"] else ""
        if row["revisions"]:
            notes += f"  更正 {row['revisions']} 次 revised"
        click.echo(f"{row['id']:>5}  {published}  {row['department']}  {row['title']}{notes}")


@policies.command()
@click.argument("policy_id", type=ID)
@FORMAT_OPTION
@pass_app
def show(app: App, policy_id: int, output_format: str) -> None:
    """Show a policy, its deadlines and its revisions (更正记录)."""
    from notifier.services.policies.corrections import describe

    row = describe(app.runtime.sessions, policy_id, zone=app.settings.zone)
    if output_format == "json":
        print_json(row)
        return
    state = f"  已撤回 cancelled {row['cancelled_at']}" if row["cancelled_at"] else ""
    click.echo(f"政策 policy {row['id']}: {shown(row['title'])}{state}")
    click.echo(f"  {shown(row['department'])}  发布 published {row['published_at']}")
    if row["ref"]:
        click.echo(f"  ref {shown(row['ref'])}")
    for deadline in row["deadlines"]:
        flag = "  已取消 cancelled" if deadline["cancelled"] else ""
        click.echo(
            f"  截止 deadline {deadline['id']}: {shown(deadline['title'])}  "
            f"{deadline['due_at']}{flag}"
        )
    if not row["revisions"]:
        click.echo("  无修订 no revisions")
    for revision in row["revisions"]:
        words = ", ".join(
            f"{word} {name}"
            for word, name in zip(revision["changed_words"], revision["changed"], strict=True)
        )
        click.echo(f"  修订 revision {revision['number']}  {revision['revised_at']}  {words}")


@policies.command()
@click.argument("policy_id", type=ID)
@FORMAT_OPTION
@click.option(
    "--xlsx",
    "xlsx_file",
    type=click.Path(dir_okay=False, writable=True, path_type=Path),
    help="Also write each firm's state to this XLSX file (Chinese headers).",
)
@pass_app
def reach(app: App, policy_id: int, output_format: str, xlsx_file: Path | None) -> None:
    """How far a policy got (触达): firms per state, overall and per community."""
    from notifier.domain.xlsx_export import write_xlsx
    from notifier.services.reach.report import firm_states, policy_reach
    from notifier.web import reach_export
    from notifier.web.i18n import ZH, translator

    report = policy_reach(app.context, policy_id)
    if xlsx_file is not None:
        _, firms = firm_states(app.context, policy_id)
        with xlsx_file.open("wb") as into:
            write_xlsx(
                reach_export.rows(firms, translator(ZH)),
                reach_export.COLUMNS,
                title="reach",
                headers=reach_export.headers(translator(ZH)),
                typed=True,
                zone=app.runtime.settings.zone,
                into=into,
            )
    if output_format == "json":
        print_json(report.as_json())
        return
    t = translator(ZH)
    click.echo(f"政策 policy {policy_id}: {shown(report.title)}  企业 firms {report.overall.firms}")
    for name, counts in [("全部 all", report.overall), *report.communities.items()]:
        states = "  ".join(
            f"{t('reach_state.' + state)} {number}"
            for state, number in counts.states.items()
            if number
        )
        share = counts.share_confirmed()
        early = f"  截止前确认 confirmed before deadline {share:.0%}" if share is not None else ""
        click.echo(f"  {shown(name)}: {states or '-'}{early}")


def _revised_lines(result: Revised) -> list[str]:
    from notifier.domain.changes import FIELD_LABELS

    if not result.new:
        return [
            f"政策 {result.policy_id}：内容未变，未记修订 / policy {result.policy_id}: "
            "nothing changed, no revision kept"
        ]
    changed = ", ".join(f"{FIELD_LABELS[name]} {name}" for name in result.changed)
    return [
        f"政策 {result.policy_id}：已记第 {result.revision} 次修订 / policy {result.policy_id}: "
        f"revision {result.revision} kept; 改动 changed: {changed}",
        f"截止时间 deadlines: {result.moved} 改期 moved, {result.added} 新增 added, "
        f"{result.removed} 取消 cancelled",
    ]


def _correction_line(result: Revised, notify: bool, state: Snapshot | None) -> str:
    if not notify:
        return "未发更正通知；加 --notify 通知已收到的企业 / no correction sent; add --notify"
    if not result.published:
        return "尚未发布，无需更正通知 / not published yet: it goes out as revised, at its time"
    if result.approval_id is not None:
        return (f"待审核 waiting for approval (request {result.approval_id}): nothing is sent "
                "until another approver approves it")  # fmt: skip
    if result.revision is None:
        return "没有修订，无更正可发 / no revision: no correction to send"
    if result.trigger_id is None:
        return "此次修订的更正通知已发过，不重发 / this revision's correction went out before"
    if state is None:
        return f"更正通知已排队 correction queued (trigger {result.trigger_id})"
    counts = ", ".join(f"{n} {s}" for s, n in sorted(state.counts.items()))
    return f"更正通知 correction: {counts or '无人收到过此政策 nobody was reached'}"


@policies.command()
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--notify",
    is_flag=True,
    help="Send a correction (更正) to every enterprise the policy reached, on each channel.",
)
@WAIT_OPTION
@WAIT_FOR_WORKER_OPTION
@FORMAT_OPTION
@pass_app
def revise(
    app: App, file: Path, notify: bool, wait: bool, wait_for_worker: float, output_format: str
) -> None:
    """Correct the policy published with FILE.json's ref: keep its history, move deadlines."""
    from notifier.services.policies.corrections import revise as revise_policy

    runtime = app.runtime
    draft = read_policy_file(file.read_bytes(), zone=runtime.settings.zone)
    show_progress = output_format == "text"
    with embedded_worker(runtime):
        result = revise_policy(app.context, draft, notify=notify)
        state = _follow(
            runtime,
            result.trigger_id,
            wait=wait,
            wait_for_worker=wait_for_worker,
            show=show_progress,
        )
    if output_format == "json":
        print_json(
            {
                **dataclasses.asdict(result),
                "deliveries": state.counts if state else None,
            }
        )
        return
    for line in [*_revised_lines(result), _correction_line(result, notify, state)]:
        click.echo(line)


@policies.command()
@click.argument("policy_id", type=ID)
@pass_app
def cancel(app: App, policy_id: int) -> None:
    """Withdraw a policy whose publication time has not come: nothing of it is sent."""
    from notifier.services.policies.corrections import cancel_policy

    result = cancel_policy(app.context, policy_id)
    if result.already:
        click.echo(f"政策 {policy_id} 已撤回过 / policy {policy_id} was cancelled before")
        return
    click.echo(
        f"政策 {policy_id} 已撤回，不会发送 / policy {policy_id} cancelled: nothing will be sent "
        f"({result.deadlines} 截止时间 deadlines, {result.triggers} 提醒 rungs cancelled)"
    )
