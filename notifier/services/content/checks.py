"""Check what a policy, a correction or a campaign would send against the content rules.

The one check every face reaches through its service (publish, correct, create or edit a
campaign, and their previews; approval calls it again before a request waits): the texts as
written (title, summary, body, links, guide) and each channel's message rendered for a sample
firm by the channel's first provider (signature, opt-out text and SMS parts included), against
``content`` settings: forbidden words refuse, sensitive words warn, links only to
``content.link_domains`` (and the deployment's own host), no template syntax or empty variable
left unfilled, an SMS of at most ``content.sms_max_parts`` parts. The rules themselves are the
pure :mod:`notifier.domain.content_rules`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from notifier.config import ContentSettings
from notifier.domain import content_rules as rules
from notifier.domain.channel_names import CHANNELS, EMAIL, SMS, WEBHOOK
from notifier.domain.content_rules import Finding, Findings
from notifier.errors import ContentRefused
from notifier.rendering.variables import sample_context
from notifier.services.context import Context
from notifier.services.delivery.previews import Rendering
from notifier.store.models import Enterprise, EnterpriseSector

# Where a sample firm's message goes: addresses of the shape each channel's provider expects
# (a mainland mobile number counts SMS parts as the carriers bill them).
SAMPLE_ADDRESSES = {
    SMS: "13800138000",
    EMAIL: "sample@example.gov.cn",
    WEBHOOK: "https://example.gov.cn/hook",
}


@dataclass(frozen=True)
class Texts:
    """What one policy, correction or campaign would send.

    ``fields``: texts as written, by place (``title``, ``deadlines[0].title``); ``renderings``:
    each channel's message for the sample firm; ``templates``: a template's source and the
    context it renders with, by place (``templates.sms``), to find variables printed empty.
    """

    fields: Mapping[str, str | None] = field(default_factory=dict)
    renderings: Mapping[str, Rendering] = field(default_factory=dict)
    templates: Mapping[str, tuple[str, Mapping[str, Any]]] = field(default_factory=dict)


def own_host(public_url: str) -> str | None:
    """The deployment's own host (links to the firms' pages), from ``public_url``."""
    try:
        return urlsplit(public_url).hostname
    except ValueError:
        return None


def _text_findings(
    place: str, text: str | None, settings: ContentSettings, host: str | None
) -> list[Finding]:
    return rules.check_text(
        place,
        text or "",
        forbidden=settings.forbidden_words,
        sensitive=settings.sensitive_words,
        domains=settings.link_domains,
        own_host=host,
    )


def _rendering_findings(
    channel: str, rendering: Rendering, settings: ContentSettings, host: str | None
) -> list[Finding]:
    if rendering.error:
        return [Finding(rules.CANNOT_RENDER, channel, channel, detail=rendering.error)]
    found = _text_findings(f"{channel}.subject", rendering.subject, settings, host)
    found += _text_findings(channel, rendering.text, settings, host)
    if rendering.sms_parts is not None:
        found += rules.sms_parts(channel, rendering.sms_parts, settings.sms_max_parts)
    return found


def check_texts(context: Context, texts: Texts) -> Findings:
    """Every finding in ``texts`` under the ``content`` settings, the fields' first: a word a
    title holds is named in the title, not again in each message that quotes it.

    Nothing is stored; see :func:`require_clean` to refuse.
    """
    settings = context.settings.content
    host = own_host(context.settings.public_url)
    found: list[Finding] = []
    for place, text in texts.fields.items():
        found += _text_findings(place, text, settings, host)
    for channel, rendering in texts.renderings.items():
        found += _rendering_findings(channel, rendering, settings, host)
    for place, (source, values) in texts.templates.items():
        found += rules.empty_variables(place, source, dict(values))
    return rules.deduplicated(found)


def require_clean(findings: Findings) -> Findings:
    """``findings`` when nothing in them refuses (warnings may remain).

    Raises:
        ContentRefused: (an InputError; field: the first refusal's place) every refusal named
            with its place, word and position; ``findings`` carries them all as data.
    """
    refusals = findings.refusals
    if not refusals:
        return findings
    shown = "；".join(finding.message() for finding in refusals[:10])
    extra = len(refusals) - 10
    more = f"（另有 {extra} 处 / {extra} more）" if extra > 0 else ""
    raise ContentRefused(
        f"内容检查未通过 / the content rules refuse it: {shown}{more}",
        field=refusals[0].place,
        findings=findings.as_list(),
    )


def sample_enterprise() -> Enterprise:
    """A firm with the documented variables' example values (transient: never stored), for
    whom a check renders each message."""
    shown = sample_context()["enterprise"]
    sizes = {"大型": "large", "中型": "medium", "小型": "small", "微型": "micro"}
    return Enterprise(
        id=0,
        name=shown["name"],
        credit_code=shown["credit_code"],
        region=shown["region"],
        size=sizes.get(shown["size"], "medium"),
        sectors=[EnterpriseSector(code=code) for code in shown["sector"].split("、")],
        contacts=[],
    )


def configured_channels(context: Context, channels: Iterable[str] = CHANNELS) -> list[str]:
    """Those of ``channels`` with a provider to compose their messages, in the usual order."""
    wanted = set(channels)
    return [c for c in CHANNELS if c in wanted and context.catalog.for_channel(c)]
