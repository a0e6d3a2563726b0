"""``/console/enterprises``: search, import (CSV or XLSX) with the row report, one
enterprise's history."""

from collections.abc import Sequence
from typing import Any

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import HTMLResponse
from starlette.datastructures import UploadFile

from notifier.domain.targets import read_credit_code
from notifier.errors import InputError
from notifier.services.enterprises.importing import import_register
from notifier.store import deliveries as delivery_store
from notifier.store import enterprises as store
from notifier.store.deliveries import DeliveryFilter
from notifier.store.enterprises import EnterpriseFilter
from notifier.store.models import Enterprise
from notifier.web.console.context import Console
from notifier.web.console.deps import ConsoleDep, PostedForm, SignedIn, SignedPost
from notifier.web.console.session import ConsoleUser

PAGE = 100
HISTORY = 200

router = APIRouter()


def _import(console: Console, user: ConsoleUser, file: UploadFile, dry_run: bool) -> dict[str, Any]:
    """Import the upload: the one import of every face."""
    context = console.acting(user)
    name = file.filename or "upload.csv"
    return import_register(context, file.file, name=name, dry_run=dry_run).as_dict()


def _page(
    console: Console,
    request: Request,
    user: ConsoleUser,
    *,
    status_code: int = 200,
    enterprises: Sequence[Enterprise] = (),
    q: str = "",
    sector: str = "",
    report: dict[str, Any] | None = None,
    error: str | None = None,
) -> HTMLResponse:
    """The enterprise list: a search's rows, or an import's report (or its error)."""
    return console.page(
        request,
        "console/enterprises.html",
        user,
        status_code=status_code,
        enterprises=enterprises,
        q=q,
        sector=sector,
        page=PAGE,
        report=report,
        error=error,
    )


@router.get("/enterprises", response_class=HTMLResponse)
def listing(
    request: Request,
    user: SignedIn,
    console: ConsoleDep,
    q: str | None = None,
    sector: str | None = None,
) -> HTMLResponse:
    """Enterprises by name or credit code and sector prefix."""
    search = (q or "").strip()[:100] or None
    prefix = (sector or "").strip().upper()[:8] or None
    with console.runtime.sessions() as session:
        rows = session.scalars(
            store.list_query(filters=EnterpriseFilter(sector=prefix, q=search)).limit(PAGE)
        ).all()
        return _page(console, request, user, enterprises=rows, q=search or "", sector=prefix or "")


@router.post("/enterprises/import", response_class=HTMLResponse)
def upload(
    request: Request, user: SignedPost, form: PostedForm, console: ConsoleDep
) -> HTMLResponse:
    """Import a register file (or check it: a dry run), showing the row report."""
    file = form.get("file")
    report, error = None, None
    try:
        if not isinstance(file, UploadFile) or not file.filename:
            raise InputError("file: 请选择文件 / choose a file", field="file")
        # A plain def: FastAPI runs it in a worker thread, off the event loop.
        report = _import(console, user, file, form.get("dry_run") == "on")
    except InputError as exc:
        error = str(exc)
    status_code = 200 if error is None else 400
    return _page(console, request, user, status_code=status_code, report=report, error=error)


@router.get("/enterprises/{credit_code}", response_class=HTMLResponse)
def one(
    request: Request, credit_code: str, user: SignedIn, console: ConsoleDep
) -> HTMLResponse:
    """One enterprise and what was sent to it."""
    try:
        code = read_credit_code(credit_code)
    except InputError:
        raise HTTPException(status_code=404, detail="no such enterprise") from None
    with console.runtime.sessions() as session:
        enterprise = store.get_by_credit_code(session, code)
        if enterprise is None:
            raise HTTPException(status_code=404, detail="no such enterprise")
        history = delivery_store.list_deliveries(
            session, DeliveryFilter(enterprise_id=enterprise.id), limit=HISTORY
        )
        return console.page(
            request,
            "console/enterprise.html",
            user,
            enterprise=enterprise,
            history=history,
            attempts={d.id: delivery_store.attempts_of(session, d.id) for d in history[:20]},
        )
