"""``notifier users``: people's console accounts (the first admin is added here)."""

from __future__ import annotations

import sys

import click

from notifier.cli.app import FORMAT_OPTION, App, pass_app, print_json, shown
from notifier.services.access import users as accounts

PASSWORD_STDIN = click.option(
    "--password-stdin",
    is_flag=True,
    help="Read the password from standard input (one line) instead of asking for it.",
)


def _password(from_stdin: bool) -> str:
    """The new password: one line of standard input, or asked twice, never echoed."""
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    value = click.prompt(
        "密码 / password", hide_input=True, confirmation_prompt="再输一次 / again", type=str
    )
    return str(value)


@click.group()
def users() -> None:
    """People's console accounts: add, list, disable, reset-password."""


@users.command()
@click.option("--name", required=True, help="How they sign in and are named, e.g. 大碶街道 李科员.")
@click.option(
    "--role", type=click.Choice(accounts.USER_ROLES), default="staff", show_default=True,
    help="What they may do in the console.",
)  # fmt: skip
@click.option("--phone", default=None, help="Their phone number.")
@click.option(
    "--community", default=None,
    help="Staff: the community whose firms they see (none: the district office, every firm).",
)  # fmt: skip
@click.option("--department", default=None, help="A publisher: the department it publishes for.")
@PASSWORD_STDIN
@FORMAT_OPTION
@pass_app
def add(
    app: App,
    name: str,
    role: str,
    phone: str | None,
    community: str | None,
    department: str | None,
    password_stdin: bool,
    output_format: str,
) -> None:
    """Add an account; its password is asked for (or read with --password-stdin)."""
    row = accounts.add_user(
        app.context, name=name, role=role, password=_password(password_stdin), phone=phone,
        community=community, department=department,
    )  # fmt: skip
    if output_format == "json":
        print_json(row)
        return
    click.echo(f"已添加 / added: {shown(row['name'])} ({row['role']})")


@users.command("list")
@FORMAT_OPTION
@pass_app
def list_(app: App, output_format: str) -> None:
    """Every account by name (never a password or its hash)."""
    rows = accounts.list_users(app.runtime.sessions)
    if output_format == "json":
        print_json(rows)
        return
    for row in rows:
        state = f"disabled {str(row['disabled_at'])[:16]}" if row["disabled_at"] else "active"
        click.echo(
            f"{row['id']:>4}  {row['role']:<9}  {state:<22}  {shown(row['phone'] or '-'):<14}"
            f"  {shown(row['name'])}  {shown(row['community'] or row['department'] or '-')}"
        )


@users.command()
@click.argument("name")
@pass_app
def disable(app: App, name: str) -> None:
    """Disable the account NAME: it cannot sign in, and its console sessions end."""
    row = accounts.disable_user(app.context, name)
    click.echo(f"{shown(row['name'])}: 已停用 / disabled at {str(row['disabled_at'])[:19]}")


@users.command("reset-password")
@click.argument("name")
@PASSWORD_STDIN
@pass_app
def reset_password(app: App, name: str, password_stdin: bool) -> None:
    """Give the account NAME a new password (asked for, never echoed); its sessions end."""
    row = accounts.reset_password(app.context, name, _password(password_stdin))
    click.echo(f"{shown(row['name'])}: 密码已重置 / password reset")


@users.command()
@click.argument("name")
@click.option("--community", default="", help="Staff: their community (empty: the district).")
@click.option("--department", default="", help="A publisher: its department (empty: none).")
@pass_app
def place(app: App, name: str, community: str, department: str) -> None:
    """Set the community (staff) or department (publisher) of the account NAME; its sessions
    end, so its next sign-in sees the new scope."""
    row = accounts.place_user(
        app.context, name, community=community or None, department=department or None
    )
    where = row["community"] or row["department"] or "区 district"
    click.echo(f"{shown(row['name'])}: {shown(str(where))}")
