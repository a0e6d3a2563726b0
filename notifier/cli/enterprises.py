"""``notifier enterprises``: import, list, unsubscribe."""

from __future__ import annotations

import json
from pathlib import Path

import click
from rich.console import Console
from rich.table import Column, Table
from rich.text import Text

from notifier.cli.app import FORMAT_OPTION, LISTING_FORMAT_OPTION, App, pass_app, print_json
from notifier.domain.channel_names import CHANNELS
from notifier.domain.csv_export import write_csv
from notifier.domain.plaintext import shown
from notifier.domain.sectors import normalize_sector
from notifier.errors import InputError
from notifier.services.enterprises import subscriptions
from notifier.services.enterprises.importing import import_register
from notifier.services.enterprises.listings import enterprise_row
from notifier.store import enterprises as store


@click.group()
def enterprises() -> None:
    """Enterprises: import from CSV, list, unsubscribe."""


@enterprises.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--dry-run", is_flag=True, help="Check every row and report, but store nothing.")
@FORMAT_OPTION
@pass_app
def import_(app: App, file: Path, dry_run: bool, output_format: str) -> None:
    """Import enterprises from FILE, a CSV or XLSX register (updates by credit code).

    A CSV may be UTF-8 or, as Excel saves it on Chinese Windows, GBK/GB18030. The file is
    checked whole (size, format, rows) before any row is stored: one that is refused stores
    nothing and prints one line.
    """
    with file.open("rb") as source:
        report = import_register(app.context, source, name=file.name, dry_run=dry_run)
    if output_format == "json":
        print_json(report.as_dict())
    else:
        verb = "would import" if dry_run else "imported"
        click.echo(
            f"{verb} {report.imported} enterprises "
            f"({report.created} new, {report.updated} updated); "
            f"{report.bad_rows} bad rows"
        )
        if report.kept_unsubscribed:
            click.echo(f"{report.kept_unsubscribed} enterprises stay unsubscribed as they asked")
        for error in report.errors:
            click.echo(f"  {error.message}", err=True)
        if report.errors_left_out:
            click.echo(
                f"  … 另有 {report.errors_left_out} 条错误未列出 / {report.errors_left_out} more "
                f"errors left out (only the first {len(report.errors)} are listed)",
                err=True,
            )
    if report.errors:
        raise SystemExit(1)


# Names and regions are whatever a register held (older imports took control characters, and a
# name may look like markup or a formula): nothing of them may steer the terminal.
def _cell(value: str) -> Text:
    """A table cell shown as written: no rich markup, control characters escaped."""
    return Text("\n".join(shown(line, limit=0) for line in value.split("\n")))


def _terminal_json(value: object) -> str:
    """JSON like ``print_json``, with the C1, DEL and bidi characters JSON leaves raw escaped."""
    text = json.dumps(value, ensure_ascii=False, indent=2, default=str)
    # json.dumps escapes every newline inside a string, so the ones left are layout.
    return "\n".join(shown(line, limit=0) for line in text.split("\n"))


@enterprises.command("list")
@click.option("--sector", help="Only enterprises under this GB/T 4754 code, e.g. C36.")
@click.option("--limit", type=click.IntRange(min=1), default=None, help="At most this many.")
@LISTING_FORMAT_OPTION
@pass_app
def list_(app: App, sector: str | None, limit: int | None, output_format: str) -> None:
    """List enterprises in credit-code order."""
    if sector:
        try:
            sector = normalize_sector(sector)
        except InputError as exc:
            raise InputError(f"--sector: {exc}", field="sector") from None
    with app.runtime.sessions() as session:
        rows = []
        for enterprise in store.iter_enterprises(session, sector=sector):
            rows.append(enterprise_row(enterprise))
            if limit and len(rows) >= limit:
                break
    if output_format == "json":
        click.echo(_terminal_json(rows))
        return
    if output_format == "csv":
        write_csv(rows, list(rows[0]) if rows else ["credit_code", "name"])
        return
    table = Table(
        Column("credit code / name", overflow="fold"), "sectors", "size", "subscribed", "community"
    )
    for row in rows:
        table.add_row(
            _cell(f"{row['credit_code']}\n{row['name']}"),
            _cell(" ".join(row["sectors"])),  # type: ignore[arg-type]
            _cell(str(row["size"])),
            _cell(" ".join(row["subscribed"])),  # type: ignore[arg-type]
            _cell(str(row["region"]).rsplit("/", 1)[-1]),  # the full path is in --format json
        )
    Console().print(table)
    click.echo(f"{len(rows)} enterprise{'' if len(rows) == 1 else 's'}")


@enterprises.command()
@click.argument("codes", nargs=-1, required=True)
@click.option("--channel", type=click.Choice(CHANNELS), help="Only this channel (default: all).")
@pass_app
def unsubscribe(app: App, codes: tuple[str, ...], channel: str | None) -> None:
    """Unsubscribe enterprises by credit code; re-imports will not undo it."""
    wanted = [code.strip().upper() for code in codes]
    missing = subscriptions.unsubscribe(app.context, wanted, channel=channel)
    done = len(wanted) - len(missing)
    click.echo(f"unsubscribed {done} enterprises from {channel or 'every channel'}")
    if missing:
        raise InputError(f"no enterprise with credit code {', '.join(missing)}", field="codes")
