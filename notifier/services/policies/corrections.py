"""Corrections (更正): revise a published policy, withdraw a scheduled one, show its history.

A revision keeps what the policy said before (``policy_revisions``), takes the file's fields
and targets, and moves its deadlines with the deadline move logic: matched by title, a deadline
whose due time changed is moved (its unsent rungs follow, sent ones stay sent), a new title is
a new deadline, a title gone is a cancelled deadline. With ``notify`` it makes one
``policy_corrected`` trigger, whose audience is exactly the enterprise-and-channel pairs the
policy already reached.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from datetime import datetime, tzinfo
from typing import Any

from sqlalchemy.orm import Session

from notifier.domain.changes import changed_fields, pair_by_title
from notifier.domain.records import DeadlineDraft, PolicyDraft
from notifier.domain.scope import DISTRICT, Scope
from notifier.errors import BrokerUnavailable, InputError, NotFoundError
from notifier.services import audit
from notifier.services.access.scopes import check_department
from notifier.services.approval.freezing import Frozen
from notifier.services.approval.requests import file_request, withdraw_pending
from notifier.services.context import Context
from notifier.services.deadlines.operations import cancel, move
from notifier.services.deadlines.reminders import LadderRules
from notifier.services.delivery.kinds import local
from notifier.services.enterprises.regions import with_full_regions
from notifier.services.policies.content import require_clean_policy
from notifier.services.policies.freezing import freeze_policy
from notifier.services.policies.listings import described, policy_state, ref_of
from notifier.store import policies, triggers
from notifier.store.db import SessionFactory
from notifier.store.models import ApprovalKind, Deadline, Policy, TriggerKind

log = logging.getLogger(__name__)

REVISE_HINT = "`notifier policies revise FILE.json --notify`"


@dataclass(frozen=True)
class Revised:
    """What a revision did.

    ``new`` is False when the file changed nothing (``revision`` is then the latest one, or
    None). ``trigger_id`` is the correction queued now: None without ``notify``, before the
    policy went out, or when that revision's correction was made before.
    """

    policy_id: int
    revision: int | None
    new: bool
    changed: tuple[str, ...] = ()
    moved: int = 0
    added: int = 0
    removed: int = 0
    trigger_id: int | None = None
    published: bool = True
    # The approval request the revision waits on (待审核): a correction, or the publication of
    # a policy still held; nothing is queued until it is approved.
    approval_id: int | None = None


def _policy(
    session: Session, policy_id: int, *, for_update: bool = False, scope: Scope = DISTRICT
) -> Policy:
    policy = policies.get(session, policy_id, for_update=for_update)
    if policy is None or not scope.sees_department(policy.department):
        raise NotFoundError(f"policy {policy_id}: 没有这个政策 / no such policy", field="policy")
    return policy


def _check_named(session: Session, policy_id: int, draft: PolicyDraft, scope: Scope) -> None:
    """Refuse a file whose ref is not the ref of the policy the face names (its path)."""
    policy = _policy(session, policy_id, scope=scope)
    if draft.source_key.startswith("ref:") and draft.source_key != policy.source_key:
        ref = ref_of(policy)
        raise InputError(
            f"ref: 文件的 ref 与政策 {policy_id} 的 ref（{ref or '无 none'}）不符 / "
            f"the file's ref is not policy {policy_id}'s",
            field="ref",
        )


def _policy_of(session: Session, draft: PolicyDraft) -> Policy:
    if not draft.source_key.startswith("ref:"):
        raise InputError(
            "ref: 文件没有 ref，无法找到要更正的政策 / the file has no ref; revise finds the "
            "policy by the ref it was published with",
            field="ref",
        )
    ref = draft.source_key.removeprefix("ref:")
    policy = policies.get_by_source_key(session, draft.source_key, for_update=True)
    if policy is None:
        raise InputError(
            f"ref: 没有 ref 为 {ref} 的政策，请先发布 / no policy has ref {ref}; publish it "
            "with `notifier policies publish FILE.json`",
            field="ref",
        )
    if policy.cancelled_at is not None:
        raise InputError(
            f"ref: 政策 {policy.id}（ref {ref}）已撤回，不能更正 / policy {policy.id} with ref "
            f"{ref} was cancelled; it cannot be revised",
            field="ref",
        )
    return policy


def _check_publication_time(policy: Policy, draft: PolicyDraft, now: datetime) -> None:
    if draft.published_at is None or draft.published_at == policy.published_at:
        return
    if policy.published_at <= now:
        raise InputError(
            f"published_at: 政策 {policy.id} 已发布，发布时间不能再改 / policy {policy.id} "
            "was published already; leave published_at as it was",
            field="published_at",
        )


def _revise_deadlines(
    session: Session, policy: Policy, drafts: tuple[DeadlineDraft, ...], now: datetime
) -> tuple[int, int, int]:
    """Move, add and cancel the policy's deadlines as the drafts say; (moved, added, removed)."""
    live = [d for d in policy.deadlines if d.cancelled_at is None]
    pairing = pair_by_title([d.title for d in live], [d.title for d in drafts])
    moved = 0
    for i, j in pairing.kept:
        deadline, draft = live[i], drafts[j]
        deadline.remind = None if draft.remind is None else list(draft.remind)
        if deadline.due_at == draft.due_at:
            continue
        if draft.due_at <= now:
            field = f"deadlines[{j}].due_at"
            raise InputError(
                f"{field}: 新的截止时间已过 / the new due time has already passed", field=field
            )
        move(session, deadline, draft.due_at, now=now)
        moved += 1
    for j in pairing.added:
        draft = drafts[j]
        remind = None if draft.remind is None else list(draft.remind)
        policy.deadlines.append(Deadline(title=draft.title, due_at=draft.due_at, remind=remind))
    reason = "deadline removed by a revision of its policy"
    for i in pairing.removed:
        cancel(session, live[i], now=now, reason=reason)
    return moved, len(pairing.added), len(pairing.removed)


def _correction(session: Session, policy: Policy, number: int, now: datetime) -> int | None:
    """Make the correction trigger of revision ``number``; None if it was made before."""
    return triggers.insert_new(
        session,
        key=triggers.policy_corrected_key(policy.id, number),
        kind=TriggerKind.POLICY_CORRECTED,
        due_at=now,
        policy_id=policy.id,
    )


def _revise(
    session: Session, policy: Policy, draft: PolicyDraft, *, notify: bool, now: datetime,
    ladders: LadderRules,
) -> Revised:
    published = policy.published_at <= now
    previous = policies.content(policy)
    # A file without a publication time keeps the policy's.
    after = policies.draft_content(draft, published_at=policy.published_at)
    changed = changed_fields(previous, after)
    if not changed:
        # Nothing new; --notify still sends the latest revision's correction if it never went.
        latest = policy.revisions[-1].number if policy.revisions else None
        trigger_id = None
        if notify and published and latest is not None:
            trigger_id = _correction(session, policy, latest, now)
        return Revised(policy.id, latest, False, trigger_id=trigger_id, published=published)
    _check_publication_time(policy, draft, now)
    ladders.check(session, draft.deadlines, now=now)
    revision = policies.add_revision(session, policy, previous=previous, changed=changed, now=now)
    policies.update(policy, draft)
    moved, added, removed = _revise_deadlines(session, policy, draft.deadlines, now)
    published = policy.published_at <= now
    trigger_id = (
        _correction(session, policy, revision.number, now) if notify and published else None
    )
    return Revised(
        policy.id,
        revision.number,
        True,
        tuple(changed),
        moved,
        added,
        removed,
        trigger_id,
        published,
    )


def _wait(
    session: Session, context: Context, policy: Policy, revised: Revised, frozen: Frozen, *,
    notify: bool,
) -> Revised:
    """File the request a gated revision waits on: a held policy's publication again (its
    content changed), or the correction ``notify`` asked for; the older pending request of
    the policy is withdrawn (audited). Unchanged: nothing to file."""
    if policy.held:
        if not revised.new:
            return revised
        frozen = replace(frozen, kind=ApprovalKind.PUBLISH)
        approval = file_request(session, context, frozen, policy_id=policy.id)
        return replace(revised, approval_id=approval.id)
    number = revised.revision
    if not (notify and revised.published and number is not None and frozen.needed):
        return revised
    key = triggers.policy_corrected_key(policy.id, number)
    if triggers.of_key(session, key) is not None:
        return revised  # that correction went out before
    approval = file_request(session, context, frozen, policy_id=policy.id, revision=number)
    return replace(revised, approval_id=approval.id)


def revise(
    context: Context, draft: PolicyDraft, *, notify: bool, policy_id: int | None = None
) -> Revised:
    """Revise the policy published with the draft's ref; with ``notify``, send a correction.

    All or nothing: a bad deadline leaves the policy as it was. A file equal to the policy
    makes no revision; with ``notify`` it sends the latest revision's correction if that never
    went out (a revision made without ``--notify``), and nothing twice. A revision or a
    correction is recorded in the audit log (``policy.revise``) in its transaction.

    Parameters:
        policy_id: the policy the face names (an API path): the file's ref must be its ref.

    Raises:
        NotFoundError: no policy has ``policy_id``.
        InputError: the file has no ref, no policy has it (or it is not ``policy_id``'s), the
            policy was cancelled, a moved deadline's new time has passed, or a published
            policy's time would change.
        CalendarYearUnknown: a deadline's working-day rungs need a year the calendar does
            not know.
        BrokerUnavailable: the revision is stored but its correction could not be queued;
            the sweeper queues it once the broker is back.

    Its regions are resolved to full paths first (``regions.with_full_regions``; refused
    naming ``targets.regions``), and its texts checked (``ContentRefused``, an InputError
    naming the place: :mod:`notifier.services.content.checks`).

    When the ``approval`` settings say so, the correction is not queued: it waits for an
    approver (``approval_id``); a policy still waiting for its publication's approval, or
    returned, files a new publication request with the revised text. Either way the older
    pending request of the policy is withdrawn.
    """
    draft = replace(
        draft, targets=with_full_regions(context.sessions, draft.targets, scope=context.scope)
    )
    require_clean_policy(context, draft)  # before anything is stored, queued or waits
    zone = context.settings.zone
    # Rendered before the transaction opens; None: approval is off.
    frozen = freeze_policy(context, draft, kind=ApprovalKind.CORRECTION)
    with context.sessions.begin() as session:
        if policy_id is not None:
            _check_named(session, policy_id, draft, context.scope)
        policy = _policy_of(session, draft)
        check_department(context.scope, policy.department)
        check_department(context.scope, draft.department)
        before = policy_state(policy, zone)
        gated = frozen is not None and (frozen.needed or policy.held)
        revised = _revise(
            session,
            policy,
            draft,
            notify=notify and not gated,
            now=context.time_source.now(),
            ladders=LadderRules.of(context.settings),
        )
        if gated and frozen is not None:
            revised = _wait(session, context, policy, revised, frozen, notify=notify)
        if revised.new or revised.trigger_id is not None or revised.approval_id is not None:
            session.flush()  # new deadlines get their ids
            audit.record(
                session,
                context,
                action="policy.revise",
                target_type="policy",
                target_id=policy.id,
                before=before,
                after={**policy_state(policy, zone), "notify": notify,
                       "revision": revised.revision, "correction_trigger": revised.trigger_id,
                       "approval": revised.approval_id},
            )
    if revised.trigger_id is not None:
        try:
            context.dispatch.fan_out(revised.trigger_id)
        except BrokerUnavailable as exc:
            raise BrokerUnavailable(
                f"{exc}; the revision of policy {revised.policy_id} is stored and its "
                "correction is queued by the sweeper once the broker is back"
            ) from exc
    log.info(
        "policy %s revision %s (%s), correction trigger %s",
        revised.policy_id,
        revised.revision,
        ", ".join(revised.changed),
        revised.trigger_id,
    )
    return revised


@dataclass(frozen=True)
class Withdrawn:
    """What cancelling a policy did (``already``: it had been cancelled before)."""

    policy_id: int
    already: bool
    deadlines: int = 0
    triggers: int = 0


def cancel_policy(context: Context, policy_id: int) -> Withdrawn:
    """Withdraw a policy whose publication time has not come, or that waits for approval
    (held): nothing of it is ever sent, and its pending approval request is withdrawn.

    Its pending triggers and its deadlines' rungs are cancelled, its deadlines too, and the
    withdrawal is recorded in the audit log (``policy.cancel``) in the same transaction.

    Raises:
        NotFoundError: no such policy.
        InputError: it was already published (revise it instead).
    """
    now = context.time_source.now()
    zone = context.settings.zone
    reason = "policy cancelled before its publication time"
    with context.sessions.begin() as session:
        policy = _policy(session, policy_id, for_update=True, scope=context.scope)
        if policy.cancelled_at is not None:
            return Withdrawn(policy_id, already=True)
        if policy.published_at <= now and not policy.held:
            raise InputError(
                f"policy {policy_id}: 已于 {local(policy.published_at, zone)} 发布，不能撤回；"
                f"更正请用 {REVISE_HINT} / was published already and cannot be withdrawn; "
                f"correct it with {REVISE_HINT}",
                field="policy",
            )
        before = policy_state(policy, zone)
        policy.cancelled_at = now
        live = [d for d in policy.deadlines if d.cancelled_at is None]
        rungs = sum(cancel(session, d, now=now, reason=reason)[0] for d in live)
        rungs += triggers.cancel_pending_for_policy(session, policy_id, reason=reason, now=now)
        withdraw_pending(session, context, policy_id=policy_id, why="policy cancelled 政策已撤回")
        audit.record(
            session,
            context,
            action="policy.cancel",
            target_type="policy",
            target_id=policy_id,
            before=before,
            after={**policy_state(policy, zone), "deadlines_cancelled": len(live),
                   "triggers_cancelled": rungs},
        )
    log.info("policy %s cancelled (%s deadlines, %s triggers)", policy_id, len(live), rungs)
    return Withdrawn(policy_id, already=False, deadlines=len(live), triggers=rungs)


def describe(sessions: SessionFactory, policy_id: int, *, zone: tzinfo) -> dict[str, Any]:
    """The policy as it stands, its deadlines and its revisions, for ``notifier policies show``.

    Raises:
        NotFoundError: no such policy.
    """
    with sessions() as session:
        return described(_policy(session, policy_id), zone)
