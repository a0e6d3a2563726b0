"""A trigger's message rendered once for every firm it reaches, each firm's own values filled in.

A policy's message is the same for its 4,000 firms but for a few values of each firm's own: its
name, its unsubscribe and page links. Rendering all three email parts (text, subject, HTML in
the layout) for each firm is most of what building a message costs, so a part is rendered once
with a stand-in for each of those values, cut at the stand-ins, and joined per firm with the
firm's values printed as the template would print them (escaped in HTML, robot markdown in a
webhook's text).

That is exact only when the template prints those values as they are and reads them no other
way (:mod:`notifier.rendering.usage`); a part that tests, filters, joins or captures a firm's
value, or that the analysis cannot follow, is rendered for each firm as before. The first
firm's message is rendered both ways and compared: if they differ the part is rendered per
firm too. An entry is used only while the shared values (the policy, the deadline...) and the
templates are the same ones, compared on every message: a policy corrected in between is
rendered anew.

:class:`SharedRenders` keeps a few entries (least recently used go first) and may be used by
several threads at once.
"""

from __future__ import annotations

import logging
import re
import secrets
import threading
from collections import OrderedDict
from collections.abc import Callable, Collection, Hashable, Mapping
from dataclasses import dataclass
from typing import Any

import jinja2
from markupsafe import escape

from notifier.errors import TemplateError
from notifier.rendering.messages import (
    CheckedTemplate,
    MessageParts,
    Rendered,
    assemble,
    mark_links,
    part_show,
    render_part,
)
from notifier.rendering.sandbox import DEFAULT_MAX_CHARS, DEFAULT_MAX_SECONDS
from notifier.rendering.usage import Usage

log = logging.getLogger(__name__)

Path = tuple[str, ...]
Show = Callable[[Any], Any] | None
# Looks up a template by name, for the ones a template extends or includes.
Resolve = Callable[[str], jinja2.Template]


@dataclass(frozen=True)
class Limits:
    """A render's output and time limits, and the channel (which picks how the text prints)."""

    channel: str | None = None
    max_chars: int = DEFAULT_MAX_CHARS
    max_seconds: float = DEFAULT_MAX_SECONDS


@dataclass(frozen=True)
class _Split:
    """One part printed with stand-ins: the text around them and which value goes in each."""

    name: str
    pieces: tuple[str, ...]  # one more than slots
    slots: tuple[Path, ...]
    used: frozenset[Path]  # the firm's values it prints
    show: Show
    autoescape: bool

    def fill(self, printed: Mapping[Path, str], max_chars: int) -> str:
        chunks = [self.pieces[0]]
        for slot, piece in zip(self.slots, self.pieces[1:], strict=True):
            chunks.append(printed[slot])
            chunks.append(piece)
        text = "".join(chunks)
        if len(text) > max_chars:  # as render_template says it
            raise TemplateError(
                f"template '{self.name}': output over the maximum of {max_chars} characters"
            )
        return text


@dataclass(frozen=True)
class SharedMessage:
    """One channel's message of one trigger, its parts split where each firm's values go."""

    parts: MessageParts
    shared: Mapping[str, Any]
    shape: tuple[Path, ...]
    splits: tuple[_Split | None, ...]  # per part (text, subject, html); None: render per firm
    limits: Limits

    def fits(self, parts: MessageParts, shared: Mapping[str, Any], shape: tuple[Path, ...]) -> bool:
        """Whether this entry renders a message of these templates and shared values."""
        return self.parts == parts and self.shape == shape and self.shared == shared

    def render(self, context: Mapping[str, Any], firm: Mapping[str, Any]) -> Rendered:
        """The message for one firm (``context`` is the whole context, ``firm`` its own part).

        Raises:
            TemplateError: a part rendered per firm failed, or a part is over its size limit.
        """
        raw: list[str | None] = []
        for (field, template), split in zip(self.parts.fields(), self.splits, strict=True):
            if template is None:
                raw.append(None)
            elif split is None:
                raw.append(
                    render_part(
                        template,
                        context,
                        show=part_show(field, self.limits.channel),
                        max_chars=self.limits.max_chars,
                        max_seconds=self.limits.max_seconds,
                    )
                )
            else:
                printed = _printed(firm, split.used, split.show, split.autoescape)
                raw.append(split.fill(printed, self.limits.max_chars))
        return assemble(*raw)


def prepare(
    parts: MessageParts,
    context: Mapping[str, Any],
    firm_names: Collection[str],
    *,
    limits: Limits,
    resolve: Resolve | None = None,
) -> tuple[Rendered, SharedMessage | None]:
    """Render the message of ``context`` in full, and split what can be shared.

    Parameters:
        parts: the message's compiled templates.
        context: one firm's whole context.
        firm_names: the context's names that differ per firm (``enterprise``, its links).
        limits: the renderer's limits and the message's channel.
        resolve: finds a template by name (what a part extends or includes); None when the
            parts cannot refer to others (stored templates).

    Returns:
        The message for this firm, and the entry for the next ones (None when the firm's
        values are not plain strings and mappings of them).

    Raises:
        TemplateError: rendering the message failed.
    """
    shared, firm = split_context(context, firm_names)
    full = [
        render_part(
            template,
            context,
            show=part_show(field, limits.channel),
            max_chars=limits.max_chars,
            max_seconds=limits.max_seconds,
        )
        if template is not None
        else None
        for field, template in parts.fields()
    ]
    rendered = assemble(*full)
    shape = shape_of(firm)
    if shape is None:
        return rendered, None
    entry = SharedMessage(
        parts=parts,
        shared=shared,
        shape=shape,
        limits=limits,
        splits=tuple(
            _split(template, field, shared, firm, shape, full_part, limits, resolve)
            if template is not None and full_part is not None
            else None
            for (field, template), full_part in zip(parts.fields(), full, strict=True)
        ),
    )
    return rendered, entry


def split_context(
    context: Mapping[str, Any], firm_names: Collection[str]
) -> tuple[dict[str, Any], dict[str, Any]]:
    """``(shared, firm)``: the context without the firm's names, and those names alone."""
    shared = {key: value for key, value in context.items() if key not in firm_names}
    firm = {key: value for key, value in context.items() if key in firm_names}
    return shared, firm


def shape_of(firm: Mapping[str, Any]) -> tuple[Path, ...] | None:
    """The paths of a firm's values (``("enterprise", "name")``...), or None when a value is
    nested deeper than one mapping."""
    paths: list[Path] = []
    for name, value in firm.items():
        if isinstance(value, Mapping):
            if any(isinstance(inner, Mapping) for inner in value.values()):
                return None
            paths.extend((name, str(key)) for key in value)
        else:
            paths.append((name,))
    return tuple(paths)


def _split(
    template: jinja2.Template,
    field: str,
    shared: Mapping[str, Any],
    firm: Mapping[str, Any],
    shape: tuple[Path, ...],
    full: str,
    limits: Limits,
    resolve: Resolve | None,
) -> _Split | None:
    """The part printed once with stand-ins, or None when it must be rendered per firm."""
    usages = _usages(template, resolve)
    if usages is None or len({usage.autoescape for usage in usages}) != 1:
        return None
    names = set(firm)
    firm_printed = {path for usage in usages for path in usage.printed if path[0] in names}
    if any(names & usage.read for usage in usages) or not firm_printed <= set(shape):
        return None
    nonce = secrets.token_hex(8)
    stand_ins = {path: f"\ue000{nonce}\ue002{index}\ue001" for index, path in enumerate(shape)}
    show = part_show(field, limits.channel)
    try:
        raw = render_part(
            template,
            {**shared, **_nest(stand_ins)},
            show=show,
            max_chars=limits.max_chars,
            max_seconds=limits.max_seconds,
        )
    except TemplateError:
        return None  # rendered per firm, which says what is wrong
    cut = re.split(f"\ue000{nonce}\ue002(\\d+)\ue001", raw)
    split = _Split(
        name=template.name or "<string>",
        pieces=tuple(cut[0::2]),
        slots=tuple(shape[int(index)] for index in cut[1::2]),
        used=frozenset(shape[int(index)] for index in cut[1::2]),
        show=show,
        autoescape=usages[0].autoescape,
    )
    try:
        printed = _printed(firm, split.used, show, split.autoescape)
        same = split.fill(printed, limits.max_chars) == full
    except TemplateError:
        same = False
    if not same:
        log.warning(
            "template %s: the shared render differs from the full one; rendering it per firm",
            split.name,
        )
        return None
    return split


def _usages(template: jinja2.Template, resolve: Resolve | None) -> list[Usage] | None:
    """The usage of the template and of every template it refers to, or None if one is not
    known or cannot be followed."""
    usages: list[Usage] = []
    pending, seen = [template], set()
    while pending:
        template = pending.pop()
        usage = template.usage if isinstance(template, CheckedTemplate) else None
        if usage is None or usage.opaque:
            return None
        usages.append(usage)
        for name in usage.references:
            if name in seen:
                continue
            seen.add(name)
            if resolve is None:
                return None
            try:
                pending.append(resolve(name))
            except TemplateError:
                return None
    return usages


def _nest(values: Mapping[Path, Any]) -> dict[str, Any]:
    """``{("enterprise", "name"): v}`` as ``{"enterprise": {"name": v}}``."""
    nested: dict[str, Any] = {}
    for path, value in values.items():
        if len(path) == 1:
            nested[path[0]] = value
        else:
            nested.setdefault(path[0], {})[path[1]] = value
    return nested


def _printed(
    firm: Mapping[str, Any], paths: Collection[Path], show: Show, autoescape: bool
) -> dict[Path, str]:
    """Each of a firm's values as a template prints it: through ``show`` (links marked as
    render_part marks them), then escaped or made a string, as Jinja2's output does."""
    values = mark_links(firm) if show is not None else firm
    printed: dict[Path, str] = {}
    for path in paths:
        value = values[path[0]] if len(path) == 1 else values[path[0]][path[1]]
        if show is not None:
            value = show(value)
        printed[path] = str(escape(value)) if autoescape else str(value)
    return printed


class SharedRenders:
    """The last few triggers' shared messages, by key; safe to use from several threads.

    Parameters:
        size: how many entries are kept (a worker sends a few triggers at a time).
    """

    def __init__(self, *, size: int = 8) -> None:
        self._size = size
        self._entries: OrderedDict[Hashable, SharedMessage] = OrderedDict()
        self._lock = threading.Lock()

    def render(
        self,
        key: Hashable,
        parts: MessageParts,
        context: Mapping[str, Any],
        firm_names: Collection[str],
        *,
        limits: Limits,
        resolve: Resolve | None = None,
    ) -> Rendered:
        """The message of ``context``, exactly as :func:`render_parts` renders it.

        Parameters:
            key: what the message is of (the trigger and channel); an entry is used only
                while the templates and the shared values it was made from are the same.
            parts, context, firm_names, limits, resolve: see :func:`prepare`.

        Raises:
            TemplateError: the message cannot be rendered.
        """
        shared, firm = split_context(context, firm_names)
        with self._lock:
            entry = self._entries.get(key)
            if entry is not None:
                self._entries.move_to_end(key)
        if entry is not None and entry.fits(parts, shared, shape_of(firm) or ()):
            return entry.render(context, firm)
        rendered, entry = prepare(parts, context, firm_names, limits=limits, resolve=resolve)
        if entry is not None:
            with self._lock:
                self._entries[key] = entry
                self._entries.move_to_end(key)
                while len(self._entries) > self._size:
                    self._entries.popitem(last=False)
        return rendered

    def __len__(self) -> int:
        with self._lock:
            return len(self._entries)
