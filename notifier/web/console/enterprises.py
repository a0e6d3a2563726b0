"""``/console/enterprises``: search, the import's report page (see ``register_import``), one
enterprise's history and its edit form."""

from typing import Any

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from notifier.domain.channel_names import CHANNELS
from notifier.domain.paging import Paged, page_number
from notifier.domain.targets import SIZES, read_credit_code
from notifier.errors import InputError, NotFoundError
from notifier.services.enterprises.saving import save_enterprise
from notifier.store import deliveries as delivery_store
from notifier.store import enterprises as store
from notifier.store import policies
from notifier.store.deliveries import DeliveryFilter
from notifier.store.enterprises import EnterpriseFilter
from notifier.store.models import Enterprise
from notifier.store.paging import paged
from notifier.web.console import enterprise_form
from notifier.web.console.context import Console
from notifier.web.console.deps import ConsoleDep, PostedForm, StaffPost, StaffUser
from notifier.web.console.session import ConsoleUser

PAGE = 50
HISTORY = 20  # the latest; the delivery log pages through the rest

router = APIRouter()


def _page(
    console: Console,
    request: Request,
    user: ConsoleUser,
    *,
    status_code: int = 200,
    enterprises: Paged[Enterprise] | None = None,
    q: str = "",
    sector: str = "",
    report: dict[str, Any] | None = None,
    error: str | None = None,
    token: str | None = None,
) -> HTMLResponse:
    """The enterprise list: a search's rows, or an import's report (or its error)."""
    return console.page(
        request,
        "console/enterprises.html",
        user,
        status_code=status_code,
        enterprises=enterprises.rows if enterprises else [],
        pager=enterprises,
        q=q,
        sector=sector,
        report=report,
        error=error,
        token=token,
    )


def import_page(
    console: Console,
    request: Request,
    user: ConsoleUser,
    *,
    status_code: int = 200,
    report: dict[str, Any] | None = None,
    error: str | None = None,
    token: str | None = None,
) -> HTMLResponse:
    """The enterprise page with an import's report (and its bad-rows link) or its error."""
    return _page(
        console, request, user, status_code=status_code, report=report, error=error, token=token
    )


@router.get("/enterprises", response_class=HTMLResponse)
def listing(
    request: Request,
    user: StaffUser,
    console: ConsoleDep,
    q: str | None = None,
    sector: str | None = None,
    page: str | None = None,
) -> HTMLResponse:
    """Enterprises by name or credit code and sector prefix, a page at a time."""
    search = (q or "").strip()[:100] or None
    prefix = (sector or "").strip().upper()[:8] or None
    query = store.list_query(filters=EnterpriseFilter(sector=prefix, q=search, scope=user.scope))
    with console.runtime.sessions() as session:
        found = paged(session, query, number=page_number(page), size=PAGE)
        return _page(
            console, request, user, enterprises=found, q=search or "", sector=prefix or ""
        )


def _code(credit_code: str) -> str:
    try:
        return read_credit_code(credit_code)
    except InputError:
        raise HTTPException(status_code=404, detail="no such enterprise") from None


def enterprise_page(
    console: Console,
    request: Request,
    user: ConsoleUser,
    code: str,
    *,
    status_code: int = 200,
    form: dict[str, Any] | None = None,
    error: str | None = None,
    note: str | None = None,
) -> HTMLResponse:
    """One enterprise, its edit form (as stored, or as sent when refused) and its history."""
    with console.runtime.sessions() as session:
        enterprise = store.get_full(session, code, scope=user.scope)
        if enterprise is None:
            raise HTTPException(status_code=404, detail="no such enterprise")
        mine = DeliveryFilter(enterprise_id=enterprise.id)
        history = delivery_store.list_deliveries(session, mine, limit=HISTORY)
        total = sum(delivery_store.status_counts(session, mine).values())
        titles = policies.titles(session, {d.policy_id for d in history if d.policy_id})
        return console.page(
            request,
            "console/enterprise.html",
            user,
            status_code=status_code,
            enterprise=enterprise,
            history=history,
            history_total=total,
            titles=titles,
            attempts={d.id: delivery_store.attempts_of(session, d.id) for d in history},
            form=form or enterprise_form.shown(enterprise),
            sizes=SIZES,
            channels=CHANNELS,
            error=error,
            note=note,
        )


@router.get("/enterprises/{credit_code}", response_class=HTMLResponse)
def one(
    request: Request,
    credit_code: str,
    user: StaffUser,
    console: ConsoleDep,
    note: str | None = None,
) -> HTMLResponse:
    """One enterprise, its edit form and what was sent to it."""
    shown = note if note == "saved" else None
    return enterprise_page(console, request, user, _code(credit_code), note=shown)


@router.post("/enterprises/{credit_code}/edit")
def edit(
    request: Request, credit_code: str, user: StaffPost, form: PostedForm, console: ConsoleDep
) -> Response:
    """Save the edit form through the register's checks (audited ``enterprise.update``); a
    refusal names the field in Chinese and keeps what was typed."""
    code = _code(credit_code)
    kept = enterprise_form.sent(form)
    try:
        save_enterprise(
            console.acting(user), enterprise_form.values_of(code, kept), update=True
        )
    except NotFoundError:
        raise HTTPException(status_code=404, detail="no such enterprise") from None
    except InputError as exc:
        return enterprise_page(
            console, request, user, code, status_code=400, form=kept,
            error=enterprise_form.refusal(exc),
        )  # fmt: skip
    return RedirectResponse(f"/console/enterprises/{code}?note=saved", 303)
