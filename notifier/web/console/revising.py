"""``/console/policies/{id}/revise`` and ``/cancel``: revising a policy (its JSON, with the
"notify" checkbox that sends a correction) and cancelling one whose publication time has not
come; both audited. A refusal shows the policy page again with the error."""

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import RedirectResponse, Response

from notifier.errors import BrokerUnavailable, InputError, NotFoundError
from notifier.inputs.policy_file import read_policy_file
from notifier.services.deadlines.reminders import LadderRules
from notifier.services.policies.corrections import Revised, cancel_policy, revise
from notifier.store import policies as store
from notifier.web.auditing import record_change
from notifier.web.console.context import Console
from notifier.web.console.deps import ConsoleDep, PostedForm, SignedPost
from notifier.web.console.policy_page import policy_page
from notifier.web.deps import Id

router = APIRouter()


def _revised(console: Console, policy_id: int, text: str, notify: bool) -> Revised:
    """Revise the policy with the posted file, whose ref must be this policy's."""
    runtime = console.runtime
    with runtime.sessions() as session:
        policy = store.get(session, policy_id)
        if policy is None:
            raise HTTPException(status_code=404, detail="no such policy")
        own_ref = policy.source_key
    draft = read_policy_file(text.encode("utf-8"), zone=runtime.settings.zone)
    if draft.source_key.startswith("ref:") and draft.source_key != own_ref:
        ref = own_ref.removeprefix("ref:")
        raise InputError(f"ref: 与本政策不符 / is not this policy's ref ({ref})", field="ref")
    return revise(
        runtime.sessions,
        runtime.dispatch,
        draft,
        notify=notify,
        time_source=runtime.time_source,
        ladders=LadderRules.of(runtime.settings),
    )


@router.post("/policies/{policy_id}/revise")
def revise_form(
    request: Request, policy_id: Id, user: SignedPost, form: PostedForm, console: ConsoleDep
) -> Response:
    """Revise the policy; audited when something changed or a correction went out."""
    text = str(form.get("policy_json") or "")
    notify = form.get("notify") is not None
    try:
        revised = _revised(console, policy_id, text, notify)
    except (InputError, BrokerUnavailable) as exc:
        return policy_page(
            console, request, user, policy_id,
            status_code=400, revise_error=str(exc), sent_text=text,
        )  # fmt: skip
    if revised.new or revised.trigger_id is not None:
        record_change(
            console.runtime,
            user.principal,
            action="policy.revise",
            target_type="policy",
            target_id=policy_id,
            after={
                "revision": revised.revision,
                "changed": list(revised.changed),
                "notify": notify,
                "correction_trigger": revised.trigger_id,
            },
        )
    note = "notified" if revised.trigger_id else ("revised" if revised.new else "unchanged")
    return RedirectResponse(f"/console/policies/{policy_id}?note={note}", 303)


@router.post("/policies/{policy_id}/cancel")
def cancel_form(
    request: Request, policy_id: Id, user: SignedPost, console: ConsoleDep
) -> Response:
    """Withdraw a policy not yet published; audited unless it was withdrawn already."""
    runtime = console.runtime
    try:
        withdrawn = cancel_policy(
            runtime.sessions, policy_id, time_source=runtime.time_source,
            zone=runtime.settings.zone,
        )  # fmt: skip
    except NotFoundError:
        raise HTTPException(status_code=404, detail="no such policy") from None
    except InputError as exc:
        return policy_page(console, request, user, policy_id, status_code=400,
                           revise_error=str(exc))  # fmt: skip
    if not withdrawn.already:
        record_change(
            runtime,
            user.principal,
            action="policy.cancel",
            target_type="policy",
            target_id=policy_id,
            after={"deadlines": withdrawn.deadlines, "triggers": withdrawn.triggers},
        )
    return RedirectResponse(f"/console/policies/{policy_id}?note=cancelled", 303)
