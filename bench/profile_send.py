"""Where a worker's time goes when it sends: one thread, ``deliver_batch`` under cProfile.

    python -m bench.profile_send [N] [webhook|email]

(``BENCH_NO_PROFILE=1``: the figures without the profiler's own cost.)

Makes a PostgreSQL database of its own, imports N firms with an endpoint at a loopback
receiver (or a mailbox at a loopback SMTP server), publishes one policy, fans it out (nothing
queued), then sends every delivery in batches of ``delivery.batch_size`` on this thread, as a
worker's actor would, and prints the wall time, the CPU per message and the functions that
took the CPU, grouped by package. Figures of one run on a shared machine: compare the shares.
"""

from __future__ import annotations

import cProfile
import os
import pstats
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

from bench.data import Group, write_enterprises, write_policy
from bench.inprocess import RecordingDispatch
from bench.peers import PeerProcess
from bench.services import Notifier, Postgres, RedisNamespace

PACKAGES = (
    "aiohttp",
    "requests",
    "urllib3",
    "jinja2",
    "sqlalchemy",
    "psycopg",
    "standardwebhooks",
    "smtplib",
    "email",
    "json",
    "hmac",
    "itsdangerous",
    "notifier",
    "asyncio",
    "threading",
)


def main() -> None:
    """Run the profile; print the figures."""
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 2000
    channel = sys.argv[2] if len(sys.argv) > 2 else "webhook"
    kind = "http" if channel == "webhook" else "smtp"
    namespace = RedisNamespace()  # queued there, consumed by no one: this thread sends
    with (
        PeerProcess(kind) as peer,
        Postgres().database() as url,
        tempfile.TemporaryDirectory() as tmp,
    ):
        settings = {
            "NOTIFIER_DATABASE_URL": url,
            "NOTIFIER_REDIS_URL": namespace.url,
            "NOTIFIER_REDIS_NAMESPACE": namespace.name,
            "NOTIFIER_WEBHOOK__PROVIDER": "http",
            "NOTIFIER_APPROVAL__ENABLED": "false",
        }
        if channel == "email":
            settings |= {
                "NOTIFIER_EMAIL__PROVIDER": "smtp",
                "NOTIFIER_EMAIL__HOST": "127.0.0.1",
                "NOTIFIER_EMAIL__PORT": str(peer.port),
            }
        notifier = Notifier(Path(tmp), settings)
        notifier.run("db", "upgrade")
        hook = f"http://127.0.0.1:{peer.port}/p/{{n}}"
        group = Group(
            range(count), "浙江省宁波市北仑区大碶街道", channel, hook, mail_domain="p.example.com"
        )
        notifier.run("enterprises", "import", str(write_enterprises(Path(tmp) / "e.csv", group)))
        policy = write_policy(
            Path(tmp) / "p.json", targets={"regions": ["浙江省宁波市北仑区大碶街道"]}, label="p"
        )
        notifier.json("policies", "publish", str(policy))
        os.environ.update(notifier.env)
        from notifier.config import load_settings  # noqa: PLC0415 - after the environment
        from notifier.runtime import Runtime  # noqa: PLC0415
        from notifier.services.delivery.fanout import fan_out  # noqa: PLC0415
        from notifier.services.delivery.sending import deliver_batch  # noqa: PLC0415
        from notifier.store.models import Delivery, Trigger  # noqa: PLC0415

        runtime = Runtime.build(load_settings())
        dispatch = RecordingDispatch()
        with runtime.sessions() as session:
            trigger_id = session.query(Trigger.id).order_by(Trigger.id.desc()).first()[0]
        fan_out(runtime.sessions, dispatch, trigger_id, settings=runtime.settings.delivery)
        with runtime.sessions() as session:  # queued by this fan-out, or by the publish
            ids = [i for (i,) in session.query(Delivery.id).order_by(Delivery.id)]
        size = runtime.settings.delivery.batch_size

        profile = cProfile.Profile()
        started, cpu = time.perf_counter(), time.process_time()
        if not os.environ.get("BENCH_NO_PROFILE"):
            profile.enable()
        for first in range(0, len(ids), size):
            deliver_batch(
                runtime.sessions,
                ids[first : first + size],
                providers=runtime.providers,
                messages=runtime.messages,
                settings=runtime.settings.delivery,
                guard=runtime.guard,
            )
        profile.disable()
        wall, cpu = time.perf_counter() - started, time.process_time() - cpu
        print(
            f"{len(ids)} {channel} messages: {len(ids) / wall:,.0f}/s on one thread, "
            f"{cpu / len(ids) * 1e6:,.0f} µs of CPU each (all threads of this process)"
        )
        if os.environ.get("BENCH_NO_PROFILE"):
            return
        stats = pstats.Stats(profile)
        own: Counter[str] = Counter()
        for (path, _, _), (_, _, tottime, _, _) in stats.stats.items():  # type: ignore[attr-defined]
            package = next(
                (p for p in PACKAGES if f"/{p}/" in path or path.endswith(f"/{p}.py")), "other"
            )
            own[package] += tottime
        total = sum(own.values())
        for package, seconds in own.most_common():
            print(f"  {package:18s} {seconds / total:6.1%}")
        stats.sort_stats("cumulative").print_stats(35)
    namespace.delete()


if __name__ == "__main__":
    main()
