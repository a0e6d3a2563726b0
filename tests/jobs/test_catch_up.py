"""Clock catch-up: after downtime, what fell due meanwhile fires once inside the window
(``clock.catch_up_hours``, 6 by default); older misses are recorded ``missed``, never sent late.
Two clocks side by side on PostgreSQL make each rung once."""

from __future__ import annotations

import threading
from datetime import timedelta

from conftest import _truncate_postgres
from sqlalchemy import func, select

from notifier.domain.time_source import ManualTime
from notifier.inputs.policy_file import parse_policy
from notifier.jobs.clock import scan_deadline_reminders, scan_published_policies
from notifier.services.policies.publishing import publish
from notifier.store.models import Trigger

from support.deadlines import SHANGHAI, Park, at
from support.factories import Enqueued, policy


def test_a_clock_restarted_after_2_hours_down_fires_the_missed_due_work_once(
    database_url, make_runtime
):
    time_source = ManualTime(at("2026-11-18 08:30"))  # the clock stops here
    runtime = make_runtime(database_url=database_url, time_source=time_source)
    park = Park(runtime, time_source, title="申报截止", due_at="2026-11-20T17:00", remind=["2wd"])
    scheduled = policy(ref="later", published_at="2026-11-18T09:30")
    publish(runtime.sessions, Enqueued(), parse_policy(scheduled, zone=SHANGHAI),
    time_source=time_source)
    assert park.scan() == []

    time_source.set(at("2026-11-18 10:30"))  # back after 2 hours: the jobs run at once
    (rung,) = scan_deadline_reminders(runtime)
    (published,) = scan_published_policies(runtime)

    assert park.trigger(rung).due_at == at("2026-11-18 09:00")
    assert park.trigger(published).status == "pending"
    assert scan_deadline_reminders(runtime) == [] and scan_published_policies(runtime) == []


def test_work_missed_by_more_than_the_window_is_recorded_as_missed_not_sent(
    database_url, make_runtime
):
    time_source = ManualTime(at("2026-11-18 08:30"))
    runtime = make_runtime(database_url=database_url, time_source=time_source)
    park = Park(runtime, time_source, title="申报截止", due_at="2026-11-20T17:00", remind=["2wd",
    "1wd"])
    scheduled = policy(ref="later", published_at="2026-11-18T09:30")
    publish(runtime.sessions, Enqueued(), parse_policy(scheduled, zone=SHANGHAI),
    time_source=time_source)

    time_source.set(at("2026-11-18 16:00"))  # 7 hours after 09:00: past the 6-hour window
    assert scan_deadline_reminders(runtime) == []
    assert scan_published_policies(runtime) == []

    with runtime.sessions() as session:
        rows = session.scalars(select(Trigger).order_by(Trigger.id)).all()
        missed = sorted(t.kind for t in rows if t.status == "missed")
        assert missed == ["deadline_reminder", "policy_published"]
        assert all("catch_up_hours" in t.error for t in rows if t.status == "missed")
    (tomorrow,) = park.tick("2026-11-19 09:00")  # the next rung goes out as usual
    assert len(park.sent_to(tomorrow)) == 2


def test_after_a_long_stop_only_the_newest_due_rung_goes_out(database_url, make_runtime):
    time_source = ManualTime(at("2026-11-18 08:30"))
    runtime = make_runtime(database_url=database_url, time_source=time_source)
    park = Park(runtime, time_source, title="申报截止", due_at="2026-11-20T17:00", remind=["2wd",
    "1wd"])
    time_source.set(at("2026-11-19 10:00"))
    catch_up = timedelta(days=2)
    fired = park_scan(park, catch_up)
    assert len(fired) == 1 and park.trigger(fired[0]).due_at == at("2026-11-19 09:00")
    with runtime.sessions() as session:
        older = session.scalar(select(Trigger).where(Trigger.status == "missed"))
        assert "later rung 1wd" in older.error


def park_scan(park: Park, catch_up: timedelta) -> list[int]:
    from notifier.services.deadlines.reminders import scan_due_reminders

    settings = park.runtime.settings
    return scan_due_reminders(
        park.runtime.sessions,
        Enqueued(),
        settings=settings.reminders,
        zone=settings.zone,
        catch_up=catch_up,
        time_source=park.time_source,
    )


def test_two_clocks_side_by_side_on_postgresql_make_each_rung_once(
    postgres_database, make_runtime
):
    _truncate_postgres(postgres_database)
    time_source = ManualTime(at("2026-11-18 08:30"))
    first = make_runtime(database_url=postgres_database, time_source=time_source)
    second = make_runtime(database_url=postgres_database, time_source=time_source)
    park = Park(first, time_source, title="申报截止", due_at="2026-11-20T17:00", remind=["2wd",
    "1wd"])
    fired: list[int] = []
    for day in ("2026-11-18 09:00", "2026-11-19 09:00"):
        time_source.set(at(day))
        start = threading.Barrier(2)
        threads = [
            threading.Thread(target=scan_after, args=(start, r, fired)) for r in (first, second)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    assert len(fired) == len(set(fired)) == 2
    with park.runtime.sessions() as session:
        assert session.scalar(select(func.count()).select_from(Trigger)) == 3  # + the publish


def scan_after(start: threading.Barrier, runtime, fired: list[int]) -> None:
    """One clock's reminder scan, started at the same moment as the other's."""
    start.wait()
    fired.extend(scan_deadline_reminders(runtime))
