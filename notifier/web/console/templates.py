"""``/console/templates``: stored message templates: the list, one template's versions, saving
a new version (refused with the field named, nothing stored)."""

from urllib.parse import quote

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from notifier.domain.channel_names import CHANNELS
from notifier.errors import InputError, TemplateError
from notifier.inputs.enterprise_csv import read_channel_word
from notifier.services.templates.saving import TemplateDraft, save_template
from notifier.store import templates as store
from notifier.web.console.context import Console
from notifier.web.console.deps import AuthorPost, AuthorUser, ConsoleDep, PostedForm
from notifier.web.console.session import ConsoleUser

TEXT_FIELDS = ("name", "channel", "subject", "body", "html")

router = APIRouter()


def listing_page(
    console: Console,
    request: Request,
    user: ConsoleUser,
    *,
    status_code: int = 200,
    error: str | None = None,
    form: dict[str, str] | None = None,
) -> HTMLResponse:
    """The template list and the save form (the refused form kept, with its error)."""
    with console.runtime.sessions() as session:
        rows = store.listing(session)
    return console.page(
        request,
        "console/templates.html",
        user,
        status_code=status_code,
        templates=rows,
        channels=CHANNELS,
        error=error,
        form=form or {},
    )


@router.get("/templates", response_class=HTMLResponse)
def listing(request: Request, user: AuthorUser, console: ConsoleDep) -> HTMLResponse:
    """The stored templates."""
    return listing_page(console, request, user)


@router.get("/templates/{name}", response_class=HTMLResponse)
def one(
    request: Request, name: str, user: AuthorUser, console: ConsoleDep, note: str | None = None
) -> HTMLResponse:
    """One template's versions, per channel."""
    with console.runtime.sessions() as session:
        versions = store.history(session, name)
    if not versions:
        raise HTTPException(status_code=404, detail="no such template")
    # Newest first within each channel: the one campaigns use is on top.
    shown = sorted(versions, key=lambda t: (t.channel, -t.version))
    return console.page(
        request,
        "console/template.html",
        user,
        template_name=name,
        versions=shown,
        note=note if note in ("saved", "unchanged") else None,
    )


@router.post("/templates")
def save(request: Request, user: AuthorPost, form: PostedForm, console: ConsoleDep) -> Response:
    """Save a new version (nothing stored when it is refused, or when it changes nothing)."""
    # Windows browsers post CRLF; the stored template keeps plain newlines.
    sent = {k: str(form.get(k) or "").replace("\r\n", "\n") for k in TEXT_FIELDS}
    try:
        draft = TemplateDraft(
            sent["name"],
            read_channel_word(sent["channel"], field="channel"),
            sent["body"],
            subject=sent["subject"] or None,
            html=sent["html"] or None,
            author=user.name,
        )
        done = save_template(console.acting(user), draft)
    except (InputError, TemplateError) as exc:
        return listing_page(console, request, user, status_code=400, error=str(exc), form=sent)
    saved = done.template
    note = "saved" if done.changed else "unchanged"
    return RedirectResponse(f"/console/templates/{quote(saved.name, safe='')}?note={note}", 303)
