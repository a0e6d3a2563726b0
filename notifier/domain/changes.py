"""What a revision of a policy changed: field by field, and its deadlines matched by title.

A policy's content is a plain dict (``store.policies.content``); this module compares two of
them. Deadlines are matched by title, not by position, so a file that reorders them or adds
one in the middle moves nothing it did not mean to; deadlines of the same title are paired in
their order.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

# The content fields, in the order people read them, with the words a message uses.
FIELD_LABELS: Mapping[str, str] = {
    "title": "标题",
    "department": "发布部门",
    "summary": "摘要",
    "body": "正文",
    "url": "全文链接",
    "targets": "适用对象",
    "published_at": "发布时间",
    "deadlines": "截止时间",
    "eligibility": "申报条件",
    "materials": "所需材料",
    "office_address": "受理地址",
    "apply_url": "网上办理链接",
    "enquiry_phone": "咨询电话",
    "reach_ladder": "再次发送",
    "message_class": "消息类型",
}


def changed_fields(before: Mapping[str, Any], after: Mapping[str, Any]) -> list[str]:
    """The content fields whose values differ, in :data:`FIELD_LABELS` order."""
    return [name for name in FIELD_LABELS if before.get(name) != after.get(name)]


@dataclass(frozen=True)
class Pairing:
    """Old and new deadlines matched by title: index pairs, and the unmatched on each side."""

    kept: list[tuple[int, int]]
    removed: list[int]
    added: list[int]


def pair_by_title(old_titles: Sequence[str], new_titles: Sequence[str]) -> Pairing:
    """Match old deadlines to new ones by title (the n-th of a title to the n-th)."""
    waiting: dict[str, list[int]] = {}
    for index, title in enumerate(old_titles):
        waiting.setdefault(title, []).append(index)
    kept, added = [], []
    for index, title in enumerate(new_titles):
        same = waiting.get(title)
        if same:
            kept.append((same.pop(0), index))
        else:
            added.append(index)
    removed = sorted(index for rest in waiting.values() for index in rest)
    return Pairing(kept=kept, removed=removed, added=added)


@dataclass(frozen=True)
class FieldChange:
    """One changed field, its value before and after (content values, as stored)."""

    field: str
    label: str
    before: Any
    after: Any


def side_by_side(before: Mapping[str, Any], after: Mapping[str, Any]) -> list[FieldChange]:
    """The changed fields with both values, in :data:`FIELD_LABELS` order."""
    return [
        FieldChange(name, FIELD_LABELS[name], before.get(name), after.get(name))
        for name in changed_fields(before, after)
    ]
