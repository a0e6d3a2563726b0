"""``notifier communities`` and ``notifier departments``: the district's shape."""

from __future__ import annotations

import click

from notifier.cli.app import FORMAT_OPTION, App, pass_app, print_json, shown
from notifier.services.communities import operations

REGION_OPTION = click.option(
    "--region", "regions", multiple=True, required=True,
    help="A region: its full path (浙江省/宁波市/北仑区/大碶街道) or a street's or park's name "
    "that ends one path of the register. Repeat for several.",
)  # fmt: skip


def _joined(values: object, between: str = "; ") -> str:
    """A listed value (regions, names) as one line, each part made safe to print."""
    return between.join(shown(str(v)) for v in values) if isinstance(values, list) else ""


@click.group()
def communities() -> None:
    """Industrial communities (工业社区): add, list, set-regions."""


@communities.command()
@click.argument("name")
@REGION_OPTION
@pass_app
def add(app: App, name: str, regions: tuple[str, ...]) -> None:
    """Add the community NAME with its regions; its staff see the firms under them."""
    row = operations.add_community(app.context, name, regions)
    click.echo(f"已添加 / added: {shown(str(row['name']))}  {_joined(row['regions'])}")


@communities.command("list")
@FORMAT_OPTION
@pass_app
def list_(app: App, output_format: str) -> None:
    """Every community with its regions, firms and staff."""
    rows = operations.list_communities(app.runtime.sessions)
    if output_format == "json":
        print_json(rows)
        return
    for row in rows:
        staff = _joined(row["staff"], ", ") or "-"
        click.echo(
            f"{shown(str(row['name']))}  firms {row['firms']}  staff {staff}  "
            f"{_joined(row['regions'])}"
        )


@communities.command("set-regions")
@click.argument("name")
@REGION_OPTION
@pass_app
def set_regions(app: App, name: str, regions: tuple[str, ...]) -> None:
    """Replace the regions of the community NAME."""
    row = operations.set_regions(app.context, name, regions)
    click.echo(f"{shown(str(row['name']))}: {_joined(row['regions'])}")


@click.group()
def departments() -> None:
    """District departments (委办局) that publish policies: add, list."""


@departments.command("add")
@click.argument("name")
@pass_app
def add_department(app: App, name: str) -> None:
    """Add the department NAME (its publishers are users with --department NAME)."""
    row = operations.add_department(app.context, name)
    click.echo(f"已添加 / added: {shown(str(row['name']))}")


@departments.command("list")
@FORMAT_OPTION
@pass_app
def list_departments(app: App, output_format: str) -> None:
    """Every department with its publishers."""
    rows = operations.list_departments(app.runtime.sessions)
    if output_format == "json":
        print_json(rows)
        return
    for row in rows:
        publishers = _joined(row["publishers"], ", ") or "-"
        click.echo(f"{shown(str(row['name']))}  publishers {publishers}")
