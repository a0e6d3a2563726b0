"""``/console/policies/{id}``'s page: the policy, its deliveries by channel and status, and
what revising and cancelling it show (its file, its revisions); shared by the view and by the
revise and cancel forms, which show it again with the error on a refusal."""

import json
from typing import Any

from fastapi import HTTPException, Request
from fastapi.responses import HTMLResponse
from sqlalchemy.orm import Session

from notifier.inputs.policy_file import TARGET_KEYS
from notifier.services.enterprises.listings import local
from notifier.services.policies.corrections import describe
from notifier.services.policies.listings import deadline_rows, policy_row
from notifier.store import deliveries as delivery_store
from notifier.store import policies as store
from notifier.store.deliveries import DeliveryFilter
from notifier.store.models import Policy
from notifier.web.console.context import Console
from notifier.web.console.session import ConsoleUser

NOTES = ("published", "again", "revised", "unchanged", "notified", "cancelled")


def found(session: Session, policy_id: int) -> Policy:
    """The policy, or the "not found" page (404)."""
    policy = store.get(session, policy_id)
    if policy is None:
        raise HTTPException(status_code=404, detail="no such policy")
    return policy


def policy_file_data(policy: Policy, zone: Any) -> dict[str, Any] | None:
    """The policy as the policy file's JSON object that would revise it, or None without a
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
    }
    return {k: v for k, v in data.items() if v not in (None, "")}


def policy_file_text(policy: Policy, zone: Any) -> str | None:
    """The policy as the policy file that would revise it, or None without a ref."""
    data = policy_file_data(policy, zone)
    return None if data is None else json.dumps(data, ensure_ascii=False, indent=2)


def revision_context(console: Console, policy_id: int) -> dict[str, Any]:
    """What the policy page shows for revising and cancelling this policy (one short read;
    the caller's own session is closed by then, so a busy SQLite file is not held twice)."""
    runtime = console.runtime
    zone = runtime.settings.zone
    with runtime.sessions() as session:
        policy = found(session, policy_id)
        shown = {
            "file_text": policy_file_text(policy, zone),
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
    """The policy page (``extra``: a revise error and the sent text, kept on a refusal)."""
    runtime = console.runtime
    with runtime.sessions() as session:
        policy = found(session, policy_id)
        shown = policy_row(policy, runtime.settings.zone)
        deadlines = deadline_rows(policy, lambda moment: local(moment, runtime.settings.zone))
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
        deadlines=deadlines,
        counts=counts,
        note=note if note in NOTES else None,
        **{"revise_error": None, "sent_text": None, **revising, **extra},
    )
