"""``/console/followups``: the follow-up list (回访) of a community, a call logged against an
item, and a wrong phone number corrected on the spot.

The list is ``services.reach.followups``; a call is ``services.reach.calls.log_call``; a phone
number is saved through ``services.enterprises.saving.save_enterprise`` (the enterprise edit
form's one service, audited ``enterprise.update``) with the firm's other fields as stored.
"""

from __future__ import annotations

from urllib.parse import urlencode

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.datastructures import FormData

from notifier.domain.paging import page_number
from notifier.domain.reach import CALL_WORDS
from notifier.errors import InputError, NotFoundError
from notifier.services.enterprises.regions import region_choices
from notifier.services.enterprises.saving import save_enterprise
from notifier.services.reach.calls import log_call
from notifier.services.reach.followups import followups, read_outcome
from notifier.store import enterprises as enterprise_store
from notifier.web.console import enterprise_form
from notifier.web.console.context import Console
from notifier.web.console.deps import ConsoleDep, PostedForm, StaffPost, StaffUser
from notifier.web.console.session import ConsoleUser

PATH = "/console/followups"
NOTES = frozenset({"logged", "phone"})

router = APIRouter()


def _whole(raw: str | None) -> int | None:
    """An id from a query or form value (anything but a whole number: None)."""
    text = (raw or "").strip()
    return int(text) if text.isdigit() and len(text) < 10 else None


def _listing(
    console: Console,
    request: Request,
    user: ConsoleUser,
    *,
    community: str | None,
    policy: str | None,
    number: int,
    status_code: int = 200,
    error: str | None = None,
    note: str | None = None,
) -> HTMLResponse:
    """The list for ``community`` and ``policy`` (a refused community: the page, its error)."""
    found = None
    try:
        found = followups(
            console.acting(user), community, _whole(policy), number=number, thorough=False
        )
    except (InputError, NotFoundError) as exc:
        status_code, error = 400, str(exc)
    return console.page(
        request, "console/followups.html", user, status_code=status_code,
        found=found, pager=found.page if found else None, items=found.page.rows if found else [],
        regions=region_choices(console.runtime.sessions, user.scope), community=community or "",
        policy=_whole(policy), outcomes=list(CALL_WORDS.values()),
        days=console.runtime.settings.reach.followup_working_days, error=error, note=note,
    )  # fmt: skip


@router.get("/followups", response_class=HTMLResponse)
def listing(
    request: Request,
    user: StaffUser,
    console: ConsoleDep,
    community: str | None = None,
    policy: str | None = None,
    page: str | None = None,
    note: str | None = None,
) -> HTMLResponse:
    """The firms to call in a community (and below it), for every open policy or one."""
    return _listing(
        console, request, user, community=community, policy=policy, number=page_number(page),
        note=note if note in NOTES else None,
    )  # fmt: skip


def _back(form: FormData) -> dict[str, str]:
    """The list's filters and page a form came from, to return to."""
    return {name: str(form.get(name) or "")[:300] for name in ("community", "policy", "page")}


def _return(back: dict[str, str], note: str) -> RedirectResponse:
    query = urlencode({**{k: v for k, v in back.items() if v}, "note": note})
    return RedirectResponse(f"{PATH}?{query}", 303)


def _refused(
    console: Console, request: Request, user: ConsoleUser, back: dict[str, str], error: str,
    status_code: int = 400,
) -> HTMLResponse:  # fmt: skip
    return _listing(
        console, request, user, community=back["community"], policy=back["policy"],
        number=page_number(back["page"]), status_code=status_code, error=error,
    )  # fmt: skip


@router.post("/followups/call")
def call(request: Request, user: StaffPost, form: PostedForm, console: ConsoleDep) -> Response:
    """Log a call to a firm about a policy (audited ``reach.call``); a bad outcome or note is
    refused naming it, the list shown again."""
    back = _back(form)
    policy_id = _whole(str(form.get("policy_id") or ""))
    enterprise_id = _whole(str(form.get("enterprise_id") or ""))
    if policy_id is None or enterprise_id is None:
        raise HTTPException(status_code=404, detail="no such policy or firm")
    try:
        outcome = read_outcome(str(form.get("outcome") or ""))
        log_call(
            console.acting(user), policy_id, enterprise_id, outcome, str(form.get("note") or "")
        )
    except NotFoundError as exc:
        return _refused(console, request, user, back, str(exc), 404)
    except InputError as exc:
        return _refused(console, request, user, back, str(exc))
    return _return(back, "logged")


@router.post("/followups/phone")
def phone(request: Request, user: StaffPost, form: PostedForm, console: ConsoleDep) -> Response:
    """Correct a firm's phone number: its stored record with the new number, saved by the
    enterprise edit form's service (checked as a register row, audited)."""
    back = _back(form)
    code = str(form.get("credit_code") or "").strip()[:18]
    with console.runtime.sessions() as session:
        enterprise = enterprise_store.get_full(session, code)
        kept = enterprise_form.shown(enterprise) if enterprise else None
    if kept is None:
        raise HTTPException(status_code=404, detail="no such enterprise")
    kept["phone"] = str(form.get("phone") or "")[:100]
    try:
        save_enterprise(console.acting(user), enterprise_form.values_of(code, kept), update=True)
    except NotFoundError:
        raise HTTPException(status_code=404, detail="no such enterprise") from None
    except InputError as exc:
        return _refused(console, request, user, back, enterprise_form.refusal(exc))
    return _return(back, "phone")
