"""Who has not done a deadline yet: the firms its policy reached that have not marked it done,
with their contacts and the last message sent to them, for the staff who call them.

A firm is *targeted* by a deadline when a message of its policy (the publication, a
correction or a reminder) went to it, as on the firm's own pages; *done* when it (or staff on
its behalf) marked the deadline done.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy.orm import Session

from notifier.domain.channel_names import EMAIL, SMS, WEBHOOK
from notifier.domain.paging import Paged
from notifier.domain.workdays import CalendarYearUnknown, WorkCalendar
from notifier.errors import NotFoundError
from notifier.services.calendar.working_days import working_calendar
from notifier.services.context import Context
from notifier.store import deadlines as store
from notifier.store.models import Deadline, Enterprise
from notifier.store.paging import paged

# An export holds at most this many firms.
EXPORT_LIMIT = 100_000


@dataclass(frozen=True)
class DeadlineStanding:
    """A deadline and how far its firms are: targeted, done, not done."""

    id: int
    title: str
    policy_id: int
    policy_title: str
    due_at: datetime  # in the deployment's zone
    cancelled: bool
    # Working days from today to the due day, both counted (0 once it has passed); None when
    # the working-day calendar lacks a year on the way.
    working_days_left: int | None
    targeted: int
    done: int

    @property
    def not_done(self) -> int:
        """Targeted firms that have not marked it done."""
        return self.targeted - self.done


@dataclass(frozen=True)
class FirmNotDone:
    """One firm that has not marked the deadline done, and the last message sent to it."""

    credit_code: str
    name: str
    region: str
    phone: str | None
    email: str | None
    webhook_url: str | None
    last_status: str | None
    last_sent_at: datetime | None  # in the deployment's zone
    last_channel: str | None


def working_days_left(calendar: WorkCalendar, today: date, due: date) -> int | None:
    """Working days from ``today`` to ``due``, both counted; 0 once ``due`` has passed; None
    when the calendar lacks a year between them."""
    if due < today:
        return 0
    try:
        return sum(
            1
            for offset in range((due - today).days + 1)
            if calendar.is_working_day(date.fromordinal(today.toordinal() + offset))
        )
    except CalendarYearUnknown:
        return None


def _deadline(session: Session, deadline_id: int) -> Deadline:
    deadline = store.get(session, deadline_id)
    if deadline is None:
        raise NotFoundError(f"deadline {deadline_id}: no such deadline", field="deadline")
    return deadline


def _standing(session: Session, context: Context, deadline: Deadline) -> DeadlineStanding:
    zone, now = context.settings.zone, context.time_source.now()
    due = deadline.due_at.astimezone(zone)
    calendar = working_calendar(session, now=now)
    targeted, done = store.reach_counts(session, deadline, context.scope)
    return DeadlineStanding(
        id=deadline.id,
        title=deadline.title,
        policy_id=deadline.policy_id,
        policy_title=deadline.policy.title,
        due_at=due,
        cancelled=deadline.cancelled_at is not None,
        working_days_left=working_days_left(calendar, now.astimezone(zone).date(), due.date()),
        targeted=targeted,
        done=done,
    )


def _firms(
    session: Session, context: Context, deadline: Deadline, enterprises: Iterable[Enterprise]
) -> list[FirmNotDone]:
    zone = context.settings.zone
    found = list(enterprises)
    last = store.last_deliveries(session, deadline.policy_id, [e.id for e in found])
    rows = []
    for enterprise in found:
        contacts = {c.channel: c.address for c in enterprise.contacts}
        delivery = last.get(enterprise.id)
        sent = delivery.sent_at if delivery is not None else None
        rows.append(
            FirmNotDone(
                credit_code=enterprise.credit_code,
                name=enterprise.name,
                region=enterprise.region,
                phone=contacts.get(SMS),
                email=contacts.get(EMAIL),
                webhook_url=contacts.get(WEBHOOK),
                last_status=delivery.status if delivery is not None else None,
                last_sent_at=sent.astimezone(zone) if sent is not None else None,
                last_channel=delivery.channel if delivery is not None else None,
            )
        )
    return rows


def not_done_page(
    context: Context, deadline_id: int, *, number: int, size: int
) -> tuple[DeadlineStanding, Paged[FirmNotDone]]:
    """The deadline's standing and page ``number`` (of ``size``) of the firms that have not
    marked it done, by credit code (a number past the end: the last page).

    Raises:
        NotFoundError: no such deadline.
    """
    with context.sessions.begin() as session:
        deadline = _deadline(session, deadline_id)
        standing = _standing(session, context, deadline)
        found = paged(
            session, store.not_done_query(deadline, context.scope), number=number, size=size,
            total=standing.not_done,
        )  # fmt: skip
        rows = _firms(session, context, deadline, found.rows)
    return standing, Paged(rows=rows, number=found.number, size=size, total=found.total)


def not_done_all(
    context: Context, deadline_id: int
) -> tuple[DeadlineStanding, list[FirmNotDone]]:
    """The deadline's standing and every firm that has not marked it done (at most
    :data:`EXPORT_LIMIT`), for an export.

    Raises:
        NotFoundError: no such deadline.
    """
    with context.sessions.begin() as session:
        deadline = _deadline(session, deadline_id)
        standing = _standing(session, context, deadline)
        query = store.not_done_query(deadline, context.scope).limit(EXPORT_LIMIT)
        rows = _firms(session, context, deadline, session.scalars(query))
    return standing, rows
