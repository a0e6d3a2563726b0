"""``notifier templates``: message templates stored in the database: list, show, set, variables."""

from __future__ import annotations

from pathlib import Path

import click
from rich.console import Console
from rich.table import Column, Table
from rich.text import Text

from notifier.cli.app import FORMAT_OPTION, App, pass_app, print_json
from notifier.domain.plaintext import shown
from notifier.errors import InputError
from notifier.inputs.enterprise_csv import read_channel_word
from notifier.rendering.variables import VARIABLES
from notifier.services.enterprises.importing import detect_encoding
from notifier.services.templates.saving import TemplateDraft, save_template
from notifier.store import templates as store
from notifier.store.templates import StoredTemplate


@click.group()
def templates() -> None:
    """消息模板 Message templates stored in the database: list, show, set, variables."""


def _channel(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    """sms, email or webhook, or the Chinese word a register uses (短信, 邮件, 网络回调)."""
    return None if value is None else read_channel_word(value, field="--channel")


def _first_line(template: StoredTemplate) -> str:
    text = template.subject if template.subject else template.body
    return shown(text.strip().split("\n", 1)[0], limit=30)


@templates.command("list")
@FORMAT_OPTION
@pass_app
def list_(app: App, output_format: str) -> None:
    """每个模板各渠道的最新版本 The newest version of each template, per channel."""
    zone = app.settings.zone
    with app.runtime.sessions() as session:
        rows = store.listing(session)
    if output_format == "json":
        print_json([template.as_dict(zone) for template in rows])
        return
    table = Table(Column("名称 name", overflow="fold"), Column("渠道", no_wrap=True),
                  Column("版本", no_wrap=True), Column("保存于 saved", no_wrap=True),
                  "作者 author", Column("开头 starts with", overflow="fold"))
    for template in rows:
        table.add_row(
            Text(shown(template.name, limit=0)), template.channel, str(template.version),
            template.created_at.astimezone(zone).strftime("%m-%d %H:%M"),
            Text(shown(template.author or "", limit=20)), Text(_first_line(template)),
        )
    Console().print(table)
    click.echo(f"{len(rows)} 个模板 template(s)")


@templates.command()
@click.argument("name")
@click.option("--channel", callback=_channel, help="sms, email or webhook (短信, 邮件, 网络回调).")
@click.option("--version", "number", type=click.IntRange(min=1),
              help="This version instead of the newest.")
@FORMAT_OPTION
@pass_app
def show(app: App, name: str, channel: str | None, number: int | None,
         output_format: str) -> None:
    """显示模板全文 Show template NAME in full (every channel, unless --channel)."""
    with app.runtime.sessions() as session:
        chosen, versions = store.chosen(session, name, channel, number)
    zone = app.settings.zone
    if output_format == "json":
        print_json([{**t.as_dict(zone), "versions": versions[t.channel]} for t in chosen])
        return
    for index, template in enumerate(chosen):
        if index:
            click.echo()
        numbers = ", ".join(str(n) for n in versions[template.channel])
        saved = template.created_at.astimezone(zone).strftime("%Y-%m-%d %H:%M")
        by = f" by {shown(template.author)}" if template.author else ""
        click.echo(f"{shown(template.name)} ({template.channel}) 第 {template.version} 版 "
                   f"version {template.version}, saved {saved}{by}; versions {numbers}")
        for label, text in (("主题 subject", template.subject), ("正文 body", template.body),
                            ("网页版 html", template.html)):
            if text is not None:
                click.echo(f"--- {label}")
                click.echo("\n".join(shown(line, limit=0) for line in text.split("\n")))


def _read(path: Path, option: str) -> str:
    try:
        encoding = detect_encoding(path)
    except InputError:
        raise InputError(f"{option} {shown(path.name)}: not UTF-8 or GB18030 (GBK) text",
                         field=option) from None
    # Windows editors save CRLF; the template keeps plain newlines.
    return path.read_text(encoding=encoding).replace("\r\n", "\n")


@templates.command("set")
@click.argument("name")
@click.option("--channel", callback=_channel, required=True,
              help="sms, email or webhook (短信, 邮件, 网络回调).")
@click.option("--file", "file", required=True,
              type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="The text: the SMS, the email's plain text or the webhook's text.")
@click.option("--subject", help="Email only: the subject line (a template too).")
@click.option("--html", "html_file", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="Email only: an HTML version.")
@click.option("--author", help="Who wrote this version (free text).")
@pass_app
def set_(app: App, name: str, channel: str, file: Path, subject: str | None,
         html_file: Path | None, author: str | None) -> None:
    """保存新版本 Save FILE as the next version of NAME on --channel; older versions stay."""
    body = _read(file, "--file")
    html = _read(html_file, "--html") if html_file is not None else None
    draft = TemplateDraft(name, channel, body, subject=subject, html=html, author=author)
    done = save_template(app.context, draft)
    saved = done.template
    label = f"{shown(saved.name)} ({saved.channel})"
    if not done.changed:
        click.echo(f"模板 {label} 未改变，仍为第 {saved.version} 版 "
                   f"unchanged: still version {saved.version}")
    else:
        click.echo(f"模板 {label} 已保存为第 {saved.version} 版 saved as version {saved.version}")


@templates.command()
@FORMAT_OPTION
def variables(output_format: str) -> None:
    """活动模板可用的变量 The variables a campaign template may use."""
    rows = [{"name": v.name, "meaning": v.meaning, "example": v.example,
             "optional": v.optional} for v in VARIABLES]
    if output_format == "json":
        print_json(rows)
        return
    table = Table(Column("变量 variable", no_wrap=True), Column("含义 meaning", overflow="fold"),
                  Column("示例 example", overflow="fold"))
    for variable in VARIABLES:
        optional = "（可为空 may be empty）" if variable.optional else ""
        table.add_row(f"{{{{ {variable.name} }}}}", variable.meaning + optional,
                      variable.example or "")
    Console().print(table)
