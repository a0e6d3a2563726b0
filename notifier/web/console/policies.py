"""``/console/policies``: the list, composing with a live preview, publishing, one policy."""

import re
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.datastructures import FormData

from notifier.domain.channel_names import CHANNELS
from notifier.domain.records import PolicyDraft
from notifier.errors import BrokerUnavailable, InputError
from notifier.inputs.policy_file import parse_policy
from notifier.runtime import Runtime
from notifier.services.policies.preview import preview_policy
from notifier.services.policies.publishing import publish_policy
from notifier.store import policies as store
from notifier.web import i18n, words
from notifier.web.console.deps import ConsoleDep, PostedForm, SignedIn, SignedPost
from notifier.web.console.policy_page import policy_page
from notifier.web.deps import Id
from notifier.web.views import language_of

_LIST_SEPARATORS = re.compile(r"[,;，；、\s]+")
TEXT_FIELDS = ("ref", "title", "department", "summary", "body", "url", "published_at")
LIST_FIELDS = ("topics",)
TARGET_FIELDS = ("sectors", "regions", "tags", "credit_codes")
SIZES = ("large", "medium", "small", "micro")

router = APIRouter()


def _words(value: Any) -> list[str]:
    return [w for w in _LIST_SEPARATORS.split(str(value or "")) if w]


def policy_data(form: FormData) -> dict[str, Any]:
    """The compose form as a policy file's JSON object (the policy reader checks it)."""
    data: dict[str, Any] = {}
    for name in TEXT_FIELDS:
        value = str(form.get(name) or "").strip()
        if value:
            data[name] = value
    for name in LIST_FIELDS:
        if words := _words(form.get(name)):
            data[name] = words
    targets: dict[str, Any] = {name: _words(form.get(name)) for name in TARGET_FIELDS}
    targets["sizes"] = [str(s) for s in form.getlist("sizes")]
    data["targets"] = {name: values for name, values in targets.items() if values}
    deadline_title = str(form.get("deadline_title") or "").strip()
    deadline_due = str(form.get("deadline_due") or "").strip()
    if deadline_title or deadline_due:
        data["deadlines"] = [{"title": deadline_title, "due_at": deadline_due}]
    return data


def _draft(runtime: Runtime, form: FormData) -> PolicyDraft:
    return parse_policy(policy_data(form), zone=runtime.settings.zone)


def _refill(form: FormData) -> dict[str, Any]:
    """The posted fields, to show the form again as it was sent."""
    return {k: form.getlist(k) if k == "sizes" else form.get(k) for k in form}


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
    return console.page(request, "console/compose.html", user, sizes=SIZES, error=None, form={})


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
        result = preview_policy(context, _draft(runtime, form))
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
    """Publish the composed policy (once: publishing it again sends nothing new)."""
    runtime = console.runtime
    try:
        context = console.acting(user)
        published = publish_policy(context, _draft(runtime, form))
    except (InputError, BrokerUnavailable) as exc:
        return console.page(
            request,
            "console/compose.html",
            user,
            status_code=400,
            sizes=SIZES,
            error=str(exc),
            form=_refill(form),
        )
    note = "published" if published.created else "again"
    return RedirectResponse(f"/console/policies/{published.policy_id}?note={note}", 303)
