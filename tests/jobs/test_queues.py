"""Every declared queue is consumed: by the worker, by ``notifier worker``, by the Procfile.

A queue that nobody consumes loses work silently (messages pile up in Redis), so these checks
read the names from ``notifier.jobs.queues`` and never repeat them.
"""

from __future__ import annotations

import io
import os
import shlex
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import click
import pytest
from dramatiq.common import dq_name

from notifier.cli.main import cli
from notifier.inputs.policy_file import parse_policy
from notifier.jobs.queues import QUEUES
from notifier.jobs.worker import start_worker
from notifier.services.delivery.progress import follow
from notifier.services.enterprises.importing import import_enterprises
from notifier.services.policies.publishing import publish
from notifier.store import migrate
from notifier.store.deliveries import DeliveryFilter, status_counts

from support.factories import Firm, enterprise_csv, policy
from support.paths import REPO

PROCFILE = REPO / "Procfile"
VENV_BIN = Path(sys.executable).parent


def procfile() -> dict[str, list[str]]:
    """The Procfile's process types and their commands, split as a shell would."""
    if not PROCFILE.exists():
        pytest.skip(f"{PROCFILE} is not written yet (another engineer ships it)")
    processes = {}
    for line in PROCFILE.read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            name, _, command = line.partition(":")
            processes[name.strip()] = shlex.split(command)
    return processes


@pytest.fixture(params=["embedded", "redis", "rabbitmq"])
def runtime(request, make_runtime, tmp_path):
    kind = request.param
    broker = None if kind == "embedded" else request.getfixturevalue(f"{kind}_url")
    return make_runtime(database_url=f"sqlite:///{tmp_path / 'q.db'}", broker_url=broker)


def test_the_worker_consumes_every_declared_queue_and_its_retry_queue(runtime):
    worker = start_worker(runtime.queue.broker, threads=1)
    try:
        consumed = set(worker.consumers)
    finally:
        worker.stop()

    assert consumed == set(QUEUES) | {dq_name(queue) for queue in QUEUES}


def test_every_actor_sits_on_a_declared_queue(make_runtime, tmp_path):
    queue = make_runtime(database_url=f"sqlite:///{tmp_path / 'q.db'}").queue
    broker = queue.broker
    actor_queues = {broker.get_actor(name).queue_name for name in broker.get_declared_actors()}

    assert actor_queues <= set(QUEUES)
    assert {queue.fan_out_actor.queue_name, queue.deliver_actor.queue_name} <= set(QUEUES)
    assert set(QUEUES) <= actor_queues  # and no declared queue is left without an actor


def test_the_procfile_runs_notifier_worker_and_notifier_clock():
    processes = procfile()

    assert processes["worker"][:2] == ["notifier", "worker"]
    assert processes["clock"][:2] == ["notifier", "clock"]


@pytest.mark.parametrize("process", ["worker", "clock"])
def test_the_procfile_commands_are_valid_notifier_commands(process):
    args = procfile()[process][1:]

    with click.Context(cli) as ctx:
        name, command, rest = cli.resolve_command(ctx, args)
        command.make_context(name, rest, parent=ctx)  # raises on an unknown option or value


@pytest.fixture
def procfile_worker(redis_url, tmp_path) -> Iterator[tuple[str, str]]:
    """The Procfile's worker line, run as its own process against Redis and a SQLite file."""
    database_url = f"sqlite:///{tmp_path / 'shared.db'}"
    migrate.upgrade(database_url)
    env = {
        **os.environ,
        "PATH": f"{VENV_BIN}{os.pathsep}{os.environ.get('PATH', '')}",
        "NOTIFIER_DATABASE_URL": database_url,
        "NOTIFIER_REDIS_URL": redis_url,
        "NOTIFIER_VAR_DIR": str(tmp_path / "var"),
    }
    process = subprocess.Popen(
        procfile()["worker"], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    try:
        yield database_url, redis_url
    finally:
        process.terminate()
        output, _ = process.communicate(timeout=60)
    assert process.returncode == 0, output


@pytest.mark.multiprocess
def test_the_procfile_worker_consumes_both_fan_out_and_delivery_queues(
    procfile_worker, make_runtime
):
    database_url, redis_url = procfile_worker
    # This process only publishes; every send happens in the Procfile's worker process.
    runtime = make_runtime(database_url=database_url, redis_url=redis_url)
    report = import_enterprises(
        runtime.sessions, io.StringIO(enterprise_csv([Firm(1), Firm(2)])), dry_run=False
    )
    assert report.errors == []

    result = publish(
        runtime.sessions, runtime.dispatch, parse_policy(policy(), zone=runtime.settings.zone)
    )
    follow(runtime.sessions, result.trigger_id, show=False, timeout=60)

    with runtime.sessions() as session:
        assert status_counts(session, DeliveryFilter(trigger_id=result.trigger_id)) == {"sent": 6}
