"""The tags and topics of the register as choices: a policy or a campaign targets the values
firms have (each with its number of firms), or a new one typed (it reaches no one yet)."""

from __future__ import annotations

from dataclasses import dataclass

from notifier.store import labels
from notifier.store.db import SessionFactory


@dataclass(frozen=True)
class Choice:
    """One value firms have and how many firms have it."""

    value: str
    firms: int


@dataclass(frozen=True)
class LabelChoices:
    """The register's tags and topics, commonest first."""

    tags: list[Choice]
    topics: list[Choice]


def label_choices(sessions: SessionFactory) -> LabelChoices:
    """The tags and topics the register holds, with counts (two queries, one session)."""
    with sessions() as session:
        return LabelChoices(
            tags=[Choice(v, n) for v, n in labels.tag_counts(session)],
            topics=[Choice(v, n) for v, n in labels.topic_counts(session)],
        )
