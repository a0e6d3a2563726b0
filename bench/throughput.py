"""Durable delivery throughput: import, fan-out and send N enterprises x 2 channels.

Runs the real pipeline (CSV import, audience query, fan-out, claim, render, dry-run send,
record) on the embedded setup (SQLite + in-process broker) and on PostgreSQL + Redis when
they are reachable. Prints figures and writes bench/RESULTS.md.

    .venv/bin/python bench/throughput.py [--enterprises 5000] [--threads 8]
"""

from __future__ import annotations

import argparse
import io
import platform
import sys
import tempfile
import time
import uuid
from pathlib import Path

import redis
import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from notifier import migrate  # noqa: E402
from notifier.config import load_settings  # noqa: E402
from notifier.importing import import_enterprises  # noqa: E402
from notifier.jobs.worker import start_worker  # noqa: E402
from notifier.policy_file import parse_policy  # noqa: E402
from notifier.progress import follow  # noqa: E402
from notifier.publishing import publish  # noqa: E402
from notifier.runtime import Runtime  # noqa: E402

from factories import Firm, enterprise_csv, policy  # noqa: E402

POSTGRES_ADMIN = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
REDIS_URL = "redis://127.0.0.1:6379/14"


def run_case(name: str, folder: Path, database_url: str, redis_url: str | None, args) -> dict:
    migrate.upgrade(database_url)
    settings = load_settings(
        config_dir=folder / "none",
        database_url=database_url,
        redis_url=redis_url,
        var_dir=folder / "var",
    )
    runtime = Runtime.build(settings)
    firms = [Firm(n, channels="sms;email") for n in range(1, args.enterprises + 1)]
    started = time.perf_counter()
    report = import_enterprises(runtime.sessions, io.StringIO(enterprise_csv(firms)), dry_run=False)
    imported = time.perf_counter() - started
    worker = start_worker(runtime.queue.broker, threads=args.threads)
    try:
        started = time.perf_counter()
        draft = parse_policy(policy(targets={"sectors": ["C36"]}), zone=settings.zone)
        result = publish(runtime.sessions, runtime.dispatch, draft)
        state = follow(runtime.sessions, result.trigger_id, show=False, poll=0.1, timeout=1800)
        sent = time.perf_counter() - started
    finally:
        worker.stop()
        runtime.close()
    messages = state.counts.get("sent", 0)
    return {
        "case": name,
        "enterprises": report.imported,
        "import_s": imported,
        "import_per_s": report.imported / imported,
        "messages": messages,
        "publish_to_sent_s": sent,
        "messages_per_s": messages / sent,
        "not_sent": state.total - messages,
    }


def postgres_database() -> tuple[str, sa.Engine] | None:
    try:
        admin = sa.create_engine(POSTGRES_ADMIN, isolation_level="AUTOCOMMIT")
        name = f"notifier_bench_{uuid.uuid4().hex[:8]}"
        with admin.connect() as connection:
            connection.execute(sa.text(f'CREATE DATABASE "{name}"'))
        return admin.url.set(database=name).render_as_string(hide_password=False), admin
    except sa.exc.OperationalError as exc:
        print(f"PostgreSQL not reachable, skipping that case: {exc.orig}")
        return None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--enterprises", type=int, default=5000)
    parser.add_argument("--threads", type=int, default=8)
    args = parser.parse_args()
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        results.append(
            run_case(
                "embedded: SQLite + in-process broker",
                folder / "a",
                f"sqlite:///{folder / 'bench.db'}",
                None,
                args,
            )
        )
        pg = postgres_database()
        if pg is not None:
            url, admin = pg
            redis.Redis.from_url(REDIS_URL).flushdb()
            try:
                results.append(run_case("PostgreSQL + Redis", folder / "b", url, REDIS_URL, args))
            finally:
                with admin.connect() as connection:
                    name = sa.engine.make_url(url).database
                    connection.execute(sa.text(f'DROP DATABASE "{name}" WITH (FORCE)'))
                redis.Redis.from_url(REDIS_URL).flushdb()
    write_results(results, args)


def write_results(results: list[dict], args) -> None:
    lines = [
        "# Benchmark results",
        "",
        f"`bench/throughput.py --enterprises {args.enterprises} --threads {args.threads}` on "
        f"{platform.machine()}, Python {platform.python_version()}, dry-run provider "
        "(one JSON file written per message), worker threads in the same process.",
        "",
        "| case | enterprises | import /s | messages | publish→all sent (s) | messages /s "
        "| not sent |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for r in results:
        lines.append(
            f"| {r['case']} | {r['enterprises']} | {r['import_per_s']:.0f} | {r['messages']} | "
            f"{r['publish_to_sent_s']:.1f} | {r['messages_per_s']:.0f} | {r['not_sent']} |"
        )
    text = "\n".join(lines) + "\n"
    print(text)
    (Path(__file__).parent / "RESULTS.md").write_text(text, encoding="utf-8")


if __name__ == "__main__":
    main()
