"""One table from trigger kind to whom it reaches and what its messages say.

Fan-out asks the kind for the audience (a :class:`~notifier.domain.targets.Targets` value); sending
asks it for the template context. A new kind (a campaign run) is one more entry here; fan-out
and sending stay as they are. A trigger of a kind nothing handles fails for good, with its
reason, instead of being retried.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime, tzinfo
from types import MappingProxyType
from typing import Any, TypeVar

from notifier.domain.changes import FIELD_LABELS, pair_by_title
from notifier.domain.targets import Targets
from notifier.errors import TriggerError
from notifier.store.models import Campaign, Deadline, Policy, Trigger, TriggerKind
from notifier.store.triggers import resent_rung, revision_number

TIME_FORMAT = "%Y-%m-%d %H:%M"


def local(moment: datetime, zone: tzinfo) -> str:
    """A stored UTC time as the deployment shows it."""
    return moment.astimezone(zone).strftime(TIME_FORMAT)


def local_or_none(moment: datetime | None, zone: tzinfo) -> str | None:
    """:func:`local`, or None for no time."""
    return local(moment, zone) if moment else None


def policy_view(policy: Policy, zone: tzinfo) -> dict[str, Any]:
    """What templates and webhook payloads see of a policy."""
    return {
        "id": policy.id,
        "title": policy.title,
        "summary": policy.summary,
        "body": policy.body,
        "url": policy.url,
        "department": policy.department,
        "topics": list(policy.topics),
        "published_at": local(policy.published_at, zone),
        "deadlines": [
            {"title": d.title, "due_at": local(d.due_at, zone)} for d in _live(policy)
        ],
    }


def _live(policy: Policy) -> list[Deadline]:
    return [d for d in policy.deadlines if d.cancelled_at is None]


def correction_view(policy: Policy, number: int, zone: tzinfo) -> dict[str, Any]:
    """What templates see of a policy's ``number``-th revision: the fields it changed (in
    Chinese), the title it had, and its deadlines moved, added and removed.

    Raises:
        TriggerError: the policy has no such revision.
    """
    revision = next((r for r in policy.revisions if r.number == number), None)
    if revision is None:
        raise TriggerError(f"policy {policy.id} has no revision {number}")
    previous = revision.previous
    old = previous.get("deadlines") or []
    old_due = [datetime.fromisoformat(d["due_at"]) for d in old]
    live = _live(policy)
    pairing = pair_by_title([d["title"] for d in old], [d.title for d in live])
    return {
        "number": revision.number,
        "revised_at": local(revision.revised_at, zone),
        "changed": [FIELD_LABELS.get(name, name) for name in revision.changed],
        "previous_title": previous.get("title") if "title" in revision.changed else None,
        "moved": [
            {
                "title": live[j].title,
                "before": local(old_due[i], zone),
                "after": local(live[j].due_at, zone),
            }
            for i, j in pairing.kept
            if old_due[i] != live[j].due_at
        ],
        "added": [
            {"title": live[j].title, "due_at": local(live[j].due_at, zone)}
            for j in pairing.added
        ],
        "removed": [
            {"title": old[i]["title"], "due_at": local(old_due[i], zone)}
            for i in pairing.removed
        ],
    }


def deadline_view(deadline: Deadline, zone: tzinfo, now: datetime) -> dict[str, Any]:
    """What templates see of a deadline."""
    days_left = (deadline.due_at.astimezone(zone).date() - now.astimezone(zone).date()).days
    return {
        "id": deadline.id,
        "title": deadline.title,
        "due_at": local(deadline.due_at, zone),
        "days_left": days_left,
    }


@dataclass(frozen=True)
class Kind:
    """How one kind of trigger is fanned out and rendered.

    ``audience(trigger)`` gives the targets; ``context(trigger, zone, now)`` the template
    values besides the enterprise's own. Both raise :class:`TriggerError` when the trigger
    lacks what its kind needs.
    """

    audience: Callable[[Trigger], Targets]
    context: Callable[[Trigger, tzinfo, datetime], dict[str, Any]]
    # Deliveries a minute at most (a campaign's throttle); None: as fast as workers go.
    per_minute: Callable[[Trigger], int | None] = lambda trigger: None


def _policy(trigger: Trigger) -> Policy:
    return _not_cancelled(trigger, trigger.policy, "policy", trigger.policy_id)


def _deadline(trigger: Trigger) -> Deadline:
    return _not_cancelled(trigger, trigger.deadline, "deadline", trigger.deadline_id)


_Owner = TypeVar("_Owner", Policy, Deadline)


def _not_cancelled(
    trigger: Trigger, owner: _Owner | None, name: str, owner_id: int | None
) -> _Owner:
    """The ``name`` the trigger is for, which must be there and not cancelled.

    Raises:
        TriggerError: it is missing or cancelled.
    """
    if owner is None:
        raise TriggerError(f"trigger {trigger.id} ({trigger.kind}) has no {name}")
    if owner.cancelled_at is not None:
        raise TriggerError(f"trigger {trigger.id}: {name} {owner_id} was cancelled")
    return owner


def _policy_targets(trigger: Trigger) -> Targets:
    return _policy(trigger).targets


def _deadline_reminder_targets(trigger: Trigger) -> Targets:
    # The policy's audience as it stands today, less the enterprises that said they are done.
    deadline = _deadline(trigger)
    return replace(_policy(trigger).targets, done_deadlines=(deadline.id,))


def _policy_corrected_targets(trigger: Trigger) -> Targets:
    # Exactly whom the policy reached, on the channels it reached them on; not its targets
    # (a revision may have narrowed them, and those it reached still need the correction).
    return Targets(reached_by=(_policy(trigger).id,))


def _policy_published_context(trigger: Trigger, zone: tzinfo, now: datetime) -> dict[str, Any]:
    return {"policy": policy_view(_policy(trigger), zone), "deadline": None}


def _deadline_reminder_context(trigger: Trigger, zone: tzinfo, now: datetime) -> dict[str, Any]:
    return {
        "policy": policy_view(_policy(trigger), zone),
        "deadline": deadline_view(_deadline(trigger), zone, now),
    }


def _policy_corrected_context(trigger: Trigger, zone: tzinfo, now: datetime) -> dict[str, Any]:
    policy = _policy(trigger)
    return {
        "policy": policy_view(policy, zone),
        "deadline": None,
        "correction": correction_view(policy, revision_number(trigger.key), zone),
    }


def _policy_resent_targets(trigger: Trigger) -> Targets:
    # The firms the reach ladder chose, on the one channel it chose (kept on the trigger),
    # and still matched by the policy's targets and subscribed there.
    chosen = Targets.from_dict(trigger.audience or {})
    if not (chosen.credit_codes and chosen.channels):
        raise TriggerError(f"trigger {trigger.id} ({trigger.kind}) names no firms and channel")
    return replace(
        _policy(trigger).targets, credit_codes=chosen.credit_codes, channels=chosen.channels
    )


def _policy_resent_context(trigger: Trigger, zone: tzinfo, now: datetime) -> dict[str, Any]:
    return {
        **_policy_published_context(trigger, zone, now),
        "resent": {"working_days": resent_rung(trigger.key)},
    }


def campaign_view(campaign: Campaign) -> dict[str, Any]:
    """What campaign templates see of their campaign."""
    return {"id": campaign.id, "name": campaign.name, "title": campaign.title, "url": campaign.url}


def _campaign(trigger: Trigger) -> Campaign:
    if trigger.campaign is None:
        raise TriggerError(f"trigger {trigger.id} ({trigger.kind}) has no campaign")
    return trigger.campaign


def _campaign_targets(trigger: Trigger) -> Targets:
    # The campaign's audience as it stands at the run, on the campaign's channels.
    return _campaign(trigger).targets


def _campaign_context(trigger: Trigger, zone: tzinfo, now: datetime) -> dict[str, Any]:
    campaign = _campaign(trigger)
    return {
        "campaign": campaign_view(campaign),
        "run": {"date": trigger.due_at.astimezone(zone).strftime("%Y-%m-%d")},
        "policy": None,
        "deadline": None,
    }


KINDS: Mapping[str, Kind] = MappingProxyType(
    {
        TriggerKind.POLICY_PUBLISHED: Kind(_policy_targets, _policy_published_context),
        TriggerKind.DEADLINE_REMINDER: Kind(
            _deadline_reminder_targets, _deadline_reminder_context
        ),
        TriggerKind.POLICY_CORRECTED: Kind(_policy_corrected_targets, _policy_corrected_context),
        TriggerKind.CAMPAIGN_RUN: Kind(
            _campaign_targets,
            _campaign_context,
            lambda trigger: _campaign(trigger).throttle_per_minute,
        ),
        TriggerKind.POLICY_RESENT: Kind(_policy_resent_targets, _policy_resent_context),
    }
)


def kind_of(trigger: Trigger, kinds: Mapping[str, Kind] = KINDS) -> Kind:
    """The handling of ``trigger``'s kind.

    Raises:
        TriggerError: no kind of that name is handled.
    """
    kind = kinds.get(trigger.kind)
    if kind is None:
        raise TriggerError(f"trigger {trigger.id}: no handler for kind {trigger.kind!r}")
    return kind
