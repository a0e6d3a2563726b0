"""``/console/policies/{id}``: revising a policy (its JSON, with the "notify" checkbox that
sends a correction) and cancelling one whose publication time has not come; both audited."""

import json
from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import RedirectResponse, Response
from starlette.datastructures import FormData

from notifier.errors import BrokerUnavailable, InputError, NotFoundError
from notifier.inputs.policy_file import read_policy_file
from notifier.services.enterprises.listings import local
from notifier.services.policies.corrections import cancel_policy, describe, revise
from notifier.store import policies as store
from notifier.store.models import Policy
from notifier.web.auth import acting
from notifier.web.console.context import Console
from notifier.web.console.session import ConsoleUser, posted_form
from notifier.web.deps import Id

TARGET_KEYS = ("sectors", "regions", "sizes", "tags", "credit_codes")
NOTES = ("revised", "unchanged", "notified", "cancelled")


def policy_file_text(policy: Policy, zone: Any) -> str | None:
    """The policy as the policy file that would revise it, or None without a ref."""
    if not policy.source_key.startswith("ref:"):
        return None
    data: dict[str, Any] = {
        "ref": policy.source_key.removeprefix("ref:"),
        "title": policy.title,
        "department": policy.department,
        "summary": policy.summary,
        "body": policy.body,
        "url": policy.url,
        "topics": list(policy.topics or []),
        "published_at": local(policy.published_at, zone),
        # The file's topics are top-level; its targets name only who it is for.
        "targets": {
            k: v for k, v in policy.targets.as_dict().items() if v and k in TARGET_KEYS
        },
        "deadlines": [
            {"title": d.title, "due_at": local(d.due_at, zone)}
            for d in policy.deadlines
            if d.cancelled_at is None
        ],
    }
    return json.dumps(
        {k: v for k, v in data.items() if v not in (None, "")}, ensure_ascii=False, indent=2
    )


def revision_context(console: Console, policy_id: int) -> dict[str, Any]:
    """What the policy page shows for revising and cancelling this policy (one short read;
    the caller's own session is closed by then, so a busy SQLite file is not held twice)."""
    runtime = console.runtime
    zone = runtime.settings.zone
    with runtime.sessions() as session:
        policy = store.get(session, policy_id)
        if policy is None:
            raise HTTPException(status_code=404, detail="no such policy")
        shown = {
            "file_text": policy_file_text(policy, zone),
            "cancellable": policy.cancelled_at is None
            and policy.published_at > runtime.time_source.now(),
            "cancelled_at": policy.cancelled_at,
        }
    return {**shown, "revisions": describe(runtime.sessions, policy_id, zone=zone)["revisions"]}


def routes(console: Console, shown: Callable[..., Response]) -> APIRouter:
    """The revise and cancel routes; ``shown(request, user, policy_id, **extra)`` renders the
    policy page (with an error and the sent text kept on refusal)."""
    router = APIRouter()
    runtime = console.runtime
    zone = runtime.settings.zone

    @router.post("/policies/{policy_id}/revise")
    def revise_form(
        request: Request,
        policy_id: Id,
        user: Annotated[ConsoleUser, Depends(console.sessions.posted_by)],
        form: Annotated[FormData, Depends(posted_form)],
    ) -> Response:
        text = str(form.get("policy_json") or "")
        notify = form.get("notify") is not None
        context = acting(runtime, user.principal, "console")
        try:
            draft = read_policy_file(text.encode("utf-8"), zone=zone)
            revised = revise(context, draft, notify=notify, policy_id=policy_id)
        except NotFoundError:
            raise HTTPException(status_code=404, detail="no such policy") from None
        except (InputError, BrokerUnavailable) as exc:
            return shown(
                request, user, policy_id, status_code=400, revise_error=str(exc), sent_text=text
            )
        note = "notified" if revised.trigger_id else ("revised" if revised.new else "unchanged")
        return RedirectResponse(f"/console/policies/{policy_id}?note={note}", 303)

    @router.post("/policies/{policy_id}/cancel")
    def cancel_form(
        request: Request,
        policy_id: Id,
        user: Annotated[ConsoleUser, Depends(console.sessions.posted_by)],
    ) -> Response:
        try:
            cancel_policy(acting(runtime, user.principal, "console"), policy_id)
        except NotFoundError:
            raise HTTPException(status_code=404, detail="no such policy") from None
        except InputError as exc:
            return shown(request, user, policy_id, status_code=400, revise_error=str(exc))
        return RedirectResponse(f"/console/policies/{policy_id}?note=cancelled", 303)

    return router
