"""Templates staff write for campaigns: checked when saved, rendered like file templates.

A stored template is strings, not files: ``body`` (the SMS text, the email's plain text or the
webhook's text), and for email ``subject`` and an optional ``html``. They are compiled in the
same bounded sandbox as the shipped templates (:mod:`notifier.rendering.messages`), with no loader,
so
they cannot include or extend anything. On save every part must parse, read only the
documented variables (:mod:`notifier.rendering.variables`) and render the sample values within
the size and time limits.
"""

from __future__ import annotations

import contextlib
import difflib
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from functools import cache, lru_cache
from typing import Any, Protocol

import jinja2
from jinja2 import meta, nodes

from notifier.domain.channel_names import CHANNELS, EMAIL, SMS
from notifier.domain.plaintext import first_control_character
from notifier.errors import TemplateError
from notifier.rendering.messages import (
    MessageParts,
    Rendered,
    compile_template,
    parse_template,
    render_parts,
)
from notifier.rendering.sandbox import DEFAULT_MAX_CHARS, DEFAULT_MAX_SECONDS, BoundedSandbox
from notifier.rendering.sms_format import SmsFormat
from notifier.rendering.variables import (
    VARIABLES,
    filled_context,
    objects,
    sample_context,
    top_names,
)

FIELD_LABELS = {"body": "正文 body", "subject": "主题 subject", "html": "网页版 html"}


class TemplateSource(Protocol):
    """What a stored template gives for rendering (``store.templates.StoredTemplate`` is one)."""

    @property
    def name(self) -> str: ...
    @property
    def channel(self) -> str: ...
    @property
    def body(self) -> str: ...
    @property
    def subject(self) -> str | None: ...
    @property
    def html(self) -> str | None: ...


def _file_names(name: str, channel: str) -> dict[str, str]:
    # Named like the shipped files, so errors read alike and ``.html`` turns on escaping.
    return {"body": f"{name}/{channel}.txt", "subject": f"{name}/email_subject.txt",
            "html": f"{name}/email.html"}


def validate_campaign_template(
    channel: str, body: str, subject: str | None = None, html: str | None = None, *,
    name: str = "template",
) -> None:
    """Refuse a template that could not be sent as it is.

    Parameters:
        channel: sms, email or webhook.
        body: the text; subject (required) and html (optional) are for email only.
        name: the template's name, for the messages.

    Raises:
        TemplateError: naming the field and the problem: an unknown channel, an empty part, a
            syntax error (with its line), an undocumented variable (with a suggestion), or a
            part that fails or runs over the limits with the sample values.
    """
    parts = _checked_parts(channel, body, subject, html)
    names = _file_names(name, channel)
    for field, source in parts.items():
        with _naming(field):
            _refuse_unknown_variables(
                parse_template(source, name=names[field]), name=names[field]
            )
    sample = _Source(name, channel, body, parts.get("subject"), parts.get("html"))
    try:
        for optional_missing in (False, True):
            render_stored(sample, sample_context(optional_missing=optional_missing))
    except TemplateError as exc:
        raise TemplateError(f"示例渲染失败 rendering the sample values failed: {exc}",
                            field=getattr(exc, "field", None)) from None
    _try_adversarial_values(sample, parts)


ADVERSARIAL_SECONDS = 3.0  # all the adversarial renders of one save, together
_LONG_VALUE = "长" * 500
_MAX_COMPARED = 16


def _try_adversarial_values(sample: _Source, parts: Mapping[str, str]) -> None:
    """Render with values a real firm may have, not only the examples (see ``filled_context``).

    The sandbox refuses an over-large value wherever it is built, so a guarded branch that the
    examples do not reach is caught here when one of these values reaches it; a branch no value
    reaches is still stopped at render time, for that one message.

    Raises:
        TemplateError: naming the value that made the template fail.
    """
    deadline = time.monotonic() + ADVERSARIAL_SECONDS
    for value in ("测", _LONG_VALUE, *_compared_strings(parts.values())):
        left = deadline - time.monotonic()
        if left <= 0:
            return
        try:
            render_stored(sample, filled_context(value), max_seconds=min(left, 1.0),
                          count_sms=False)
        except TemplateError as exc:
            shown = value if len(value) <= 20 else f"{value[:20]}…"
            raise TemplateError(
                f"以测试值“{shown}”渲染失败 rendering with the test value '{shown}' failed: "
                f"{exc}", field=getattr(exc, "field", None),
            ) from None


def _compared_strings(sources: Iterator[str] | Any) -> list[str]:
    """The strings a template's text holds (what its ``==`` and ``in`` tests compare against)."""
    found: list[str] = []
    for source in sources:
        for const in parse_template(source, name="check").find_all(nodes.Const):
            if isinstance(const.value, str) and const.value not in found:
                found.append(const.value)
    return found[:_MAX_COMPARED]


@dataclass(frozen=True)
class _Source:
    name: str
    channel: str
    body: str
    subject: str | None
    html: str | None


def _checked_parts(
    channel: str, body: str, subject: str | None, html: str | None
) -> dict[str, str]:
    if channel not in CHANNELS:
        raise TemplateError(
            f"渠道 channel: '{channel}' is not one of {', '.join(CHANNELS)}"
        )
    parts = {"body": body}
    if channel == EMAIL:
        if not (subject or "").strip():
            raise TemplateError(f"{FIELD_LABELS['subject']}: 邮件须有主题 email needs a subject",
                                field="subject")
        parts["subject"] = subject or ""
        if html is not None:
            parts["html"] = html
    else:
        for field, value in (("subject", subject), ("html", html)):
            if value is not None:
                raise TemplateError(
                    f"{FIELD_LABELS[field]}: 仅邮件可用 only email templates have one, "
                    f"not {channel}"
                )
    for field, value in parts.items():
        if not value.strip():
            raise TemplateError(f"{FIELD_LABELS[field]}: 为空 is empty")
        control = first_control_character(value, allowed="\n\t")
        if control:
            raise TemplateError(
                f"{FIELD_LABELS[field]}: 含控制字符 control character {control}", field=field
            )
    return parts


@contextlib.contextmanager
def _naming(field: str) -> Iterator[None]:
    """Prefix a TemplateError raised inside with the field's label."""
    try:
        yield
    except TemplateError as exc:
        raise TemplateError(f"{FIELD_LABELS[field]}: {exc}", field=field) from None


def _refuse_unknown_variables(tree: nodes.Template, *, name: str) -> None:
    """Refuse a name no campaign context has, or a key its mapping lacks, at its line."""
    unknown = meta.find_undeclared_variables(tree) - top_names() - _globals()
    bound = {node.name for node in tree.find_all(nodes.Name) if node.ctx in ("store", "param")}
    keys = objects()
    for parent, key, lineno in _lookups(tree):
        # enterprize.name is reported whole, so the suggestion can be enterprise.name.
        if parent in unknown or (parent in keys and parent not in bound
                                 and key not in keys[parent]):
            _unknown(f"{parent}.{key}", lineno, name=name)
    for node in tree.find_all(nodes.Name):
        if node.name in unknown:
            _unknown(node.name, node.lineno, name=name)


@cache
def _globals() -> frozenset[str]:
    # range, dict, namespace...: what the sandbox itself offers every template.
    return frozenset(BoundedSandbox().globals)


def _lookups(tree: nodes.Template) -> Iterator[tuple[str, str, int]]:
    """``(enterprise, nmae, line)`` for each ``enterprise.nmae`` or ``enterprise['nmae']``."""
    for node in tree.find_all((nodes.Getattr, nodes.Getitem)):
        assert isinstance(node, nodes.Getattr | nodes.Getitem)
        if not isinstance(node.node, nodes.Name):
            continue
        if isinstance(node, nodes.Getattr):
            yield node.node.name, node.attr, node.lineno
        elif isinstance(node.arg, nodes.Const) and isinstance(node.arg.value, str):
            yield node.node.name, node.arg.value, node.lineno


def _unknown(variable: str, lineno: int, *, name: str) -> None:
    documented = [v.name for v in VARIABLES] + sorted(top_names())
    close = difflib.get_close_matches(variable, documented, n=1, cutoff=0.6)
    hint = (f"; 是否应为 did you mean {close[0]}?" if close
            else "; 可用变量见 see `notifier templates variables`")
    raise TemplateError(
        f"template '{name}', line {lineno}: 未知变量 unknown variable {variable}{hint}"
    )


@lru_cache(maxsize=256)
def _compiled(source: str, name: str) -> jinja2.Template:
    # Compiled templates are immutable; a campaign renders the same few for every recipient.
    return compile_template(source, name=name)


def render_stored(
    template: TemplateSource, context: Mapping[str, Any], *,
    sms_format: SmsFormat | None = None,
    max_chars: int = DEFAULT_MAX_CHARS, max_seconds: float = DEFAULT_MAX_SECONDS,
    count_sms: bool = True,
) -> Rendered:
    """Render a stored template for its channel, exactly as a file template would render.

    The text is what the template says (a provider still adds the SMS signature when it
    sends); for SMS, ``sms_count`` is how carriers bill the text as ``sms_format`` (by default
    the shipped SMS options) composes it: signature, whitespace squashed, counted by
    :mod:`notifier.domain.sms_length` (unless ``count_sms`` is false: the length is then not
    checked).
    Email gets its subject and, when there is one, its HTML.

    Raises:
        TemplateError: a part fails to compile or render, or the SMS is over its length limit.
    """
    rendered = render_parts(
        stored_parts(template), context, max_chars=max_chars, max_seconds=max_seconds,
        channel=template.channel,
    )
    return finish_stored(rendered, template.channel, sms_format=sms_format, count_sms=count_sms)


def stored_parts(template: TemplateSource) -> MessageParts:
    """The compiled parts of a stored template (compiled once per text, then shared).

    Raises:
        TemplateError: a part does not compile; the message names the field.
    """
    names = _file_names(template.name, template.channel)
    parts: dict[str, jinja2.Template] = {}
    for field in ("body", "subject", "html"):
        source = getattr(template, field)
        if source is not None and (field == "body" or template.channel == EMAIL):
            with _naming(field):
                parts[field] = _compiled(source, names[field])
    return MessageParts(parts["body"], parts.get("subject"), parts.get("html"))


def finish_stored(
    rendered: Rendered, channel: str, *, sms_format: SmsFormat | None = None,
    count_sms: bool = True,
) -> Rendered:
    """A stored template's rendered parts as :func:`render_stored` gives them: an SMS counted.

    Raises:
        TemplateError: the SMS is over its length limit.
    """
    if channel != SMS or not count_sms:
        return rendered
    _, count = (sms_format or SmsFormat()).sign(rendered.text, to=None)
    return Rendered(text=rendered.text, sms_count=count)
