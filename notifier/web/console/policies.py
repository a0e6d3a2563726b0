"""``/console/policies``: the list, composing with a live preview, publishing, one policy."""

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response

from notifier.domain.channel_names import CHANNELS
from notifier.domain.paging import page_number
from notifier.errors import BrokerUnavailable, InputError
from notifier.services.policies.composing import (
    CONFIRM_FIELD,
    preview_composed,
    publish_composed,
)
from notifier.services.policies.preview import LIVE_EXACT_SMS_LIMIT
from notifier.store import policies as store
from notifier.store.paging import paged
from notifier.web import i18n, words
from notifier.web.console.compose_form import (
    MORE_FIELD,
    compose_page,
    content_findings,
    draft_of,
    refill,
    refusal,
)
from notifier.web.console.deps import AuthorPost, AuthorUser, ConsoleDep, PostedForm, SignedIn
from notifier.web.console.policy_page import policy_page
from notifier.web.deps import Id
from notifier.web.views import language_of

PAGE = 50

router = APIRouter()


@router.get("/policies", response_class=HTMLResponse)
def listing(
    request: Request, user: SignedIn, console: ConsoleDep, page: str | None = None
) -> HTMLResponse:
    """Every policy, the newest first, a page at a time."""
    with console.runtime.sessions() as session:
        shown = store.newest_first(user.scope)
        found = paged(session, shown, number=page_number(page), size=PAGE)
        rows = [
            {
                "id": p.id,
                "title": p.title,
                "department": p.department,
                "published_at": p.published_at,
                "topics": p.topics,
                "held": p.held,
            }
            for p in found.rows
        ]
    return console.page(request, "console/policies.html", user, policies=rows, pager=found)


@router.get("/policies/new", response_class=HTMLResponse)
def compose(request: Request, user: AuthorUser, console: ConsoleDep) -> HTMLResponse:
    """The compose form, empty."""
    return compose_page(request, user, console, form={"publish_when": "now"})


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
    request: Request, user: AuthorPost, form: PostedForm, console: ConsoleDep
) -> JSONResponse:
    """The compose form's live preview: audience, samples, each channel's message."""
    runtime = console.runtime
    try:
        context = console.acting(user)
        draft = draft_of(form, runtime.settings.zone)
        # Live: counts and a few rendered samples; a large SMS bill is estimated.
        result = preview_composed(context, draft, exact_sms_limit=LIVE_EXACT_SMS_LIMIT)
    except InputError as exc:
        return JSONResponse({"ok": False, "error": str(exc)})
    data = result.as_dict()
    # The page's language, not the API's bilingual line.
    t = i18n.translator(language_of(request))
    data["warnings"] = [words.notice(t, n.code, n.values) for n in result.notices]
    data["content"] = [
        {"text": words.finding(t, found), "refuses": found["refuses"]} for found in result.content
    ]
    data["ok"] = True
    data["channels"] = list(CHANNELS)
    return JSONResponse(data)


@router.post("/policies")
def publish_form(
    request: Request, user: AuthorPost, form: PostedForm, console: ConsoleDep
) -> Response:
    """Publish the composed policy (once: publishing it again sends nothing new). One that
    reaches no enterprise is sent back with a "publish anyway" box until the clerk ticks it."""
    runtime = console.runtime
    if form.get(MORE_FIELD):  # "more deadlines": the same form with more rows, nothing sent
        return compose_page(request, user, console, form=refill(form))
    try:
        context = console.acting(user)
        confirmed = form.get(CONFIRM_FIELD) == "yes"
        draft = draft_of(form, runtime.settings.zone)
        published = publish_composed(context, draft, confirmed=confirmed)
    except (InputError, BrokerUnavailable) as exc:
        return compose_page(
            request,
            user,
            console,
            status_code=400,
            error=refusal(exc),
            findings=content_findings(request, exc),
            confirm=getattr(exc, "field", None) == CONFIRM_FIELD,
            form=refill(form),
        )
    note = "held" if published.held else ("published" if published.created else "again")
    return RedirectResponse(f"/console/policies/{published.policy_id}?note={note}", 303)
