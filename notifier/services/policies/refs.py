"""编号 for a policy published without one, so that every policy can be corrected.

A policy file without ``ref`` is identified by its content (the reader's ``sha:`` key). When it
is first stored it gets the ref ``P-YYYYMMDD-xxxxxxxxxx``: the day it was published (deployment
zone) and the first ten hex digits of that content key. Publishing the same content again finds
it by those digits, whatever the day, so a repeat still sends nothing new.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, tzinfo

from sqlalchemy.orm import Session

from notifier.domain.records import PolicyDraft
from notifier.store import policies
from notifier.store.models import Policy

_CONTENT = "sha:"
_GENERATED = "ref:P-"
_DIGITS = 10


def has_generated_ref(draft: PolicyDraft) -> bool:
    """Whether the draft came without a ref (it is identified by its content)."""
    return draft.source_key.startswith(_CONTENT)


def find_same(session: Session, draft: PolicyDraft) -> Policy | None:
    """The policy stored earlier from this draft: by its ref, by its content key (policies
    stored before refs were generated), or by the content digits of a generated ref."""
    found = policies.get_by_source_key(session, draft.source_key)
    if found is None and has_generated_ref(draft):
        digest = draft.source_key.removeprefix(_CONTENT)[:_DIGITS]
        found = policies.get_by_key_suffix(session, _GENERATED, f"-{digest}")
    return found


def with_generated_ref(draft: PolicyDraft, now: datetime, zone: tzinfo) -> PolicyDraft:
    """The draft keyed by a generated ref when it has none (unchanged otherwise)."""
    if not has_generated_ref(draft):
        return draft
    day = (draft.published_at or now).astimezone(zone)
    digest = draft.source_key.removeprefix(_CONTENT)[:_DIGITS]
    return replace(draft, source_key=f"{_GENERATED}{day:%Y%m%d}-{digest}")
