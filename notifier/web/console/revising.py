"""``/console/policies/{id}/revise`` and ``/cancel``: revising a policy (its JSON, with the
"notify" checkbox that sends a correction) and cancelling one whose publication time has not
come; both audited. A refusal shows the policy page again with the error."""

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import RedirectResponse, Response

from notifier.errors import BrokerUnavailable, InputError, NotFoundError
from notifier.inputs.policy_file import read_policy_file
from notifier.services.policies.corrections import cancel_policy, revise
from notifier.web.console.deps import ConsoleDep, PostedForm, SignedPost
from notifier.web.console.policy_page import policy_page
from notifier.web.deps import Id

router = APIRouter()


@router.post("/policies/{policy_id}/revise")
def revise_form(
    request: Request, policy_id: Id, user: SignedPost, form: PostedForm, console: ConsoleDep
) -> Response:
    """Revise the policy (the file's ref must be this policy's); the service audits it."""
    text = str(form.get("policy_json") or "")
    notify = form.get("notify") is not None
    runtime = console.runtime
    try:
        draft = read_policy_file(text.encode("utf-8"), zone=runtime.settings.zone)
        context = console.acting(user)
        revised = revise(context, draft, notify=notify, policy_id=policy_id)
    except NotFoundError:
        raise HTTPException(status_code=404, detail="no such policy") from None
    except (InputError, BrokerUnavailable) as exc:
        return policy_page(
            console, request, user, policy_id,
            status_code=400, revise_error=str(exc), sent_text=text,
        )  # fmt: skip
    note = "notified" if revised.trigger_id else ("revised" if revised.new else "unchanged")
    return RedirectResponse(f"/console/policies/{policy_id}?note={note}", 303)


@router.post("/policies/{policy_id}/cancel")
def cancel_form(
    request: Request, policy_id: Id, user: SignedPost, console: ConsoleDep
) -> Response:
    """Withdraw a policy not yet published; audited unless it was withdrawn already."""
    try:
        cancel_policy(console.acting(user), policy_id)
    except NotFoundError:
        raise HTTPException(status_code=404, detail="no such policy") from None
    except InputError as exc:
        return policy_page(console, request, user, policy_id, status_code=400,
                           revise_error=str(exc))  # fmt: skip
    return RedirectResponse(f"/console/policies/{policy_id}?note=cancelled", 303)
