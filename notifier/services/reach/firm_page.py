"""What a firm's policy page shows (``/p/{token}``): the policy as the firm needs it, each
deadline with the working days it has left, why the firm was chosen and what it did already.

Read only: a GET of the page records nothing (link previews and scanners fetch it too).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from notifier.domain.workdays import CalendarYearUnknown, WorkCalendar
from notifier.errors import NotFoundError
from notifier.services.calendar.working_days import working_calendar
from notifier.services.context import Context
from notifier.store import deadlines as deadline_store
from notifier.store import policies as policy_store
from notifier.store import reach as reach_store
from notifier.store.models import Deadline, Enterprise


@dataclass(frozen=True)
class DeadlineLeft:
    """A deadline of the policy as the firm sees it.

    ``days_left`` is the working days after today up to the due day; None when ``passed``, or
    when the calendar does not know a year on the way (``unknown_year`` names it: the page says
    so rather than guess).
    """

    id: int
    title: str
    due_at: datetime
    days_left: int | None
    passed: bool
    done: bool
    unknown_year: int | None = None


@dataclass(frozen=True)
class FirmPage:
    """The page's content (``policy``: its fields, guide included; ``reason``: why the firm was
    chosen, as ``Delivery.reason`` says it, or the firm's own sector, region and size when no
    message went yet; ``events``: what the firm did, oldest first)."""

    policy: dict[str, Any]
    firm: dict[str, Any]
    reason: dict[str, Any]
    deadlines: list[DeadlineLeft] = field(default_factory=list)
    events: list[dict[str, Any]] = field(default_factory=list)

    def did(self, kind: str) -> bool:
        """Whether the firm has an event of ``kind``."""
        return any(event["kind"] == kind for event in self.events)


def _left(deadline: Deadline, calendar: WorkCalendar, now: datetime, context: Context,
          done: set[int]) -> DeadlineLeft:
    zone = context.settings.zone
    today, due = now.astimezone(zone).date(), deadline.due_at.astimezone(zone).date()
    passed = deadline.due_at <= now
    days_left: int | None = None
    unknown: int | None = None
    if not passed:
        try:
            days_left = calendar.working_days_left(today, due)
        except CalendarYearUnknown as exc:
            unknown = exc.year
    return DeadlineLeft(
        id=deadline.id, title=deadline.title, due_at=deadline.due_at, days_left=days_left,
        passed=passed, done=deadline.id in done, unknown_year=unknown,
    )  # fmt: skip


def _own_profile(enterprise: Enterprise) -> dict[str, Any]:
    reason: dict[str, Any] = {}
    if enterprise.sectors:
        reason["sector"] = enterprise.sectors[0].code
    return {**reason, "region": enterprise.region, "size": enterprise.size}


def _note(detail: dict[str, Any] | None) -> str:
    """What the firm wrote or chose with an event: the deadline's title, its reason, its
    question."""
    given = detail or {}
    return str(given.get("title") or given.get("reason") or given.get("question") or "")


def firm_page(context: Context, policy_id: int, enterprise_id: int) -> FirmPage:
    """The page of ``policy_id`` for ``enterprise_id``.

    Raises:
        NotFoundError: the policy or the firm is gone, or the policy was withdrawn or waits for
            approval (held).
    """
    now = context.time_source.now()
    with context.sessions.begin() as session:  # begin: the calendar seeds itself once
        policy = policy_store.get(session, policy_id)
        enterprise = session.get(Enterprise, enterprise_id)
        if policy is None or policy.cancelled_at is not None or policy.held or enterprise is None:
            raise NotFoundError("page: 没有这个政策或企业 / no such policy or firm", field="token")
        calendar = working_calendar(session, now=now)
        done = deadline_store.done_by(session, enterprise_id)
        live = [d for d in policy.deadlines if d.cancelled_at is None]
        reason = reach_store.reason_reached(
            session, policy_id=policy_id, enterprise_id=enterprise_id
        )
        events = reach_store.of_firm(session, policy_id=policy_id, enterprise_id=enterprise_id)
        return FirmPage(
            policy={
                "id": policy.id, "title": policy.title, "department": policy.department,
                "summary": policy.summary, "url": policy.url,
                "published_at": policy.published_at, **policy.guide.as_dict(),
            },
            firm={"name": enterprise.name, "credit_code": enterprise.credit_code},
            reason=reason or _own_profile(enterprise),
            deadlines=[_left(d, calendar, now, context, done) for d in live],
            events=[{"kind": e.kind, "detail": dict(e.detail or {}), "note": _note(e.detail),
                     "at": e.at} for e in events],
        )  # fmt: skip
