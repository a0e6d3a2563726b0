"""notifier's benchmark: durable delivery side by side with a bare sending loop, and more.

    .venv/bin/python -m bench.run [--quick] [--fanout N] [--only delivery,embedded,data,console]

Starts its own peers (webhook receiver, SMTP sink, SMS gateway stand-in), a PostgreSQL database
per run (``bench_<random>``, dropped at the end), a Redis namespace of its own, and notifier's
worker and clock processes (1, 2 and 4 workers in 8); prints the figures and the issue's targets
(met or not, computed from this run) and writes bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import dataclasses
import platform
import subprocess
import sys
import tempfile
import time
from importlib import metadata
from pathlib import Path

if __package__ in (None, ""):  # `python bench/run.py` as well as `python -m bench.run`
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.console import console_scenario  # noqa: E402
from bench.delivery import delivery_scenarios  # noqa: E402
from bench.peers import PeerProcess  # noqa: E402
from bench.report import RESULTS, Results  # noqa: E402
from bench.scenarios import (  # noqa: E402
    FULL,
    QUICK,
    Bench,
    data_scenarios,
    embedded_scenario,
)
from bench.services import Postgres, RedisNamespace, machine  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
PARTS = ("delivery", "embedded", "data", "console")


def _git_commit() -> str:
    def git(*args: str) -> str:
        return subprocess.run(
            ["git", *args], cwd=ROOT, capture_output=True, text=True, check=False
        ).stdout.strip()

    dirty = [line for line in git("status", "--porcelain").splitlines() if "RESULTS.md" not in line]
    return git("rev-parse", "--short", "HEAD") + (" (with uncommitted changes)" if dirty else "")


def _versions(postgres: Postgres) -> dict[str, str]:
    packages = ("dramatiq", "requests", "SQLAlchemy", "psycopg", "apprise", "aiosmtpd")
    return {
        "python": platform.python_version(),
        "notifier": _git_commit(),
        "PostgreSQL": postgres.version(),
        "Redis": RedisNamespace().version(),
        **{name: metadata.version(name) for name in packages},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes, 1 run: a few minutes")
    parser.add_argument("--fanout", type=int, help="enterprises of the fan-out scenario")
    parser.add_argument("--deliveries", type=int, help="N of the throughput scenarios")
    parser.add_argument("--imports", type=int, help="enterprises of the import scenario")
    parser.add_argument("--latency", type=int, help="enterprises of the latency scenario")
    parser.add_argument("--runs", type=int, help="repetitions of each figure (quick: 1, full: 3)")
    parser.add_argument("--only", help=f"comma-separated parts of {', '.join(PARTS)}")
    parser.add_argument("--output", type=Path, help="where to write the results (Markdown)")
    args = parser.parse_args()
    sizes = QUICK if args.quick else FULL
    given = {f.name: getattr(args, f.name, None) for f in dataclasses.fields(sizes)}
    sizes = dataclasses.replace(sizes, **{k: v for k, v in given.items() if v is not None})
    parts = args.only.split(",") if args.only else list(PARTS)
    label = "quick" if args.quick else "full"
    command = "python -m bench.run " + " ".join(sys.argv[1:])
    results = Results(label=label, command=command.strip())
    postgres = Postgres()
    results.context["Machine"] = machine()
    results.context["Versions"] = _versions(postgres)
    results.context["Sizes"] = {
        k: f"{v:,}" if isinstance(v, int) else "/".join(map(str, v))
        for k, v in dataclasses.asdict(sizes).items()
    }
    began = time.monotonic()
    with (
        tempfile.TemporaryDirectory(prefix="notifier-bench-") as tmp,
        PeerProcess("http") as http,
        PeerProcess("smtp") as smtp,
    ):
        bench = Bench(sizes, results, Path(tmp), postgres, http, smtp)
        for part in parts:
            started = time.monotonic()
            scenarios = {
                "delivery": delivery_scenarios,
                "embedded": embedded_scenario,
                "data": data_scenarios,
                "console": console_scenario,
            }
            scenarios[part](bench)
            results.notes.append(f"{part} scenarios took {time.monotonic() - started:.0f} s")
    results.notes.append(f"the whole run took {time.monotonic() - began:.0f} s")
    results.context["Machine"]["load after"] = machine()["load"]
    results.print_table()
    target = args.output or RESULTS
    if args.only:  # the parts not run keep their earlier figures
        results.keep_others(target)
    results.write(target)


if __name__ == "__main__":
    main()
