"""Render a campaign run's pinned stored template (its text is kept on the run's trigger).

A run pins, per channel, the stored template's name, version and text when it is made, so a
template saved again later changes the next run, never one under way. Rendering is
:func:`notifier.rendering.stored.render_stored`'s, the one stored templates always get.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from notifier.errors import TemplateError
from notifier.rendering.messages import MessageParts, Rendered, Renderer
from notifier.rendering.stored import render_stored, stored_parts


@dataclass(frozen=True)
class PinnedTemplate:
    """One channel's template as a run pinned it."""

    name: str
    channel: str
    version: int
    body: str
    subject: str | None = None
    html: str | None = None


def pinned_for(pinned: Mapping[str, Any], channel: str) -> PinnedTemplate:
    """``channel``'s template among a run's pinned ones.

    Raises:
        TemplateError: the run pinned none for ``channel`` (it had no stored template then).
    """
    mine = pinned.get(channel)
    if not mine or not mine.get("body"):
        raise TemplateError(
            f"模板 template: 该次运行没有 {channel} 模板 no template pinned for {channel}"
        )
    return PinnedTemplate(
        name=f"{mine.get('name')}@v{mine.get('version')}",
        channel=channel,
        version=int(mine.get("version") or 0),
        body=str(mine["body"]),
        subject=mine.get("subject"),
        html=mine.get("html"),
    )


def render_pinned(
    renderer: Renderer, pinned: Mapping[str, Any], channel: str, context: Mapping[str, Any]
) -> Rendered:
    """Render ``channel``'s pinned template with the renderer's limits.

    Raises:
        TemplateError: nothing pinned for ``channel``, or rendering failed.
    """
    return render_stored(
        pinned_for(pinned, channel), context,
        max_chars=renderer.max_chars, max_seconds=renderer.max_seconds,
    )


def pinned_parts(pinned: Mapping[str, Any], channel: str) -> MessageParts:
    """``channel``'s pinned template, compiled (to render with :func:`render_pinned`'s rules:
    ``render_parts``, then ``stored.finish_stored``).

    Raises:
        TemplateError: nothing pinned for ``channel``, or a part does not compile.
    """
    return stored_parts(pinned_for(pinned, channel))
