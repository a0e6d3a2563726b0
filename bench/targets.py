"""The issue's targets, checked against the figures of the run that just ended.

Each target names the figure it reads by its key (``Results.add(..., key=...)``), so the table
in bench/RESULTS.md is computed from the run's own numbers, never written by hand.
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal


@dataclass(frozen=True)
class Target:
    """``figure`` (its median, or its largest value with ``worst``) compared with ``bound``."""

    key: str
    text: str
    compare: Literal[">=", "<="] | None  # None: shown, not judged
    bound: float = 0.0
    worst: bool = False  # judge the largest value (memory: every process must stay under)

    def judge(self, values: Sequence[float]) -> tuple[float, str]:
        """The value judged and ``yes`` / ``no`` (``—`` for a figure only shown)."""
        value = max(values) if self.worst else statistics.median(values)
        if self.compare is None:
            return value, "—"
        met = value >= self.bound if self.compare == ">=" else value <= self.bound
        return value, "yes" if met else "no"


TARGETS = (
    Target(
        "publish.last",
        "4,000 firms, webhook: `notifier policies publish` started → last message at the "
        "receiver ≤ 3 s",
        "<=",
        3.0,
    ),
    Target(
        "publish.ratio",
        "… the same ≥ 1.0× a bare `requests` loop started as a process the same way",
        ">=",
        1.0,
    ),
    Target("publish.first", "… first message ≤ 0.5 s after the policy is stored", "<=", 0.5),
    Target(
        "webhook.ratio_bare", "20,000 firms: webhook ≥ 2.0× the bare `requests` loop", ">=", 2.0
    ),
    Target("webhook.ratio_apprise", "20,000 firms: webhook ≥ 3× Apprise", ">=", 3.0),
    Target("embedded.ratio", "embedded (SQLite, one process) ≥ 1.0× the bare loop", ">=", 1.0),
    Target("email.ratio", "email ≥ 1.5× a bare `smtplib` loop on one connection", ">=", 1.5),
    Target("fanout.rate", "fan-out ≥ 50,000 rows/s on PostgreSQL at 1,000,000", ">=", 50_000),
    Target("memory.worker", "peak RSS ≤ 150 MB per worker process (the largest)", "<=", 150, True),
    Target("scaling.ratio2", "scaling: 2 worker processes / 1 (grows until a limit)", None),
    Target("scaling.ratio4", "scaling: 4 worker processes / 1", None),
)
