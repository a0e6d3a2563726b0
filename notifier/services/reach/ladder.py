"""Reach ladders: the policy again, on another channel, to the firms that have not opened it.

Each open policy has a ladder of working days after its publication (its own, or the
``reach.ladder_working_days`` setting). When a rung falls due, every firm below ``opened``
(:mod:`notifier.store.reach_ladder`) gets the policy once more on the channel it was tried on
least (one it never got the policy on first: a new number, a channel added since; else the
one used least), ties going to :data:`CHANNEL_PREFERENCE`'s order: the email it did not open is
followed by an SMS, and the next rung by the email again. One ``policy_resent`` trigger per
policy, rung and channel, whose audience is the policy's targets narrowed to those firms on
that channel.
The usual fan-out and sending do the rest, so quiet hours, unsubscribes and provider limits
apply as to any message.

At most once per rung: the trigger's key is unique, and each firm's rung is marked with a
``ladder:<working days>`` reach event in the trigger's transaction. Only the latest rung due
acts, and only within ``clock.catch_up_hours`` of its time, so a clock that was down (or a
deployment that starts following old policies) does not re-send a burst of stale rungs.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, tzinfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from notifier.domain.channel_names import EMAIL, SMS, WEBHOOK
from notifier.domain.time_source import TimeSource
from notifier.domain.workdays import CalendarYearUnknown, WorkCalendar
from notifier.services.calendar.working_days import working_calendar
from notifier.services.delivery.ports import Dispatch
from notifier.store import policies as policy_store
from notifier.store import reach_ladder, triggers
from notifier.store.db import SessionFactory
from notifier.store.models import Policy, TriggerKind

log = logging.getLogger(__name__)

# Of the channels a firm was tried on equally often, a re-send goes on the first of these.
# SMS first: a phone is read within the day, a mailbox or a group chat less surely.
CHANNEL_PREFERENCE: tuple[str, ...] = (SMS, EMAIL, WEBHOOK)


@dataclass(frozen=True)
class Rung:
    """A rung of a policy's ladder: its working days and the moment it falls due."""

    working_days: int
    at: datetime


def ladder_of(policy: Policy, default: Sequence[int]) -> tuple[int, ...]:
    """The policy's ladder: its own, or ``default`` (the setting) when it names none."""
    return tuple(default if policy.reach_ladder is None else policy.reach_ladder)


def rung_time(
    published_at: datetime, working_days: int, *, zone: tzinfo, calendar: WorkCalendar
) -> datetime:
    """The publication's local time of day, ``working_days`` working days after its day.

    Raises:
        CalendarYearUnknown: the calendar does not know a year on the way.
    """
    local = published_at.astimezone(zone)
    day = calendar.working_days_after(local.date(), working_days)
    return datetime.combine(day, local.timetz())


def due_rung(
    policy: Policy,
    ladder: Sequence[int],
    *,
    now: datetime,
    zone: tzinfo,
    calendar: WorkCalendar,
    catch_up: timedelta,
) -> Rung | None:
    """The latest rung of ``ladder`` due by ``now``, if it fell due within ``catch_up``.

    Raises:
        CalendarYearUnknown: as :func:`rung_time`.
    """
    due = None
    for days in sorted(ladder):
        at = rung_time(policy.published_at, days, zone=zone, calendar=calendar)
        if at > now:
            break
        due = Rung(days, at)
    if due is None or now - due.at > catch_up:
        return None
    return due


# Per channel, the firms a rung re-sends to on it: (enterprise id, credit code).
_Chosen = dict[str, list[tuple[int, str]]]


def _channel_choices(session: Session, policy_id: int, working_days: int) -> _Chosen:
    """The due firms grouped by the channel each gets: (enterprise id, credit code) pairs."""
    best: dict[int, tuple[tuple[int, int], reach_ladder.OpenChannel]] = {}
    for row in reach_ladder.open_channels(session, policy_id, working_days):
        if row.channel not in CHANNEL_PREFERENCE:
            continue
        rank = (row.tried, CHANNEL_PREFERENCE.index(row.channel))
        if row.enterprise_id not in best or rank < best[row.enterprise_id][0]:
            best[row.enterprise_id] = (rank, row)
    chosen: _Chosen = {}
    for _, row in best.values():
        chosen.setdefault(row.channel, []).append((row.enterprise_id, row.credit_code))
    return chosen


def resend_rung(session: Session, policy: Policy, rung: Rung, *, now: datetime) -> list[int]:
    """Make the rung's re-send triggers (one per channel) and mark each firm's rung; the ids
    of the triggers made (none when an earlier run made them)."""
    made = []
    for channel, firms in sorted(_channel_choices(session, policy.id, rung.working_days).items()):
        key = triggers.policy_resent_key(policy.id, rung.working_days, channel)
        trigger_id = triggers.insert_new(
            session,
            key=key,
            kind=TriggerKind.POLICY_RESENT,
            due_at=rung.at,
            policy_id=policy.id,
            audience={"credit_codes": [code for _, code in firms], "channels": [channel]},
        )
        if trigger_id is None:
            continue  # made by an earlier run: its firms are marked already
        reach_ladder.mark(
            session,
            policy.id,
            [enterprise_id for enterprise_id, _ in firms],
            working_days=rung.working_days,
            detail={"channel": channel, "trigger": key},
            at=now,
        )
        made.append(trigger_id)
    return made


def _open_policies(session: Session, now: datetime, days: int) -> list[int]:
    return list(session.scalars(select(Policy.id).where(policy_store.followed(now=now, days=days))))


def scan_reach_ladders(
    sessions: SessionFactory,
    dispatch: Dispatch,
    *,
    default: Sequence[int],
    open_days: int,
    zone: tzinfo,
    catch_up: timedelta,
    time_source: TimeSource,
) -> list[int]:
    """Clock job: re-send each open policy's due rung to the firms that have not opened it,
    and queue the fan-outs. Safe to run at any time, from two clocks at once.

    Returns:
        The ids of the triggers queued.
    """
    now = time_source.now()
    fired: list[int] = []
    with sessions.begin() as session:
        calendar = working_calendar(session, now=now)
        ids = _open_policies(session, now, open_days)
    for policy_id in ids:
        with sessions.begin() as session:
            policy = session.get(Policy, policy_id)
            if policy is None:
                continue
            try:
                rung = due_rung(
                    policy, ladder_of(policy, default), now=now, zone=zone,
                    calendar=calendar, catch_up=catch_up,
                )  # fmt: skip
            except CalendarYearUnknown as exc:
                log.warning("reach ladder of policy %s waits for the calendar: %s", policy_id, exc)
                continue
            if rung is not None:
                fired += resend_rung(session, policy, rung, now=now)
    # Committed first: a lost message leaves the trigger pending, which the sweeper recovers.
    for trigger_id in fired:
        dispatch.fan_out(trigger_id)
    if fired:
        log.info("reach ladders queued: triggers %s", fired)
    return fired
