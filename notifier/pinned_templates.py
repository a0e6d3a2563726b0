"""Render a campaign run's pinned stored templates (text kept on the run's trigger).

A run pins, per channel, the stored template's name, version and text when it is made, so a
template saved again later changes the next run, never one under way. Compiled templates are
kept per (name, version, part): a version's text never changes.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import lru_cache
from typing import Any

import jinja2

from notifier.channel_names import EMAIL
from notifier.errors import TemplateError
from notifier.rendering import Renderer, Rendered, render_template


@lru_cache(maxsize=512)
def _compiled(renderer: Renderer, name: str, source: str) -> jinja2.Template:
    return renderer.compile_template(source, name=name)


def _part(renderer: Renderer, pinned: Mapping[str, Any], part: str, context: Mapping[str, Any]) -> str:
    name = f"{pinned.get('name')}@v{pinned.get('version')}/{part}"
    if part == "html":
        name += ".html"  # escaping on, as for the shipped .html templates
    template = _compiled(renderer, name, str(pinned[part]))
    return render_template(
        template, context, max_chars=renderer.max_chars, max_seconds=renderer.max_seconds
    )


def render_pinned(
    renderer: Renderer,
    pinned: Mapping[str, Any],
    channel: str,
    context: Mapping[str, Any],
) -> Rendered:
    """Render ``channel``'s pinned template (``{"name", "version", "body", "subject", "html"}``).

    Raises:
        TemplateError: the run pinned no template for ``channel``, or rendering failed.
    """
    mine = pinned.get(channel)
    if not mine or not mine.get("body"):
        raise TemplateError(f"no template pinned for channel {channel!r}")
    text = _part(renderer, mine, "body", context).strip()
    if channel != EMAIL:
        return Rendered(text=text)
    subject = " ".join(_part(renderer, mine, "subject", context).split()) if mine.get("subject") else None
    html = _part(renderer, mine, "html", context) if mine.get("html") else None
    return Rendered(text=text, subject=subject, html=html)
