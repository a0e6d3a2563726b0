"""``/api/v1/deliveries``: the delivery log, filtered, a page at a time, and exported."""

from __future__ import annotations

from datetime import datetime, tzinfo
from functools import partial
from typing import Annotated, Any, Literal, get_args

from fastapi import APIRouter, Depends, Query
from fastapi.responses import Response, StreamingResponse
from sqlalchemy.orm import Session

from notifier.domain.scope import DISTRICT, Scope
from notifier.domain.targets import read_credit_code
from notifier.domain.xlsx_export import XLSX_MEDIA_TYPE
from notifier.errors import InputError, NotFoundError
from notifier.inputs.fields import CREDIT_CODE
from notifier.runtime import Runtime
from notifier.services.enterprises.listings import (
    DELIVERY_COLUMNS,
    EXPORT_LIMIT,
    attempt_row,
    delivery_row,
)
from notifier.store import deliveries as store
from notifier.store import enterprises
from notifier.store.deliveries import DeliveryFilter
from notifier.store.models import Delivery, DeliveryStatus
from notifier.web.api.schemas import DeliveryDetail, DeliveryOut, Page
from notifier.web.auth import Staff
from notifier.web.delivery_log_export import DeliveryLogExport
from notifier.web.deps import ExportsDep, Id, RuntimeDep
from notifier.web.errors import error_response
from notifier.web.export_pool import ExportBusy

router = APIRouter(prefix="/deliveries", tags=["deliveries"])
BUSY_REASON = "导出繁忙，请稍后再试 / another export is being made; try again shortly"

Status = Literal[
    "pending",
    "queued",
    "sending",
    "sent",
    "delivered",
    "failed",
    "deferred",
    "suppressed",
    "cancelled",
    "expired",
]
assert set(get_args(Status)) == {s.value for s in DeliveryStatus}  # the state machine's, all
Channel = Literal["sms", "email", "webhook"]


def _aware(moment: datetime | None, runtime: Runtime, field: str) -> datetime | None:
    if moment is None:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=runtime.settings.zone)
    if not 2000 <= moment.year <= 2100:
        raise InputError(f"{field}: 年份须在 2000-2100 / year outside 2000-2100", field=field)
    return moment


def delivery_filter(
    runtime: Runtime,
    *,
    status: str | None,
    channel: str | None,
    enterprise: str | None,
    trigger: int | None,
    policy: int | None,
    since: datetime | None,
    until: datetime | None,
    enterprise_id: int | None = None,
    scope: Scope = DISTRICT,
) -> DeliveryFilter:
    """The store's filter from the query parameters (an unknown credit code matches nothing)."""
    if enterprise is not None:
        code = read_credit_code(enterprise)
        with runtime.sessions() as session:
            found = enterprises.get_by_credit_code(session, code)
        enterprise_id = found.id if found else 0
    return DeliveryFilter(
        policy_id=policy,
        trigger_id=trigger,
        status=status,
        channel=channel,
        enterprise_id=enterprise_id,
        since=_aware(since, runtime, "from"),
        until=_aware(until, runtime, "to"),
        scope=scope,
    )


def page_of(
    runtime: Runtime, filters: DeliveryFilter, cursor: int | None, limit: int
) -> dict[str, Any]:
    """One page, newest first; ``next`` is the cursor of the following page."""
    with runtime.sessions() as session:
        rows = store.list_deliveries(session, filters, limit=limit, before_id=cursor)
        items = [delivery_row(d, runtime.settings.zone) for d in rows]
    return {"items": items, "next": str(rows[-1].id) if len(rows) == limit else None}


StatusQ = Annotated[Status | None, Query(description="状态 / status")]
ChannelQ = Annotated[Channel | None, Query(description="渠道 / channel")]
EnterpriseQ = Annotated[
    str | None, Query(max_length=40, description="统一社会信用代码", json_schema_extra=CREDIT_CODE)
]
IdQ = Annotated[int | None, Query(ge=1, le=2**31 - 1)]
FromQ = Annotated[datetime | None, Query(alias="from", description="创建时间起 / created from")]
ToQ = Annotated[datetime | None, Query(alias="to", description="创建时间止 / created before")]
CursorQ = Annotated[int | None, Query(ge=1, le=2**31 - 1, description="上一页的 next")]
LimitQ = Annotated[int, Query(ge=1, le=500)]


def staff_filter(
    runtime: RuntimeDep,
    principal: Staff,
    status: StatusQ = None,
    channel: ChannelQ = None,
    enterprise: EnterpriseQ = None,
    trigger: IdQ = None,
    policy: IdQ = None,
    since: FromQ = None,
    until: ToQ = None,
) -> DeliveryFilter:
    """The filter the delivery log and its export share, from their query parameters."""
    return delivery_filter(
        runtime,
        status=status,
        channel=channel,
        enterprise=enterprise,
        trigger=trigger,
        policy=policy,
        since=since,
        until=until,
        scope=principal.scope,
    )


StaffFilter = Annotated[DeliveryFilter, Depends(staff_filter)]


@router.get("", response_model=Page[DeliveryOut], summary="投递记录 / the delivery log")
def list_deliveries(
    runtime: RuntimeDep,
    _: Staff,
    filters: StaffFilter,
    cursor: CursorQ = None,
    limit: LimitQ = 50,
) -> dict[str, Any]:
    """Deliveries newest first, a page at a time (pass ``next`` back as ``cursor``)."""
    return page_of(runtime, filters, cursor, limit)


@router.get(
    "/export",
    summary="导出 CSV/XLSX / export",
    response_class=Response,
    responses={
        200: {
            "content": {"text/csv": {}, XLSX_MEDIA_TYPE: {}},
            "description": "公式安全的表格 / formula-safe spreadsheet",
        }
    },
)
def export(
    runtime: RuntimeDep,
    exports: ExportsDep,
    _: Staff,
    filters: StaffFilter,
    format: Literal["csv", "xlsx"] = "csv",  # noqa: A002 - the parameter's public name
) -> Response:
    """The matching deliveries as CSV (UTF-8 with BOM) or XLSX; no cell can run as a formula.

    Built in the export's child process (read a page at a time, written to a temporary file)
    and streamed back from that file; 503 while another export takes too long."""
    job = DeliveryLogExport(
        database_url=runtime.settings.database_url,
        filters=filters,
        format=format,
        convert=partial(_rows, runtime.settings.zone),
        columns=DELIVERY_COLUMNS,
        limit=EXPORT_LIMIT,
        page=store.EXPORT_PAGE,
    )
    try:
        body = exports.build(job)
    except ExportBusy:
        return error_response(503, BUSY_REASON, field="export")
    media = XLSX_MEDIA_TYPE if format == "xlsx" else "text/csv; charset=utf-8"
    headers = {"Content-Disposition": f'attachment; filename="deliveries.{format}"'}
    return StreamingResponse(body, media_type=media, headers=headers)


def _rows(zone: tzinfo, _: Session, page: list[Delivery]) -> list[dict[str, object]]:
    return [delivery_row(d, zone) for d in page]


def delivery_detail(
    runtime: Runtime, delivery_id: int, *, enterprise_id: int | None, scope: Scope = DISTRICT
) -> dict[str, Any]:
    """One delivery and its attempts; with ``enterprise_id``, only one of that enterprise's;
    only one to a firm in ``scope``."""
    zone = runtime.settings.zone
    with runtime.sessions() as session:
        delivery = store.get_delivery(session, delivery_id, scope=scope)
        if delivery is None or enterprise_id not in (None, delivery.enterprise_id):
            raise NotFoundError(f"delivery {delivery_id}: 不存在 / no such delivery", field="id")
        row = delivery_row(delivery, zone)
        row["attempts_made"] = row["attempts"]
        row["history"] = [attempt_row(a, zone) for a in store.attempts_of(session, delivery_id)]
    return row


@router.get("/{delivery_id}", response_model=DeliveryDetail, summary="一条投递 / one delivery")
def show_delivery(runtime: RuntimeDep, principal: Staff, delivery_id: Id) -> dict[str, Any]:
    """One delivery: why it was sent and every attempt (404 outside one's scope)."""
    return delivery_detail(runtime, delivery_id, enterprise_id=None, scope=principal.scope)
