"""``/console/policies``: the list, composing with a live preview, publishing, one policy."""


import re
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.datastructures import FormData

from notifier.domain.channel_names import CHANNELS
from notifier.domain.records import PolicyDraft
from notifier.errors import BrokerUnavailable, InputError
from notifier.inputs.policy_file import parse_policy
from notifier.services.deadlines.reminders import LadderRules
from notifier.services.policies.preview import preview_policy
from notifier.services.policies.publishing import publish_policy
from notifier.services.policies.rows import policy_row
from notifier.store import deliveries as delivery_store
from notifier.store import policies as store
from notifier.store.deliveries import DeliveryFilter
from notifier.web.auth import acting
from notifier.web.console import revising
from notifier.web.console.context import Console
from notifier.web.console.revising import revision_context
from notifier.web.console.session import ConsoleUser, posted_form
from notifier.web.deps import Id

_LIST_SEPARATORS = re.compile(r"[,;，；、\s]+")
TEXT_FIELDS = ("ref", "title", "department", "summary", "body", "url", "published_at")
LIST_FIELDS = ("topics",)
TARGET_FIELDS = ("sectors", "regions", "tags", "credit_codes")
SIZES = ("large", "medium", "small", "micro")
NOTES = ("published", "again", *revising.NOTES)


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


def _refill(form: FormData) -> dict[str, Any]:
    """The posted fields, to show the form again as it was sent."""
    return {k: form.getlist(k) if k == "sizes" else form.get(k) for k in form}


def routes(console: Console) -> APIRouter:
    """The policy routes."""
    router = APIRouter()
    router.include_router(publishing_routes(console))
    runtime = console.runtime

    @router.get("/policies", response_class=HTMLResponse)
    def listing(
        request: Request, user: Annotated[ConsoleUser, Depends(console.sessions.user)]
    ) -> HTMLResponse:
        with runtime.sessions() as session:
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
    def compose(
        request: Request, user: Annotated[ConsoleUser, Depends(console.sessions.user)]
    ) -> HTMLResponse:
        return console.page(
            request, "console/compose.html", user, sizes=SIZES, error=None, form={}
        )

    def policy_page(
        request: Request,
        user: ConsoleUser,
        policy_id: int,
        *,
        status_code: int = 200,
        note: str | None = None,
        **extra: Any,
    ) -> HTMLResponse:
        with runtime.sessions() as session:
            policy = store.get(session, policy_id)
            if policy is None:
                raise HTTPException(status_code=404, detail="no such policy")
            shown = policy_row(policy, runtime.settings.zone)
            counts = delivery_store.channel_status_counts(
                session, DeliveryFilter(policy_id=policy_id)
            )
        revising = revision_context(console, policy_id)
        return console.page(
            request,
            "console/policy.html",
            user,
            status_code=status_code,
            policy=shown,
            counts=counts,
            note=note if note in NOTES else None,
            **{"revise_error": None, "sent_text": None, **revising, **extra},
        )

    @router.get("/policies/{policy_id}", response_class=HTMLResponse)
    def one(
        request: Request,
        policy_id: Id,
        user: Annotated[ConsoleUser, Depends(console.sessions.user)],
        note: str | None = None,
    ) -> HTMLResponse:
        return policy_page(request, user, policy_id, note=note)

    router.include_router(revising.routes(console, policy_page))
    return router


def publishing_routes(console: Console) -> APIRouter:
    """The live preview and the publish routes."""
    router = APIRouter()
    runtime = console.runtime
    zone = runtime.settings.zone

    def draft_of(form: FormData) -> PolicyDraft:
        return parse_policy(policy_data(form), zone=zone)

    # Plain ``def`` handlers: FastAPI runs them in its thread pool, so their database work
    # and rendering never stall the event loop (the form is read by ``posted_form``).
    @router.post("/policies/preview")
    def preview(
        user: Annotated[ConsoleUser, Depends(console.sessions.posted_by)],
        form: Annotated[FormData, Depends(posted_form)],
    ) -> JSONResponse:
        try:
            draft = draft_of(form)
            result = preview_policy(
                runtime.sessions,
                draft,
                providers=runtime.providers,
                messages=runtime.messages,
                samples=5,
                ladders=LadderRules.of(runtime.settings),
            )
        except InputError as exc:
            return JSONResponse({"ok": False, "error": str(exc)})
        data = result.as_dict()
        data["ok"] = True
        data["channels"] = list(CHANNELS)
        return JSONResponse(data)

    @router.post("/policies")
    def publish_form(
        request: Request,
        user: Annotated[ConsoleUser, Depends(console.sessions.posted_by)],
        form: Annotated[FormData, Depends(posted_form)],
    ) -> Response:
        try:
            draft = parse_policy(policy_data(form), zone=zone)
            published = publish_policy(acting(runtime, user.principal, "console"), draft)
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

    return router
