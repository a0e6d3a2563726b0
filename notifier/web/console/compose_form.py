"""The compose form, shared by composing a policy and correcting one: reading it into a
policy file's JSON (several deadlines, each with a reminder ladder chosen from presets or
written; publish now or at a time), showing it again as it was sent or prefilled from a
policy, and a refusal worded with the field's Chinese name first. The audience part (its
reading, refill and pickers) is ``audience_form``'s, shared with the campaign form."""

from __future__ import annotations

import re
from datetime import datetime, tzinfo
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from starlette.datastructures import FormData

from notifier.domain.changes import FieldChange
from notifier.domain.ladder import ladder_words
from notifier.domain.records import GUIDE_FIELDS, PolicyDraft
from notifier.errors import ContentRefused, InputError
from notifier.inputs.policy_file import parse_policy
from notifier.web import i18n, words
from notifier.web.console.audience_form import (
    all_words,
    picker_choices,
    refilled,
    targets_data,
)
from notifier.web.console.context import Console
from notifier.web.console.session import ConsoleUser
from notifier.web.views import language_of

TEXT_FIELDS = (
    "ref", "title", "department", "summary", "body", "url", *GUIDE_FIELDS, "reach_ladder",
    "message_class",
)  # fmt: skip
LIST_FIELDS = ("topics",)
# The ladders a clerk picks from; "" is the deployment's ``reminders.ladder`` setting.
LADDER_PRESETS = ("5wd 2wd 0d", "3wd 1wd 0d", "7d 3d 1d", "1d 0d")
DEADLINE_ROWS, MORE_ROWS = 3, 3
MORE_FIELD = "more_deadlines"
# The deadline row's parts as the policy file names them, and their Chinese names.
_DEADLINE_PARTS = {"title": "名称", "due_at": "截止时间", "remind": "提醒", "remind_days": "提醒"}
# The catalogue's words for the content fields that are not form fields of their own.
_WORDS = {"targets": "policies.targets", "deadlines": "correct_form.deadlines"}
_DEADLINE_FIELD = re.compile(r"^deadlines\[(\d+)\]\.?(\w*)")


def ladder_label(t: i18n.Translator, ladder: str) -> str:
    """A ladder in words: ``5wd 2wd 0d`` is ``5 个工作日、2 个工作日、当天``."""

    def rung(word: str) -> str:
        count = int(re.sub(r"\D", "", word) or 0)
        if count == 0:
            return t("deadline_rows.rung_0")
        unit = "wd" if word.endswith("wd") else "d"
        return t(f"deadline_rows.rung_{unit}", n=count)

    return t("deadline_rows.and").join(rung(w) for w in ladder_words(ladder))


def deadline_rows(form: FormData) -> list[dict[str, str]]:
    """The form's deadline rows as sent (blank ones too, so the form shows them again)."""
    columns = {
        part: [str(v).strip() for v in form.getlist(f"deadline_{part}")]
        for part in ("title", "due", "ladder", "rungs")
    }
    count = max(len(values) for values in columns.values())
    return [
        {part: (values[i] if i < len(values) else "") for part, values in columns.items()}
        for i in range(count)
    ]


def _deadline(row: dict[str, str]) -> dict[str, Any]:
    deadline: dict[str, Any] = {"title": row["title"], "due_at": row["due"]}
    # A ladder written out wins over the picked preset.
    ladder = ladder_words(row["rungs"]) or ladder_words(row["ladder"])
    if ladder:
        deadline["remind"] = ladder
    return deadline


def policy_data(form: FormData) -> dict[str, Any]:
    """The compose form as a policy file's JSON object (the policy reader checks it)."""
    data: dict[str, Any] = {}
    for name in TEXT_FIELDS:
        value = str(form.get(name) or "").strip()
        if value:
            data[name] = value
    published_at = str(form.get("published_at") or "").strip()
    if published_at and form.get("publish_when") != "now":
        data["published_at"] = published_at
    for name in LIST_FIELDS:
        # The picker's boxes and the typed field share the name.
        if words := all_words(form, name):
            data[name] = words
    data["targets"] = targets_data(form)
    rows = [row for row in deadline_rows(form) if row["title"] or row["due"]]
    if rows:
        data["deadlines"] = [_deadline(row) for row in rows]
    return data


def draft_of(form: FormData, zone: tzinfo) -> PolicyDraft:
    """The compose form read as a policy.

    Raises:
        InputError: naming the first bad field.
    """
    return parse_policy(policy_data(form), zone=zone)


def _padded(rows: list[dict[str, str]], more: int = 0) -> list[dict[str, str]]:
    """The rows and blank ones after them: at least :data:`DEADLINE_ROWS`, ``more`` beyond."""
    filled = [row for row in rows if any(row.values())]
    blank = {"title": "", "due": "", "ladder": "", "rungs": ""}
    wanted = max(DEADLINE_ROWS, len(filled) + (more or 1))
    return filled + [dict(blank) for _ in range(wanted - len(filled))]


def refill(form: FormData) -> dict[str, Any]:
    """The posted fields, to show the form again as it was sent (the pickers' fields as
    lists of their words; the deadline rows, with more blank ones when asked)."""
    shown = refilled(form)
    more = MORE_ROWS if form.get(MORE_FIELD) else 0
    shown["deadlines"] = _padded(deadline_rows(form), more)
    return shown


def _moment(value: str | None, zone: tzinfo) -> str:
    """An ISO time as a ``datetime-local`` field's value (seconds only when it has them)."""
    if not value:
        return ""
    moment = datetime.fromisoformat(value).astimezone(zone).replace(tzinfo=None)
    return moment.isoformat(timespec="minutes" if moment.second == 0 else "seconds")


def audience_prefill(targets: dict[str, Any]) -> dict[str, Any]:
    """The audience fields of a form filled from a ``targets`` object (policy or campaign)."""
    return {
        "sectors": list(targets.get("sectors") or ()),
        "regions": list(targets.get("regions") or ()),
        "sizes": list(targets.get("sizes") or ()),
        "tags": list(targets.get("tags") or ()),
        "credit_codes": "\n".join(targets.get("credit_codes") or ()),
    }


def prefill(
    data: dict[str, Any], zone: tzinfo, t: i18n.Translator, *, published: bool
) -> dict[str, Any]:
    """The form filled from a policy file's JSON object (``policy_page.policy_file_data``).

    A policy already published keeps its time: the form then does not send one."""
    form: dict[str, Any] = {k: data.get(k) or "" for k in TEXT_FIELDS}
    # In words the form reads back (blank: the setting's default).
    ladder = data.get("reach_ladder")
    form["reach_ladder"] = "" if ladder is None else words.reach_ladder(t, ladder)
    form["topics"] = list(data.get("topics") or ())
    form.update(audience_prefill(data.get("targets") or {}))
    if published:
        form["published_locked"] = _moment(data.get("published_at"), zone).replace("T", " ")
    else:
        form["publish_when"] = "at"
        form["published_at"] = _moment(data.get("published_at"), zone)
    rows = []
    for deadline in data.get("deadlines") or ():
        ladder = " ".join(deadline.get("remind") or ())
        preset = ladder in LADDER_PRESETS
        rows.append({
            "title": deadline["title"],
            "due": _moment(deadline["due_at"], zone),
            "ladder": ladder if preset else "",
            # A ladder of its own, in words (5个工作日、3天), as a clerk would write it.
            "rungs": "" if preset or not ladder else ladder_label(t, ladder),
        })  # fmt: skip
    form["deadlines"] = _padded(rows)
    return form


def refusal(exc: Exception) -> str:
    """The error with its field's Chinese name first (``截止时间（第 2 个期限）：…``)."""
    field = getattr(exc, "field", None)
    if isinstance(exc, InputError) and field and (match := _DEADLINE_FIELD.match(field)):
        part = _DEADLINE_PARTS.get(match.group(2), "")
        return f"第 {int(match.group(1)) + 1} 个期限的{part}：{exc}"
    return words.refusal(exc)


def compared(
    changes: list[FieldChange], zone: tzinfo, t: i18n.Translator
) -> list[dict[str, str]]:
    """The changed fields as rows of the side-by-side view: name, before, after."""
    return [
        {"field": c.field, "word": _WORDS.get(c.field, f"field.{c.field}"),
         "before": _side(c.field, c.before, zone, t), "after": _side(c.field, c.after, zone, t)}
        for c in changes
    ]  # fmt: skip


def _side(field: str, value: Any, zone: tzinfo, t: i18n.Translator) -> str:
    """A content value (``store.policies.content``) as text for the side-by-side view."""
    if field == "message_class":  # left out of the content for a notice
        return words.message_class(t, value)
    if value in (None, "", [], {}):
        return "—"
    if field == "published_at":
        return _moment(value, zone).replace("T", " ")
    if field == "deadlines":
        default = t("deadline_rows.default")
        return "\n".join(
            f"{d['title']}: {_moment(d['due_at'], zone).replace('T', ' ')}"
            f" ({ladder_label(t, ' '.join(d['remind'])) if d.get('remind') else default})"
            for d in value
        )
    if field == "targets":
        return "\n".join(
            f"{t('field.' + k) if t.has('field.' + k) else k}: {', '.join(map(str, v))}"
            for k, v in value.items()
            if v
        ) or "—"
    return str(value)


def content_findings(request: Request, exc: Exception) -> list[dict[str, Any]]:
    """A content refusal's findings in the page's language (each ``text`` and whether it
    ``refuses``); none for another error."""
    if not isinstance(exc, ContentRefused):
        return []
    t = i18n.translator(language_of(request))
    return [{"text": words.finding(t, f), "refuses": f["refuses"]} for f in exc.findings]


def compose_page(
    request: Request,
    user: ConsoleUser,
    console: Console,
    *,
    form: dict[str, Any],
    status_code: int = 200,
    **extra: Any,
) -> HTMLResponse:
    """The compose form with its pickers (``extra``: the error, the zero-reach box, and for a
    correction the policy, the changes shown and their token)."""
    t = i18n.translator(language_of(request))
    shown = {"error": None, "confirm": False, "correcting": None, "changes": None,
             "review_token": None, "findings": [], **extra}  # fmt: skip
    return console.page(
        request,
        "console/compose.html",
        user,
        status_code=status_code,
        form={"deadlines": _padded([]), **form},
        **picker_choices(console.runtime, form, topics=True, scope=user.scope),
        ladders=[(ladder, ladder_label(t, ladder)) for ladder in LADDER_PRESETS],
        **shown,
    )
