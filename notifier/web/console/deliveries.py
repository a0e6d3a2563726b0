"""``/console/deliveries``: the searchable log, one delivery with its attempts and reason."""

from typing import Literal

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import HTMLResponse, Response

from notifier.domain.channel_names import CHANNELS
from notifier.domain.paging import page_number
from notifier.domain.scope import DISTRICT, Scope
from notifier.domain.xlsx_export import XLSX_MEDIA_TYPE
from notifier.services.delivery.shown import delivery_message
from notifier.services.enterprises.listings import EXPORT_LIMIT
from notifier.store import deliveries as store
from notifier.store import policies
from notifier.store.deliveries import DeliveryFilter
from notifier.store.models import DeliveryStatus
from notifier.store.paging import paged
from notifier.web import i18n
from notifier.web.console import delivery_export
from notifier.web.console.deps import ConsoleDep, StaffUser
from notifier.web.delivery_log_export import DeliveryLogExport
from notifier.web.deps import Id
from notifier.web.views import language_of

PAGE = 100
STATUSES = tuple(s.value for s in DeliveryStatus)

router = APIRouter()


def filter_of(
    policy: str | None,
    status: str | None,
    channel: str | None,
    q: str | None,
    scope: Scope = DISTRICT,
) -> DeliveryFilter:
    """The log's filter from its query string (values that cannot match are dropped), in the
    user's ``scope``."""
    return DeliveryFilter(
        scope=scope,
        policy_id=int(policy) if policy and policy.isdigit() and len(policy) < 10 else None,
        status=status if status in STATUSES else None,
        channel=channel if channel in CHANNELS else None,
        search=(q or "").strip()[:100] or None,
    )


@router.get("/deliveries", response_class=HTMLResponse)
def log(
    request: Request,
    user: StaffUser,
    console: ConsoleDep,
    policy: str | None = None,
    status: str | None = None,
    channel: str | None = None,
    q: str | None = None,
    page: str | None = None,
) -> HTMLResponse:
    """The delivery log as filtered, newest first, a page at a time."""
    filters = filter_of(policy, status, channel, q, user.scope)
    with console.runtime.sessions() as session:
        counts = store.status_counts(session, filters)
        found = paged(
            session,
            store.newest_first(filters),
            number=page_number(page),
            size=PAGE,
            total=sum(counts.values()),  # counted already: no second count
        )
        return console.page(
            request,
            "console/deliveries.html",
            user,
            deliveries=found.rows,
            pager=found,
            counts=counts,
            filters=filters,
            statuses=STATUSES,
            channels=CHANNELS,
            query=request.url.remove_query_params("page").query,
        )


@router.get("/deliveries/export")
def export(
    request: Request,
    user: StaffUser,
    console: ConsoleDep,
    format: Literal["csv", "xlsx"] = "xlsx",  # noqa: A002 - the query's public name
    policy: str | None = None,
    status: str | None = None,
    channel: str | None = None,
    q: str | None = None,
) -> Response:
    """The log as filtered, in the page's words (formula-safe cells; the API keeps its
    documented columns).

    Built in the export's child process (out of this server's GIL): the deliveries read a
    page at a time in short sessions, the file written to a temporary file and streamed back
    from it. While another export is being built, a wait, then the "busy" page.
    """
    filters = filter_of(policy, status, channel, q, user.scope)
    runtime = console.runtime
    language = language_of(request)
    zone = runtime.settings.zone
    job = DeliveryLogExport(
        database_url=runtime.settings.database_url,
        filters=filters,
        format=format,
        # What a clerk opens: words in the page's language, the policy's title beside each.
        convert=delivery_export.converter(language, times_in=None if format == "xlsx" else zone),
        columns=delivery_export.COLUMNS,
        limit=EXPORT_LIMIT,
        page=store.EXPORT_PAGE,
        headers=delivery_export.headers(i18n.translator(language)),
        typed=True,  # numbers and times as such
        zone=zone,
    )
    media = XLSX_MEDIA_TYPE if format == "xlsx" else "text/csv; charset=utf-8"
    return console.download(request, job, f"deliveries.{format}", media)


@router.get("/deliveries/{delivery_id}", response_class=HTMLResponse)
def one(request: Request, delivery_id: Id, user: StaffUser, console: ConsoleDep) -> HTMLResponse:
    """One delivery with its attempts and the reason it stands as it does."""
    with console.runtime.sessions() as session:
        delivery = store.get_delivery(session, delivery_id, scope=user.scope)
        if delivery is None:
            raise HTTPException(status_code=404, detail="no such delivery")
        attempts = store.attempts_of(session, delivery_id)
        title = policies.titles(session, {delivery.policy_id} if delivery.policy_id else set())
    # Composed after the session is closed: a render never runs inside a transaction.
    message = delivery_message(console.acting(user), delivery_id)
    return console.page(
        request, "console/delivery.html", user, delivery=delivery, attempts=attempts,
        message=message, policy_title=title.get(delivery.policy_id or 0, ""),
    )  # fmt: skip
