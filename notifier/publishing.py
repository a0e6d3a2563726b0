"""Publishing policies: store, make the publish trigger, queue its fan-out."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from notifier.models.base import utcnow
from notifier.policy_file import PolicyDraft
from notifier.runtime import Runtime
from notifier.store import policies, triggers

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Published:
    """The outcome of publishing: the policy, its trigger, and whether it was new."""

    policy_id: int
    trigger_id: int | None
    created: bool


def publish(runtime: Runtime, draft: PolicyDraft) -> Published:
    """Store the policy (once: the same ref or content gives back the first one) and queue it.

    A policy published for a later time gets its trigger from the clock when that time comes.
    """
    now = utcnow()
    with runtime.sessions.begin() as session:
        policy = policies.get_by_source_key(session, draft.source_key)
        created = policy is None
        if policy is None:
            policy = policies.create(session, draft, now=now)
        trigger = (
            triggers.ensure_policy_published(session, policy)
            if policy.published_at <= now
            else None
        )
        trigger_id = trigger.id if trigger else None
        policy_id = policy.id
    if trigger_id is not None:
        runtime.queue.enqueue_fan_out(trigger_id)
    log.info("policy %s published (new: %s), trigger %s", policy_id, created, trigger_id)
    return Published(policy_id=policy_id, trigger_id=trigger_id, created=created)


def scan_published(runtime: Runtime) -> list[int]:
    """Clock job: make triggers for policies whose time has come and queue their fan-outs.

    The backstop for a publish whose enqueue was lost, and the path for scheduled policies.
    """
    with runtime.sessions.begin() as session:
        due = policies.published_without_trigger(session, now=utcnow())
        trigger_ids = [triggers.ensure_policy_published(session, policy).id for policy in due]
    for trigger_id in trigger_ids:
        runtime.queue.enqueue_fan_out(trigger_id)
    return trigger_ids
