"""``/console/policies/{id}/cancel``: withdrawing a policy whose publication time has not come
(audited). A refusal shows the policy page again with the error. Corrections are made in the
form (``correcting``); the API and the CLI keep the policy file."""

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import RedirectResponse, Response

from notifier.errors import InputError, NotFoundError
from notifier.services.policies.corrections import cancel_policy
from notifier.web.console.deps import AuthorPost, ConsoleDep
from notifier.web.console.policy_page import policy_page
from notifier.web.deps import Id

router = APIRouter()


@router.post("/policies/{policy_id}/cancel")
def cancel_form(
    request: Request, policy_id: Id, user: AuthorPost, console: ConsoleDep
) -> Response:
    """Withdraw a policy not yet published; audited unless it was withdrawn already."""
    try:
        cancel_policy(console.acting(user), policy_id)
    except NotFoundError:
        raise HTTPException(status_code=404, detail="no such policy") from None
    except InputError as exc:
        return policy_page(console, request, user, policy_id, status_code=400,
                           cancel_error=str(exc))  # fmt: skip
    return RedirectResponse(f"/console/policies/{policy_id}?note=cancelled", 303)
