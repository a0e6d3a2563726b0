"""Read a policy to publish (the JSON file given to ``notifier policies publish``, the API's and
the console's policy body): JSON → :class:`~notifier.inputs.policy.PolicyFile` → a
:class:`~notifier.domain.records.PolicyDraft`.

Strict on purpose: an unknown key, a list over its maximum, a control character or a date out
of range is one :class:`~notifier.errors.InputError` naming the field, never a traceback and
never a policy that reaches the wrong enterprises.
"""

from __future__ import annotations

import hashlib
import json
from datetime import date, datetime, time, tzinfo
from typing import Any

from notifier.domain.plaintext import shown
from notifier.domain.records import GUIDE_FIELDS, DeadlineDraft, PolicyDraft, PolicyGuide
from notifier.domain.targets import Targets
from notifier.errors import InputError
from notifier.inputs.json_file import MAX_FILE_BYTES, read_json_file
from notifier.inputs.policy import (
    MAX_CREDIT_CODES,
    MAX_REMIND_DAYS,
    MAX_TAG_LENGTH,
    MAX_TOPIC_LENGTH,
    MAX_TOPICS,
    DeadlineIn,
    PolicyFile,
    TargetsIn,
)
from notifier.inputs.strict import validate

__all__ = [
    "DEADLINE_KEYS", "KEYS", "MAX_CREDIT_CODES", "MAX_FILE_BYTES", "MAX_REMIND_DAYS",
    "MAX_TAG_LENGTH", "MAX_TOPICS", "MAX_TOPIC_LENGTH", "TARGET_KEYS", "parse_policy",
    "read_due_at", "read_policy_file", "read_time", "targets_of",
]  # fmt: skip

KEYS = tuple(PolicyFile.model_fields)
TARGET_KEYS = tuple(TargetsIn.model_fields)
DEADLINE_KEYS = tuple(DeadlineIn.model_fields)
EARLIEST_YEAR, LATEST_YEAR = 2000, 2100


def read_time(value: str, field: str, zone: tzinfo, *, end_of_day: bool = False) -> datetime:
    """A date-time, or a date alone (its start, or with ``end_of_day`` its last second);
    without a zone it is read in ``zone``.

    Raises:
        InputError: naming ``field``: not ISO 8601, or a year out of range.
    """
    text = value.strip()
    try:
        day = date.fromisoformat(text)
    except ValueError:
        day = None
    try:
        moment = datetime.fromisoformat(text) if day is None else None
    except ValueError:
        raise InputError(
            f"{field}: '{shown(value)}' is not an ISO 8601 date or date-time", field=field
        ) from None
    year = day.year if day else moment.year  # type: ignore[union-attr]
    # Beyond these a conversion to UTC can overflow (year 1, year 9999); none is meant.
    if not EARLIEST_YEAR <= year <= LATEST_YEAR:
        raise InputError(
            f"{field}: year {year} is out of range; dates must be between "
            f"{EARLIEST_YEAR} and {LATEST_YEAR}",
            field=field,
        )
    if day is not None:
        return datetime.combine(day, time(23, 59, 59) if end_of_day else time(), tzinfo=zone)
    assert moment is not None
    return moment if moment.tzinfo else moment.replace(tzinfo=zone)


def read_due_at(text: str, *, zone: tzinfo) -> datetime:
    """A due time as ``deadlines[i].due_at`` reads it (a date alone: the end of that day).

    Raises:
        InputError: not an ISO 8601 date or date-time, or a year out of range.
    """
    if not isinstance(text, str):
        raise InputError("due_at: must be an ISO 8601 date or date-time string", field="due_at")
    return read_time(text, "due_at", zone, end_of_day=True)


def targets_of(given: TargetsIn, *, topics: tuple[str, ...] = ()) -> Targets:
    """The neutral targets of a file's ``targets`` (and a policy's topics)."""
    return Targets(topics=topics, **{name: getattr(given, name) for name in TARGET_KEYS})


def _source_key(data: dict[str, Any], policy: PolicyFile) -> str:
    if policy.ref:
        return f"ref:{policy.ref}"
    # The body as given (validated already), so a policy keeps the key it always had.
    digest = hashlib.sha256(
        json.dumps(
            [policy.department, policy.title, policy.url or None, data.get("body", "")],
            ensure_ascii=False,
        ).encode()
    ).hexdigest()
    return f"sha:{digest[:40]}"


def _deadlines(policy: PolicyFile, zone: tzinfo) -> tuple[DeadlineDraft, ...]:
    return tuple(
        DeadlineDraft(
            title=deadline.title,
            due_at=read_time(deadline.due_at, f"deadlines[{index}].due_at", zone, end_of_day=True),
            remind=deadline.ladder(),
        )
        for index, deadline in enumerate(policy.deadlines)
    )


def parse_policy(data: Any, *, zone: tzinfo) -> PolicyDraft:
    """Validate a policy given as decoded JSON.

    Raises:
        InputError: naming the first bad field and the problem.
    """
    policy = validate(PolicyFile, data, what="the policy")
    published = policy.published_at
    return PolicyDraft(
        source_key=_source_key(data, policy),
        title=policy.title,
        department=policy.department,
        summary=policy.summary,
        body=policy.body,
        url=policy.url or None,
        targets=targets_of(policy.targets, topics=policy.topics),
        published_at=None if published is None else read_time(published, "published_at", zone),
        deadlines=_deadlines(policy, zone),
        guide=PolicyGuide(**{name: getattr(policy, name) or None for name in GUIDE_FIELDS}),
        reach_ladder=policy.reach_ladder,
        message_class=policy.message_class,
    )


def read_policy_file(content: bytes, *, zone: tzinfo) -> PolicyDraft:
    """Parse and validate a policy JSON file's bytes (UTF-8, a BOM from Notepad allowed).

    Raises:
        InputError: too large, not UTF-8, not JSON (repeated keys, NaN, absurd numbers or
            nesting included), or a bad field.
    """
    return parse_policy(read_json_file(content), zone=zone)
