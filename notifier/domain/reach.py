"""Reach: how far one policy got with one firm, as one state that only moves forward.

The main road is targeted → sent → delivered → opened → confirmed → done. Side states:
unreachable (no working channel, every delivery failed, unsubscribed from everything, or a
staff call found the number wrong), question (the firm asked, or needs help) and not
applicable (the firm, or a call, said the policy is not for it).

Each state has a stage. The first stages (targeted, unreachable, sent, delivered) are read from
the deliveries, which decide among them (a receipt saying the only SMS failed makes a "sent"
firm unreachable). From ``opened`` on, the firm or staff acted: a state there is only ever
replaced by one of a higher stage, so nothing a firm did is undone by a late receipt, a second
press or a repeated beacon.
"""

from __future__ import annotations

import enum


class ReachState(enum.StrEnum):
    """One policy's reach of one firm."""

    TARGETED = "targeted"
    UNREACHABLE = "unreachable"
    SENT = "sent"
    DELIVERED = "delivered"
    OPENED = "opened"
    QUESTION = "question"
    CONFIRMED = "confirmed"
    NOT_APPLICABLE = "not_applicable"
    DONE = "done"


STAGES: dict[str, int] = {
    ReachState.TARGETED: 0,
    ReachState.UNREACHABLE: 0,
    ReachState.SENT: 1,
    ReachState.DELIVERED: 2,
    ReachState.OPENED: 3,
    ReachState.QUESTION: 4,
    ReachState.CONFIRMED: 5,
    ReachState.NOT_APPLICABLE: 6,
    ReachState.DONE: 7,
}
# States below this stage come from the deliveries; from it on, from what the firm or staff did.
ACTED = STAGES[ReachState.OPENED]
# The main road in order: the report's funnel, where a firm counts in each step it got to.
FUNNEL: tuple[ReachState, ...] = (
    ReachState.TARGETED,
    ReachState.SENT,
    ReachState.DELIVERED,
    ReachState.OPENED,
    ReachState.CONFIRMED,
    ReachState.DONE,
)
# The states beside the road, counted on their own.
SIDE: tuple[ReachState, ...] = (
    ReachState.UNREACHABLE,
    ReachState.NOT_APPLICABLE,
    ReachState.QUESTION,
)
# The order reports list the states in.
ORDER: tuple[ReachState, ...] = FUNNEL + SIDE
# Reaching one of these counts as the firm having taken the policy in (for "confirmed before
# the first deadline").
CONFIRMING = frozenset({ReachState.CONFIRMED, ReachState.DONE})


def stage(state: str) -> int:
    """The stage of a state (an unknown name is the lowest)."""
    return STAGES.get(state, 0)


def moves_to(current: str, new: str) -> bool:
    """Whether a firm in ``current`` takes ``new`` when the firm or staff act: only upward."""
    return stage(new) > stage(current)


class CallOutcome(enum.StrEnum):
    """What a staff member's call to a firm came to."""

    INFORMED = "informed"  # 已电话告知
    NO_ANSWER = "no_answer"  # 无人接听
    WRONG_NUMBER = "wrong_number"  # 号码错误
    NOT_APPLICABLE = "not_applicable"  # 不适用
    NEEDS_HELP = "needs_help"  # 需要帮助


# The state a call outcome moves the firm to (None: the firm stays where it is).
CALL_STATES: dict[str, ReachState | None] = {
    CallOutcome.INFORMED: ReachState.CONFIRMED,
    CallOutcome.NO_ANSWER: None,
    CallOutcome.WRONG_NUMBER: ReachState.UNREACHABLE,
    CallOutcome.NOT_APPLICABLE: ReachState.NOT_APPLICABLE,
    CallOutcome.NEEDS_HELP: ReachState.QUESTION,
}
# Outcomes that answer the firm's open question.
CALL_ANSWERS = frozenset({CallOutcome.INFORMED, CallOutcome.NOT_APPLICABLE})
# Chinese words a clerk types or picks, to the outcome.
CALL_WORDS: dict[str, CallOutcome] = {
    "已电话告知": CallOutcome.INFORMED,
    "无人接听": CallOutcome.NO_ANSWER,
    "号码错误": CallOutcome.WRONG_NUMBER,
    "不适用": CallOutcome.NOT_APPLICABLE,
    "需要帮助": CallOutcome.NEEDS_HELP,
}


def call_outcome(word: str) -> CallOutcome:
    """The outcome named by its code (``no_answer``) or its Chinese words (``无人接听``).

    Raises:
        ValueError: neither.
    """
    word = word.strip()
    if word in CALL_WORDS:
        return CALL_WORDS[word]
    try:
        return CallOutcome(word.lower())
    except ValueError:
        known = "、".join(CALL_WORDS)
        raise ValueError(f"outcome: 不认识“{word}”，可选：{known} / unknown call outcome") from None
