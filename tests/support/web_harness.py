"""The web pages under test: an app with the console and the enterprise pages, and keys."""

from __future__ import annotations

import io
import logging
import re
from pathlib import Path

from fastapi import FastAPI
from fastapi.testclient import TestClient

from notifier.runtime import Runtime
from notifier.services.access.api_keys import create_key
from notifier.services.enterprises.importing import import_enterprises
from notifier.web.app import create_app

from support.databases import fresh_sqlite
from support.factories import Firm, enter_plain_years, enterprise_csv


def web_app(runtime: Runtime) -> FastAPI:
    """The web app (API, console, enterprise pages) over ``runtime``."""
    return create_app(runtime)


def make_key(runtime: Runtime, role: str) -> str:
    """A new API key of ``role`` (staff or admin), as ``notifier keys create`` makes it."""
    made = create_key(
        runtime.sessions,
        role=role,
        name=f"{role} for tests",
        credit_code=None,
        secret=runtime.settings.secret_key.get_secret_value(),
        time_source=runtime.time_source,
    )
    return made.key


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


TEMPLATES_CJK = re.compile(r"[\u3000-\u303f\u3400-\u9fff\uff00-\uffef]")
SECRET = "console-test-secret-key-0123456789"
COMPOSED = {
    "title": "北仑区汽车零部件技术改造补助",
    "department": "北仑区经济和信息化局",
    "summary": "按设备投资额的10%给予补助。",
    "sectors": "C36",
    "topics": "补贴",
    "deadline_title": "申报截止",
    "deadline_due": "2031-06-30T17:00",
}

# A weekly campaign over C36 firms, as the console's campaign form sends it.
CAMPAIGN_FORM = {
    "name": "技改提醒",
    "title": "技术改造补助申报提醒",
    "channels": ["sms"],
    "sectors": "C36",
    "template_sms": "{{ enterprise.name }}：{{ campaign.title }}",
    "repeat": "weekly",
    "weekday": "0",
    "at": "09:00",
    "ends_at": "2031-12-31",
    "action": "create",
}


def console_runtime(make_runtime, tmp_path: Path, **settings: object) -> Runtime:
    """A runtime on a fresh SQLite database with three enterprises (two under C36)."""
    tmp_path.mkdir(parents=True, exist_ok=True)
    url = fresh_sqlite(tmp_path / "console.db")
    built = make_runtime(database_url=url, secret_key=SECRET, **settings)
    seed(built, [Firm(1, topics="补贴"), Firm(2, channels="email"), Firm(3, sectors="C2611")])
    enter_plain_years(built, 2031)  # COMPOSED's deadline_due
    return built


def post_login(client: TestClient, key: str, **options: object):
    """Post ``key`` to the sign-in form as a browser does (the form's CSRF value with it)."""
    form = client.get("/console/login")
    csrf = csrf_of(form.text) if form.status_code == 200 else ""
    return client.post(
        "/console/login", data={"key": key, "csrf": csrf}, follow_redirects=False, **options
    )


def signed_in(client: TestClient, key: str) -> str:
    """Sign in and return the CSRF value of the session's forms."""
    answer = post_login(client, key)
    assert answer.status_code == 303
    return csrf_of(client.get("/console/policies/new").text)


def csrf_of(html: str) -> str:
    match = re.search(r'name="csrf" value="([^"]+)"', html)
    assert match
    return match.group(1)


def log_problems(records: list[logging.LogRecord]) -> list[str]:
    """Log lines that mean a bug: a traceback, an error, a value the database refused (an input
    check missed it)."""
    return [
        record.getMessage()
        for record in records
        if record.exc_info or record.levelno >= logging.ERROR or "database refused" in record.msg
    ]
