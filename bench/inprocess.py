"""Fan-out and audience measured in a process of their own (so its peak RSS is theirs alone).

    python -m bench.inprocess fanout DATABASE_URL TRIGGER_ID...
    python -m bench.inprocess audience DATABASE_URL SECTOR REGION RUNS

Each prints one JSON line: a list with the result of each run (one process for all runs, so
only the first pays for starting Python; the peak RSS is the process's so far).

Only public functions are called: ``notifier.services.delivery.fanout.fan_out`` with a
:class:`RecordingDispatch` (a ``notifier.services.delivery.ports.Dispatch`` that keeps the ids
instead of queueing
them, so nothing consumes the deliveries and only fan-out is timed), and
``notifier.store.audience.count_by_channel`` / ``page`` / ``next_key``.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.orm import sessionmaker

from notifier.config import load_settings
from notifier.domain.targets import Targets
from notifier.services.delivery.fanout import fan_out
from notifier.store import audience

PAGE = 5000


class RecordingDispatch:
    """Keeps every queued id; queues nothing."""

    def __init__(self) -> None:
        self.ids: list[int] = []
        self.batches = 0
        self.fan_outs: list[int] = []

    def fan_out(self, trigger_id: int) -> None:
        self.fan_outs.append(trigger_id)

    def deliveries(self, delivery_ids: Sequence[int], *, delay: float | None = None) -> None:
        self.ids.extend(delivery_ids)
        self.batches += 1


def _peak_rss_kb() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    return 0


def _sessions(url: str) -> sessionmaker[sa.orm.Session]:
    return sessionmaker(sa.create_engine(url), expire_on_commit=False)


def measure_fanout(url: str, trigger_id: int) -> dict[str, object]:
    sessions = _sessions(url)
    policy = load_settings(database_url=url).delivery
    dispatch = RecordingDispatch()
    started = time.perf_counter()
    total = fan_out(sessions, dispatch, trigger_id, settings=policy)
    seconds = time.perf_counter() - started
    return {
        "seconds": seconds,
        "rows": total,
        "queued_ids": len(set(dispatch.ids)),
        "batches": dispatch.batches,
        "peak_rss_kb": _peak_rss_kb(),
    }


def measure_audience(url: str, sector: str, region: str) -> dict[str, object]:
    sessions = _sessions(url)
    target = Targets(sectors=(sector,), regions=(region,))
    with sessions() as session:
        started = time.perf_counter()
        counts = audience.count_by_channel(session, target)
        counted = time.perf_counter() - started
    streamed = 0
    with sessions() as session:
        started = time.perf_counter()
        after = None
        while True:
            rows = audience.page(session, target, after=after, size=PAGE)
            streamed += len(rows)
            if len(rows) < PAGE:
                break
            after = audience.next_key(rows)
        streaming = time.perf_counter() - started
    return {
        "count_seconds": counted,
        "counts": counts,
        "stream_seconds": streaming,
        "streamed": streamed,
        "peak_rss_kb": _peak_rss_kb(),
    }


def main() -> None:
    what, url, *rest = sys.argv[1:]
    if what == "fanout":
        results = [measure_fanout(url, int(trigger)) for trigger in rest]
    elif what == "audience":
        results = [measure_audience(url, rest[0], rest[1]) for _ in range(int(rest[2]))]
    else:
        raise SystemExit(__doc__)
    print(json.dumps(results, ensure_ascii=False))


if __name__ == "__main__":
    main()
