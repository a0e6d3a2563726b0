"""The pages app: every console page under ``/console`` (each module's router), the enterprise
pages, the language switch and the stylesheet."""

from __future__ import annotations

import functools

from fastapi import APIRouter, Depends, FastAPI

from notifier.guards.sign_in import ClientAddress, FailedAttempts
from notifier.runtime import Runtime
from notifier.web.console import (
    accounts,
    admin,
    calendar,
    campaign_edit,
    campaign_form,
    campaign_test_send,
    campaigns,
    complaints,
    correcting,
    dashboard,
    deadlines,
    deliveries,
    enterprises,
    followups,
    login,
    policies,
    providers,
    reach_report,
    register_import,
    revising,
    static,
    templates,
)
from notifier.web.console.context import make_console
from notifier.web.console.page_errors import install_page_errors
from notifier.web.errors import check_parameters
from notifier.web.export_pool import ExportPool
from notifier.web.pages.firm import firm_pages
from notifier.web.pages.language import language_switch
from notifier.web.pages.links import enterprise_pages
from notifier.web.views import Views

# In this order: a fixed path (``/policies/new``) before the pattern that would take it.
PAGES = (
    login, dashboard, policies, revising, correcting, deliveries, register_import, enterprises,
    deadlines, admin, templates, providers, campaign_form, campaign_edit, campaign_test_send,
    campaigns, calendar, accounts, reach_report, followups, complaints,
)  # fmt: skip


# Built once per process and shared by every app (see ``notifier.web.app.api_router``).
@functools.cache
def console_router() -> APIRouter:
    """Every console page, under ``/console``."""
    router = APIRouter(prefix="/console", include_in_schema=False)
    for page in PAGES:
        router.include_router(page.router)
    return router


def web_pages(
    runtime: Runtime,
    *,
    failed_attempts: FailedAttempts,
    client_address: ClientAddress,
    exports: ExportPool,
) -> FastAPI:
    """Every page (console, enterprise links, language switch, stylesheet) as an app of its
    own, mounted beside the JSON API: HTML pages signed in by cookie or by a link's token, so
    the API's key and role checks, schema and JSON errors stay the API's alone. The console's
    parts hang on its ``state`` (``notifier.web.console.deps``); failed sign-ins count in
    ``failed_attempts`` against ``client_address``; ``exports`` builds the large exports."""
    views = Views(zone=runtime.settings.zone)
    app = FastAPI(
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
        dependencies=[Depends(check_parameters)],
    )
    app.state.console = make_console(
        runtime,
        views,
        failed_attempts=failed_attempts,
        client_address=client_address,
        exports=exports,
    )
    install_page_errors(app, views)
    for router in (
        static.router,
        language_switch(),
        enterprise_pages(runtime, views),
        firm_pages(runtime, views),
        console_router(),
    ):
        app.include_router(router)
    return app
