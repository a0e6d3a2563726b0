"""Deadline reminders: which rungs of which ladders fall due, made into triggers once each.

A rung is a trigger of kind ``deadline_reminder`` whose unique key names the deadline, the
rung and its time, so two clocks (or a catch-up run) make it once. Fan-out reads the policy's
audience when it runs, less the enterprises that marked the deadline done.

After downtime, of the rungs that fell due meanwhile only the newest goes out, and only when it
is at most ``clock.catch_up_hours`` old; the others are recorded as ``missed`` with the reason,
never sent late.

Working-day rungs count on the district's calendar (``calendar_admin``). A rung that needs a
year the calendar does not know is never placed by guess: the scan leaves it unmade and logs
which year to enter, ``deadlines list`` shows it as ``no_calendar``, and preview, publish,
revise and move refuse such a ladder (``require_known_years``) before anything is stored.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta, tzinfo
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from notifier.config import ReminderSettings, Settings
from notifier.domain.ladder import parse_ladder, rung_time
from notifier.domain.records import DeadlineDraft
from notifier.domain.time_source import TimeSource
from notifier.domain.workdays import CalendarYearUnknown, WorkCalendar
from notifier.services.calendar.working_days import working_calendar
from notifier.services.delivery.kinds import local
from notifier.services.delivery.ports import Dispatch
from notifier.store import deadlines as store
from notifier.store import triggers
from notifier.store.db import SessionFactory
from notifier.store.models import Deadline, TriggerKind, TriggerStatus

log = logging.getLogger(__name__)

# Never sent, so the rung may be sent for the deadline's (new) date.
_UNSENT = frozenset({TriggerStatus.CANCELLED, TriggerStatus.MISSED})


@dataclass(frozen=True)
class PlannedRung:
    """One rung of a deadline's ladder and when it goes out; ``skipped`` says why it never will.

    ``unknown`` says which calendar year it waits for: ``at`` is then only the due time (for
    ordering) and the rung is not made until an admin enters that year.
    """

    label: str
    at: datetime
    key: str
    skipped: str | None = None
    unknown: CalendarYearUnknown | None = None


def ladder_of(deadline: Deadline, settings: ReminderSettings) -> tuple[str, ...]:
    """The deadline's own ladder, or the ``reminders.ladder`` setting."""
    rungs = deadline.remind if deadline.remind is not None else settings.ladder
    return tuple(rung.label for rung in parse_ladder(rungs))


def plan(
    deadline: Deadline, settings: ReminderSettings, zone: tzinfo, calendar: WorkCalendar
) -> list[PlannedRung]:
    """The deadline's rungs, soonest first, each with its time and unique key.

    A rung before the policy's publication or after the deadline itself is skipped: no
    reminder precedes the news, and none comes after the due time. A working-day rung that
    needs a year ``calendar`` does not know carries ``unknown`` and no key.
    """
    planned = []
    for label in ladder_of(deadline, settings):
        (rung,) = parse_ladder([label])
        try:
            at = rung_time(deadline.due_at, rung, zone=zone, hour=settings.hour, calendar=calendar)
        except CalendarYearUnknown as exc:
            planned.append(PlannedRung(label, deadline.due_at, "", unknown=exc))
            continue
        skipped = None
        if at <= deadline.policy.published_at:
            skipped = "before the policy was published"
        elif at > deadline.due_at:
            skipped = "after the deadline"
        planned.append(PlannedRung(label, at, store.reminder_key(deadline.id, label, at), skipped))
    return sorted(planned, key=lambda rung: rung.at)


def require_known_years(
    deadlines: Sequence[DeadlineDraft],
    *,
    settings: ReminderSettings,
    zone: tzinfo,
    calendar: WorkCalendar,
) -> None:
    """Refuse deadlines whose working-day rungs need a year ``calendar`` does not know.

    Past deadlines are checked too (their years are known unless before 2004): the answer must
    not depend on the moment a preview or publish runs.

    Raises:
        CalendarYearUnknown: naming the year to enter and the deadline's field.
    """
    for index, deadline in enumerate(deadlines):
        remind = deadline.remind if deadline.remind is not None else settings.ladder
        for rung in parse_ladder(remind):
            try:
                rung_time(deadline.due_at, rung, zone=zone, hour=settings.hour, calendar=calendar)
            except CalendarYearUnknown as exc:
                raise CalendarYearUnknown(exc.year, field=f"deadlines[{index}].due_at") from None


@dataclass(frozen=True)
class LadderRules:
    """What checking a draft's ladders takes besides the calendar: the ``reminders`` settings
    (the default ladder, the hour) and the deployment's zone."""

    settings: ReminderSettings = field(default_factory=ReminderSettings)
    zone: tzinfo = field(default_factory=lambda: ZoneInfo("Asia/Shanghai"))

    @classmethod
    def of(cls, settings: Settings) -> LadderRules:
        """The deployment's rules."""
        return cls(settings.reminders, settings.zone)

    def check(
        self, session: Session, deadlines: Sequence[DeadlineDraft], *, now: datetime
    ) -> None:
        """``require_known_years`` against the calendar as it stands in ``session`` (seeded
        first, stamped ``now``, if it never was).

        Raises:
            CalendarYearUnknown: as ``require_known_years``.
        """
        if not deadlines:
            return
        calendar = working_calendar(session, now=now)
        require_known_years(deadlines, settings=self.settings, zone=self.zone, calendar=calendar)


@dataclass(frozen=True)
class Decision:
    """What a scan does with one due rung: fire it, or record it missed with ``reason``."""

    rung: PlannedRung
    reason: str | None = None

    def make(self, session: Session, *, kind: str, seen_as: str, **owner: Any) -> int | None:
        """Insert the rung's trigger: pending, or missed with the reason (logged as
        ``seen_as`` and the rung's label). The id of a trigger to fire, or None when missed or
        made already by another clock; ``owner`` are its policy, deadline or campaign columns."""
        trigger_id = triggers.insert_new(
            session,
            key=self.rung.key,
            kind=kind,
            due_at=self.rung.at,
            status=TriggerStatus.MISSED if self.reason else TriggerStatus.PENDING,
            error=self.reason,
            **owner,
        )
        if self.reason:
            log.warning("%s%s: %s", seen_as, self.rung.label, self.reason)
            return None
        return trigger_id


def decide(
    due: list[PlannedRung], *, now: datetime, catch_up: timedelta, zone: tzinfo
) -> list[Decision]:
    """Of the rungs due and not yet handled, fire the newest if it is within ``catch_up``."""
    if not due:
        return []
    newest = max(due, key=lambda rung: rung.at)
    decisions = []
    for rung in due:
        if rung is not newest:
            reason = f"missed: the later rung {newest.label} was due by {local(now, zone)}"
        elif now - rung.at > catch_up:
            hours = catch_up.total_seconds() / 3600
            reason = (
                f"missed: due at {local(rung.at, zone)}, found at {local(now, zone)}, "
                f"more than clock.catch_up_hours ({hours:g}) late"
            )
        else:
            reason = None
        decisions.append(Decision(rung, reason))
    return decisions


def _due_rungs(
    plans: list[PlannedRung], *, handled: set[str], sent: set[str], now: datetime
) -> list[PlannedRung]:
    """Rungs whose time has come, not yet made, and whose rung never went out."""
    return [
        rung
        for rung in plans
        if rung.skipped is None
        and rung.unknown is None
        and rung.at <= now
        and rung.key not in handled
        and rung.label not in sent
    ]


def scan_due_reminders(
    sessions: SessionFactory,
    dispatch: Dispatch,
    *,
    settings: ReminderSettings,
    zone: tzinfo,
    catch_up: timedelta,
    time_source: TimeSource,
) -> list[int]:
    """Clock job: make the triggers of the rungs that fell due and queue their fan-outs.

    Safe to run at any time, from two clocks at once: each rung's key is unique, and a rung
    that went out (for any date of its deadline) is not made again.

    Returns:
        The ids of the triggers queued.
    """
    now = time_source.now()
    fired: list[int] = []
    waiting: dict[int, list[str]] = {}
    with sessions.begin() as session:
        calendar = working_calendar(session, now=now)
        # A rung falls at the latest on its deadline's day; older deadlines have nothing due.
        upcoming = store.to_remind(session, now=now, due_after=now - catch_up - timedelta(days=1))
        existing = store.reminder_triggers(session, [d.id for d in upcoming])
        for deadline in upcoming:
            mine = [t for t in existing if t.deadline_id == deadline.id]
            handled = {t.key for t in mine}
            sent = {store.rung_label(t.key) for t in mine if t.status not in _UNSENT}
            plans = plan(deadline, settings, zone, calendar)
            for rung in plans:
                if rung.unknown is not None:
                    waiting.setdefault(rung.unknown.year, []).append(f"{deadline.id}:{rung.label}")
            due = _due_rungs(plans, handled=handled, sent=sent, now=now)
            for decision in decide(due, now=now, catch_up=catch_up, zone=zone):
                trigger_id = decision.make(
                    session,
                    kind=TriggerKind.DEADLINE_REMINDER,
                    seen_as=f"deadline {deadline.id}, rung ",
                    policy_id=deadline.policy_id,
                    deadline_id=deadline.id,
                )
                if trigger_id is not None:
                    fired.append(trigger_id)
    for year, rungs in sorted(waiting.items()):
        # Reported on every scan until entered: a rung that cannot be placed is never guessed.
        log.warning(
            "deadline rungs not placed: working-day calendar for %s is not entered yet "
            "(deadline:rung %s); enter it with `notifier calendar import` or the console",
            year,
            ", ".join(rungs),
        )
    # Committed first: a lost message leaves the trigger pending, which the sweeper recovers.
    for trigger_id in fired:
        dispatch.fan_out(trigger_id)
    if fired:
        log.info("deadline reminders queued: triggers %s", fired)
    return fired
