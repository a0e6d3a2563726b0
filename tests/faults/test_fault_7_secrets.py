"""Scenario 7: no configured secret in any log line.

Every scenario runs its processes with distinctive secrets (webhook signing secret, SMS app
secret, unsubscribe signing key). Here ``notifier run`` (debug logging, SQL included),
``notifier demo`` and ``notifier status`` run with them too, against an SMS gateway and a
webhook receiver that fail some requests, so error paths log as well. Then every captured
stdout, stderr and log of every process of the session (``var/faults/logs``) is searched.

Promised: none of the secrets, nor the signing key's decoded text, appears anywhere.
"""

from __future__ import annotations

import time

import pytest

from faults import harness
from faults.harness import Deployment, Figures

from support.peers import CountingWebhookReceiver, SmsGateway

pytestmark = [
    pytest.mark.slow,
    pytest.mark.multiprocess,
    pytest.mark.faults,
    pytest.mark.postgres,
    pytest.mark.redis,
]

FIRMS = 20


def test_no_configured_secret_appears_in_any_log(processes, database, shared_redis):
    redis_url, namespace = shared_redis
    figures = Figures("7 secrets in logs")
    started = time.monotonic()
    receiver = CountingWebhookReceiver(
        secret=harness.WEBHOOK_SECRET, fault_rates={"500": 0.3, "close": 0.1}
    )
    gateway = SmsGateway(key="faults-app-key", secret=harness.SMS_APP_SECRET)
    with receiver, gateway:
        gateway.fail_next(500, count=3, body={"code": "busy"})
        env = harness.notifier_environment(
            database_url=database,
            redis_url=redis_url,
            namespace=namespace,
            var_dir=processes.log_dir / "var",
            sms__url=gateway.url,
            delivery__backoff_base_seconds=0.2,
            delivery__max_attempts=10,
            clock__sweep_interval_seconds=1,
            clock__scan_interval_seconds=1,
        )
        app = Deployment(processes, env, database)
        try:
            app.migrate()
            app.import_firms(FIRMS, receiver.url, channels="sms;webhook")
            processes.notifier("run", "-vv", "run", env=env)
            app.publish("faults-secrets")
            app.wait_all_final(2 * FIRMS, timeout=120)
            processes.cli("status", "status", env=env)
            processes.cli("status-json", "status", "--format", "json", env=env)
            demo = harness.notifier_environment(
                database_url=f"sqlite:///{processes.log_dir / 'demo.db'}",
                redis_url=None,
                namespace=namespace,
                var_dir=processes.log_dir / "demo-var",
            )
            processes.cli("db-upgrade-demo", "db", "upgrade", env=demo)
            processes.cli("demo", "-v", "demo", env=demo)
        except BaseException:
            print(processes.logs())
            raise
        finally:
            processes.stop_all()  # `run` writes its last lines as it stops
            app.close()
    logs = sorted(p for p in harness.LOGS.rglob("*.log") if p.is_file())
    leaks = harness.secrets_in_logs(logs)
    figures.seconds = time.monotonic() - started
    figures.extra = {
        "logs_searched": len(logs),
        "bytes_searched": sum(p.stat().st_size for p in logs),
        "secrets": len(harness.SECRETS),
        "leaks": len(leaks),
        "note": f"{len(logs)} logs of every scenario run so far, "
        f"{sum(p.stat().st_size for p in logs)} bytes, {len(leaks)} secrets found",
    }
    figures.deliveries = 2 * FIRMS
    figures.record()
    assert len(logs) >= 5
    assert not leaks, leaks
