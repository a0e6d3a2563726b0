"""The guards' backends: the same assertions in memory and on the real Redis server.

Each test gets a pair of backends standing for two processes: in memory the one backend a
process has (twice), on Redis two clients over the test's own namespace (``redis_url`` deletes
its keys afterwards). Time is a number the test moves; only ``keep`` runs on real time.
"""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Iterator

import pytest
import redis

from notifier.channels.sources import environment_from_settings
from notifier.config import CircuitSettings, Settings
from notifier.guards.backends import (
    GuardBackend,
    MemoryBackend,
    Record,
    RedisBackend,
    create_backend,
)
from notifier.guards.circuits import ProviderCircuits
from notifier.guards.endpoint_limits import EndpointLimiter
from notifier.guards.provider_guard import create_guard
from notifier.guards.sign_in import FailedAttempts, failed_attempts


class Ticks:
    """Epoch seconds the test moves."""

    def __init__(self) -> None:
        self.now = 1_000_000.5

    def __call__(self) -> float:
        return self.now


@pytest.fixture(params=["memory", "redis"])
def pair(request: pytest.FixtureRequest) -> Iterator[tuple[GuardBackend, GuardBackend]]:
    """Two processes' backends: one memory backend seen twice, or two Redis clients."""
    if request.param == "memory":
        memory = MemoryBackend()
        yield memory, memory
        return
    url = request.getfixturevalue("redis_url")
    namespace = os.environ["NOTIFIER_REDIS_NAMESPACE"]
    one, two = (create_backend(url, namespace=namespace) for _ in range(2))
    assert isinstance(one, RedisBackend)
    yield one, two
    one.close()
    two.close()


def add_one(record: Record | None) -> tuple[Record | None, float]:
    count = (record or (0,))[0] or 0
    return (count + 1,), count + 1


def read(record: Record | None) -> tuple[Record | None, Record | None]:
    return record, record


def test_a_rule_sees_what_the_last_change_left_from_either_process_and_none_deletes_it(
    pair: tuple[GuardBackend, GuardBackend],
) -> None:
    one, two = pair
    assert one.change("k", read, keep=60) is None
    assert one.change("k", add_one, keep=60) == 1
    assert two.change("k", add_one, keep=60) == 2
    assert one.change("k", lambda record: ((2.5, None), None), keep=60) is None
    assert two.change("k", read, keep=60) == (2.5, None)
    assert one.change("other", read, keep=60) is None  # each key its own record
    one.change("k", lambda record: (None, None), keep=60)
    assert two.change("k", read, keep=60) is None


def test_changes_racing_from_many_threads_lose_no_count(
    pair: tuple[GuardBackend, GuardBackend],
) -> None:
    def add(backend: GuardBackend) -> None:
        for _ in range(40):
            backend.change("race", add_one, keep=60)

    threads = [threading.Thread(target=add, args=(pair[n % 2],)) for n in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert pair[0].change("race", read, keep=60) == (240,)


def test_a_record_unused_for_longer_than_keep_is_dropped(
    pair: tuple[GuardBackend, GuardBackend],
) -> None:
    one, _ = pair
    one.change("short", add_one, keep=0.05)
    one.change("long", add_one, keep=60)
    deadline = time.monotonic() + 5
    while one.change("short", read, keep=0.05) is not None:
        assert time.monotonic() < deadline, "the record outlived its keep"
    assert one.change("long", read, keep=60) == (1,)


def test_a_circuit_opens_after_failures_in_a_row_and_lets_one_trial_through_after_cooldown(
    pair: tuple[GuardBackend, GuardBackend],
) -> None:
    settings = CircuitSettings(failures=2, cooldown_seconds=30)
    circuits, other = (ProviderCircuits(backend, settings) for backend in pair)
    now = 1_000_000.5
    circuits.failed("gw-a", now)
    other.succeeded("gw-a")  # a success in between (in another worker): the count starts again
    circuits.failed("gw-a", now)
    assert circuits.admit("gw-a", now) is None
    other.failed("gw-a", now)

    assert circuits.admit("gw-a", now + 29) == pytest.approx(now + 30)
    assert circuits.admit("gw-b", now) is None  # each provider has its own
    assert other.admit("gw-a", now + 31) is None  # the one trial
    assert circuits.admit("gw-a", now + 31) is not None  # the others still wait
    circuits.failed("gw-a", now + 31)  # the trial failed: open again at once
    assert circuits.admit("gw-a", now + 60) == pytest.approx(now + 61)
    assert circuits.admit("gw-a", now + 62) is None
    circuits.succeeded("gw-a")
    assert circuits.admit("gw-a", now + 62) is None and other.admit("gw-a", now + 62) is None


def test_an_endpoint_takes_its_messages_a_minute_across_processes_and_says_when_one_frees(
    pair: tuple[GuardBackend, GuardBackend],
) -> None:
    ticks = Ticks()
    one, two = (EndpointLimiter(backend, time_source=ticks) for backend in pair)
    robot = "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=shared"
    taken = []
    for n in range(20):
        ticks.now += 1
        taken.append((one if n % 2 else two).acquire(robot, 20))
    assert taken == [None] * 20
    # The first of the 20 (taken 1 s in) leaves the window 61 s in; it is 20 s in now.
    assert one.acquire(robot, 20) == pytest.approx(41.0)
    assert two.acquire("https://oapi.dingtalk.com/robot/send?access_token=x", 20) is None
    ticks.now += 41.5
    assert two.acquire(robot, 20) is None
    # Full again; the second (taken 2 s in) leaves 62 s in, half a second from now.
    assert one.acquire(robot, 20) == pytest.approx(0.5)


def test_failed_sign_ins_are_limited_per_address_in_a_fixed_window_shared_by_processes(
    pair: tuple[GuardBackend, GuardBackend],
) -> None:
    ticks = Ticks()
    one, two = (
        FailedAttempts(backend, limit=3, window=60, time_source=ticks) for backend in pair
    )
    for n in range(3):
        assert (one if n % 2 else two).retry_after("10.0.0.1") is None
        (one if n % 2 else two).failed("10.0.0.1")
        ticks.now += 10
    assert one.retry_after("10.0.0.1") == 30  # the window began with the first failure
    assert two.retry_after("10.0.0.2") is None  # each address its own count
    ticks.now += 29.5
    assert two.retry_after("10.0.0.1") == 1  # never 0 while blocked
    ticks.now += 0.5
    assert one.retry_after("10.0.0.1") is None  # a new window
    one.failed("10.0.0.1")
    assert two.retry_after("10.0.0.1") is None


def test_while_redis_cannot_be_reached_the_guards_count_in_this_process() -> None:
    with socket.socket() as closed:  # a port nobody listens on: connection refused
        closed.bind(("127.0.0.1", 0))
        url = f"redis://127.0.0.1:{closed.getsockname()[1]}/0"
    backend = create_backend(url, namespace="unreachable")
    ticks = Ticks()
    attempts = FailedAttempts(backend, limit=2, window=60, time_source=ticks)
    attempts.failed("10.0.0.1")
    attempts.failed("10.0.0.1")
    assert attempts.retry_after("10.0.0.1") == 60
    circuits = ProviderCircuits(backend, CircuitSettings(failures=1, cooldown_seconds=30))
    circuits.failed("gw-a", ticks.now)
    assert circuits.admit("gw-a", ticks.now) == pytest.approx(ticks.now + 30)
    circuits.succeeded("gw-a")  # never raises after a send
    assert circuits.admit("gw-a", ticks.now) is None
    with pytest.raises(redis.RedisError):  # really unreachable, not quietly in memory
        redis.Redis.from_url(url).ping()
    backend.close()


def test_a_memory_backend_under_a_spray_of_keys_stays_bounded() -> None:
    backend = MemoryBackend(max_records=100)
    for n in range(1_000):
        backend.change(f"address-{n}", add_one, keep=60)
    assert sum(backend.change(f"address-{n}", read, keep=60) is not None
               for n in range(1_000)) <= 100


def test_every_guard_counts_on_the_redis_the_processes_share_even_beside_rabbitmq(
    redis_url: str,
) -> None:
    settings = Settings(
        broker_url="amqp://guest:guest@127.0.0.1:5672/%2F",
        redis_url=redis_url,
        web={"failed_auth_limit": 1},
        circuit={"failures": 1},
    )
    ticks = Ticks()
    one, two = (failed_attempts(settings, time_source=ticks) for _ in range(2))
    one.failed("10.0.0.1")
    assert two.retry_after("10.0.0.1") == 60
    first, second = (create_guard(settings).circuits for _ in range(2))
    first.failed("gw-a", ticks.now)
    assert second.admit("gw-a", ticks.now) is not None
    assert environment_from_settings(settings).rate_limit_url == redis_url  # robots' minutes
