"""A staff member's call to a firm about a policy: kept with the firm's other events, audited,
and moving the firm's reach state as its outcome says.

已电话告知 (informed) makes the firm confirmed and answers its question; 不适用 makes it not
applicable (and answers it); 需要帮助 keeps it on the follow-up list as a question; 号码错误
makes a firm that has not acted unreachable (what was sent to the wrong number no longer
counts) until a message goes out again; 无人接听 changes nothing but is kept as an attempt.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from notifier.domain.reach import CALL_ANSWERS, CALL_STATES, CallOutcome, ReachState
from notifier.errors import InputError, NotFoundError
from notifier.services import audit
from notifier.services.context import Context
from notifier.store import enterprises as enterprise_store
from notifier.store import policies as policy_store
from notifier.store import reach as events
from notifier.store import reach_states
from notifier.store.models import ReachKind

# A call's note is kept to this many characters.
NOTE_LIMIT = 500


@dataclass(frozen=True)
class CallLogged:
    """A logged call and the firm's reach state after it."""

    policy_id: int
    enterprise_id: int
    outcome: CallOutcome
    state: str
    question_open: bool


def log_call(
    context: Context, policy_id: int, enterprise_id: int, outcome: CallOutcome, note: str = ""
) -> CallLogged:
    """Keep a call's outcome and note, move the firm's reach state, audit it (``reach.call``).

    Raises:
        NotFoundError: no such policy, or no such firm in the actor's scope.
        InputError: the note is longer than :data:`NOTE_LIMIT` characters.
    """
    note = note.strip()
    if len(note) > NOTE_LIMIT:
        raise InputError(
            f"note: 备注最多 {NOTE_LIMIT} 字 / at most {NOTE_LIMIT} characters", field="note"
        )
    now = context.time_source.now()
    with context.sessions.begin() as session:
        if policy_store.get(session, policy_id) is None:
            raise NotFoundError(
                f"policy {policy_id}: 没有这个政策 / no such policy", field="policy"
            )
        if enterprise_store.get_full_by_id(session, enterprise_id, scope=context.scope) is None:
            raise NotFoundError(
                f"enterprise {enterprise_id}: 没有这家企业 / no such firm", field="enterprise"
            )
        detail = {
            "outcome": outcome.value,
            "note": note,
            "by": context.actor.owner or context.actor.name,
        }
        events.add_once(
            session, policy_id=policy_id, enterprise_id=enterprise_id, kind=ReachKind.CALL,
            key=f"call:{uuid.uuid4().hex}", detail=detail, at=now,
        )  # fmt: skip
        state = CALL_STATES[outcome]
        if outcome == CallOutcome.WRONG_NUMBER:
            reach_states.number_wrong(session, policy_id, enterprise_id, now=now)
        elif state is not None:
            reach_states.advance(session, policy_id, enterprise_id, state, now=now)
        if outcome in CALL_ANSWERS:
            reach_states.set_question(session, policy_id, enterprise_id, open_=False, now=now)
        elif state == ReachState.QUESTION:
            reach_states.set_question(session, policy_id, enterprise_id, open_=True, now=now)
        audit.record(
            session, context, action="reach.call", target_type="policy", target_id=policy_id,
            after={"enterprise_id": enterprise_id, **detail},
        )  # fmt: skip
        row = reach_states.get(session, policy_id, enterprise_id)
        assert row is not None  # made by the moves above
        return CallLogged(policy_id, enterprise_id, outcome, row.state, row.question_open)
