"""Clock leadership on a real PostgreSQL: one leader among clocks and among a clock's threads.

Two ``Leadership`` objects stand for two clock processes; each is hammered by several threads at
once, as APScheduler's thread pool runs the scan and sweep jobs together.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest
import sqlalchemy as sa

from notifier.jobs.leader import LOCK_KEY, Leadership

from support.waiting import wait_until

THREADS_PER_CLOCK = 8
CALLS_PER_THREAD = 25


@pytest.fixture
def engine(postgres_database: str) -> Iterator[sa.Engine]:
    engine = sa.create_engine(postgres_database, isolation_level="AUTOCOMMIT")
    yield engine
    engine.dispose()


@pytest.fixture
def clocks(engine: sa.Engine) -> Iterator[tuple[Leadership, Leadership]]:
    first, second = Leadership(engine), Leadership(engine)
    yield first, second
    first.release()
    second.release()


def lock_holders(engine: sa.Engine) -> list[int]:
    """Backend pids holding the clock's advisory lock in this database."""
    with engine.connect() as connection:
        return list(
            connection.scalars(
                sa.text(
                    "SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND granted"
                    " AND objid = :key"
                    " AND database = (SELECT oid FROM pg_database"
                    "                 WHERE datname = current_database())"
                ),
                {"key": LOCK_KEY},
            )
        )


def hammer(clocks: tuple[Leadership, ...], engine: sa.Engine) -> list[str]:
    """Call is_leader from many threads on every clock; return every broken rule seen."""
    believers: dict[int, int] = {}  # clock index -> threads now acting as leader
    guard = threading.Lock()
    problems: list[str] = []
    start = threading.Barrier(THREADS_PER_CLOCK * len(clocks))

    def run(index: int, clock: Leadership) -> None:
        start.wait()
        for _ in range(CALLS_PER_THREAD):
            if not clock.is_leader():
                continue
            with guard:
                believers[index] = believers.get(index, 0) + 1
                if len([i for i, n in believers.items() if n]) > 1:
                    problems.append(f"clocks {sorted(believers)} both believe they lead")
            holders = lock_holders(engine)  # the "job": look at the server meanwhile
            if len(holders) != 1:
                problems.append(f"{len(holders)} holders of the lock while clock {index} leads")
            with guard:
                believers[index] -= 1

    threads = [
        threading.Thread(target=run, args=(index, clock))
        for index, clock in enumerate(clocks)
        for _ in range(THREADS_PER_CLOCK)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return problems


@pytest.mark.postgres
def test_two_clocks_hammered_by_many_threads_never_both_lead(clocks, engine):
    problems = hammer(clocks, engine)

    assert problems == []
    leaders = [clock for clock in clocks if clock.is_leader()]
    assert len(leaders) == 1
    assert len(lock_holders(engine)) == 1


@pytest.mark.postgres
def test_when_the_leader_releases_the_other_clock_takes_over(clocks, engine):
    hammer(clocks, engine)
    leader, follower = clocks if clocks[0].is_leader() else clocks[::-1]
    assert not follower.is_leader()

    leader.release()

    # The server drops the lock when it has processed the closed connection, not at once.
    # Nothing orphaned still holds it.
    wait_until(lambda: lock_holders(engine) == [], timeout=10, what="the lock to be free")
    assert follower.is_leader()
    assert not leader.is_leader()
    assert len(lock_holders(engine)) == 1


@pytest.mark.postgres
def test_a_leader_whose_connection_is_killed_loses_and_the_other_clock_takes_over(
    clocks, engine
):
    hammer(clocks, engine)
    leader, follower = clocks if clocks[0].is_leader() else clocks[::-1]
    (pid,) = lock_holders(engine)

    with engine.connect() as connection:
        assert connection.scalar(sa.text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
    wait_until(lambda: lock_holders(engine) == [], timeout=10, what="the lock to be free")

    assert not leader.is_leader()  # it notices the dead connection: no longer leads
    assert follower.is_leader()
    assert not leader.is_leader()
    (new_pid,) = lock_holders(engine)
    assert new_pid != pid

    follower.release()
    wait_until(leader.is_leader, timeout=10, what="the first clock to lead again")
