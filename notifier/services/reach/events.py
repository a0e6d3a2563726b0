"""What a firm does on its policy page, stored as ``reach_events``: the one place these rows
are written.

Each operation takes the firm and the policy its signed link names, stores the event at most
once (pressing 已知晓 twice keeps one ``confirmed``; a question is kept once per text, so a
double press stores one) and, for the buttons, writes the audit row in the same transaction
with the firm as the actor (``enterprise:<id>``, on the face of ``context``, ``page`` for the
link pages). A button press shows a person read the page, so it also stores ``opened`` (once);
otherwise ``opened`` comes only from the page's own beacon (:func:`record_opened`), which is
not audited: it is a view, not a decision.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from typing import Any

from sqlalchemy.orm import Session

from notifier.domain.reach import ReachState
from notifier.errors import InputError, NotFoundError
from notifier.inputs.firm_answers import Question
from notifier.services import audit
from notifier.services.context import Actor, Context
from notifier.services.deadlines.operations import record_done
from notifier.store import deadlines as deadline_store
from notifier.store import policies as policy_store
from notifier.store import reach as store
from notifier.store import reach_states
from notifier.store.models import Enterprise, ReachKind

log = logging.getLogger(__name__)
# A question's key keeps its first characters: the same text pressed twice is one question.
_QUESTION_KEY_LENGTH = 60


def _checked(session: Session, policy_id: int, enterprise_id: int) -> Enterprise:
    """The firm, once the policy and the firm are both there (and the policy not withdrawn).

    Raises:
        NotFoundError: either is gone, or the policy was withdrawn.
    """
    policy = policy_store.get(session, policy_id)
    if policy is None or policy.cancelled_at is not None:
        raise NotFoundError(f"policy {policy_id}: 没有这个政策 / no such policy", field="token")
    enterprise = session.get(Enterprise, enterprise_id)
    if enterprise is None:
        raise NotFoundError(f"enterprise {enterprise_id}: no such enterprise", field="token")
    return enterprise


def _as_firm(context: Context, enterprise_id: int) -> Context:
    actor = Actor(name=f"enterprise:{enterprise_id}", role="enterprise", face=context.actor.face)
    return replace(context, actor=actor)


# The reach state each kind of page event moves the firm to.
_MOVES_TO = {
    ReachKind.OPENED: ReachState.OPENED,
    ReachKind.CONFIRMED: ReachState.CONFIRMED,
    ReachKind.NOT_APPLICABLE: ReachState.NOT_APPLICABLE,
    ReachKind.QUESTION: ReachState.QUESTION,
    ReachKind.DONE: ReachState.DONE,
}


def _add(
    session: Session, context: Context, policy_id: int, enterprise_id: int,
    kind: ReachKind, key: str, detail: dict[str, Any],
) -> bool:
    """Store the event once and move the firm's reach state on; True when the event is new."""
    now = context.time_source.now()
    new = store.add_once(
        session, policy_id=policy_id, enterprise_id=enterprise_id, kind=kind, key=key,
        detail=detail, at=now,
    )  # fmt: skip
    if new:
        reach_states.advance(session, policy_id, enterprise_id, _MOVES_TO[kind], now=now)
        if kind == ReachKind.QUESTION:
            reach_states.set_question(session, policy_id, enterprise_id, open_=True, now=now)
    return new


def record_opened(context: Context, policy_id: int, enterprise_id: int) -> bool:
    """The page's beacon: a person's browser loaded the page and ran its script. Stored once
    per firm and policy; True when new.

    Raises:
        NotFoundError: the policy or the firm is gone, or the policy was withdrawn.
    """
    with context.sessions.begin() as session:
        _checked(session, policy_id, enterprise_id)
        return _add(session, context, policy_id, enterprise_id, ReachKind.OPENED, "opened", {})


def _pressed(
    context: Context, policy_id: int, enterprise_id: int, kind: ReachKind, key: str,
    detail: dict[str, Any],
) -> bool:
    """Store a button's event (and ``opened``) with its audit row; True when new."""
    with context.sessions.begin() as session:
        _checked(session, policy_id, enterprise_id)
        _add(session, context, policy_id, enterprise_id, ReachKind.OPENED, "opened", {})
        new = _add(session, context, policy_id, enterprise_id, kind, key, detail)
        if new:
            audit.record(
                session, _as_firm(context, enterprise_id), action=f"reach.{kind}",
                target_type="policy", target_id=policy_id,
                after={"enterprise_id": enterprise_id, **detail},
            )  # fmt: skip
    log.info("policy %s enterprise %s: %s (new: %s)", policy_id, enterprise_id, kind, new)
    return new


def confirm(context: Context, policy_id: int, enterprise_id: int) -> bool:
    """已知晓: the firm has read the policy. True when new.

    Raises:
        NotFoundError: see :func:`record_opened`.
    """
    return _pressed(context, policy_id, enterprise_id, ReachKind.CONFIRMED, "confirmed", {})


def not_applicable(context: Context, policy_id: int, enterprise_id: int, reason: str) -> bool:
    """与我无关, with the firm's reason ("" when it gave none). Kept once: the first reason
    stands. True when new.

    Raises:
        NotFoundError: see :func:`record_opened`.
    """
    detail = {"reason": reason} if reason else {}
    kind = ReachKind.NOT_APPLICABLE
    return _pressed(context, policy_id, enterprise_id, kind, "not_applicable", detail)


def ask(context: Context, policy_id: int, enterprise_id: int, question: Question) -> bool:
    """我有疑问: the firm's question and call-back number. True when new (the same text asked
    again is the one question).

    Raises:
        NotFoundError: see :func:`record_opened`.
    """
    detail: dict[str, Any] = {"question": question.text, "callback": question.callback}
    key = f"question:{question.text[:_QUESTION_KEY_LENGTH]}"
    return _pressed(context, policy_id, enterprise_id, ReachKind.QUESTION, key, detail)


def done(context: Context, policy_id: int, enterprise_id: int, deadline_id: int) -> bool:
    """已办理 for one of the policy's deadlines: the deadline done service's work (no more
    reminders to the firm, audited ``deadline.done`` as the firm) and the reach event, in one
    transaction. True when new.

    Raises:
        InputError: the deadline is not one of the policy's, or it was cancelled.
        NotFoundError: see :func:`record_opened`.
    """
    with context.sessions.begin() as session:
        enterprise = _checked(session, policy_id, enterprise_id)
        deadline = deadline_store.get(session, deadline_id)
        if deadline is None or deadline.policy_id != policy_id or deadline.cancelled_at:
            raise InputError(
                f"deadline: 不是这项政策的办理期限 / deadline {deadline_id} is not one of "
                f"policy {policy_id}'s",
                field="deadline",
            )
        _add(session, context, policy_id, enterprise_id, ReachKind.OPENED, "opened", {})
        record_done(session, _as_firm(context, enterprise_id), deadline_id, enterprise)
        detail = {"deadline_id": deadline_id, "title": deadline.title}
        key = f"done:{deadline_id}"
        new = _add(session, context, policy_id, enterprise_id, ReachKind.DONE, key, detail)
    log.info("policy %s enterprise %s: deadline %s done", policy_id, enterprise_id, deadline_id)
    return new
