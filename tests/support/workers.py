"""`notifier worker --processes N` as a subprocess, logging to a file, killed at the end."""

from __future__ import annotations

import os
import re
import signal
import subprocess
from pathlib import Path

from support.cli import NOTIFIER
from support.waiting import wait_until


def worker_environment(var_dir: Path, **settings: object) -> dict[str, str]:
    """The environment of a ``notifier worker`` subprocess: the test's own (its Redis
    namespace), no config files, loopback peers allowed, output under ``var_dir``, and
    ``settings`` (``delivery__batch_size=2`` is ``NOTIFIER_DELIVERY__BATCH_SIZE``)."""
    config_dir = var_dir / "no-config"
    config_dir.mkdir(parents=True, exist_ok=True)
    return {
        **os.environ,
        "NOTIFIER_CONFIG_DIR": str(config_dir),
        "NOTIFIER_ENVIRONMENT": "test",
        "NOTIFIER_VAR_DIR": str(var_dir),
        "NOTIFIER_ALLOWED_PRIVATE_TARGETS": '["127.0.0.0/8"]',
        "NOTIFIER_ALLOWED_WEBHOOK_TARGETS": '["127.0.0.0/8:*"]',
        **{f"NOTIFIER_{name.upper()}": str(value) for name, value in settings.items()},
    }


READY = re.compile(r"worker (\d+) consuming")


def gone(pid: int) -> bool:
    """True when the process has ended (a zombie waiting for its reaper has ended too)."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except FileNotFoundError:
        return True
    return "\nState:\tZ" in status


class Workers:
    """`notifier worker --processes N`, logging to a file."""

    def __init__(self, environment: dict[str, str], log: Path, *, processes: int) -> None:
        self.log = log
        with open(log, "wb") as output:
            self.parent = subprocess.Popen(
                [str(NOTIFIER), "worker", "--processes", str(processes), "--threads", "2"],
                env=environment,
                stdout=output,
                stderr=subprocess.STDOUT,
            )
        self.children = wait_until(
            lambda: self._ready(processes), timeout=30, what=f"{processes} ready workers"
        )

    def _ready(self, processes: int) -> list[int] | None:
        if self.parent.poll() is not None:
            raise AssertionError(f"the worker ended early:\n{self.output()}")
        pids = [int(pid) for pid in READY.findall(self.output())]
        return pids if len(pids) == processes else None

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def stop(self) -> None:
        if self.parent.poll() is None:
            self.parent.send_signal(signal.SIGKILL)
            self.parent.wait()
        for pid in self.children:
            if not gone(pid):
                os.kill(pid, signal.SIGKILL)
