"""``/console/approvals``: the sends waiting for approval (待审核), one request with its frozen
preview, and the approve and return forms. The decision is the approval services' (an author
is refused there, whatever the face); this page only shows the forms to whom may use them."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from notifier.errors import NotAllowedError, NotFoundError, NotifierError
from notifier.services.approval.deciding import approve, return_
from notifier.services.approval.listings import list_approvals, show_approval
from notifier.services.approval.rules import DECIDERS, person
from notifier.web.console.context import Console
from notifier.web.console.deps import ConsoleDep, PostedForm, SignedIn, SignedPost
from notifier.web.console.session import ConsoleUser
from notifier.web.deps import Id

router = APIRouter()

STATUSES = ("pending", "approved", "returned", "withdrawn")
NOTES = ("approved", "returned")


@router.get("/approvals", response_class=HTMLResponse)
def listing(
    request: Request, user: SignedIn, console: ConsoleDep, status: str | None = None
) -> HTMLResponse:
    """The requests of one status (default: those waiting), newest first."""
    chosen = status if status in STATUSES else "pending"
    rows = list_approvals(console.acting(user), status=chosen)
    return console.page(request, "console/approvals.html", user, approvals=rows,
                        status=chosen, statuses=STATUSES)  # fmt: skip


def approval_page(
    console: Console, request: Request, user: ConsoleUser, approval_id: int, *,
    status_code: int = 200, **extra: Any,
) -> HTMLResponse:
    """One request: who asked, the frozen preview, the decision or the forms to make it."""
    try:
        row = show_approval(console.acting(user), approval_id)
    except NotFoundError:
        return console.not_found(request)
    own = row["author"] == person(user.actor)
    may_decide = user.role in DECIDERS and row["status"] == "pending" and not own
    defaults = {"note": None, "error": None, "reason": ""}
    return console.page(
        request, "console/approval.html", user, status_code=status_code, approval=row,
        own=own, may_decide=may_decide, **{**defaults, **extra},
    )  # fmt: skip


@router.get("/approvals/{approval_id}", response_class=HTMLResponse)
def one(
    request: Request, approval_id: Id, user: SignedIn, console: ConsoleDep,
    note: str | None = None,
) -> HTMLResponse:
    """One request and its frozen preview."""
    return approval_page(console, request, user, approval_id,
                         note=note if note in NOTES else None)  # fmt: skip


def _refused(
    console: Console, request: Request, user: ConsoleUser, approval_id: int, exc: NotifierError,
    reason: str = "",
) -> Response:
    status = 404 if isinstance(exc, NotFoundError) else 403 if isinstance(
        exc, NotAllowedError) else 400  # fmt: skip
    return approval_page(console, request, user, approval_id, status_code=status,
                         error=str(exc), reason=reason)  # fmt: skip


@router.post("/approvals/{approval_id}/approve")
def approve_(request: Request, approval_id: Id, user: SignedPost, console: ConsoleDep) -> Response:
    """Approve: the send is queued now. Refused (403) to its author and to anyone not an
    approver or admin, by the service."""
    try:
        approve(console.acting(user), approval_id)
    except NotifierError as exc:
        return _refused(console, request, user, approval_id, exc)
    return RedirectResponse(f"/console/approvals/{approval_id}?note=approved", 303)


@router.post("/approvals/{approval_id}/return")
def return_request(
    request: Request, approval_id: Id, user: SignedPost, console: ConsoleDep, form: PostedForm
) -> Response:
    """Return it with the reason typed: nothing is sent; its author sees the reason."""
    reason = str(form.get("reason") or "")
    try:
        return_(console.acting(user), approval_id, reason)
    except NotifierError as exc:
        return _refused(console, request, user, approval_id, exc, reason)
    return RedirectResponse(f"/console/approvals/{approval_id}?note=returned", 303)
