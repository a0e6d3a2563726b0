"""``/console/campaigns/new``: a campaign in a form, for a clerk who writes no JSON, Jinja2
syntax or cron. The form is read into a campaign file's object and checked by the same reader
as the CLI and the API (``parse_campaign``), then created by ``create_campaign`` (or, editing a
campaign, saved by ``editing.update``: ``campaign_edit.py``); "预览" renders each channel's
template for a firm of the register (chosen by name or credit code, else the audience's first),
the SMS counted, instead; "使用所选模板" fills a channel's editor with a stored template's text.

The schedule is chosen in words ("every week on 周一 at 09:00") and made a cron line by
:func:`notifier.domain.schedules.cron_of`; cron is still accepted in an advanced field.
"""

import re
from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.datastructures import FormData, UploadFile

from notifier.domain.channel_names import CHANNELS, EMAIL
from notifier.domain.records import CampaignDraft
from notifier.domain.schedules import LAST_MONTH_DAY, REPEATS, cron_of
from notifier.errors import InputError, TemplateError
from notifier.inputs.campaign import MAX_NAME_LENGTH
from notifier.inputs.campaign_file import MAX_CODES_FILE_BYTES, parse_campaign, read_credit_codes
from notifier.rendering.variables import VARIABLES
from notifier.services.campaigns.operations import create_campaign
from notifier.services.campaigns.preview import FirmPreview, firm_choices, preview_draft
from notifier.services.context import Context
from notifier.store import templates as stored
from notifier.web import i18n, words
from notifier.web.console.audience_form import picker_choices, refilled, targets_data
from notifier.web.console.context import Console
from notifier.web.console.deps import ConsoleDep, PostedForm, StaffPost, StaffUser
from notifier.web.console.session import ConsoleUser
from notifier.web.views import language_of

# "once", the repeats in words, or a cron line typed in the advanced field.
SCHEDULE_CHOICES = ("once", *REPEATS, "cron")
UPLOAD = "credit_codes_upload"
_NOT_A_NAME = re.compile(r"[^\w.-]+")
# A refused field's catalogue key (campaign_form.f_*), by the reader's field name or its start.
_LABELS = (
    ("templates.email.subject", "subject_email"), ("templates.sms", "template_sms"),
    ("templates.email", "template_email"), ("templates.webhook", "template_webhook"),
    ("schedule.once_at", "once_at"), ("once_at", "once_at"), ("schedule.ends_at", "ends_at"),
    ("schedule", "schedule"),
    ("targets", "audience"), ("name", "name"), ("title", "title"), ("url", "url"),
    ("channels", "channels"), ("throttle_per_minute", "throttle"), ("cron", "cron"),
    ("timezone", "schedule"), ("at", "at"), ("weekday", "weekday"), ("day", "day"),
    ("repeat", "schedule"), (UPLOAD, "upload"), ("preview_firm", "preview_firm"),
    ("message_class", "message_class"),
)  # fmt: skip
NEW_ACTION = "/console/campaigns/new"
# Saves the draft (create, or update one campaign); the campaign's id.
Save = Callable[[Context, CampaignDraft], int]

router = APIRouter()


def _text(form: FormData, name: str) -> str:
    value = form.get(name)
    # Windows browsers post CRLF; the stored templates keep plain newlines.
    return value.replace("\r\n", "\n").strip() if isinstance(value, str) else ""


def _number(form: FormData, name: str) -> int | None:
    text = _text(form, name)
    return int(text) if text.isdigit() else None


def _schedule(form: FormData) -> dict[str, Any]:
    """The schedule object: once at a time, a repeat in words made cron, or the typed cron."""
    choice = _text(form, "repeat") or "once"
    schedule: dict[str, Any]
    if choice == "once":
        schedule = {"once_at": _text(form, "once_at") or None}
        if schedule["once_at"] is None:
            raise InputError("发送时间 once_at: 请填写 give the time to send", field="once_at")
    elif choice == "cron":
        schedule = {"cron": _text(form, "cron")}
    else:
        cron = cron_of(choice, _text(form, "at"), weekday=_number(form, "weekday"),
                       day=_number(form, "day"))  # fmt: skip
        schedule = {"cron": cron}
    if ends := _text(form, "ends_at"):
        schedule["ends_at"] = ends
    return schedule


def _uploaded_codes(form: FormData) -> tuple[str, ...]:
    upload = form.get(UPLOAD)
    if not isinstance(upload, UploadFile) or not upload.filename:
        return ()
    # One byte past the limit is enough for the reader to refuse it.
    return read_credit_codes(upload.file.read(MAX_CODES_FILE_BYTES + 1), source=UPLOAD)


def campaign_data(form: FormData) -> dict[str, Any]:
    """The form as a campaign file's object (the campaign reader checks it). A channel's
    template is taken only when the channel is ticked; an empty name is made from the title.

    Raises:
        InputError: the schedule's words or the uploaded codes are refused (naming the field).
    """
    channels = [c for c in form.getlist("channels") if isinstance(c, str)]
    templates: dict[str, Any] = {}
    for channel in [c for c in CHANNELS if c in channels]:
        body = _text(form, f"template_{channel}")
        if not body:
            raise InputError(
                f"template_{channel}: 已勾选该渠道，请填写其消息内容 "
                "the channel is ticked: write its text",
                field=f"templates.{channel}",
            )
        templates[channel] = {"body": body}
        if channel == EMAIL:
            templates[channel]["subject"] = _text(form, "subject_email")
    title = _text(form, "title")
    name = _text(form, "name") or _NOT_A_NAME.sub("-", title).strip("-")[:MAX_NAME_LENGTH]
    data: dict[str, Any] = {
        "name": name, "title": title, "channels": channels, "templates": templates,
        "targets": targets_data(form, extra_codes=_uploaded_codes(form)),
        "schedule": _schedule(form),
    }  # fmt: skip
    if url := _text(form, "url"):
        data["url"] = url
    if throttle := _text(form, "throttle_per_minute"):
        data["throttle_per_minute"] = int(throttle) if throttle.isdigit() else throttle
    if message_class := _text(form, "message_class"):
        data["message_class"] = message_class
    return data


def draft_of(console: Console, form: FormData) -> CampaignDraft:
    """The campaign the form describes, read as the campaign file reader reads one.

    Raises:
        InputError: naming the first bad field.
    """
    runtime = console.runtime
    data = campaign_data(form)
    return parse_campaign(data, zone=runtime.settings.zone, now=runtime.time_source.now())


def refusal(request: Request, exc: InputError | TemplateError) -> str:
    """The refusal with the field's Chinese name first (``每分钟上限：…``)."""
    field = getattr(exc, "field", None) or ""
    if field == "campaign":  # the campaign itself (edited after its run): no field to name
        return str(exc)
    key = next((k for prefix, k in _LABELS if field.startswith(prefix)), "template")
    # Without the label's "(optional)" note: 每分钟上限（可不填） is named 每分钟上限.
    label = re.split(r"[（(]", i18n.translator(language_of(request))(f"campaign_form.f_{key}"))[0]
    label = label.strip()
    message = str(exc)
    return message if message.startswith(label) else f"{label}：{message}"


def stored_choices(console: Console) -> dict[str, list[stored.StoredTemplate]]:
    """The stored templates (newest versions) each channel's editor may start from."""
    with console.runtime.sessions() as session:
        listed = stored.listing(session)
    return {c: [t for t in listed if t.channel == c] for c in CHANNELS}


def with_stored_texts(console: Console, form: dict[str, Any]) -> dict[str, Any]:
    """``form`` with each channel's editor filled from the stored template chosen for it
    (``stored_<channel>``), the email's subject too."""
    filled = dict(form)
    with console.runtime.sessions() as session:
        for channel in CHANNELS:
            name = str(form.get(f"stored_{channel}") or "")
            template = stored.current(session, name, channel) if name else None
            if template is None:
                continue
            filled[f"template_{channel}"] = template.body
            if channel == EMAIL:
                filled["subject_email"] = template.subject or ""
    return filled


def form_page(
    console: Console,
    request: Request,
    user: ConsoleUser,
    form: dict[str, Any],
    *,
    status_code: int = 200,
    error: str | None = None,
    preview: FirmPreview | None = None,
    action: str = NEW_ACTION,
    editing: dict[str, Any] | None = None,
    findings: list[dict[str, Any]] | None = None,
) -> HTMLResponse:
    """The campaign form (what was typed kept), with a refusal (and the content rules'
    ``findings``, worded) or a preview; ``editing``: the campaign it edits (posted to
    ``action``)."""
    t = i18n.translator(language_of(request))
    if preview is not None:
        findings = preview.content
    worded = [{"text": words.finding(t, f), "refuses": f["refuses"]} for f in findings or ()]
    return console.page(
        request, "console/campaign_form.html", user, status_code=status_code,
        form=form, error=error, preview=preview, channels=CHANNELS, action=action,
        findings=worded,
        editing=editing, variables=VARIABLES, schedule_choices=SCHEDULE_CHOICES,
        month_days=LAST_MONTH_DAY, stored_templates=stored_choices(console),
        firms=firm_choices(console.acting(user)),
        **picker_choices(console.runtime, form, scope=user.scope),
    )  # fmt: skip


def posted(
    console: Console,
    request: Request,
    user: ConsoleUser,
    form: FormData,
    save: Save,
    **page: Any,
) -> Response:
    """Fill the editors from stored templates (``action=stored``), preview (``preview``) or
    save the form through ``save``; a refusal names the field in Chinese first and keeps what
    was typed. ``page``: how :func:`form_page` shows this form (``action``, ``editing``)."""
    kept = refilled(form)
    if form.get("action") == "stored":
        return form_page(console, request, user, with_stored_texts(console, kept), **page)
    try:
        draft = draft_of(console, form)
        context = console.acting(user)
        if form.get("action") == "preview":
            shown = preview_draft(context, draft, _text(form, "preview_firm"))
            return form_page(console, request, user, kept, preview=shown, **page)
        made = save(context, draft)
    except (InputError, TemplateError) as exc:
        return form_page(
            console, request, user, kept, status_code=400, error=refusal(request, exc),
            findings=getattr(exc, "findings", None), **page,
        )  # fmt: skip
    note = "updated" if page.get("editing") else "created"
    return RedirectResponse(f"/console/campaigns/{made}?note={note}", 303)


@router.get("/campaigns/new", response_class=HTMLResponse)
def new(request: Request, user: StaffUser, console: ConsoleDep) -> HTMLResponse:
    """The empty form: weekly on Monday at 09:00 preset, SMS ticked."""
    preset = {"repeat": "weekly", "weekday": "0", "at": "09:00", "day": "1", "channels": ["sms"]}
    return form_page(console, request, user, preset)


@router.post("/campaigns/new")
def submit(request: Request, user: StaffPost, form: PostedForm, console: ConsoleDep) -> Response:
    """Fill from a stored template, preview or create the campaign."""
    return posted(console, request, user, form, create_campaign)
