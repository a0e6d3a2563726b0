"""CPU seconds per group of processes over a stretch of time, read from /proc.

Used to say where a run's limit was: the workers, the database, the broker, the receiver, or
other load on the machine. A group is a name and a function returning its pids at the time of
asking (PostgreSQL's backends come and go); a pid first seen at the end of the stretch started
during it and is counted from zero. A process that ended during the stretch is not counted.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

import redis
import sqlalchemy as sa

TICKS = os.sysconf("SC_CLK_TCK")


def process_cpu_seconds(pid: int) -> float:
    """utime + stime of ``pid`` (its threads included), 0 when it is gone."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        return 0.0
    fields = stat.rpartition(")")[2].split()  # the command name may hold spaces
    return (int(fields[11]) + int(fields[12])) / TICKS


def machine_busy_seconds() -> float:
    """CPU seconds the whole machine spent busy (all CPUs; idle and iowait excluded)."""
    values = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    idle = values[3] + values[4]
    return (sum(values[:8]) - idle) / TICKS


def postgres_pids(engine: sa.Engine) -> list[int]:
    """The server's processes serving this database, and its background processes."""
    with engine.connect() as connection:
        rows = connection.execute(
            sa.text(
                "SELECT pid FROM pg_stat_activity"
                " WHERE datname = current_database() OR datname IS NULL"
            )
        )
        return [int(pid) for (pid,) in rows]


def redis_pids(url: str) -> list[int]:
    """The Redis server's process (it reports its own pid)."""
    return [int(redis.Redis.from_url(url).info("server")["process_id"])]


@dataclass
class Usage:
    """CPU used per group over ``seconds`` of wall time."""

    seconds: float
    groups: dict[str, float]  # CPU seconds
    machine: float  # CPU seconds, all processes of the machine

    def cores(self, name: str) -> float:
        """Cores a group kept busy on average (CPU seconds / wall seconds)."""
        return self.groups[name] / self.seconds

    @property
    def machine_cores(self) -> float:
        return self.machine / self.seconds

    @property
    def other(self) -> float:
        """CPU seconds of processes in no group (other load on a shared machine)."""
        return max(0.0, self.machine - sum(self.groups.values()))


class CpuMeter:
    """Snapshots of the groups' CPU seconds: ``start()`` before the stretch, ``stop()`` after."""

    def __init__(self, groups: dict[str, Callable[[], Iterable[int]]], clock: Callable[[], float]):
        self._groups = groups
        self._clock = clock
        self._start: dict[str, dict[int, float]] = {}
        self._began = 0.0
        self._machine = 0.0

    def _snapshot(self) -> dict[str, dict[int, float]]:
        return {
            name: {pid: process_cpu_seconds(pid) for pid in pids()}
            for name, pids in self._groups.items()
        }

    def start(self) -> None:
        self._start = self._snapshot()
        self._machine = machine_busy_seconds()
        self._began = self._clock()

    def stop(self) -> Usage:
        end = self._snapshot()
        seconds = self._clock() - self._began
        machine = machine_busy_seconds() - self._machine
        groups = {
            name: sum(cpu - self._start[name].get(pid, 0.0) for pid, cpu in pids.items())
            for name, pids in end.items()
        }
        return Usage(seconds=seconds, groups=groups, machine=machine)
