"""The ``notifier`` command as a user drives it: in this process through click's runner
(:class:`Notifier`), or as the installed script in a process of its own (:func:`run_notifier`,
and :data:`NOTIFIER` for the long-running ``run``, ``worker`` and ``clock``)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from click.testing import CliRunner, Result

from notifier.cli.main import cli

# The installed ``notifier`` script, beside this interpreter.
NOTIFIER = Path(sys.executable).with_name("notifier")


def run_notifier(
    *args: str, env: Mapping[str, str], timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    """Run ``notifier ARGS`` in a fresh process with ``env``; its status and output, unchecked."""
    return subprocess.run(
        [str(NOTIFIER), *args], env=dict(env), capture_output=True, text=True, timeout=timeout
    )


class Notifier:
    """Runs ``notifier ARGS`` with a fixed environment and checks its exit status."""

    def __init__(self, env: dict[str, str | None], folder: Path) -> None:
        self.env = env
        self.folder = folder
        self.runner = CliRunner()

    def __call__(
        self,
        *args: str,
        status: int = 0,
        env: dict[str, str | None] | None = None,
        input: str | None = None,
    ) -> Result:
        result = self.runner.invoke(cli, list(args), env={**self.env, **(env or {})}, input=input)
        if not isinstance(result.exception, SystemExit | None):
            raise result.exception  # a traceback the user would have seen: fail with it
        assert result.exit_code == status, (
            f"notifier {' '.join(args)} exited {result.exit_code}:\n{result.output}"
        )
        return result

    def json(self, *args: str, status: int = 0) -> Any:
        return json.loads(self(*args, "--format", "json", status=status).stdout)

    def file(self, name: str, text: str | bytes) -> str:
        path = self.folder / name
        path.write_bytes(text if isinstance(text, bytes) else text.encode("utf-8"))
        return str(path)


def notifier_on(database_url: str, tmp_path: Path) -> Notifier:
    """The command on ``database_url``, its files and var dir under ``tmp_path``."""
    env = {"NOTIFIER_DATABASE_URL": database_url, "NOTIFIER_VAR_DIR": str(tmp_path / "var")}
    return Notifier(env, tmp_path)


def assert_one_line_error(result: Result, *needles: str) -> None:
    """The command failed with one line on stderr, naming each of ``needles``, no traceback."""
    message = result.stderr.strip()
    assert "Traceback" not in result.output
    assert message.startswith("error:")
    assert "\n" not in message, message
    for needle in needles:
        assert needle in message


def notifier_as(env: Mapping[str, str], folder: Path) -> Notifier:
    """The command in this process as a subprocess given ``env`` would run it: with exactly
    its ``NOTIFIER_*`` settings (this process's others hidden meanwhile). A fresh interpreter
    costs seconds per command; a test that only needs the command's effect saves them."""
    settings: dict[str, str | None] = {
        name: None for name in os.environ if name.startswith("NOTIFIER_")
    }
    settings.update({name: value for name, value in env.items() if name.startswith("NOTIFIER_")})
    return Notifier(settings, folder)
