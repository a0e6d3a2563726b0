"""Print the fault suite's figures as a table: ``python tests/faults/report.py [results.jsonl]``.

Shows the newest line of each scenario (per scale) in the results file the suite appends to
(``var/faults/results.jsonl`` unless ``NOTIFIER_FAULTS_RESULTS`` names another).
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

DEFAULT = Path(__file__).resolve().parents[2] / "var" / "faults" / "results.jsonl"
COLUMNS = [
    ("scenario", "scenario"),
    ("scale", "scale"),
    ("deliveries", "deliveries"),
    ("lost", "lost"),
    ("repeated", "repeated"),
    ("recover_seconds", "recover s"),
    ("seconds", "run s"),
    ("note", "note"),
]


def newest(lines: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The last line of each (scenario, scale), in scenario order."""
    latest: dict[tuple[str, str], dict[str, Any]] = {}
    for line in lines:
        latest[(line["scenario"], line.get("scale", "?"))] = line
    return [latest[key] for key in sorted(latest)]


def table(lines: list[dict[str, Any]]) -> str:
    """A Markdown table of ``lines``."""
    rows = [[_cell(line.get(key)) for key, _ in COLUMNS] for line in lines]
    head = [title for _, title in COLUMNS]
    out = ["| " + " | ".join(head) + " |", "|" + "|".join(" --- " for _ in head) + "|"]
    out += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(out)


def _cell(value: Any) -> str:
    return "" if value is None else str(value)


def read(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    return [json.loads(text) for text in path.read_text(encoding="utf-8").splitlines() if text]


def main(argv: list[str]) -> int:
    default = os.environ.get("NOTIFIER_FAULTS_RESULTS", DEFAULT)
    path = Path(argv[1]) if len(argv) > 1 else Path(default)
    lines = read(path)
    if not lines:
        print(f"no results in {path}; run `make test-faults`")
        return 1
    print(table(newest(lines)))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
