"""How far a policy got: its firms counted per reach state, overall and per community, and
the share that confirmed before its first deadline.

Communities are the register's regions at their deepest level (``…/大碶街道/…社区``): each
firm counts in the region it is registered in.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from notifier.domain.reach import ORDER
from notifier.errors import NotFoundError
from notifier.services.context import Context
from notifier.services.reach.states import bring_up_to_date
from notifier.store import policies as policy_store
from notifier.store import reach_states
from notifier.store.models import Policy

_SEP = "/"


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
        return round(self.confirmed_before_deadline / self.firms, 4) if self.firms else None

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
            "communities": [
                {"community": path, "name": path.rsplit(_SEP, 1)[-1], **counts.as_json()}
                for path, counts in self.communities.items()
            ],
        }


def first_deadline(policy: Policy) -> datetime | None:
    """When the policy's earliest live deadline is due (None: it has none)."""
    due = [d.due_at for d in policy.deadlines if d.cancelled_at is None]
    return min(due) if due else None


def policy_reach(context: Context, policy_id: int) -> PolicyReachReport:
    """The policy's reach, its states brought up to date first.

    Raises:
        NotFoundError: no such policy.
    """
    with context.sessions.begin() as session:
        policy = policy_store.get(session, policy_id)
        if policy is None:
            raise NotFoundError(
                f"policy {policy_id}: 没有这个政策 / no such policy", field="policy"
            )
        bring_up_to_date(session, policy, now=context.time_source.now())
        due = first_deadline(policy)
        tallies = reach_states.tally(session, policy_id, before=due)
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
