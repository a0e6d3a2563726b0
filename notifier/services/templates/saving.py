"""Saving a stored template's next version, with its audit row, for every face."""

from __future__ import annotations

from dataclasses import dataclass

from notifier.services import audit
from notifier.services.context import Context
from notifier.store import templates as store
from notifier.store.templates import StoredTemplate


@dataclass(frozen=True)
class TemplateDraft:
    """A template text as a face read it (newlines already plain ``\\n``)."""

    name: str
    channel: str
    body: str
    subject: str | None = None
    html: str | None = None
    author: str | None = None


@dataclass(frozen=True)
class SavedTemplate:
    """The version now newest, and whether this save made it (the same text saves nothing)."""

    template: StoredTemplate
    changed: bool


def save_template(context: Context, draft: TemplateDraft) -> SavedTemplate:
    """Check ``draft`` and store it as the next version of its name and channel; a new version
    is audited ``template.save`` in the same transaction.

    Raises:
        TemplateError: naming the field and the problem; nothing is stored.
    """
    zone = context.settings.zone
    with context.sessions.begin() as session:
        before = store.current(session, draft.name, draft.channel)
        saved = store.save(
            session, draft.name, draft.channel, draft.body,
            subject=draft.subject, html=draft.html, author=draft.author,
        )  # fmt: skip
        changed = before is None or before.version != saved.version
        if changed:
            audit.record(
                session, context, action="template.save", target_type="template",
                target_id=f"{saved.name}/{saved.channel}",
                before=before.as_dict(zone) if before else None, after=saved.as_dict(zone),
            )  # fmt: skip
    return SavedTemplate(template=saved, changed=changed)
