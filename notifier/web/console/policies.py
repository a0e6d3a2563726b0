"""``/console/policies``: the list, composing with a live preview, publishing, one policy."""

import re
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.datastructures import FormData

from notifier.domain.channel_names import CHANNELS
from notifier.domain.records import PolicyDraft
from notifier.domain.sectors import catalogue, code_of_name
from notifier.errors import BrokerUnavailable, InputError
from notifier.inputs.policy_file import parse_policy
from notifier.runtime import Runtime
from notifier.services.enterprises.regions import region_choices
from notifier.services.policies.composing import (
    CONFIRM_FIELD,
    preview_composed,
    publish_composed,
)
from notifier.store import policies as store
from notifier.web.console.context import Console
from notifier.web.console.deps import ConsoleDep, PostedForm, SignedIn, SignedPost
from notifier.web.console.policy_page import policy_page
from notifier.web.console.session import ConsoleUser
from notifier.web.deps import Id

_LIST_SEPARATORS = re.compile(r"[,;，；、\s]+")
TEXT_FIELDS = ("ref", "title", "department", "summary", "body", "url", "published_at")
LIST_FIELDS = ("topics",)
TARGET_FIELDS = ("sectors", "regions", "tags", "credit_codes")
SIZES = ("large", "medium", "small", "micro")

router = APIRouter()


def _words(value: Any) -> list[str]:
    return [w for w in _LIST_SEPARATORS.split(str(value or "")) if w]


def _all_words(form: FormData, name: str) -> list[str]:
    """The words of every field called ``name`` (the picker's boxes and the typed field),
    each once, in order."""
    words = [w for value in form.getlist(name) for w in _words(value)]
    if name == "sectors":
        # The picker offers "C3670 汽车零部件及配件制造"; a name typed alone is its code.
        words = [code_of_name(w) for w in words]
    return list(dict.fromkeys(words))


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
    targets: dict[str, Any] = {name: _all_words(form, name) for name in TARGET_FIELDS}
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
    """The posted fields, to show the form again as it was sent (the pickers' fields as
    lists of their words)."""
    refill: dict[str, Any] = {k: form.get(k) for k in form}
    refill["sizes"] = form.getlist("sizes")
    for name in ("regions", "sectors"):
        refill[name] = _all_words(form, name)
    return refill


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
    regions = region_choices(console.runtime.sessions)
    picked = set(form.get("regions") or ())
    typed = [r for r in form.get("regions") or () if r not in {c.path for c in regions}]
    return console.page(
        request,
        "console/compose.html",
        user,
        status_code=status_code,
        sizes=SIZES,
        error=error,
        confirm=confirm,
        form=form,
        regions=regions,
        picked_regions=picked,
        typed_regions=" ".join(typed),
        sector_catalogue=catalogue(),
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
def preview(user: SignedPost, form: PostedForm, console: ConsoleDep) -> JSONResponse:
    """The compose form's live preview: audience, samples, each channel's message."""
    runtime = console.runtime
    try:
        context = console.acting(user)
        result = preview_composed(context, _draft(runtime, form))
    except InputError as exc:
        return JSONResponse({"ok": False, "error": str(exc)})
    data = result.as_dict()
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
            form=_refill(form),
        )
    note = "published" if published.created else "again"
    return RedirectResponse(f"/console/policies/{published.policy_id}?note={note}", 303)
