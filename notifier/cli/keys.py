"""``notifier keys``: make, list and revoke API keys."""

from __future__ import annotations

import click

from notifier.cli.app import FORMAT_OPTION, App, pass_app, print_json, shown
from notifier.services.access import key_admin
from notifier.services.access.api_keys import ROLES, list_keys


@click.group()
def keys() -> None:
    """API keys for the HTTP API: create, list, revoke."""


@keys.command()
@click.option("--role", type=click.Choice(ROLES), required=True, help="What the key may do.")
@click.option("--name", required=True, help="Whose key it is, e.g. 经信局 张三.")
@click.option("--enterprise", "credit_code", default=None, help="An enterprise key's credit code.")
@click.option("--owner", default=None, help="The user who owns the key (notifier users list).")
@FORMAT_OPTION
@pass_app
def create(
    app: App, role: str, name: str, credit_code: str | None, owner: str | None, output_format: str
) -> None:
    """Make a key and print it once; only its hash is stored. Keys are for machines; --owner
    names the person the key belongs to."""
    new = key_admin.make_key(
        app.context, role=role, name=name, credit_code=credit_code, owner=owner
    )
    if output_format == "json":
        print_json(vars(new))
        return
    click.echo(new.key)
    owned = f", 所有人 / owner {shown(new.owner)}" if new.owner else ""
    click.echo(
        f"密钥只显示这一次 / shown this once only: {new.prefix} ({new.role}, "
        f"{shown(new.name)}{owned})",
        err=True,
    )


@keys.command("list")
@FORMAT_OPTION
@pass_app
def list_(app: App, output_format: str) -> None:
    """Every key by prefix, newest first (never the key itself)."""
    rows = list_keys(app.runtime.sessions)
    if output_format == "json":
        print_json(rows)
        return
    for row in rows:
        state = f"revoked {str(row['revoked_at'])[:16]}" if row["revoked_at"] else "active"
        used = str(row["last_used_at"] or "never")[:16]
        owner = f"  所有人 / owner {shown(str(row['owner']))}" if row["owner"] else ""
        click.echo(
            f"{row['prefix']}  {row['role']:<10}  {state:<22}  used {used}  "
            f"{shown(row['name'])}{owner}"
        )


@keys.command()
@click.argument("prefix")
@pass_app
def revoke(app: App, prefix: str) -> None:
    """Revoke the key with PREFIX (ntf_...): it stops working at once."""
    row = key_admin.revoke(app.context, prefix)
    click.echo(f"{row['prefix']}: 已吊销 / revoked at {str(row['revoked_at'])[:19]}")
