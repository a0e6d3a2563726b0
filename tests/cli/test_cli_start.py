"""The command starts without loading what it does not use.

`notifier --help` and a publish are typed by people waiting on them; each library imported
costs start-up time (the whole set took 1.5 s before subcommands were loaded on use). Time is
not asserted here (it varies with the machine): which modules a fresh process loaded is.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import click
from click.testing import CliRunner

from notifier.cli.main import COMMANDS, cli

from support.factories import policy

# Libraries none of the commands' list needs, and each command loads only when it runs.
HEAVY = {
    "alembic", "apscheduler", "argon2", "dramatiq", "fastapi", "jinja2", "openpyxl",
    "phonenumbers", "pika", "pydantic", "redis", "requests", "rich", "sqlalchemy", "uvicorn",
}  # fmt: skip
# What a publish never needs: the web server, spreadsheets, migrations, the clock, passwords.
NOT_FOR_PUBLISH = {
    "alembic",
    "apscheduler",
    "argon2",
    "fastapi",
    "openpyxl",
    "starlette",
    "uvicorn",
}


def loaded_by(args: list[str], env: dict[str, str], tmp_path: Path) -> tuple[set[str], str]:
    """The top-level packages a fresh ``notifier ARGS`` process had loaded when it exited,
    and its standard output."""
    record = tmp_path / "modules.json"
    code = (
        "import atexit, json, sys\n"
        f"keep = lambda: open({str(record)!r}, 'w').write(json.dumps(list(sys.modules)))\n"
        "atexit.register(keep)\n"
        "from notifier.cli.main import main\n"
        "main()\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code, *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return {name.partition(".")[0] for name in json.loads(record.read_text())}, done.stdout


def test_the_list_of_commands_loads_no_command_and_none_of_their_libraries(tmp_path):
    modules, out = loaded_by(["--help"], {"PATH": "/usr/bin:/bin"}, tmp_path)

    assert modules.isdisjoint(HEAVY), sorted(modules & HEAVY)
    for name in COMMANDS:
        assert f"  {name} " in out


def test_the_list_shows_each_commands_own_summary_and_each_command_answers_help():
    context = click.Context(cli)
    for name, entry in COMMANDS.items():
        command = cli.get_command(context, name)

        assert command is not None
        assert command.get_short_help_str(limit=1000) == entry.summary, name
        assert CliRunner().invoke(cli, [name, "--help"]).exit_code == 0


def test_a_publish_loads_neither_the_web_server_nor_spreadsheets_nor_migrations(
    sqlite_url, tmp_path
):
    file = tmp_path / "later.json"
    later = policy(ref="later-1", published_at="2099-06-01T09:00:00+08:00")
    file.write_text(json.dumps(later, ensure_ascii=False), encoding="utf-8")
    env = {
        "PATH": "/usr/bin:/bin",
        "NOTIFIER_CONFIG_DIR": str(tmp_path / "no-config"),
        "NOTIFIER_DATABASE_URL": sqlite_url,
        "NOTIFIER_VAR_DIR": str(tmp_path / "var"),
    }

    modules, out = loaded_by(["policies", "publish", str(file)], env, tmp_path)

    assert "policy 1: published" in out
    assert modules.isdisjoint(NOT_FOR_PUBLISH), sorted(modules & NOT_FOR_PUBLISH)
