"""``notifier campaigns``: create, list, show, preview, test-send, pause, resume, cancel, watch."""

from __future__ import annotations

from datetime import tzinfo
from pathlib import Path

import click

from notifier.cli.app import FORMAT_OPTION, ID, App, pass_app, print_json, shown
from notifier.domain.channel_names import CHANNELS
from notifier.inputs.campaign_file import read_campaign_file
from notifier.services.campaigns.operations import (
    Changed,
    campaign_row,
    cancel,
    create_campaign,
    pause,
    resume,
)
from notifier.services.campaigns.preview import preview_campaign, send_test_message
from notifier.services.campaigns.rows import get_campaign
from notifier.services.delivery.kinds import local_or_none
from notifier.services.delivery.progress import RunProgress, campaign_runs, watch_campaign
from notifier.store import campaigns as store


@click.group()
def campaigns() -> None:
    """推送活动 Campaigns: create, list, show, preview, test-send, pause, resume, cancel, watch."""


@campaigns.command()
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@pass_app
def create(app: App, file: Path) -> None:
    """Create the campaign FILE.json describes (its inline templates saved, checked first)."""
    runtime = app.runtime
    draft = read_campaign_file(file, zone=runtime.settings.zone, now=runtime.time_source.now())
    campaign_id = create_campaign(app.context, draft)
    click.echo(f"活动已创建 campaign {campaign_id} created: {shown(draft.name)}")


@campaigns.command("list")
@FORMAT_OPTION
@pass_app
def list_(app: App, output_format: str) -> None:
    """Every campaign, newest first."""
    runtime = app.runtime
    zone = runtime.settings.zone
    with runtime.sessions() as session:
        rows = [campaign_row(c, zone) for c in store.list_all(session)]
    if output_format == "json":
        print_json(rows)
        return
    if not rows:
        click.echo("没有活动 no campaigns")
    for row in rows:
        click.echo(
            f"{row['id']:>5}  {row['status']:<9}  {shown(row['name'])}  {shown(row['title'])}  "
            f"[{', '.join(row['channels'])}]  {shown(row['schedule'])}"
        )


def _run_line(run: RunProgress, zone: tzinfo) -> str:
    counts = ", ".join(f"{n} {s}" for s, n in sorted(run.counts.items())) or "no deliveries"
    eta = "" if run.eta_seconds is None else f", ETA 预计 {run.eta_seconds:.0f}s"
    return (
        f"  run {run.trigger_id}  {local_or_none(run.due_at, zone)}  {run.status:<9} {counts}  "
        f"({run.rate_per_minute:.0f}/min{eta})"
    )


@campaigns.command()
@click.argument("campaign_id", type=ID)
@FORMAT_OPTION
@pass_app
def show(app: App, campaign_id: int, output_format: str) -> None:
    """One campaign and its runs, with counts by status, rate and ETA."""
    runtime = app.runtime
    zone = runtime.settings.zone
    with runtime.sessions() as session:
        row = campaign_row(get_campaign(session, campaign_id), zone)
    runs = campaign_runs(runtime.sessions, campaign_id, now=runtime.time_source.now())
    if output_format == "json":
        print_json({**row, "runs": [run.as_dict() for run in runs]})
        return
    click.echo(f"活动 campaign {row['id']}: {shown(row['name'])} ({row['status']})")
    click.echo(f"  标题 title: {shown(row['title'])}")
    click.echo(f"  渠道 channels: {', '.join(row['channels'])}; 模板 templates: "
               f"{shown(', '.join(f'{k}={v}' for k, v in row['templates'].items()))}")
    click.echo(f"  受众 audience: {shown(row['audience'] or 'everyone 全部')}")
    click.echo(f"  计划 schedule: {shown(row['schedule'])}")
    if row["throttle_per_minute"]:
        click.echo(f"  限速 throttle: {row['throttle_per_minute']}/min")
    click.echo(f"运行 runs: {len(runs)}" if runs else "运行 runs: none yet 尚无")
    for run in runs:
        click.echo(_run_line(run, zone))


@campaigns.command()
@click.argument("campaign_id", type=ID)
@click.option("--enterprise", "credit_code", required=True, help="Render for this credit code.")
@FORMAT_OPTION
@pass_app
def preview(app: App, campaign_id: int, credit_code: str, output_format: str) -> None:
    """Each channel's message for one enterprise, as its provider composes it; nothing is sent."""
    renderings = preview_campaign(app.context, campaign_id, credit_code)
    if output_format == "json":
        print_json({channel: vars(r) for channel, r in renderings.items()})
        return
    for channel, rendering in renderings.items():
        click.echo(f"── {channel} ──")
        if rendering.error:
            click.echo(f"  无法生成 cannot render: {shown(rendering.error)}")
            continue
        if rendering.subject:
            click.echo(f"  主题 subject: {shown(rendering.subject)}")
        if rendering.sms_length is not None:
            click.echo(f"  短信 SMS: {rendering.sms_length} characters, "
                       f"{rendering.sms_parts} billed parts 计费条数")
        click.echo(shown(rendering.text))


@campaigns.command("test-send")
@click.argument("campaign_id", type=ID)
@click.option("--to", "address", required=True, help="Your own phone, email or webhook URL.")
@click.option("--channel", type=click.Choice(CHANNELS), default=None,
              help="The channel (default: the campaign's first).")
@click.option("--enterprise", "credit_code", default=None,
              help="Render for this credit code (default: the audience's first).")
@pass_app
def test_send(
    app: App, campaign_id: int, address: str, channel: str | None, credit_code: str | None
) -> None:
    """Send one rendering to your own address now; nothing is recorded as a delivery."""
    message, result = send_test_message(
        app.context, campaign_id, to=address, channel=channel, credit_code=credit_code
    )
    click.echo(
        f"测试消息已发送 test message sent to {shown(message.to)} by {shown(result.provider)}; "
        f"provider id: {shown(result.provider_message_id or '-')}"
    )


def _changed(changed: Changed, what: str) -> None:
    click.echo(
        f"活动 campaign {changed.campaign_id}: {changed.status}; {changed.deliveries} {what}"
    )


@campaigns.command("pause")
@click.argument("campaign_id", type=ID)
@pass_app
def pause_(app: App, campaign_id: int) -> None:
    """Pause: no new send from now on; unsent deliveries wait until resumed."""
    _changed(pause(app.context, campaign_id), "deliveries held 已暂停的投递")


@campaigns.command("resume")
@click.argument("campaign_id", type=ID)
@pass_app
def resume_(app: App, campaign_id: int) -> None:
    """Resume a paused campaign: what was held is queued again."""
    _changed(resume(app.context, campaign_id), "deliveries queued again 已恢复的投递")


@campaigns.command("cancel")
@click.argument("campaign_id", type=ID)
@pass_app
def cancel_(app: App, campaign_id: int) -> None:
    """Cancel: every unsent delivery becomes cancelled; no run comes after."""
    _changed(cancel(app.context, campaign_id), "deliveries cancelled 已取消的投递")


@campaigns.command()
@click.argument("campaign_id", type=ID)
@click.option("--interval", type=click.FloatRange(0.1, 60), default=1.0, show_default=True,
              help="Seconds between looks.")
@pass_app
def watch(app: App, campaign_id: int, interval: float) -> None:
    """A live progress bar of the campaign's current run, until it ends."""
    runtime = app.runtime
    with runtime.sessions() as session:
        get_campaign(session, campaign_id)
    last = watch_campaign(runtime.sessions, campaign_id, now=runtime.time_source.now,
    interval=interval)
    if last is None:
        click.echo(f"活动 campaign {campaign_id}: 当前没有运行 nothing is running")
        return
    counts = ", ".join(f"{n} {s}" for s, n in sorted(last.counts.items()))
    click.echo(f"run {last.trigger_id}: {counts}")
