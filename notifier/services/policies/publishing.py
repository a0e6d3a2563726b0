"""Publishing policies: store, make the publish trigger, queue its fan-out.

:func:`publish_policy` is the operation the faces call: the policy and its audit row commit
together. :func:`publish` is the same without an actor (tests and the demo's seeding).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from notifier.domain.records import PolicyDraft
from notifier.domain.time_source import SYSTEM_TIME, TimeSource
from notifier.errors import BrokerUnavailable, InputError
from notifier.services import audit
from notifier.services.access.scopes import check_department
from notifier.services.approval.requests import file_request
from notifier.services.context import Context
from notifier.services.deadlines.reminders import LadderRules
from notifier.services.delivery.ports import Dispatch
from notifier.services.enterprises.regions import with_full_regions
from notifier.services.policies import refs
from notifier.services.policies.content import require_clean_policy
from notifier.services.policies.freezing import freeze_policy
from notifier.services.policies.listings import policy_row
from notifier.store import approvals, policies, triggers
from notifier.store.db import SessionFactory
from notifier.store.models import ApprovalKind, Policy

log = logging.getLogger(__name__)

# Called in the transaction that stores a new policy (the audit row goes in with it).
OnCreated = Callable[[Session, Policy], None]


@dataclass(frozen=True)
class Published:
    """The outcome of publishing: the policy, its trigger, and whether it was new."""

    policy_id: int
    trigger_id: int | None
    created: bool
    # Waiting for an approver (待审核): nothing is queued until request ``approval_id`` is
    # approved.
    held: bool = False
    approval_id: int | None = None


def _refuse_changed(policy: Policy, draft: PolicyDraft) -> None:
    """Refuse a file that reuses a ref with other content: a correction is a revision."""
    if not draft.source_key.startswith("ref:"):
        return  # without a ref, the same key means the same title, department, url and body
    ref = draft.source_key.removeprefix("ref:")
    if policy.cancelled_at is not None:
        raise InputError(
            f"ref: 政策 {policy.id}（ref {ref}）已撤回，请换一个 ref 重新发布 / policy "
            f"{policy.id} with ref {ref} was cancelled; give the file a new ref to publish it",
            field="ref",
        )
    same = policies.draft_content(draft, published_at=policy.published_at)
    if same != policies.content(policy):
        raise InputError(
            f"ref: 政策 {policy.id}（ref {ref}）已存在且内容不同，更正请用 "
            f"`notifier policies revise FILE.json` / policy {policy.id} with ref {ref} exists "
            "with different content; to correct it use `notifier policies revise FILE.json`",
            field="ref",
        )


def _store(
    sessions: SessionFactory,
    draft: PolicyDraft,
    now: datetime,
    ladders: LadderRules,
    on_created: OnCreated | None,
) -> Published:
    with sessions.begin() as session:
        policy = refs.find_same(session, draft)
        created = policy is None
        if policy is None:
            ladders.check(session, draft.deadlines, now=now)
            stored = refs.with_generated_ref(draft, now, ladders.zone)
            policy = policies.create(session, stored, now=now)
            if on_created is not None:
                on_created(session, policy)
        else:
            _refuse_changed(policy, draft)
        trigger = (
            triggers.ensure_policy_published(session, policy)
            if policy.published_at <= now and not policy.held
            else None
        )
        waiting = approvals.latest_of(session, policy_id=policy.id) if policy.held else None
        return Published(
            policy_id=policy.id, trigger_id=trigger.id if trigger else None, created=created,
            held=policy.held, approval_id=waiting.id if waiting else None,
        )


def publish(
    sessions: SessionFactory,
    dispatch: Dispatch,
    draft: PolicyDraft,
    *,
    time_source: TimeSource = SYSTEM_TIME,
    ladders: LadderRules | None = None,
    on_created: OnCreated | None = None,
) -> Published:
    """Store the policy (once: the same ref or content gives back the first one) and queue it.

    A policy without a ref is stored under a generated one (:mod:`.refs`), so it can be revised.

    A policy published for a later time gets its trigger from the clock when that time comes.
    A policy ``on_created`` holds (``held``, waiting for approval) gets no trigger.
    Two publishes of one policy at once store it once; the second is told it already was.
    ``on_created`` runs in the transaction that stores a new policy, before it commits.

    Raises:
        InputError: the ref is taken by a policy with other content (correct it with a
            revision, ``corrections.revise``) or by a cancelled one.
        CalendarYearUnknown: a deadline's working-day rungs need a year the calendar does not
            know (``ladders``: the reminder settings and zone; nothing is stored).
        BrokerUnavailable: the policy is stored but its fan-out could not be queued; the
            clock's sweep queues it once the broker is back.
    """
    rules = ladders or LadderRules()
    try:
        published = _store(sessions, draft, time_source.now(), rules, on_created)
    except IntegrityError:
        # Another publish of the same policy committed between our look and our insert.
        published = _store(sessions, draft, time_source.now(), rules, on_created)
    if published.trigger_id is not None:
        try:
            dispatch.fan_out(published.trigger_id)
        except BrokerUnavailable as exc:
            raise BrokerUnavailable(
                f"{exc}; policy {published.policy_id} is stored and the clock queues it "
                "once the broker is back"
            ) from exc
    log.info(
        "policy %s published (new: %s), trigger %s",
        published.policy_id,
        published.created,
        published.trigger_id,
    )
    return published


def publish_policy(context: Context, draft: PolicyDraft) -> Published:
    """Publish the policy for ``context``'s actor: its regions as the full paths they name
    (``大碶街道`` is ``浙江省/宁波市/北仑区/大碶街道``), :func:`publish`, and a new policy's
    ``policy.publish`` audit row in the transaction that stores it (a repeat stores nothing
    and records nothing).

    When the ``approval`` settings say so (an SMS audience, more than ``max_firms`` firms), a
    new policy is stored ``held`` with its approval request and frozen preview
    (docs/approval.md): nothing is queued until an approver other than its author approves.

    Raises:
        ContentRefused: (an InputError naming the place) the texts break a content rule
            (:mod:`notifier.services.content.checks`); nothing is stored.
        InputError: (field ``targets.regions``) a region that names several of the register's
            or none; else as :func:`publish`.
        CalendarYearUnknown, BrokerUnavailable: as :func:`publish`.
    """
    check_department(context.scope, draft.department)
    draft = replace(
        draft, targets=with_full_regions(context.sessions, draft.targets, scope=context.scope)
    )
    require_clean_policy(context, draft)  # before anything is stored, queued or waits
    # Rendered before the transaction opens (never a render inside one); None: approval off.
    frozen = freeze_policy(context, draft, kind=ApprovalKind.PUBLISH)

    def record(session: Session, policy: Policy) -> None:
        if frozen is not None and frozen.needed:
            policy.held = True
            file_request(session, context, frozen, policy_id=policy.id)
        audit.record(
            session,
            context,
            action="policy.publish",
            target_type="policy",
            target_id=policy.id,
            after=policy_row(policy, context.settings.zone),
        )

    return publish(
        context.sessions,
        context.dispatch,
        draft,
        time_source=context.time_source,
        ladders=LadderRules.of(context.settings),
        on_created=record,
    )


def scan_published(
    sessions: SessionFactory,
    dispatch: Dispatch,
    *,
    time_source: TimeSource = SYSTEM_TIME,
    catch_up: timedelta | None = None,
) -> list[int]:
    """Clock job: make triggers for policies whose time has come and queue their fan-outs.

    The backstop for a publish whose enqueue was lost, and the path for scheduled policies.
    A policy that came due more than ``catch_up`` ago (the clock was down) gets a ``missed``
    trigger with the reason, and is not sent late.
    """
    now = time_source.now()
    trigger_ids = []
    with sessions.begin() as session:
        for policy in policies.published_without_trigger(session, now=now):
            late = now - policy.published_at
            missed = None
            if catch_up is not None and late > catch_up:
                missed = (
                    f"missed: due at {policy.published_at.isoformat()}, found "
                    f"{late.total_seconds() / 3600:.1f} h later, more than clock.catch_up_hours "
                    f"({catch_up.total_seconds() / 3600:g})"
                )
                log.warning("policy %s: %s", policy.id, missed)
            trigger = triggers.ensure_policy_published(session, policy, missed=missed)
            if missed is None:
                trigger_ids.append(trigger.id)
    for trigger_id in trigger_ids:
        dispatch.fan_out(trigger_id)
    return trigger_ids
