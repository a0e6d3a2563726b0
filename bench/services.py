"""What the scenarios stand on: a database per run, a Redis namespace, notifier's commands.

notifier is driven through its command line (``notifier …`` subprocesses with ``NOTIFIER_*``
variables). The only look into its tables is :func:`delivery_counts`, one ``GROUP BY`` over
``deliveries.status`` to see when every delivery is ``sent``.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import redis
import sqlalchemy as sa

POSTGRES_ADMIN = os.environ.get(
    "BENCH_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/0")
NOTIFIER = str(Path(sys.executable).with_name("notifier"))
# Measures the peak RSS (kB) of the command it runs: ru_maxrss of its only child.
_RSS_WRAPPER = (
    "import resource, subprocess, sys\n"
    "code = subprocess.call(sys.argv[2:])\n"
    "open(sys.argv[1], 'w').write(str(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss))\n"
    "sys.exit(code)\n"
)


class Postgres:
    """Creates ``bench_<random>`` databases on the server and drops them again."""

    def __init__(self, admin_url: str = POSTGRES_ADMIN) -> None:
        self.admin = sa.create_engine(admin_url, isolation_level="AUTOCOMMIT")

    def version(self) -> str:
        with self.admin.connect() as connection:
            return str(connection.scalar(sa.text("SHOW server_version")))

    @contextmanager
    def database(self) -> Iterator[str]:
        name = f"bench_{uuid.uuid4().hex[:10]}"
        with self.admin.connect() as connection:
            connection.execute(sa.text(f'CREATE DATABASE "{name}"'))
        try:
            yield self.admin.url.set(database=name).render_as_string(hide_password=False)
        finally:
            with self.admin.connect() as connection:
                connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


class RedisNamespace:
    """A unique key prefix on the shared Redis; only its own keys are deleted at the end."""

    def __init__(self, url: str = REDIS_URL) -> None:
        self.url = url
        self.name = f"bench_{uuid.uuid4().hex[:10]}"
        self.client = redis.Redis.from_url(url)

    def version(self) -> str:
        return str(self.client.info("server")["redis_version"])

    def delete(self) -> None:
        keys = list(self.client.scan_iter(match=f"{self.name}*", count=1000))
        for start in range(0, len(keys), 500):
            self.client.delete(*keys[start : start + 500])


class Notifier:
    """Runs ``notifier`` commands with one set of ``NOTIFIER_*`` settings in a folder."""

    def __init__(self, folder: Path, settings: dict[str, str]) -> None:
        self.folder = folder
        (folder / "config").mkdir(parents=True, exist_ok=True)  # empty: no TOML file is read
        self.env = {
            **os.environ,
            "NOTIFIER_CONFIG_DIR": str(folder / "config"),
            "NOTIFIER_VAR_DIR": str(folder / "var"),
            "NOTIFIER_ALLOWED_PRIVATE_TARGETS": '["127.0.0.1"]',
            "NOTIFIER_ALLOWED_WEBHOOK_TARGETS": '["127.0.0.1:*"]',  # its receiver's own port
            **settings,
        }
        self.database_url = settings["NOTIFIER_DATABASE_URL"]

    def run(
        self, *args: str, check: bool = True, timeout: float = 7200
    ) -> subprocess.CompletedProcess[str]:
        done = subprocess.run(
            [NOTIFIER, *args],
            env=self.env,
            cwd=self.folder,
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        if check and done.returncode != 0:
            raise RuntimeError(
                f"notifier {' '.join(args)} exited {done.returncode}: {done.stderr[-2000:]}"
            )
        return done

    def json(self, *args: str) -> Any:
        return json.loads(self.run(*args, "--format", "json").stdout)

    def run_measured(self, *args: str) -> tuple[subprocess.CompletedProcess[str], int]:
        """Run a command and return it with its peak RSS in kB."""
        out = self.folder / f"rss-{uuid.uuid4().hex[:8]}"
        done = subprocess.run(
            [sys.executable, "-c", _RSS_WRAPPER, str(out), NOTIFIER, *args],
            env=self.env,
            cwd=self.folder,
            capture_output=True,
            text=True,
        )
        if done.returncode not in (0, 1):
            raise RuntimeError(
                f"notifier {' '.join(args)} exited {done.returncode}: {done.stderr[-2000:]}"
            )
        return done, int(out.read_text())

    def spawn(self, *args: str, name: str) -> Process:
        return Process(
            [NOTIFIER, *args], env=self.env, cwd=self.folder, log=self.folder / f"{name}.log"
        )


class Process:
    """A long-running notifier process (worker, time_source) whose log is kept in a file."""

    def __init__(self, argv: list[str], *, env: dict[str, str], cwd: Path, log: Path) -> None:
        self.log = log
        self._stream = log.open("w")
        self.popen = subprocess.Popen(
            argv, env=env, cwd=cwd, stdout=self._stream, stderr=subprocess.STDOUT
        )

    def wait_for(self, text: str, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if text in self.log.read_text(errors="replace"):
                return
            if self.popen.poll() is not None:
                break
            time.sleep(0.05)
        raise RuntimeError(
            f"{self.log.name}: {text!r} not seen; log:\n{self.log.read_text()[-2000:]}"
        )

    def peak_rss_kb(self) -> int:
        """VmHWM: the process's peak resident set so far."""
        return _peak_rss_kb(self.popen.pid)

    def children_peak_rss_kb(self) -> int:
        """The largest VmHWM among the process's children (its export process), 0 if none."""
        children: list[int] = []
        for task in Path(f"/proc/{self.popen.pid}/task").iterdir():
            children += [int(pid) for pid in (task / "children").read_text().split()]
        return max((_peak_rss_kb(pid) for pid in children), default=0)

    def stop(self) -> None:
        if self.popen.poll() is None:
            self.popen.send_signal(signal.SIGTERM)
            try:
                self.popen.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.popen.kill()
                self.popen.wait()
        self._stream.close()


def _peak_rss_kb(pid: int) -> int:
    try:
        lines = Path(f"/proc/{pid}/status").read_text().splitlines()
    except FileNotFoundError:  # gone meanwhile
        return 0
    for line in lines:
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    return 0


def delivery_counts(engine: sa.Engine) -> dict[str, int]:
    """Deliveries by status, over the whole database."""
    with engine.connect() as connection:
        rows = connection.execute(
            sa.text("SELECT status, count(*) FROM deliveries GROUP BY status")
        )
        return {str(status): int(number) for status, number in rows}


def notifier_engine(url: str) -> sa.Engine:
    """An engine on notifier's database, for reading what it stored."""
    return sa.create_engine(url)


def policy_stored_at(engine: sa.Engine, policy_id: int) -> float:
    """When ``publish`` stored the policy (unix seconds): the moment an API publish returns."""
    with engine.connect() as connection:
        stored = connection.execute(
            sa.text("SELECT created_at FROM policies WHERE id = :id"), {"id": policy_id}
        ).scalar_one()
    if isinstance(stored, str):  # SQLite keeps the UTC time as naive text
        stored = datetime.fromisoformat(stored).replace(tzinfo=UTC)
    return float(stored.timestamp())


def machine() -> dict[str, str]:
    """nproc, memory, CPU model and load, from /proc."""
    model = "?"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            model = line.split(":", 1)[1].strip()
            break
    memory = "?"
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemTotal:"):
            memory = f"{int(line.split()[1]) / 1024 / 1024:.1f} GiB"
    return {
        "nproc": str(len(os.sched_getaffinity(0))),
        "memory": memory,
        "cpu": model,
        "load": " ".join(f"{x:.2f}" for x in os.getloadavg()),
    }
