"""``notifier providers``: provider accounts kept in the database by admins.

Secrets are read from standard input (``--secret-stdin``) or from an environment variable
(``--secret-env KEY=VAR``); ``--secret KEY=VALUE`` works too, with a warning, since the command
line is visible to other users of the machine. No secret is ever printed.
"""

from __future__ import annotations

import json
import os
import sys

import click
from rich.markup import escape

from notifier.cli.app import FORMAT_OPTION, App, err_console, pass_app, print_json
from notifier.domain.secret_box import new_key
from notifier.errors import ChannelError, InputError
from notifier.inputs.enterprise_csv import CHANNEL_WORDS
from notifier.services.providers.admin import (
    ProviderDraft,
    add,
    listing,
    read_pairs,
    remove,
    rotate_secrets,
    send_test,
    set_enabled,
)
from notifier.services.providers.usage import senders


@click.group()
def providers() -> None:
    """Provider accounts kept in the database (服务商)."""


def _secrets(stdin: bool, from_env: tuple[str, ...], given: tuple[str, ...]) -> dict[str, str]:
    secrets: dict[str, str] = {}
    if given:
        err_console().print(
            "warning: 命令行上的密钥他人可见 / a secret on the command line is visible to other "
            "users (ps, shell history); prefer --secret-stdin or --secret-env",
            highlight=False,
            soft_wrap=True,
        )
        secrets.update(read_pairs(given, "secret"))
    for key, variable in read_pairs(from_env, "secret-env"):
        value = os.environ.get(variable)
        if not value:
            raise InputError(
                f"secret-env: 环境变量 {variable} 未设置 / {variable} is not set",
                field="secret-env",
            )
        secrets[key] = value
    if stdin:
        lines = [line.strip() for line in sys.stdin.read().splitlines() if line.strip()]
        secrets.update(read_pairs(tuple(lines), "secret-stdin"))
    return secrets


@providers.command("add")
@click.argument("name")
@click.option("--channel", required=True, help="sms, email or webhook (短信, 邮件, 网络回调).")
@click.option("--kind", required=True, help="A registered kind: sms-gateway, smtp, ...")
@click.option("--priority", type=int, default=0, show_default=True, help="Lower goes first.")
@click.option("--disabled", is_flag=True, help="Store it disabled.")
@click.option("--option", "options", multiple=True, metavar="KEY=VALUE", help="A kind option.")
@click.option("--secret-stdin", is_flag=True, help="Read KEY=VALUE secret lines from stdin.")
@click.option("--secret-env", multiple=True, metavar="KEY=VAR", help="Secret KEY from $VAR.")
@click.option("--secret", "given", multiple=True, metavar="KEY=VALUE", help="(visible: avoid)")
@pass_app
def add_(
    app: App,
    name: str,
    channel: str,
    kind: str,
    priority: int,
    disabled: bool,
    options: tuple[str, ...],
    secret_stdin: bool,
    secret_env: tuple[str, ...],
    given: tuple[str, ...],
) -> None:
    """Add a provider; its secret is stored encrypted and never shown again."""
    draft = ProviderDraft(
        name=name,
        channel=CHANNEL_WORDS.get(channel.strip(), channel.strip().lower()),
        kind=kind,
        priority=priority,
        enabled=not disabled,
        # Kept as text: each kind's option model reads "10" as a number where it wants one, and
        # an app key of digits stays the text it is.
        options=dict(read_pairs(options, "option")),
        secrets=_secrets(secret_stdin, secret_env, given),
    )
    add(app.context, draft)
    secret_names = ", ".join(sorted(draft.secrets or {})) or "无 / none"
    click.echo(
        f"已添加服务商 / added provider {name} ({draft.channel}, {kind}); "
        f"密钥已加密 / secrets stored encrypted: {secret_names}"
    )


@providers.command("list")
@FORMAT_OPTION
@pass_app
def list_(app: App, output_format: str) -> None:
    """List providers, from the database and the settings; secrets are masked; a row that
    cannot be built says why; and which of them the sending processes (``notifier worker``,
    ``notifier run``) use now."""
    runtime = app.runtime
    live = senders(runtime.sessions, app.settings, now=runtime.time_source.now())
    rows = listing(runtime.sessions, app.settings, senders=live)
    if output_format == "json":
        print_json(rows)
        return
    for row in rows:
        state = "启用 / enabled" if row["enabled"] else "停用 / disabled"
        force = "" if row["in_force"] else " (不在用 / not in force)"
        # JSON escapes control characters, so an option cannot play tricks on the terminal.
        options = json.dumps(row["options"], ensure_ascii=False, sort_keys=True)
        secret = f" secret={row['secret']}" if row["secret"] else ""
        # A row that cannot be built is shown with why, one line (rich markup escaped).
        broken = f" 无法使用 / broken: {row['broken']}" if row.get("broken") else ""
        click.echo(
            f"{row['name']}: {row['channel']} {row['kind']} priority={row['priority']} "
            f"{state}{force} 来源 / source={row['source']} options={options}{secret}{broken} "
            f"使用 / use: {_usage(row['usage'])}"
        )
    if not live.count:
        click.echo(
            "没有发送进程在运行 / no sending process is running (按记录 / by the rows above)"
        )


def _usage(usage: dict[str, object]) -> str:
    """How many live senders use a provider, in both languages."""
    using, of = usage["using"], usage["senders"]
    return {
        "all": f"正在使用（{of} 个发送进程）/ in use (sending processes: {of})",
        "some": f"部分进程使用（{using}/{of}）/ used by some ({using}/{of})",
        "unused": "未使用 / not in use",
        "no_senders": "没有发送进程在运行 / no sending process is running",
    }[str(usage["state"])]


@providers.command("test")
@click.argument("name")
@click.option("--to", "address", required=True, help="The address to send the test to.")
@pass_app
def test(app: App, name: str, address: str) -> None:
    """Send one test message through NAME now and show the provider's answer."""
    try:
        result = send_test(app.context, name, to=address)
    except ChannelError as exc:
        err_console().print(
            f"[red]error:[/red] 服务商未接受 / {escape(name)} did not take it: "
            f"{escape(exc.reason)}",
            highlight=False,
            soft_wrap=True,
        )
        sys.exit(1)
    click.echo(
        f"已发送 / sent through {result.provider}; "
        f"服务商编号 / provider message id: {result.provider_message_id or '-'}"
    )


@providers.command("enable")
@click.argument("name")
@pass_app
def enable(app: App, name: str) -> None:
    """Enable a provider row (workers see it within circuit.refresh_seconds)."""
    set_enabled(app.context, name, enabled=True)
    click.echo(f"已启用 / enabled {name}")


@providers.command("disable")
@click.argument("name")
@pass_app
def disable(app: App, name: str) -> None:
    """Disable a provider row."""
    set_enabled(app.context, name, enabled=False)
    click.echo(f"已停用 / disabled {name}")


@providers.command("remove")
@click.argument("name")
@pass_app
def remove_(app: App, name: str) -> None:
    """Delete a provider row."""
    remove(app.context, name)
    click.echo(f"已删除 / removed {name}")


@providers.command("rotate-secrets")
@pass_app
def rotate(app: App) -> None:
    """Encrypt every stored secret again with the first key of secrets.keys."""
    count = rotate_secrets(app.context)
    click.echo(f"已重新加密 / re-encrypted {count} secrets with the first key")


@providers.command("new-key")
def new_key_() -> None:
    """Print a fresh key for secrets.keys."""
    click.echo(new_key())
