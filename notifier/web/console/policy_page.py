"""``/console/policies/{id}``'s page: the policy, its deliveries by channel and status, its
reach (``reach_report``), its corrections and whether it can be corrected or withdrawn;
shared by the view and by the cancel form, which shows it again with the error on a
refusal."""

from typing import Any

from fastapi import HTTPException, Request
from fastapi.responses import HTMLResponse
from sqlalchemy.orm import Session

from notifier.domain.scope import DISTRICT, Scope
from notifier.inputs.policy_file import TARGET_KEYS
from notifier.services.approval.listings import approval_state
from notifier.services.enterprises.listings import local
from notifier.services.policies.corrections import describe
from notifier.services.policies.listings import policy_row, ref_of
from notifier.store import deliveries as delivery_store
from notifier.store import policies as store
from notifier.store.deliveries import DeliveryFilter
from notifier.store.models import Policy
from notifier.web.console.context import Console
from notifier.web.console.reach_report import reach_context
from notifier.web.console.session import ConsoleUser

NOTES = ("published", "again", "revised", "unchanged", "notified", "cancelled", "held")


def found(session: Session, policy_id: int, scope: Scope = DISTRICT) -> Policy:
    """The policy (one ``scope`` sees: a publisher its department's), or the "not found"
    page (404)."""
    policy = store.get_in_scope(session, policy_id, scope)
    if policy is None:
        raise HTTPException(status_code=404, detail="no such policy")
    return policy


def policy_file_data(policy: Policy, zone: Any) -> dict[str, Any] | None:
    """The policy as the policy file's object that would correct it, or None without a
    ref (each deadline with its own ladder, so a revision keeps it)."""
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
            | ({"remind": list(d.remind)} if d.remind is not None else {})
            for d in policy.deadlines
            if d.cancelled_at is None
        ],
        **policy.guide.as_dict(),
        # None (the setting) is left out below; [] (no re-sends) is kept.
        "reach_ladder": policy.reach_ladder,
        "message_class": policy.message_class,
    }
    return {k: v for k, v in data.items() if v not in (None, "")}


def shown_deadlines(policy: Policy, zone: Any) -> list[dict[str, Any]]:
    """The policy's deadlines in force as its page lists them: title, due time in ``zone``
    and the reminder ladder's rungs (None: the ``reminders.ladder`` setting)."""
    return [
        {"id": d.id, "title": d.title, "due_at": local(d.due_at, zone), "remind": d.remind}
        for d in policy.deadlines
        if d.cancelled_at is None
    ]


def revision_context(console: Console, policy_id: int) -> dict[str, Any]:
    """What the policy page shows for revising and cancelling this policy (one short read;
    the caller's own session is closed by then, so a busy SQLite file is not held twice)."""
    runtime = console.runtime
    zone = runtime.settings.zone
    with runtime.sessions() as session:
        policy = found(session, policy_id)
        shown = {
            "correctable": policy.source_key.startswith("ref:") and policy.cancelled_at is None,
            "cancellable": policy.cancelled_at is None
            and policy.published_at > runtime.time_source.now(),
            "cancelled_at": policy.cancelled_at,
        }
    return {**shown, "revisions": describe(runtime.sessions, policy_id, zone=zone)["revisions"]}


def policy_page(
    console: Console,
    request: Request,
    user: ConsoleUser,
    policy_id: int,
    *,
    status_code: int = 200,
    note: str | None = None,
    **extra: Any,
) -> HTMLResponse:
    """The policy page (``extra``: the cancel form's refusal)."""
    runtime = console.runtime
    with runtime.sessions() as session:
        policy = found(session, policy_id, user.scope)
        shown = policy_row(policy, runtime.settings.zone)
        ref = ref_of(policy)
        deadlines = shown_deadlines(policy, runtime.settings.zone)
        counts = delivery_store.channel_status_counts(
            session, DeliveryFilter(policy_id=policy_id, scope=user.scope, counting=True)
        )
    revising = revision_context(console, policy_id)
    reach = reach_context(console.acting(user), policy_id)
    approval = approval_state(runtime.sessions, policy_id=policy_id)
    return console.page(
        request,
        "console/policy.html",
        user,
        status_code=status_code,
        policy=shown,
        ref=ref,
        deadlines=deadlines,
        counts=counts,
        note=note if note in NOTES else None,
        approval=approval,
        **{"cancel_error": None, **revising, **reach, **extra},
    )
