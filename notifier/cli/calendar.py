"""``notifier calendar``: the working-day calendar (holidays and worked weekends, 调休)."""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path
from typing import Any

import click

from notifier.cli.app import FORMAT_OPTION, App, pass_app, print_json
from notifier.domain.holiday_notice import read_notice
from notifier.errors import InputError
from notifier.services.calendar import working_days as calendar_admin

MAX_FILE_BYTES = 100_000
_YEAR = re.compile(r"(\d{4})\s*[年-]")


@click.group()
def calendar() -> None:
    """Working-day calendar: holidays and worked weekends (调休) per year."""


def _list_years(app: App, output_format: str) -> None:
    runtime = app.runtime
    rows = calendar_admin.years(runtime.sessions, time_source=runtime.time_source)
    zone = app.settings.zone
    for row in rows:
        row["entered_at"] = row["entered_at"].astimezone(zone).strftime("%Y-%m-%d %H:%M")
    if output_format == "json":
        print_json(rows)
        return
    for row in rows:
        state = "完整 complete" if row["complete"] else "未完成 not complete"
        click.echo(
            f"{row['year']}  {state}  放假 holidays {row['holidays']}  "
            f"调休上班 workdays {row['workdays']}  {row['entered_by']} {row['entered_at']}"
        )


def _list_days(app: App, year: int, output_format: str) -> None:
    runtime = app.runtime
    rows: list[dict[str, Any]] = calendar_admin.days(runtime.sessions, year,
    time_source=runtime.time_source)
    for row in rows:
        row["date"] = row["date"].isoformat()
        row["entered_at"] = row["entered_at"].astimezone(app.settings.zone).isoformat()
    if output_format == "json":
        print_json(rows)
        return
    if not rows:
        click.echo(f"{year}: 没有录入的日期 / no days entered")
    for row in rows:
        kind = "放假 holiday" if row["kind"] == "holiday" else "上班 workday"
        click.echo(f"{row['date']} 周{row['weekday']}  {kind}  {row['name']}")


@calendar.command("list")
@click.argument("year", required=False)
@FORMAT_OPTION
@pass_app
def list_(app: App, year: str | None, output_format: str) -> None:
    """The years entered (complete or not); with YEAR, that year's holidays and worked days."""
    if year is None:
        _list_years(app, output_format)
    else:
        _list_days(app, calendar_admin.read_year(year), output_format)


def _file_year(text: str) -> int:
    """The first year the file names (the notice's title says it: 关于2027年部分节假日安排)."""
    match = _YEAR.search(text)
    if match is None:
        raise InputError(
            "year: 文件里没有年份，请用 --year 指定 / the file names no year; pass --year",
            field="year",
        )
    return calendar_admin.read_year(match.group(1))


@calendar.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--year", "year_text", help="The notice's year (default: the file's first date's).")
@click.option(
    "--incomplete",
    is_flag=True,
    help="Enter the days but leave the year not complete (its working days stay unknown).",
)
@click.option("--dry-run", is_flag=True, help="Show what the file says; store nothing.")
@FORMAT_OPTION
@pass_app
def import_(
    app: App, file: Path, year_text: str | None, incomplete: bool, dry_run: bool,
    output_format: str,
) -> None:
    """Enter the State Council's holiday notice for a year from FILE (UTF-8 text, one holiday
    a line, e.g. ``春节 2027-02-06 至 2027-02-13，调休上班 2027-02-14、2027-02-20``). The year's
    entered days are replaced by the file's."""
    data = file.read_bytes()
    if len(data) > MAX_FILE_BYTES:
        raise InputError(f"file: 超过 {MAX_FILE_BYTES} 字节 / over {MAX_FILE_BYTES} bytes")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise InputError("file: 不是 UTF-8 文本 / is not UTF-8 text", field="file") from None
    year = calendar_admin.read_year(year_text) if year_text else _file_year(text)
    notice = read_notice(text, year=year)
    shown = [
        {"date": d.day.isoformat(), "kind": d.kind.value, "name": d.name}
        for d in sorted(notice.days.values(), key=lambda d: d.day)
    ]
    result: dict[str, Any] = {"year": year, "days": shown, "dry_run": dry_run}
    if not dry_run:
        entered = calendar_admin.enter_notice(app.context, notice, complete=not incomplete)
        result |= {"replaced": entered.replaced, "complete": entered.complete}
    if output_format == "json":
        print_json(result)
        return
    for day in shown:
        kind = "放假 holiday" if day["kind"] == "holiday" else "上班 workday"
        click.echo(f"{day['date']}  {kind}  {day['name']}")
    if dry_run:
        click.echo(f"{year}: {len(shown)} days read; nothing stored (--dry-run)")
    else:
        state = "complete" if result["complete"] else "not complete"
        click.echo(f"{year}: {len(shown)} days entered, {result['replaced']} replaced; {state}")


def _day(value: str) -> date:
    return calendar_admin.read_day(value)


@calendar.command("set")
@click.argument("day")
@click.argument("kind")
@click.option("--name", default="", help="The holiday, e.g. 春节.")
@pass_app
def set_(app: App, day: str, kind: str, name: str) -> None:
    """Enter DAY (2027-02-06) as a holiday or a workday (a weekend worked instead)."""
    when, what = _day(day), calendar_admin.read_kind(kind)
    calendar_admin.set_day(app.context, when, what, name=name)
    click.echo(f"{when.isoformat()}: {what.value} {name}".rstrip())


@calendar.command("unset")
@click.argument("day")
@pass_app
def unset(app: App, day: str) -> None:
    """Remove DAY's entry: it is then worked when it is Monday to Friday."""
    when = _day(day)
    removed = calendar_admin.remove_day(app.context, when)
    click.echo(f"{when.isoformat()}: {'removed' if removed else 'had no entry'}")


@calendar.command("complete")
@click.argument("year")
@click.option("--undo", is_flag=True, help="Mark the year not complete again.")
@pass_app
def complete(app: App, year: str, undo: bool) -> None:
    """Mark YEAR complete: its holidays are all entered and its working days are counted."""
    number = calendar_admin.read_year(year)
    calendar_admin.mark_year(app.context, number, complete=not undo)
    click.echo(f"{number}: {'not complete' if undo else 'complete'}")
