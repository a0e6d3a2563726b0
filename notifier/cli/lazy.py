"""Subcommands imported when they run, so ``notifier --help`` and each command start fast.

A command's module pulls in what it works with (SQLAlchemy, the broker, Jinja2, the web
stack); importing every one of them to print the list of commands cost more than a second.
The group knows each command by name, module and one-line summary, and imports the module
only when the command is run or asked for its own ``--help``.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Any

import click

from notifier.cli.app import NotifierGroup


@dataclass(frozen=True)
class Entry:
    """Where a subcommand lives: ``module``'s attribute of the command's name; ``summary``
    is its docstring's first sentence, shown by ``notifier --help`` (a test keeps them equal)."""

    module: str
    summary: str


class LazyGroup(NotifierGroup):
    """A group whose subcommands are imported on first use (see the module's docstring)."""

    def __init__(self, *args: Any, entries: dict[str, Entry], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.entries = entries

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*self.entries, *super().list_commands(ctx)})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        entry = self.entries.get(cmd_name)
        if entry is None or cmd_name in self.commands:
            return super().get_command(ctx, cmd_name)
        command = getattr(importlib.import_module(entry.module), cmd_name.replace("-", "_"))
        if not isinstance(command, click.Command):
            raise TypeError(f"{entry.module}.{cmd_name} is not a click command")
        self.add_command(command, cmd_name)
        return command

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        """List the commands with their summaries, importing none of them."""
        names = self.list_commands(ctx)
        if not names:
            return
        limit = formatter.width - 6 - max(len(name) for name in names)
        rows = []
        for name in names:
            entry = self.entries.get(name)
            # A stand-in with the summary as its help: cut to the width as click cuts any.
            shown = (
                self.commands[name] if entry is None else click.Command(name, help=entry.summary)
            )
            rows.append((name, shown.get_short_help_str(limit)))
        with formatter.section("Commands"):
            formatter.write_dl(rows)
