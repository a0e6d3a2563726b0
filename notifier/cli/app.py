"""What every command shares: lazily built settings and runtime, output in text or JSON."""

from __future__ import annotations

import json
import sys
import time
from typing import Any

import click
from rich.console import Console
from rich.markup import escape
from sqlalchemy.exc import DataError, OperationalError, ProgrammingError

from notifier.cli.local_key import announcement, create_local_key, with_local_key
from notifier.config import Settings, load_settings
from notifier.errors import NotifierError
from notifier.runtime import Runtime
from notifier.services.context import Actor, Context
from notifier.store import migrate

FORMAT_OPTION = click.option(
    "--format",
    "output_format",
    type=click.Choice(["text", "json"]),
    default="text",
    show_default=True,
    help="Output for people (text) or programs (json).",
)

LISTING_FORMAT_OPTION = click.option(
    "--format",
    "output_format",
    type=click.Choice(["text", "json", "csv"]),
    default="text",
    show_default=True,
    help="Output for people (text), programs (json) or spreadsheets (csv, formula-safe).",
)

# Errors quote user input: escape it (it is not markup) and never wrap it (scripts grep it).
err_console = Console(stderr=True)

# How long a worker, clock or server started before its database waits for it.
DATABASE_WAIT_SECONDS = 60.0


class App:
    """Per-invocation state: settings and the runtime, built on first use."""

    def __init__(self) -> None:
        self._settings: Settings | None = None
        self._runtime: Runtime | None = None

    @property
    def settings(self) -> Settings:
        if self._settings is None:
            self._settings = with_local_key(load_settings())
        return self._settings

    def make_local_key(self) -> None:
        """Before the runtime is built: make a development secrets key if none is configured
        or kept yet, and say so once (see :mod:`notifier.cli.local_key`)."""
        settings, made = create_local_key(self.settings)
        self._settings = settings
        if made is not None:
            click.echo(announcement(made), err=True)

    @property
    def runtime(self) -> Runtime:
        if self._runtime is None:
            migrate.require_current(self.settings.database_url)
            self._runtime = Runtime.build(self.settings)
        return self._runtime

    def serving_runtime(self, wait: float = DATABASE_WAIT_SECONDS) -> Runtime:
        """The runtime of a long-running process (worker, clock, run, serve): a database that
        is still starting or restarting is waited for, up to ``wait`` seconds, so a process
        started beside it does not exit at once (nothing would restart a clock that did).

        Raises:
            OperationalError: the database is still unreachable after ``wait`` seconds.
        """
        deadline = time.monotonic() + wait
        told = False
        while True:
            try:
                return self.runtime
            except OperationalError:
                if time.monotonic() >= deadline:
                    raise
                if not told:
                    err_console.print(
                        f"等待数据库（最多 {wait:g} 秒）/ waiting up to {wait:g} s for the database"
                    )
                    told = True
                time.sleep(1.0)

    @property
    def context(self) -> Context:
        """The context of an operation run from this shell: the audit log names its user."""
        return self.runtime.context(Actor.operator())

    def close(self) -> None:
        if self._runtime is not None:
            self._runtime.close()


pass_app = click.make_pass_decorator(App)


def print_json(value: Any) -> None:
    """Write one JSON document to standard output."""
    click.echo(json.dumps(value, ensure_ascii=False, indent=2, default=str))


class NotifierGroup(click.Group):
    """A group that turns notifier's own errors into one clear line and exit status 2."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except NotifierError as exc:
            err_console.print(
                f"[red]error:[/red] {escape(str(exc))}", highlight=False, soft_wrap=True
            )
            sys.exit(2)
        except DataError as exc:
            # A value an input check should have refused: one line, never a traceback.
            reason = str(exc.orig or exc).strip().splitlines()[0]
            err_console.print(
                "[red]error:[/red] 数据库不能保存此值 / a value the database cannot store: "
                f"{escape(reason)}",
                highlight=False,
                soft_wrap=True,
            )
            sys.exit(2)
        except (OperationalError, ProgrammingError) as exc:
            reason = str(exc.orig).strip().splitlines()[0] if exc.orig else str(exc)
            err_console.print(
                f"[red]error:[/red] database: {escape(reason)}\n"
                "Is the database reachable and migrated? Run `notifier db upgrade`.",
                highlight=False,
                soft_wrap=True,
            )
            sys.exit(2)
