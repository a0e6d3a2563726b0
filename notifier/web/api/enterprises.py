"""``/api/v1/enterprises``: list, show with delivery history, create or update, import."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, UploadFile
from fastapi import Path as PathParameter

from notifier.domain.channel_names import CHANNELS
from notifier.domain.scope import Scope
from notifier.domain.sectors import normalize_sector, sector_pattern
from notifier.domain.targets import SIZE_WORDS, read_credit_code
from notifier.errors import InputError, NotFoundError
from notifier.inputs.api import EnterpriseIn
from notifier.inputs.fields import CREDIT_CODE, SIZE_ENUM
from notifier.runtime import Runtime
from notifier.services.enterprises import importing, saving
from notifier.services.enterprises.listings import delivery_row, enterprise_row, local
from notifier.store import deliveries as delivery_store
from notifier.store import enterprises as store
from notifier.store.deliveries import DeliveryFilter
from notifier.store.enterprises import EnterpriseFilter
from notifier.store.models import Enterprise
from notifier.web.api.schemas import (
    LINE_PARAMETER,
    EnterpriseDetail,
    EnterpriseOut,
    EnterpriseSaved,
    ImportReportOut,
    Page,
)
from notifier.web.auth import Principal, Staff, acting
from notifier.web.deps import RuntimeDep

router = APIRouter(prefix="/enterprises", tags=["enterprises"])

HISTORY = 50
CreditCode = Annotated[str, PathParameter(max_length=40, json_schema_extra=CREDIT_CODE)]
Limit = Annotated[int, Query(ge=1, le=500, description="每页条数 / items per page")]


def _credit_code(raw: str) -> str:
    try:
        return read_credit_code(raw)
    except InputError as exc:
        raise NotFoundError(f"credit_code: {exc}", field="credit_code") from None


def _filters(
    sector: str | None,
    region: str | None,
    size: str | None,
    channel: str | None,
    q: str | None,
    scope: Scope,
) -> EnterpriseFilter:
    if sector:
        try:
            sector = normalize_sector(sector)
        except InputError as exc:
            raise InputError(f"sector: {exc}", field="sector") from None
    if size:
        word = size.strip()
        size = SIZE_WORDS.get(word) or SIZE_WORDS.get(word.lower())
        if size is None:
            raise InputError(f"size: 未知规模 / unknown size {word!r}", field="size")
    return EnterpriseFilter(
        sector=sector, region=region, size=size, channel=channel, q=q, scope=scope
    )


@router.get("", response_model=Page[EnterpriseOut], summary="企业列表 / list enterprises")
def list_enterprises(
    runtime: RuntimeDep,
    principal: Staff,
    sector: Annotated[
        str | None,
        Query(
            max_length=10,
            description="GB/T 4754, e.g. C36",
            json_schema_extra={"pattern": sector_pattern()},
        ),
    ] = None,
    region: Annotated[
        str | None,
        Query(max_length=200, description="区域前缀 / prefix", json_schema_extra=LINE_PARAMETER),
    ] = None,
    size: Annotated[
        str | None, Query(max_length=10, json_schema_extra={"enum": SIZE_ENUM})
    ] = None,
    channel: Literal["sms", "email", "webhook"] | None = None,
    q: Annotated[
        str | None,
        Query(
            max_length=100,
            description="名称或代码 / name or code",
            json_schema_extra=LINE_PARAMETER,
        ),
    ] = None,
    cursor: Annotated[str | None, Query(max_length=40, json_schema_extra=LINE_PARAMETER)] = None,
    limit: Limit = 50,
) -> dict[str, Any]:
    """Enterprises in credit-code order, a page at a time (a community's staff: its firms)."""
    filters = _filters(sector, region, size, channel, q, principal.scope)
    with runtime.sessions() as session:
        page = store.page_enterprises(session, filters, after=cursor, limit=limit)
        items = [enterprise_row(e) for e in page]
    return {"items": items, "next": page[-1].credit_code if len(page) == limit else None}


def detail(runtime: Runtime, enterprise: Enterprise) -> dict[str, Any]:
    # The firm is in the caller's scope already: its deliveries are all shown.
    """An enterprise with its contacts and latest deliveries (also the ``/me`` view)."""
    zone = runtime.settings.zone
    contacts: dict[str, list[str]] = {channel: [] for channel in CHANNELS}
    for contact in enterprise.contacts:
        contacts.setdefault(contact.channel, []).append(contact.address)
    with runtime.sessions() as session:
        history = delivery_store.list_deliveries(
            session, DeliveryFilter(enterprise_id=enterprise.id), limit=HISTORY
        )
        rows = [delivery_row(d, zone) for d in history]
    return {
        **enterprise_row(enterprise),
        "contacts": contacts,
        "unsubscribed_at": local(enterprise.unsubscribed_at, zone),
        "deliveries": rows,
    }


def _get(runtime: Runtime, credit_code: str, scope: Scope) -> Enterprise:
    code = _credit_code(credit_code)
    with runtime.sessions() as session:
        enterprise = store.get_full(session, code, scope=scope)
    if enterprise is None:
        raise NotFoundError(f"credit_code: 没有该企业 / no enterprise {code}", field="credit_code")
    return enterprise


@router.get("/{credit_code}", response_model=EnterpriseDetail, summary="企业详情 / one enterprise")
def show_enterprise(
    runtime: RuntimeDep, principal: Staff, credit_code: CreditCode
) -> dict[str, Any]:
    """One enterprise, its contacts and its latest deliveries (404 outside one's scope)."""
    return detail(runtime, _get(runtime, credit_code, principal.scope))


def _save(
    runtime: Runtime, principal: Principal, body: EnterpriseIn, *, update: bool
) -> dict[str, Any]:
    context = acting(runtime, principal)
    saved = saving.save_enterprise(context, body.model_dump(), update=update)
    return {"created": saved.created, "enterprise": saved.enterprise}


@router.post("", response_model=EnterpriseSaved, summary="新建或更新企业 / create or update")
def save_enterprise(runtime: RuntimeDep, principal: Staff, body: EnterpriseIn) -> dict[str, Any]:
    """Create an enterprise, or update the one with this credit code; checked as an import row."""
    return _save(runtime, principal, body, update=False)


@router.put(
    "/{credit_code}", response_model=EnterpriseSaved, summary="更新企业 / update an enterprise"
)
def update_enterprise(
    runtime: RuntimeDep, principal: Staff, credit_code: CreditCode, body: EnterpriseIn
) -> dict[str, Any]:
    """Update an existing enterprise (the body's credit code must be the path's)."""
    code = _credit_code(credit_code)
    if read_credit_code(body.credit_code) != code:
        raise InputError("credit_code: 与路径不一致 / differs from the path's", field="credit_code")
    return _save(runtime, principal, body, update=True)


@router.post(
    "/import", response_model=ImportReportOut, summary="导入企业 CSV/XLSX / import a register"
)
def import_register(
    runtime: RuntimeDep, principal: Staff, file: UploadFile, dry_run: bool = False
) -> dict[str, Any]:
    """Import a CSV or XLSX register: good rows are kept, bad ones listed by row and field (the
    first ``imports.max_reported_errors``; ``errors_left_out`` counts the rest)."""
    # The upload is already spooled to a temporary file (the body limit held while it came):
    # the register is read from there, never copied whole into memory.
    name = file.filename or "upload.csv"
    context = acting(runtime, principal)
    report = importing.import_register(context, file.file, name=name, dry_run=dry_run)
    return report.as_dict()
