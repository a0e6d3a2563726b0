"""The console's words for the values the code stores: statuses, audit actions, triggers,
reminder rungs and why a firm was reached, in the page's language.

The store keeps stable English codes (``sent``, ``policy.publish``, ``policy_published:3``,
``5wd``, ``{"sector": "C3670"}``); a clerk reads them here, through the catalogue's
``words.*`` keys, as ``已发送``, ``发布政策``, ``政策发布 · 政策 #3``, ``截止前 5 个工作日`` and
a sentence. A code the catalogue lacks is shown as stored rather than failing the page.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from jinja2 import pass_context
from jinja2.runtime import Context as JinjaContext

from notifier.domain.channel_names import CHANNELS
from notifier.domain.sectors import sector_name
from notifier.errors import InputError
from notifier.services.policies.preview import shown_values
from notifier.web.i18n import ZH, Translator, translator

_RUNG = re.compile(r"^(\d+)(wd|d)$")


def _word(t: Translator, key: str, fallback: str) -> str:
    return t(key) if t.has(key) else fallback


def status(t: Translator, value: str | None) -> str:
    """A delivery's (or an attempt's) status word."""
    return _word(t, f"status.{value}", value or "")


def action(t: Translator, value: str) -> str:
    """An audit row's action (``policy.publish`` -> ``发布政策``)."""
    return _word(t, f"words.action.{value}", value)


def target(t: Translator, kind: str | None, ident: str | None) -> str:
    """An audit row's target (``policy``, ``3`` -> ``政策 3``)."""
    name = _word(t, f"words.target.{kind}", kind or "")
    return f"{name} {ident or ''}".strip()


def rung(t: Translator, code: str) -> str:
    """A reminder rung (``5wd`` -> ``截止前 5 个工作日``, ``0d`` -> ``当天``)."""
    match = _RUNG.match(code or "")
    if match is None:
        return code
    count, unit = int(match.group(1)), match.group(2)
    if count == 0:
        return t("words.rung.same_day")
    return t("words.rung.working_days" if unit == "wd" else "words.rung.days", n=count)


def trigger(t: Translator, key: str) -> str:
    """What set a delivery going, from its trigger's key (``policy_published:3`` ->
    ``政策发布 · 政策 #3``; a reminder names its rung, a correction its revision)."""
    kind, _, rest = (key or "").partition(":")
    parts = rest.split(":")
    word = _word(t, f"words.trigger.{kind}", kind)
    if kind == "campaign":
        word = t("words.trigger.campaign_run")
    if not rest:
        return word
    if kind == "policy_published":
        return f"{word} · {t('words.trigger.policy', id=parts[0])}"
    if kind == "policy_corrected" and len(parts) >= 2:
        return f"{word} · {t('words.trigger.policy', id=parts[0])} · " + t(
            "words.trigger.revision", n=parts[1]
        )
    if kind == "policy_resent" and len(parts) >= 3:
        return (
            f"{word} · {t('words.trigger.policy', id=parts[0])} · "
            + t("reach_ladder.rung", n=parts[1])
            + f" · {_word(t, f'channel.{parts[2]}', parts[2])}"
        )
    if kind == "deadline_reminder" and len(parts) >= 2:
        return f"{word} · {t('words.trigger.deadline', id=parts[0])} · {rung(t, parts[1])}"
    if kind == "campaign":
        return f"{word} · {t('words.trigger.campaign', id=parts[0])}"
    return word


def trigger_kind(t: Translator, kind: str) -> str:
    """A trigger kind alone (``deadline_reminder`` -> ``办理期限提醒``)."""
    return _word(t, f"words.trigger.{kind}", kind)


def _listed(t: Translator, value: Any) -> str:
    if isinstance(value, list | tuple):
        return t("words.why.list_separator").join(str(v) for v in value)
    return str(value)


def why(t: Translator, reason: Mapping[str, Any] | None) -> str:
    """Why a firm was reached, as one sentence (``{"sector": "C3670", "size": "small"}`` ->
    ``行业 C3670（…）相符；规模为小型``)."""
    parts: list[str] = []
    for key, value in (reason or {}).items():
        if key == "sector":
            # The catalogue's names are Chinese only: shown on the Chinese page.
            name = sector_name(str(value)) if value and t.language == ZH else None
            shown = f"{value}（{name}）" if name else str(value)
            parts.append(t("words.why.sector", value=shown))
        elif key == "size":
            parts.append(t("words.why.size", value=_word(t, f"size.{value}", str(value))))
        elif key in ("region", "tags", "topics"):
            parts.append(t(f"words.why.{key}", value=_listed(t, value)))
        elif t.has(f"words.why.{key}"):
            parts.append(t(f"words.why.{key}"))
        else:
            parts.append(f"{key}: {_listed(t, value)}")
    return t("words.why.separator").join(parts)


def refusal(exc: Exception) -> str:
    """An input error with its field's Chinese name first (``咨询电话：enquiry_phone: …``);
    other errors, and fields the catalogue does not name, as they are."""
    field = getattr(exc, "field", None)
    if not isinstance(exc, InputError) or not field:
        return str(exc)
    zh = translator(ZH)
    name = field.rsplit(".", 1)[-1]
    return f"{zh('field.' + name)}：{exc}" if zh.has(f"field.{name}") else str(exc)


def notice(t: Translator, code: str, values: Mapping[str, Any]) -> str:
    """A preview's warning (``unmatched`` sectors ``C99``) in ``t``'s language; the values
    (codes typed, a rendering's error) are shown as they are."""
    if code == "unmatched":
        field = str(values["field"])
        return t(
            "words.preview.unmatched",
            field=_word(t, f"field.{field}", field),
            values=shown_values([str(v) for v in values["values"]]),
        )
    if code == "cannot_render":
        channel = str(values["channel"])
        return t(
            "words.preview.cannot_render",
            channel=_word(t, f"channel.{channel}", channel),
            error=values["error"],
        )
    return t(f"words.preview.{code}", **values)


def reach_ladder(t: Translator, days: list[int] | None) -> str:
    """A policy's reach ladder (``[2, 5]`` -> ``2个工作日、5个工作日``; ``[]`` -> ``不再发送``;
    None -> the setting's default). Written so the compose form reads it back."""
    if days is None:
        return t("reach_ladder.default")
    if not days:
        return t("reach_ladder.none")
    return t("deadline_rows.and").join(t("reach_ladder.rung", n=n) for n in days)


def _with_translator(function: Any) -> Any:
    @pass_context
    def filter_(context: JinjaContext, value: Any, *args: Any) -> str:
        result: str = function(context["t"], value, *args)
        return result

    filter_.__doc__ = function.__doc__
    return filter_


FILTERS = {
    "status_word": _with_translator(status),
    "action_word": _with_translator(action),
    "rung_word": _with_translator(rung),
    "trigger_word": _with_translator(trigger),
    "trigger_kind_word": _with_translator(trigger_kind),
    "why_word": _with_translator(why),
    "target_word": _with_translator(target),
    "reach_ladder_words": _with_translator(reach_ladder),
}


def finding(t: Translator, found: Mapping[str, Any]) -> str:
    """A content rules' finding (``Finding.as_dict()``) in ``t``'s language: the place as the
    form names it, the word, and where it is."""
    place = str(found["place"])
    channel, dot, part = place.partition(".")
    if channel in CHANNELS:  # a channel's message: 短信, 邮件.subject
        place = _word(t, f"channel.{channel}", channel) + dot + part
    else:
        place = _word(t, f"field.{place}", place)
    offset = found.get("offset")
    at = "" if offset is None else t("words.content.at", n=offset + 1, excerpt=found["excerpt"])
    word = str(found["word"])
    if found["code"] == "empty_variable":
        word = "{{ " + word + " }}"
    return t(
        f"words.content.{found['code']}", place=place, word=word, at=at,
        detail=found.get("detail", ""),
    )  # fmt: skip


def message_class(t: Translator, value: str | None) -> str:
    """A message class in ``t``'s language: 通知 or 营销."""
    return _word(t, f"message_class.{value or 'notice'}", value or "")
