"""How far a policy got: its firms counted per reach state, overall and per community, as a
funnel, and the share that confirmed before its first deadline; each firm's state (for the
export); and the district's open policies side by side.

Communities are the register's regions at their deepest level (``…/大碶街道/…社区``): each
firm counts in the region it is registered in.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from notifier.domain.reach import CONFIRMING, FUNNEL, ORDER, STAGES, ReachState
from notifier.errors import NotFoundError
from notifier.services.context import Context
from notifier.services.reach.states import bring_up_to_date
from notifier.store import policies as policy_store
from notifier.store import reach_states
from notifier.store.models import Policy

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

_SEP = "/"
# A page of firms read at a time for the export.
FIRMS_PAGE = 1000


def got_to(state: str, step: ReachState) -> bool:
    """Whether a firm now in ``state`` got as far as the funnel's ``step`` (one that opened
    the page was delivered to; one that said not applicable or asked opened it; confirmed
    counts those that confirmed or said done)."""
    if step is ReachState.TARGETED:
        return True
    if step is ReachState.CONFIRMED:
        return state in CONFIRMING
    if step is ReachState.DONE:
        return state == ReachState.DONE
    return state != ReachState.UNREACHABLE and STAGES.get(state, 0) >= STAGES[step]


def share(part: int, whole: int) -> float | None:
    """``part`` of ``whole`` to four places (None: nothing to share)."""
    return round(part / whole, 4) if whole else None


@dataclass(frozen=True)
class FunnelStep:
    """How many firms got as far as one step, and their share of the policy's firms."""

    step: str
    firms: int
    share: float | None


@dataclass
class ReachCounts:
    """Firms per reach state in one place (a community, or the whole policy)."""

    firms: int = 0
    states: dict[str, int] = field(default_factory=lambda: {state.value: 0 for state in ORDER})
    questions_open: int = 0
    confirmed_before_deadline: int = 0

    def add(self, tally: reach_states.Tally) -> None:
        """Count one region-and-state tally in."""
        self.firms += tally.firms
        self.states[tally.state] = self.states.get(tally.state, 0) + tally.firms
        self.questions_open += tally.questions
        self.confirmed_before_deadline += tally.confirmed_before

    def share_confirmed(self) -> float | None:
        """The share of firms that confirmed before the first deadline (None: no firms)."""
        return share(self.confirmed_before_deadline, self.firms)

    def funnel(self) -> list[FunnelStep]:
        """The firms that got to each of the funnel's steps, with their shares."""
        steps = []
        for step in FUNNEL:
            firms = sum(n for state, n in self.states.items() if got_to(state, step))
            steps.append(FunnelStep(step.value, firms, share(firms, self.firms)))
        return steps

    def as_json(self) -> dict[str, Any]:
        """The counts as JSON."""
        return {
            "firms": self.firms,
            "states": dict(self.states),
            "questions_open": self.questions_open,
            "confirmed_before_deadline": self.confirmed_before_deadline,
            "share_confirmed_before_deadline": self.share_confirmed(),
        }


@dataclass(frozen=True)
class PolicyReachReport:
    """A policy's reach: overall, and per community (by region path, in path order)."""

    policy_id: int
    title: str
    first_deadline: datetime | None
    overall: ReachCounts
    communities: dict[str, ReachCounts]

    def as_json(self) -> dict[str, Any]:
        """The report as JSON (communities named by their full region path)."""
        return {
            "policy_id": self.policy_id,
            "title": self.title,
            "first_deadline": self.first_deadline.isoformat() if self.first_deadline else None,
            **self.overall.as_json(),
            "funnel": [
                {"step": s.step, "firms": s.firms, "share": s.share} for s in self.overall.funnel()
            ],
            "communities": [
                {"community": path, "name": community_of(path), **counts.as_json()}
                for path, counts in self.communities.items()
            ],
        }


def first_deadline(policy: Policy) -> datetime | None:
    """When the policy's earliest live deadline is due (None: it has none)."""
    due = [d.due_at for d in policy.deadlines if d.cancelled_at is None]
    return min(due) if due else None


def _up_to_date(
    session: Session, context: Context, policy_id: int, *, thorough: bool = True
) -> Policy:
    policy = policy_store.get_in_scope(session, policy_id, context.scope)
    if policy is None:
        raise NotFoundError(f"policy {policy_id}: 没有这个政策 / no such policy", field="policy")
    bring_up_to_date(session, policy, now=context.time_source.now(), thorough=thorough)
    return policy


def policy_reach(context: Context, policy_id: int, *, thorough: bool = True) -> PolicyReachReport:
    """The policy's reach, its states brought up to date first (``thorough=False``: the
    clock's light pass, for a page viewed often; sends and receipts keep the rest current).
    A community's staff count their community's firms only (its rows, and the totals); a
    publisher sees its department's policies only.

    Raises:
        NotFoundError: no such policy (in scope).
    """
    with context.sessions.begin() as session:
        policy = _up_to_date(session, context, policy_id, thorough=thorough)
        due = first_deadline(policy)
        tallies = reach_states.tally(session, policy_id, before=due, scope=context.scope)
        title = policy.title
    overall = ReachCounts()
    communities: dict[str, ReachCounts] = {}
    for tally in tallies:
        overall.add(tally)
        communities.setdefault(tally.region, ReachCounts()).add(tally)
    return PolicyReachReport(
        policy_id=policy_id,
        title=title,
        first_deadline=due,
        overall=overall,
        communities=dict(sorted(communities.items())),
    )


@dataclass(frozen=True)
class FirmReach:
    """One firm's reach of a policy, as the export lists it."""

    enterprise_id: int
    name: str
    credit_code: str
    region: str
    state: str
    question_open: bool
    confirmed_at: datetime | None
    updated_at: datetime

    @property
    def community(self) -> str:
        """The community: the deepest level of the firm's region."""
        return community_of(self.region)


def community_of(region: str) -> str:
    """A region path's deepest level (``北仑区/大碶街道/…社区`` → ``…社区``)."""
    return region.rsplit(_SEP, 1)[-1]


def firm_states(context: Context, policy_id: int) -> tuple[str, list[FirmReach]]:
    """The policy's title and each of its firms' states (by firm id), brought up to date
    first and read a page at a time: the firms the actor may see one by one (a community's
    staff: their community's; a publisher or an approver: none).

    Raises:
        NotFoundError: no such policy.
    """
    with context.sessions.begin() as session:
        title = _up_to_date(session, context, policy_id).title
    firms: list[FirmReach] = []
    with context.sessions() as session:
        while True:
            after = firms[-1].enterprise_id if firms else 0
            page = reach_states.of_policy(
                session, policy_id, after=after, limit=FIRMS_PAGE, scope=context.scope
            )
            firms.extend(FirmReach(*row) for row in page)
            if len(page) < FIRMS_PAGE:
                return title, firms


def district_reach(context: Context, *, limit: int = 100) -> list[reach_states.PolicyStanding]:
    """The open policies (published within ``settings.reach.open_days``, not withdrawn),
    newest first, each with its firms, opened, confirmed, unreachable and questions open, as
    the clock last brought their states up to date (one query, whatever their number); the
    firms and policies the actor's scope counts."""
    now = context.time_source.now()
    days = context.settings.reach.open_days
    scope = context.scope
    with context.sessions() as session:
        return reach_states.open_policies(session, now=now, days=days, limit=limit, scope=scope)
