"""The follow-up list: for each open policy, the firms of a community that staff should call.

A firm is listed for a policy when it is unreachable (no working channel, every delivery
failed, a wrong number), when it has a question open (asked on its page, or a call found it
needs help), or when it has not opened the policy's page ``reach.followup_working_days``
working days (the deadlines' calendar) after the policy was published. Each item says which.

Open policies: published within ``reach.open_days`` days and not withdrawn. Communities are
the register's regions: a community (or a street, which covers its communities) given as its
full path or the end of one (``灵峰工业社区``). The list runs by each policy's nearest deadline
still to come (policies without one last), then by firm name.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import date, datetime
from typing import Any

from sqlalchemy.orm import Session

from notifier.domain.paging import Paged, clamped, offset_of
from notifier.domain.reach import CallOutcome, ReachState, call_outcome
from notifier.domain.targets import read_credit_code
from notifier.domain.workdays import CalendarYearUnknown, WorkCalendar
from notifier.errors import InputError, NotFoundError
from notifier.services.calendar.working_days import working_calendar
from notifier.services.context import Context
from notifier.services.enterprises import regions
from notifier.services.policies.listings import ref_of
from notifier.services.reach.states import bring_up_to_date
from notifier.store import enterprises as enterprise_store
from notifier.store import followups as store
from notifier.store import policies as policy_store
from notifier.store.models import Policy, ReachKind

PAGE = 50

# Why a firm is on the list.
UNREACHABLE = "unreachable"
NOT_OPENED = "not_opened"
QUESTION = "question"
REASONS = (UNREACHABLE, NOT_OPENED, QUESTION)


@dataclass(frozen=True)
class PolicyShown:
    """A followed policy, as the list names it (``deadline``: its nearest one to come)."""

    id: int
    title: str
    ref: str | None
    published_at: datetime
    deadline: datetime | None


@dataclass(frozen=True)
class Attempt:
    """One delivery of the policy to the firm."""

    channel: str
    address: str
    status: str
    at: datetime
    error: str | None


@dataclass(frozen=True)
class Call:
    """One call a staff member logged."""

    outcome: str
    note: str
    by: str
    at: datetime


@dataclass(frozen=True)
class Question:
    """The firm's latest question and the number it asked to be called back on."""

    text: str
    callback: str
    at: datetime


@dataclass(frozen=True)
class FollowUp:
    """One firm to call about one policy, why, and what was tried so far."""

    policy: PolicyShown
    firm: dict[str, Any]  # id, name, credit_code, region
    state: str
    question_open: bool
    reasons: list[str]
    contacts: dict[str, list[str]]  # channel -> addresses
    deliveries: list[Attempt] = field(default_factory=list)
    calls: list[Call] = field(default_factory=list)
    question: Question | None = None

    def as_json(self) -> dict[str, Any]:
        """The item as JSON (times in ISO 8601)."""
        shown: dict[str, Any] = _jsonable(asdict(self))
        return shown


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: _jsonable(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_jsonable(item) for item in value]
    return value.isoformat() if isinstance(value, datetime) else value


@dataclass(frozen=True)
class FollowUps:
    """A page of the list; ``community``: the full path it was narrowed to; ``policies``:
    the open policies (for a filter); ``unknown_year``: a year the calendar does not know,
    so firms that have not opened could not be listed for some policy (never guessed)."""

    page: Paged[FollowUp]
    community: str | None
    policies: list[PolicyShown]
    unknown_year: int | None = None


def read_outcome(word: str) -> CallOutcome:
    """A call's outcome from its code or its Chinese words (:func:`call_outcome`).

    Raises:
        InputError: (field ``outcome``) neither.
    """
    try:
        return call_outcome(word)
    except ValueError as exc:
        raise InputError(str(exc), field="outcome") from None


def read_community(context: Context, community: str | None) -> str | None:
    """The full region path a community (or street) names; None for none.

    Raises:
        InputError: (field ``community``) a name that ends several regions or none.
    """
    if not (community or "").strip():
        return None
    try:
        return regions.resolve_regions(context.sessions, [str(community)])[0]
    except InputError as exc:
        message = str(exc).replace(regions.FIELD, "community", 1)
        raise InputError(message, field="community") from None


def firm_id(context: Context, given: str) -> int:
    """The id of the firm ``given`` names: its credit code or its id (one in scope).

    Raises:
        NotFoundError: (field ``enterprise``) no such firm (in scope).
    """
    text = given.strip()
    scope = context.scope
    with context.sessions() as session:
        if text.isdigit() and len(text) < 18:
            enterprise = enterprise_store.get_full_by_id(session, int(text), scope=scope)
        else:
            try:
                code = read_credit_code(text)
            except InputError:
                code = None
            by_code = enterprise_store.get_by_credit_code
            enterprise = by_code(session, code, scope=scope) if code else None
        if enterprise is None:
            raise NotFoundError(
                f"enterprise: 没有这家企业“{text}”/ no firm with this credit code or id",
                field="enterprise",
            )
        return enterprise.id


def _shown(policy: Policy, now: datetime) -> PolicyShown:
    coming = [d.due_at for d in policy.deadlines if d.cancelled_at is None and d.due_at > now]
    return PolicyShown(
        id=policy.id, title=policy.title, ref=ref_of(policy), published_at=policy.published_at,
        deadline=min(coming) if coming else None,
    )  # fmt: skip


def _window_passed(calendar: WorkCalendar, published: date, today: date, days: int) -> bool:
    """Whether ``days`` working days have gone by since the day of publication."""
    return calendar.working_days_left(published, today) >= days


def _windows(
    context: Context, session: Session, policies: list[Policy], now: datetime
) -> tuple[set[int], int | None]:
    """The policies whose window has passed, and a year the calendar lacked (if any)."""
    zone = context.settings.zone
    days = context.settings.reach.followup_working_days
    calendar = working_calendar(session, now=now)
    today = now.astimezone(zone).date()
    passed: set[int] = set()
    unknown: int | None = None
    for policy in policies:
        try:
            if _window_passed(calendar, policy.published_at.astimezone(zone).date(), today, days):
                passed.add(policy.id)
        except CalendarYearUnknown as exc:
            unknown = exc.year
    return passed, unknown


def _reasons(state: str, question_open: bool) -> list[str]:
    reasons = []
    if state == ReachState.UNREACHABLE:
        reasons.append(UNREACHABLE)
    elif state in store.NOT_OPENED:
        reasons.append(NOT_OPENED)
    if question_open:
        reasons.append(QUESTION)
    return reasons


def _call(detail: dict[str, Any] | None, at: datetime) -> Call:
    given = detail or {}
    return Call(
        str(given.get("outcome") or ""), str(given.get("note") or ""), str(given.get("by") or ""),
        at,
    )  # fmt: skip


def _question(detail: dict[str, Any] | None, at: datetime) -> Question:
    given = detail or {}
    return Question(str(given.get("question") or ""), str(given.get("callback") or ""), at)


def _items(
    session: Session, rows: list[Any], policies: dict[int, PolicyShown], window: set[int]
) -> list[FollowUp]:
    """The page's rows with each firm's contacts, deliveries, calls and question."""
    pairs = {(row[0], row[1]) for row in rows}
    contacts = store.contacts(session, {row[1] for row in rows})
    sent = store.deliveries(session, pairs)
    kept = store.events(session, pairs, [ReachKind.CALL, ReachKind.QUESTION])
    items = []
    for policy_id, firm, name, code, region, state, question_open in rows:
        pair = (policy_id, firm)
        addresses: dict[str, list[str]] = {}
        for contact in contacts.get(firm, []):
            addresses.setdefault(contact.channel, []).append(contact.address)
        events = kept.get(pair, [])
        asked = [_question(e.detail, e.at) for e in events if e.kind == ReachKind.QUESTION]
        reasons = _reasons(state, bool(question_open))
        if NOT_OPENED in reasons and policy_id not in window:
            reasons.remove(NOT_OPENED)  # listed for its question only
        items.append(
            FollowUp(
                policy=policies[policy_id],
                firm={"id": firm, "name": name, "credit_code": code, "region": region},
                state=state,
                question_open=bool(question_open),
                reasons=reasons,
                contacts=addresses,
                deliveries=[
                    Attempt(d.channel, d.address, d.status, d.sent_at or d.created_at, d.last_error)
                    for d in sent.get(pair, [])
                ],
                calls=[_call(e.detail, e.at) for e in events if e.kind == ReachKind.CALL],
                question=asked[-1] if asked else None,
            )
        )
    return items


def followups(
    context: Context,
    community: str | None = None,
    policy_id: int | None = None,
    *,
    number: int = 1,
    size: int = PAGE,
    refresh: bool = True,
    thorough: bool = True,
) -> FollowUps:
    """Page ``number`` (of ``size`` items; past the end: the last) of the follow-up list, in
    ``community`` (and below it) when given, of ``policy_id`` alone when given; the open
    policies' reach states brought up to date first (``refresh``; a caller reading page after
    page may skip it after the first; ``thorough=False``: the clock's light pass, for a page
    viewed often, see :func:`bring_up_to_date`).

    A community's staff see their community's firms only: ``community`` narrows within it.

    Raises:
        InputError: (field ``community``) a community that names no region, or several.
        NotFoundError: (field ``policy``) no such policy.
    """
    path = read_community(context, community)
    now = context.time_source.now()
    with context.sessions.begin() as session:
        if policy_id is not None and policy_store.get(session, policy_id) is None:
            raise NotFoundError(
                f"policy {policy_id}: 没有这个政策 / no such policy", field="policy"
            )
        followed = store.open_policies(
            session, now=now, days=context.settings.reach.open_days, policy_id=policy_id
        )
        if refresh:
            for policy in followed:
                bring_up_to_date(session, policy, now=now, thorough=thorough)
        shown = {policy.id: _shown(policy, now) for policy in followed}
        order = sorted(shown.values(), key=lambda p: (p.deadline is None, p.deadline or now, p.id))
        window, unknown = _windows(context, session, followed, now)
        query = store.due_query([p.id for p in order], window, path, context.scope)
        total = store.due_count(session, query)
        number = clamped(number, total, size)
        rows = list(session.execute(query.offset(offset_of(number, size)).limit(size)))
        items = _items(session, rows, shown, window)
    page = Paged(rows=items, number=number, size=size, total=total)
    return FollowUps(page=page, community=path, policies=order, unknown_year=unknown)
