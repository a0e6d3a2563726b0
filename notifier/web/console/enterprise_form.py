"""The form that edits one enterprise on its console page: what it shows (the enterprise as
stored) and what it sends to ``services.enterprises.saving.save_enterprise`` (one register
row, checked as an import row is, audited ``enterprise.update``)."""

from __future__ import annotations

import re
from typing import Any

from starlette.datastructures import FormData

from notifier.domain.channel_names import CHANNELS, EMAIL, SMS, WEBHOOK
from notifier.errors import InputError
from notifier.inputs.enterprise_csv import FIELD_WORDS
from notifier.store.models import Enterprise

# The form's text fields, in the order it shows them (channels are boxes).
TEXT_FIELDS: tuple[str, ...] = (
    "name", "region", "size", "sectors", "tags", "topics", "phone", "email", "webhook_url",
)  # fmt: skip
LIST_FIELDS = frozenset({"sectors", "tags", "topics"})
_CONTACT_FIELD = {SMS: "phone", EMAIL: "email", WEBHOOK: "webhook_url"}
# A clerk separates list items as a Chinese text would: 、，, or a new line, as well as ；;
_SEPARATORS = re.compile(r"[、，,；;\r\n]+")
# At most this many characters of a field are kept (the register's own limits are checked).
_MAX_CHARS = 2000


def shown(enterprise: Enterprise) -> dict[str, Any]:
    """The form filled with the enterprise as stored (its sectors, tags, topics, contacts and
    subscriptions loaded)."""
    contacts = {c.channel: c.address for c in enterprise.contacts}
    subscribed = [
        s.channel for s in enterprise.subscriptions if s.subscribed and s.channel in CHANNELS
    ]
    return {
        "name": enterprise.name,
        "region": enterprise.region,
        "size": enterprise.size,
        "sectors": "；".join(s.code for s in enterprise.sectors),
        "tags": "；".join(t.tag for t in enterprise.tags),
        "topics": "；".join(t.topic for t in enterprise.topics),
        **{field: contacts.get(channel, "") for channel, field in _CONTACT_FIELD.items()},
        "channels": subscribed,
    }


def sent(form: FormData) -> dict[str, Any]:
    """The form as posted, to show again on a refusal (nothing lost)."""
    kept: dict[str, Any] = {}
    for field in TEXT_FIELDS:
        value = form.get(field)
        kept[field] = value[:_MAX_CHARS] if isinstance(value, str) else ""
    kept["channels"] = [c for c in form.getlist("channels") if c in CHANNELS]
    return kept


def values_of(credit_code: str, kept: dict[str, Any]) -> dict[str, Any]:
    """The enterprise object ``save_enterprise`` takes (as the API's body: lists for the
    multi-valued fields, None for an empty contact)."""
    values: dict[str, Any] = {"credit_code": credit_code}
    for field in TEXT_FIELDS:
        text = str(kept.get(field) or "").strip()
        if field in LIST_FIELDS:
            values[field] = [item.strip() for item in _SEPARATORS.split(text) if item.strip()]
        else:
            values[field] = text or None
    values["channels"] = list(kept.get("channels") or [])
    return values


def refusal(exc: InputError) -> str:
    """The refusal with the field's Chinese name first (``联系电话：phone: …``)."""
    field = exc.field or ""
    word = FIELD_WORDS.get(field)
    return f"{word}：{exc}" if word else str(exc)
