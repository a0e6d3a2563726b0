"""``/api/v1/templates``: stored message templates: list, show, save a version, variables.

The same store functions as ``notifier templates``; a template is checked before it is saved
(syntax, documented variables, sample rendering) and a refusal names the field (400).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query

from notifier.domain.text_rules import NOT_IN_A_LINE as NOT
from notifier.inputs.api import TemplateIn
from notifier.inputs.enterprise_csv import read_channel_word
from notifier.inputs.fields import CHANNEL_ENUM
from notifier.rendering.variables import VARIABLES
from notifier.runtime import Runtime
from notifier.services.templates import saving
from notifier.store import templates as store
from notifier.web.api.schemas import TemplateOut, TemplateSaved, VariableOut
from notifier.web.auth import Author, Principal, acting
from notifier.web.deps import RuntimeDep

router = APIRouter(prefix="/templates", tags=["templates"])

Name = Annotated[
    str,
    Path(
        min_length=1,
        max_length=store.MAX_NAME_LENGTH,
        json_schema_extra={"pattern": rf"^[^{NOT}/\s]([^{NOT}/]*[^{NOT}/\s])?$"},
    ),
]
_CHANNELS = "sms, email, webhook (短信, 邮件, 网络回调)"
Channel = Annotated[
    str, Path(description=_CHANNELS, json_schema_extra={"enum": CHANNEL_ENUM})
]


@router.get("", response_model=list[TemplateOut], summary="模板列表 / templates")
def list_templates(runtime: RuntimeDep, _: Author) -> list[dict[str, Any]]:
    """The newest version of each template, per channel."""
    zone = runtime.settings.zone
    with runtime.sessions() as session:
        return [template.as_dict(zone) for template in store.listing(session)]


@router.get("/variables", response_model=list[VariableOut], summary="模板变量 / variables")
def variables(_: Author) -> list[dict[str, Any]]:
    """The variables a campaign template may use, what they hold and an example."""
    return [
        {"name": v.name, "meaning": v.meaning, "example": v.example, "optional": v.optional}
        for v in VARIABLES
    ]


@router.get("/{name}", response_model=list[TemplateOut], summary="模板全文 / one template")
def show_template(
    runtime: RuntimeDep,
    _: Author,
    name: Name,
    channel: Annotated[
        str | None,
        Query(
            description="只看这个渠道 / this channel only",
            json_schema_extra={"enum": CHANNEL_ENUM},
        ),
    ] = None,
    version: Annotated[int | None, Query(ge=1, le=2**31 - 1)] = None,
) -> list[dict[str, Any]]:
    """Template ``name`` in full: each channel's newest version (or ``version``), with every
    version number of that channel."""
    wanted = None if channel is None else read_channel_word(channel)
    zone = runtime.settings.zone
    with runtime.sessions() as session:
        chosen, versions = store.chosen(session, name, wanted, version)
    return [{**t.as_dict(zone), "versions": versions[t.channel]} for t in chosen]


def _save(
    runtime: Runtime, principal: Principal, name: str, channel: str, given: TemplateIn
) -> dict[str, Any]:
    draft = saving.TemplateDraft(
        name, channel, given.body.replace("\r\n", "\n"),
        subject=given.subject, html=given.html, author=given.author,
    )  # fmt: skip
    saved = saving.save_template(acting(runtime, principal), draft)
    return {**saved.template.as_dict(runtime.settings.zone), "changed": saved.changed}


@router.put(
    "/{name}/{channel}", response_model=TemplateSaved, summary="保存新版本 / save a version"
)
def save_template(
    runtime: RuntimeDep, principal: Author, name: Name, channel: Channel, given: TemplateIn
) -> dict[str, Any]:
    """Save the text as the next version of ``name`` on ``channel``; older versions stay.
    The same text as the newest version saves nothing (``changed`` false)."""
    return _save(runtime, principal, name, read_channel_word(channel), given)
