"""What every command shares: lazily built settings and runtime, output in text or JSON."""

from __future__ import annotations

import json
import re
import sys
import time
from functools import cache
from typing import TYPE_CHECKING, Any

import click

from notifier.errors import NotifierError

# Imported where used: every command imports this module, and `notifier --help` should not
# pay for the database, settings and broker modules (see notifier.cli.lazy).
if TYPE_CHECKING:
    from rich.console import Console

    from notifier.config import Settings
    from notifier.runtime import Runtime
    from notifier.services.context import Context

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

# Ids are database integers: larger ones cannot exist, and are refused before any query.
ID = click.IntRange(1, 2**31 - 1)
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def shown(value: object) -> str:
    """Stored text made safe for a terminal: control characters escaped, rich markup too."""
    from rich.markup import escape

    text = _CONTROL.sub(lambda m: m.group().encode("unicode_escape").decode(), str(value))
    return escape(text)


@cache
def err_console() -> Console:
    """Standard error, for errors and notices: they quote user input, so escape it (it is
    not markup) and print with ``soft_wrap=True`` (never wrapped: scripts grep it)."""
    from rich.console import Console

    return Console(stderr=True)


def print_error(text: str) -> None:
    """One red ``error:`` line on standard error (``text`` is escaped: it quotes input)."""
    from rich.markup import escape

    err_console().print(f"[red]error:[/red] {escape(text)}", highlight=False, soft_wrap=True)


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
            from notifier.cli.local_key import with_local_key
            from notifier.config import load_settings

            self._settings = with_local_key(load_settings())
        return self._settings

    def make_local_key(self) -> None:
        """Before the runtime is built: make a development secrets key if none is configured
        or kept yet, and say so once (see :mod:`notifier.cli.local_key`)."""
        from notifier.cli.local_key import announcement, create_local_key

        settings, made = create_local_key(self.settings)
        self._settings = settings
        if made is not None:
            click.echo(announcement(made), err=True)

    @property
    def runtime(self) -> Runtime:
        if self._runtime is None:
            from notifier.runtime import Runtime
            from notifier.store import migrate

            runtime = Runtime.build(self.settings)  # connects to nothing yet
            try:
                migrate.require_current(self.settings.database_url, engine=runtime.engine)
            except BaseException:
                runtime.close()
                raise
            self._runtime = runtime
        return self._runtime

    def serving_runtime(self, wait: float = DATABASE_WAIT_SECONDS) -> Runtime:
        """The runtime of a long-running process (worker, clock, run, serve): a database that
        is still starting or restarting is waited for, up to ``wait`` seconds, so a process
        started beside it does not exit at once (nothing would restart a clock that did).

        Raises:
            OperationalError: the database is still unreachable after ``wait`` seconds.
        """
        from sqlalchemy.exc import OperationalError

        deadline = time.monotonic() + wait
        told = False
        while True:
            try:
                return self.runtime
            except OperationalError:
                if time.monotonic() >= deadline:
                    raise
                if not told:
                    err_console().print(
                        f"等待数据库（最多 {wait:g} 秒）/ waiting up to {wait:g} s for the database"
                    )
                    told = True
                time.sleep(1.0)

    @property
    def context(self) -> Context:
        """The context of an operation run from this shell: the audit log names its user."""
        from notifier.services.context import Actor

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
            print_error(str(exc))
            sys.exit(2)
        except Exception as exc:
            line = _database_error(exc)
            if line is None:
                raise
            print_error(line)
            sys.exit(2)


def _database_error(exc: Exception) -> str | None:
    """The one line for an error of the database, None for any other error."""
    if "sqlalchemy" not in sys.modules:
        return None  # nothing has touched a database: not one of its errors
    from sqlalchemy.exc import DataError, OperationalError, ProgrammingError

    if isinstance(exc, DataError):
        # A value an input check should have refused: one line, never a traceback.
        reason = str(exc.orig or exc).strip().splitlines()[0]
        return f"数据库不能保存此值 / a value the database cannot store: {reason}"
    if isinstance(exc, OperationalError | ProgrammingError):
        reason = str(exc.orig).strip().splitlines()[0] if exc.orig else str(exc)
        return (
            f"database: {reason}\n"
            "Is the database reachable and migrated? Run `notifier db upgrade`."
        )
    return None
