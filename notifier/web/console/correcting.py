"""``/console/policies/{id}/correct``: correcting (更正) a policy in the compose form.

The form comes prefilled with the policy; sending it shows the changed fields side by side,
and only sending back what was shown (its review token) saves the correction, with or without
notifying the enterprises it reached."""

from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from notifier.domain.scope import Scope
from notifier.errors import BrokerUnavailable, InputError, NotFoundError
from notifier.services.policies.composing import correct_composed, review_correction
from notifier.web import i18n
from notifier.web.console.compose_form import (
    MORE_FIELD,
    compared,
    compose_page,
    content_findings,
    draft_of,
    prefill,
    refill,
    refusal,
)
from notifier.web.console.context import Console
from notifier.web.console.deps import AuthorPost, AuthorUser, ConsoleDep, PostedForm
from notifier.web.console.policy_page import found, policy_file_data
from notifier.web.deps import Id
from notifier.web.views import language_of

REVIEW_FIELD = "reviewed"

router = APIRouter()


@dataclass(frozen=True)
class Correctable:
    """The policy the form corrects: its file's JSON object, and whether it went out."""

    id: int
    title: str
    data: dict[str, Any]
    published: bool


def _correctable(console: Console, policy_id: int, scope: Scope) -> Correctable:
    """The policy's file and whether it went out; 404 without it, 400 when it cannot be
    corrected here (no ref, or withdrawn)."""
    runtime = console.runtime
    with runtime.sessions() as session:
        policy = found(session, policy_id, scope)
        data = policy_file_data(policy, runtime.settings.zone)
        if data is None or policy.cancelled_at is not None:
            raise HTTPException(status_code=400, detail="这条政策不能在此更正 / not correctable")
        published = policy.published_at <= runtime.time_source.now()
    return Correctable(policy_id, data["title"], data, published)


@router.get("/policies/{policy_id}/correct", response_class=HTMLResponse)
def correct_page(
    request: Request, policy_id: Id, user: AuthorUser, console: ConsoleDep
) -> HTMLResponse:
    """The compose form filled with the policy as it stands."""
    policy = _correctable(console, policy_id, user.scope)
    t = i18n.translator(language_of(request))
    zone = console.runtime.settings.zone
    form = prefill(policy.data, zone, t, published=policy.published)
    return compose_page(request, user, console, form=form, correcting=policy)


@router.post("/policies/{policy_id}/correct")
def correct_form(
    request: Request, policy_id: Id, user: AuthorPost, form: PostedForm, console: ConsoleDep
) -> Response:
    """Show what the form changes; save it (the revise service, audited) once the clerk sends
    back exactly what they were shown."""
    policy = _correctable(console, policy_id, user.scope)
    zone = console.runtime.settings.zone
    shown = refill(form)
    if form.get(MORE_FIELD):
        return compose_page(request, user, console, form=shown, correcting=policy)
    try:
        context = console.acting(user)
        draft = draft_of(form, zone)
        review = review_correction(context, draft, policy_id)
        if form.get(REVIEW_FIELD) != review.token:
            return compose_page(
                request, user, console, form=shown, correcting=policy,
                changes=compared(review.changes, zone, i18n.translator(language_of(request))),
                review_token=review.token,
            )  # fmt: skip
        revised = correct_composed(
            context, draft, notify=form.get("notify") is not None, policy_id=policy_id
        )
    except NotFoundError:
        raise HTTPException(status_code=404, detail="no such policy") from None
    except (InputError, BrokerUnavailable) as exc:
        return compose_page(
            request, user, console, status_code=400, form=shown, correcting=policy,
            error=refusal(exc), findings=content_findings(request, exc),
        )  # fmt: skip
    note = "notified" if revised.trigger_id else ("revised" if revised.new else "unchanged")
    note = "held" if revised.approval_id is not None else note
    return RedirectResponse(f"/console/policies/{policy_id}?note={note}", 303)
