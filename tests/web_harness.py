"""The web pages under test: an app with the console and the enterprise pages, and keys."""

from __future__ import annotations

import io

from fastapi import FastAPI

from notifier.importing import import_enterprises
from notifier.runtime import Runtime
from notifier.web.console.routes import console_router, static_files
from notifier.web.console.session import Identity
from notifier.web.pages.language import language_switch
from notifier.web.pages.links import enterprise_pages
from notifier.web.views import Views

from factories import Firm, enterprise_csv

STAFF_KEY = "staff-key-for-tests"
ADMIN_KEY = "admin-key-for-tests"
KEYS = {STAFF_KEY: Identity("staff", "ntf_staff"), ADMIN_KEY: Identity("admin", "ntf_admin")}


def web_app(runtime: Runtime) -> FastAPI:
    """The console and enterprise pages over ``runtime``."""
    app = FastAPI()
    views = Views(zone=runtime.settings.zone)
    app.include_router(static_files())
    app.include_router(language_switch())
    app.include_router(enterprise_pages(runtime, views))
    app.include_router(
        console_router(runtime, views, check_key=KEYS.get, login_allowed=lambda client: True)
    )
    return app


def seed(runtime: Runtime, firms: list[Firm]) -> None:
    """Import ``firms`` as enterprises."""
    report = import_enterprises(runtime.sessions, io.StringIO(enterprise_csv(firms)), dry_run=False)
    assert not report.errors, report.errors


def run_queued(runtime: Runtime, worker) -> None:
    """Wait until the embedded worker has fanned out and sent everything queued."""
    broker = runtime.queue.broker
    broker.join("fan_out", fail_fast=True)
    broker.join("deliver", fail_fast=True)
    worker.join()
