"""``/console/policies``: the list, composing with a live preview, publishing, one policy."""

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.datastructures import FormData

from notifier.domain.channel_names import CHANNELS
from notifier.domain.records import PolicyDraft
from notifier.errors import BrokerUnavailable, InputError
from notifier.inputs.policy_file import parse_policy
from notifier.runtime import Runtime
from notifier.services.policies.composing import (
    CONFIRM_FIELD,
    preview_composed,
    publish_composed,
)
from notifier.store import policies as store
from notifier.web import i18n, words
from notifier.web.console.audience_form import picker_choices, refilled, targets_data, words_of
from notifier.web.console.context import Console
from notifier.web.console.deps import ConsoleDep, PostedForm, SignedIn, SignedPost
from notifier.web.console.policy_page import policy_page
from notifier.web.console.session import ConsoleUser
from notifier.web.deps import Id
from notifier.web.views import language_of

TEXT_FIELDS = ("ref", "title", "department", "summary", "body", "url", "published_at")
LIST_FIELDS = ("topics",)

router = APIRouter()


def policy_data(form: FormData) -> dict[str, Any]:
    """The compose form as a policy file's JSON object (the policy reader checks it)."""
    data: dict[str, Any] = {}
    for name in TEXT_FIELDS:
        value = str(form.get(name) or "").strip()
        if value:
            data[name] = value
    for name in LIST_FIELDS:
        if listed := words_of(form.get(name)):
            data[name] = listed
    data["targets"] = targets_data(form)
    deadline_title = str(form.get("deadline_title") or "").strip()
    deadline_due = str(form.get("deadline_due") or "").strip()
    if deadline_title or deadline_due:
        data["deadlines"] = [{"title": deadline_title, "due_at": deadline_due}]
    return data


def _draft(runtime: Runtime, form: FormData) -> PolicyDraft:
    return parse_policy(policy_data(form), zone=runtime.settings.zone)


def _compose_page(
    request: Request,
    user: ConsoleUser,
    console: Console,
    *,
    form: dict[str, Any],
    error: str | None = None,
    confirm: bool = False,
    status_code: int = 200,
) -> HTMLResponse:
    """The compose form with its region and sector pickers."""
    return console.page(
        request,
        "console/compose.html",
        user,
        status_code=status_code,
        error=error,
        confirm=confirm,
        form=form,
        **picker_choices(console.runtime, form),
    )


@router.get("/policies", response_class=HTMLResponse)
def listing(request: Request, user: SignedIn, console: ConsoleDep) -> HTMLResponse:
    """The newest policies."""
    with console.runtime.sessions() as session:
        rows = [
            {
                "id": p.id,
                "title": p.title,
                "department": p.department,
                "published_at": p.published_at,
                "topics": p.topics,
            }
            for p in store.list_recent(session, limit=100)
        ]
    return console.page(request, "console/policies.html", user, policies=rows)


@router.get("/policies/new", response_class=HTMLResponse)
def compose(request: Request, user: SignedIn, console: ConsoleDep) -> HTMLResponse:
    """The compose form, empty."""
    return _compose_page(request, user, console, form={})


@router.get("/policies/{policy_id}", response_class=HTMLResponse)
def one(
    request: Request,
    policy_id: Id,
    user: SignedIn,
    console: ConsoleDep,
    note: str | None = None,
) -> HTMLResponse:
    """One policy."""
    return policy_page(console, request, user, policy_id, note=note)


# Plain ``def`` handlers: FastAPI runs them in its thread pool, so their database work
# and rendering never stall the event loop (the form is read by ``posted_form``).
@router.post("/policies/preview")
def preview(
    request: Request, user: SignedPost, form: PostedForm, console: ConsoleDep
) -> JSONResponse:
    """The compose form's live preview: audience, samples, each channel's message."""
    runtime = console.runtime
    try:
        context = console.acting(user)
        result = preview_composed(context, _draft(runtime, form))
    except InputError as exc:
        return JSONResponse({"ok": False, "error": str(exc)})
    data = result.as_dict()
    # The page's language, not the API's bilingual line.
    t = i18n.translator(language_of(request))
    data["warnings"] = [words.notice(t, n.code, n.values) for n in result.notices]
    data["ok"] = True
    data["channels"] = list(CHANNELS)
    return JSONResponse(data)


@router.post("/policies")
def publish_form(
    request: Request, user: SignedPost, form: PostedForm, console: ConsoleDep
) -> Response:
    """Publish the composed policy (once: publishing it again sends nothing new). One that
    reaches no enterprise is sent back with a "publish anyway" box until the clerk ticks it."""
    runtime = console.runtime
    try:
        context = console.acting(user)
        confirmed = form.get(CONFIRM_FIELD) == "yes"
        published = publish_composed(context, _draft(runtime, form), confirmed=confirmed)
    except (InputError, BrokerUnavailable) as exc:
        return _compose_page(
            request,
            user,
            console,
            status_code=400,
            error=str(exc),
            confirm=getattr(exc, "field", None) == CONFIRM_FIELD,
            form=refilled(form),
        )
    note = "published" if published.created else "again"
    return RedirectResponse(f"/console/policies/{published.policy_id}?note={note}", 303)
