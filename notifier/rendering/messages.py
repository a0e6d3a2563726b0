"""Sandboxed Jinja2 rendering of messages, one template per channel.

Templates live at ``<kind>/<channel>.txt`` (``kind`` is a folder such as ``policy_published`` or
``deadline_reminder``), with ``<kind>/email_subject.txt`` and ``<kind>/email.html`` beside them
for email. The renderer's ``templates_dir`` (the ``templates_dir`` setting) is searched first,
then the defaults shipped in ``notifier/templates/``. Only ``.html`` templates are autoescaped.

The caller builds the context; the default templates expect::

    enterprise       {"name": str, "credit_code": str}
    policy           {"title": str, "summary": str, "body": str, "url": str | None,
                      "department": str, "topics": list[str],
                      "published_at": str,            # local time, already formatted
                      "deadlines": [{"title": str, "due_at": str}]}
    deadline         {"title": str, "due_at": str,    # local time, already formatted
                      "days_left": int} | None        # None for policy_published
    unsubscribe_url  str
    public_url       str
    page_url         (policy messages) the firm's own page of the policy, signed
                     (``/p/{token}``): 政策办理页面链接; every policy message's link to it,
                     the SMS's one link
    page_token       (policy messages) the token alone, for a vendor SMS template whose
                     approved text holds the fixed ``https://host/p/``
    correction       (policy_corrected only) {"number": int, "revised_at": str,
                      "changed": list[str],           # field names in Chinese (摘要, 截止时间)
                      "previous_title": str | None,   # set when the title changed
                      "moved": [{"title", "before", "after"}],
                      "added": [{"title", "due_at"}], "removed": [{"title", "due_at"}]}
    resent           (policy_resent only) {"working_days": int}: the reach ladder's rung

Every key must be present (undefined names are errors); ``policy.url`` may be ``None``.

The webhook channel's text is markdown that chat robots (WeCom, DingTalk, Feishu) show, so
every value a template prints there is shown as inert text (:func:`markdown_text`): no link,
mention, HTML or formatting can come from data, only from the template itself. The links the
system makes and staff enter (:data:`LINK_FIELDS`) stay link targets.

The sandbox stops attribute walks into Python internals; on top of it, names starting with
``_`` are refused when a template is compiled, ``*`` and ``**`` cannot build huge values, and
output size and render time are bounded. Every ``for`` loop (and the filters that walk a sequence)
checks the render deadline on each step; ``%``, ``str.format``, the width-taking filters and string
methods, ``join``, ``replace``, ``~`` and ``+`` check what they would build before building it,
and a render may build at most ``BUILD_FACTOR`` times its output limit in all. Integers are
bounded too (``MAX_INT_BITS``); brackets nested too deep, recursion and over-large constants are
refused when a template is parsed (:mod:`notifier.rendering.limits`); and a render still running
past its deadline is interrupted by :mod:`notifier.rendering.watchdog`.
"""

from __future__ import annotations

import contextlib
import re
import time
from collections.abc import Callable, Generator, Mapping
from contextvars import ContextVar
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any, cast
from urllib.parse import quote

import jinja2
from jinja2 import nodes
from jinja2.exceptions import SecurityError, TemplateNotFound, TemplateSyntaxError, UndefinedError

from notifier.domain.channel_names import EMAIL, WEBHOOK
from notifier.domain.sms_length import SmsCount
from notifier.errors import TemplateError
from notifier.rendering.limits import check_tokens, check_tree
from notifier.rendering.sandbox import (
    BUILD_FACTOR,
    DEFAULT_MAX_CHARS,
    DEFAULT_MAX_SECONDS,
    ENVIRONMENT_OPTIONS,
    LIMITS,
    BoundedSandbox,
    Limits,
    Named,
    OverTime,
)
from notifier.rendering.usage import Usage, usage_of
from notifier.rendering.watchdog import WATCHDOG

_RENDER_ERRORS = (jinja2.TemplateError, ArithmeticError, LookupError, TypeError, ValueError)


class Link(str):
    """A URL the message links to (unsubscribe, full text, done): robot markdown keeps it as a
    link target, where any other value is shown as inert text."""

    __slots__ = ()


# The context's links, as paths: what mark_links turns into Link values.
LINK_FIELDS: tuple[tuple[str, ...], ...] = (
    ("unsubscribe_url",), ("public_url",), ("done_url",), ("page_url",), ("policy", "url"),
    ("campaign", "url"),
)


def mark_links(context: Mapping[str, Any]) -> dict[str, Any]:
    """A copy of ``context`` whose :data:`LINK_FIELDS` (those present, not None) are Links."""
    marked = dict(context)
    for path in LINK_FIELDS:
        *parents, last = path
        target: dict[str, Any] = marked
        for name in parents:
            inner = target.get(name)
            if not isinstance(inner, Mapping):
                break
            target[name] = target = dict(inner)
        else:
            value = target.get(last)
            if isinstance(value, str):
                target[last] = Link(value)
    return marked


# Each ASCII character that starts markdown or HTML syntax in the robots' dialects (links
# [..](..), <@userid> and <at id=all> mentions, <font>, **bold**, `code`, # headings, > quotes)
# is shown as its full-width form, as Chinese text writes it anyway; line breaks become spaces,
# so no heading, quote or list can start. Full-width rather than backslash escapes: WeCom and
# DingTalk document no escape in their markdown, Feishu documents HTML entities instead, and
# a full-width character is plain text to every parser.
_MARKDOWN_TEXT = str.maketrans({
    "\\": "＼", "`": "｀", "*": "＊", "_": "＿", "[": "［", "]": "］", "(": "（", ")": "）",
    "<": "＜", ">": "＞", "#": "＃", "~": "～", "|": "｜", "!": "！", "&": "＆",
    "\r": " ", "\n": " ", "\t": " ",
})
# A bare URL in the text would be made a link by the clients: its "://" is broken.
_SCHEME = re.compile(r":(?=//)")
# Inside a link target only these stay as they are; the rest (brackets, parentheses, quotes,
# spaces, non-ASCII) is percent-encoded, so a target can end only where the template ends it.
_LINK_SAFE = ":/?#@!$&*+,;=%-._~"


def markdown_text(value: Any) -> Any:
    """``value`` as robot markdown shows it: a Link (http or https) as a link target, anything
    else as inert text. Used as the renderer's ``finalize`` for the webhook channel."""
    text = str(value)
    if isinstance(value, Link) and text.lower().startswith(("https://", "http://")):
        return quote(text, safe=_LINK_SAFE)
    return _SCHEME.sub("：", text.translate(_MARKDOWN_TEXT))


# How the render in progress shows each printed value (None: as it is). Per channel, set by
# render_template; the environment's finalize reads it, so compiled templates stay shared.
_SHOW: ContextVar[Callable[[Any], Any] | None] = ContextVar("notifier_render_show", default=None)
# The channels whose printed values are shown through a function, and which.
CHANNEL_FINALIZE: dict[str, Callable[[Any], Any]] = {WEBHOOK: markdown_text}


def _finalize(value: Any) -> Any:
    show = _SHOW.get()
    return value if show is None else show(value)


@dataclass(frozen=True)
class Rendered:
    """One rendered message: ``subject`` and ``html`` for email; ``sms_count`` when counted."""

    text: str
    subject: str | None = None
    html: str | None = None
    sms_count: SmsCount | None = None


def make_environment(*, templates_dir: Path | None = None) -> jinja2.Environment:
    """The sandboxed environment: ``templates_dir`` first, then the shipped templates."""
    loaders: list[jinja2.BaseLoader] = []
    if templates_dir is not None:
        loaders.append(jinja2.FileSystemLoader(templates_dir))
    loaders.append(jinja2.PackageLoader("notifier", "templates"))
    return BoundedSandbox(
        loader=jinja2.ChoiceLoader(loaders), finalize=_finalize, **ENVIRONMENT_OPTIONS
    )


class CheckedTemplate(jinja2.Template):
    """A template compiled by :func:`compile_template`, knowing what it does with its context
    (:mod:`notifier.rendering.usage`)."""

    usage: Usage | None = None


@cache
def _standalone_environment() -> jinja2.Environment:
    # For user-supplied templates: no loader, so they cannot include or extend anything.
    return BoundedSandbox(finalize=_finalize, **ENVIRONMENT_OPTIONS)


def compile_template(
    source: str, *, name: str, environment: jinja2.Environment | None = None,
    filename: str | None = None,
) -> jinja2.Template:
    """Parse, check and compile a template; ``name`` ending in ``.html`` turns on escaping.

    Parameters:
        source: the template text, e.g. a campaign's template written by staff.
        name: how errors name it.
        environment: the renderer's environment; by default one with no loader.
        filename: where the source came from, for tracebacks.

    Raises:
        TemplateError: a syntax error (with its line), or a name or attribute starting with
            ``_``.
    """
    env = environment or _standalone_environment()
    tree = parse_template(source, name=name, environment=env, filename=filename)
    try:
        code = env.compile(tree, name=name, filename=filename)
    except TemplateSyntaxError as exc:
        raise TemplateError(f"template '{name}', line {exc.lineno}: {exc.message}") from None
    except RecursionError:
        raise _too_deep(name) from None
    template = cast(CheckedTemplate, CheckedTemplate.from_code(env, code, env.make_globals(None)))
    escapes = env.autoescape(name) if callable(env.autoescape) else env.autoescape
    template.usage = usage_of(tree, autoescape=bool(escapes))
    return template


def parse_template(
    source: str, *, name: str, environment: jinja2.Environment | None = None,
    filename: str | None = None,
) -> nodes.Template:
    """Parse and check a template without compiling it (for checks that walk its tree).

    Raises:
        TemplateError: as :func:`compile_template`; also brackets nested too deep, recursion
            (a macro calling itself, a recursive loop) and over-large integer constants (see
            :mod:`notifier.rendering.limits`).
    """
    env = environment or _standalone_environment()
    check_tokens(env, source, name=name)
    try:
        tree = env.parse(source, name=name, filename=filename)
        _refuse_private_names(tree, name=name)
        check_tree(tree, name=name)
    except TemplateSyntaxError as exc:
        raise TemplateError(f"template '{name}', line {exc.lineno}: {exc.message}") from None
    except ValueError as exc:  # an integer literal past Python's 4,300 digits
        raise TemplateError(f"template '{name}': 数字过长 number too long: {exc}") from None
    except RecursionError:
        raise _too_deep(name) from None
    return tree


def _too_deep(name: str) -> TemplateError:
    return TemplateError(
        f"template '{name}': 表达式过长或嵌套过深 an expression is too long or nested too deeply"
    )


def _refuse_private_names(tree: nodes.Template, *, name: str) -> None:
    for node in tree.find_all((nodes.Name, nodes.Getattr, nodes.Getitem, nodes.Filter)):
        used = _name_used(node)
        if used is not None and used.startswith("_"):
            raise TemplateError(f"template '{name}': uses '{used}', which is not allowed")


def _name_used(node: nodes.Node) -> str | None:
    if isinstance(node, nodes.Name):
        return node.name
    if isinstance(node, nodes.Getattr):
        return node.attr
    if isinstance(node, nodes.Getitem):
        key = node.arg
    elif isinstance(node, nodes.Filter) and node.name == "attr" and node.args:
        key = node.args[0]
    else:
        return None
    if isinstance(key, nodes.Const) and isinstance(key.value, str):
        return key.value
    return None


def render_template(
    template: jinja2.Template, context: Mapping[str, Any], *,
    max_chars: int = DEFAULT_MAX_CHARS, max_seconds: float = DEFAULT_MAX_SECONDS,
    show: Callable[[Any], Any] | None = None,
) -> str:
    """Render ``template`` with bounded output size and time; each value it prints passes
    through ``show`` when given (robot markdown: :func:`markdown_text`).

    Raises:
        TemplateError: naming the template and the problem: an undefined name, a refused
            attribute, output over ``max_chars`` or rendering over ``max_seconds``.
    """
    name = template.name or "<string>"
    values = {key: Named(key, value) if isinstance(value, Mapping) else value
              for key, value in context.items()}
    deadline = time.monotonic() + max_seconds
    token = LIMITS.set(Limits(deadline, max_chars, max_chars * BUILD_FACTOR))
    shown = _SHOW.set(show)
    chunks: list[str] = []
    size = 0
    try:
        # generate() is a generator (it has close()); its stub says Iterator.
        stream = cast(Generator[str, None, None], template.generate(values))
        with WATCHDOG.watch(deadline), contextlib.closing(stream):
            for chunk in stream:
                size += len(chunk)
                if size > max_chars:
                    raise TemplateError(
                        f"template '{name}': output over the maximum of {max_chars} characters"
                    )
                if time.monotonic() > deadline:
                    raise OverTime
                chunks.append(chunk)
    except OverTime:
        raise TemplateError(f"template '{name}': rendering took over {max_seconds} s") from None
    except RecursionError:
        raise TemplateError(
            f"template '{name}': 递归过深 recursion too deep (a macro or loop calls itself)"
        ) from None
    except _RENDER_ERRORS as exc:
        raise TemplateError(f"template '{name}': {_describe(exc)}{_line(exc, template)}") from exc
    finally:
        _SHOW.reset(shown)
        LIMITS.reset(token)
    return "".join(chunks)


def _describe(exc: Exception) -> str:
    if isinstance(exc, UndefinedError | SecurityError):
        return str(exc)
    return f"{type(exc).__name__}: {exc}"


def _line(exc: Exception, template: jinja2.Template) -> str:
    # Jinja rewrites tracebacks so that template frames carry the template's line numbers.
    filename = template.filename or "<template>"
    line = None
    frame = exc.__traceback__
    while frame is not None:
        if frame.tb_frame.f_code.co_filename == filename:
            line = frame.tb_lineno
        frame = frame.tb_next
    return f" (line {line})" if line else ""


class Renderer:
    """Renders the message of one kind for one channel, from templates loaded once."""

    def __init__(
        self, *, templates_dir: Path | None = None,
        max_chars: int = DEFAULT_MAX_CHARS, max_seconds: float = DEFAULT_MAX_SECONDS,
    ) -> None:
        self.max_chars = max_chars
        self.max_seconds = max_seconds
        self.environment = make_environment(templates_dir=templates_dir)
        self._templates: dict[str, jinja2.Template] = {}

    def template(self, name: str) -> jinja2.Template:
        """The template at ``name``, loaded, checked and compiled on first use.

        Raises:
            TemplateError: it does not exist or does not compile.
        """
        template = self._templates.get(name)
        if template is None:
            loader = self.environment.loader
            assert loader is not None  # make_environment always sets one
            try:
                source, filename, _ = loader.get_source(self.environment, name)
            except TemplateNotFound:
                raise TemplateError(f"template '{name}' not found") from None
            template = compile_template(
                source, name=name, environment=self.environment, filename=filename
            )
            self._templates[name] = template
        return template

    def compile_template(self, source: str, *, name: str) -> jinja2.Template:
        """Compile a user-supplied template in this renderer's environment."""
        return compile_template(source, name=name, environment=self.environment)

    def render(self, kind: str, channel: str, context: Mapping[str, Any]) -> Rendered:
        """Render the ``kind`` message for ``channel`` (sms, email, webhook).

        The text is what the template says; the provider finishes it (an SMS account adds its
        signature and checks the length, see ``Provider.compose``).

        Parameters:
            kind: a folder under the templates, e.g. ``policy_published``.
            channel: picks ``<kind>/<channel>.txt``; email adds a subject and HTML.
            context: see the module docstring.

        Raises:
            TemplateError: a template is missing or fails.
        """
        return render_parts(
            self.parts(kind, channel), context, max_chars=self.max_chars,
            max_seconds=self.max_seconds, channel=channel,
        )

    def parts(self, kind: str, channel: str) -> MessageParts:
        """The compiled templates of the ``kind`` message for ``channel`` (see :meth:`render`).

        Raises:
            TemplateError: a template is missing or does not compile.
        """
        email = channel == EMAIL
        return MessageParts(
            text=self.template(f"{kind}/{channel}.txt"),
            subject=self.template(f"{kind}/email_subject.txt") if email else None,
            html=self.template(f"{kind}/email.html") if email else None,
        )


@dataclass(frozen=True)
class MessageParts:
    """The compiled templates of one channel's message: text, and for email subject and HTML."""

    text: jinja2.Template
    subject: jinja2.Template | None = None
    html: jinja2.Template | None = None

    def fields(self) -> tuple[tuple[str, jinja2.Template | None], ...]:
        """``(name, template)`` of each part, text first."""
        return (("text", self.text), ("subject", self.subject), ("html", self.html))


def render_parts(
    parts: MessageParts, context: Mapping[str, Any], *,
    max_chars: int = DEFAULT_MAX_CHARS, max_seconds: float = DEFAULT_MAX_SECONDS,
    channel: str | None = None,
) -> Rendered:
    """Render a message: the text stripped, the subject on one line, the HTML as it is.

    File templates and stored templates both come through here, so they render alike. The
    text of a ``channel`` in :data:`CHANNEL_FINALIZE` prints its values through that function.

    Raises:
        TemplateError: a part fails (see :func:`render_template`).
    """
    values = dict(context)
    raw = [
        render_part(template, values, show=part_show(field, channel),
                    max_chars=max_chars, max_seconds=max_seconds)
        if template is not None else None
        for field, template in parts.fields()
    ]
    return assemble(*raw)


def part_show(field: str, channel: str | None) -> Callable[[Any], Any] | None:
    """How the ``field`` part (text, subject, html) of a ``channel`` message shows each value it
    prints: the text through :data:`CHANNEL_FINALIZE`, the others as they are."""
    return CHANNEL_FINALIZE.get(channel) if channel and field == "text" else None


def render_part(
    template: jinja2.Template, context: Mapping[str, Any], *,
    show: Callable[[Any], Any] | None = None,
    max_chars: int = DEFAULT_MAX_CHARS, max_seconds: float = DEFAULT_MAX_SECONDS,
) -> str:
    """One part of a message as the template prints it (not yet stripped): with ``show``, its
    values pass through it and the context's links are marked (:func:`mark_links`).

    Raises:
        TemplateError: see :func:`render_template`.
    """
    return render_template(
        template, mark_links(context) if show else context,
        max_chars=max_chars, max_seconds=max_seconds, show=show,
    )


def assemble(text: str | None, subject: str | None = None, html: str | None = None) -> Rendered:
    """The message of the parts as printed: the text stripped, the subject on one line."""
    return Rendered(
        text=(text or "").strip(),
        subject=" ".join(subject.split()) if subject is not None else None,
        html=html,
    )
