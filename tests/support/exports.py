"""An export job that holds the export's child process until told to finish (to see what a
second export meets meanwhile)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import IO

from notifier.web.export_pool import Databases

from support.waiting import wait_until


@dataclass(frozen=True)
class HeldExport:
    """Writes ``started``, then waits for ``release`` to exist before it writes its body."""

    started: Path
    release: Path

    def write(self, into: IO[bytes], databases: Databases) -> None:  # noqa: ARG002
        self.started.touch()
        wait_until(self.release.exists, timeout=60, what="the test to release the export")
        into.write(b"held")
