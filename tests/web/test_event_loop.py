"""Nothing blocks the event loop: no ``async def`` route or dependency in notifier/web touches
the database, the broker or a provider itself, and on the embedded default (SQLite) a compose
preview answers while ``/healthz`` stays prompt, with no "database is locked"."""

from __future__ import annotations

import ast
import inspect
import re
import textwrap
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.routing import APIRoute
from sqlalchemy import text
from starlette.routing import Mount

from notifier.store import migrate
from notifier.web.app import create_app

from support.factories import Firm
from support.waiting import wait_until
from support.web_harness import COMPOSED, csrf_of
from support.web_server import PARK, new_key, running_notifier

# Async callables that only await the request (body, form, file) and hand every other piece
# of work to a thread with run_in_threadpool. Anything else must be a plain ``def``, which
# FastAPI runs in its thread pool.
ALLOWED = {
    "notifier.web.api.campaigns:create",
    "notifier.web.api.health:healthz",
    "notifier.web.api.health:metrics",
    "notifier.web.api.policies:preview",
    "notifier.web.api.policies:publish_policy",
    "notifier.web.api.policies:revise",
    "notifier.web.auth:RoleRequirement.__call__",
    "notifier.web.auth:current_principal",
    "notifier.web.callbacks:replies",
    "notifier.web.callbacks:reports",
    "notifier.web.console.deps:posted_form",
    "notifier.web.pages.firm:FirmPages.opened",
    "notifier.web.pages.firm:FirmPages.press",
    "notifier.web.pages.links:LinkPages.deadline_done",
    "notifier.web.pages.links:LinkPages.update",
}
# Names an async body may not reach for outside run_in_threadpool: blocking I/O behind them.
BLOCKING = {
    "sessions", "session", "engine", "dispatch", "providers", "catalog", "queue",
    "check_key", "failed", "retry_after", "send", "authenticate",
}


def _dependency_calls(dependant: Any) -> Iterator[Callable[..., Any]]:
    if dependant.call is not None:
        yield dependant.call
    for sub in dependant.dependencies:
        yield from _dependency_calls(sub)


def _calls(routes: list[Any]) -> Iterator[Callable[..., Any]]:
    """Every endpoint and dependency of ``routes``, the mounted pages app's included."""
    for route in routes:
        included = getattr(route, "original_router", None)  # FastAPI's include_router
        if included is not None:
            yield from _calls(included.routes)
            for dependency in included.dependencies:
                yield dependency.dependency
        elif isinstance(route, Mount) and hasattr(route.app, "routes"):
            yield from _calls(route.app.routes)
        elif isinstance(route, APIRoute):
            yield from _dependency_calls(route.dependant)


def _function(call: Callable[..., Any]) -> Callable[..., Any]:
    if inspect.isfunction(call) or inspect.ismethod(call):
        return call
    return type(call).__call__  # a callable object: its __call__


def _name(function: Callable[..., Any]) -> str:
    function = getattr(function, "__func__", function)
    return f"{function.__module__}:{function.__qualname__.replace('.<locals>', '')}"


def _async_calls(make_runtime, tmp_path: Path) -> dict[str, Callable[..., Any]]:
    app = create_app(make_runtime(database_url=f"sqlite:///{tmp_path / 'n.db'}"))
    found = {}
    calls = list(_calls(app.router.routes))
    assert len(calls) > 100  # the walk reaches the API, the console and the pages
    for call in calls:
        function = _function(call)
        # FastAPI's own security schemes only read headers.
        if inspect.iscoroutinefunction(function) and _name(function).startswith("notifier."):
            found[_name(function)] = function
    return found


def _blocking_names(function: Callable[..., Any]) -> set[str]:
    """Names the async body uses outside nested functions and run_in_threadpool's arguments."""
    tree = ast.parse(textwrap.dedent(inspect.getsource(function)))
    body = tree.body[0]
    assert isinstance(body, ast.AsyncFunctionDef)
    used: set[str] = set()

    def visit(node: ast.AST) -> None:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda):
            return
        if isinstance(node, ast.Call):
            callee = node.func
            if getattr(callee, "id", getattr(callee, "attr", None)) == "run_in_threadpool":
                return
        if isinstance(node, ast.Attribute):
            used.add(node.attr)
        elif isinstance(node, ast.Name):
            used.add(node.id)
        for child in ast.iter_child_nodes(node):
            visit(child)

    for statement in body.body:
        visit(statement)
    return used & BLOCKING


def test_no_async_handler_or_dependency_does_blocking_work_on_the_event_loop(
    make_runtime, tmp_path
):
    found = _async_calls(make_runtime, tmp_path)
    assert sorted(set(found) - ALLOWED) == []  # make it a plain def, or await then thread
    for name, function in sorted(found.items()):
        assert _blocking_names(function) == set(), name


def _signed_in_console(url: str, key: str) -> tuple[httpx.Client, str]:
    client = httpx.Client(base_url=url, timeout=120)
    form = re.search(r'name="csrf" value="([^"]+)"', client.get("/console/login").text)
    answer = client.post("/console/login", data={"key": key, "csrf": form[1] if form else ""})
    assert answer.status_code == 303, answer.text
    return client, csrf_of(client.get("/console/policies/new").text)


@pytest.mark.slow
@pytest.mark.multiprocess
def test_a_preview_on_sqlite_answers_while_healthz_stays_prompt(tmp_path):
    # Providers re-read at every use: each render of the preview reloads them, in a
    # connection of its own, as a reload falling due mid-preview does in production.
    settings = {"NOTIFIER_CIRCUIT__REFRESH_SECONDS": "0.001"}
    firms = PARK + [Firm(n, sectors="C3670", channels="sms;email") for n in range(10, 40)]
    with running_notifier(tmp_path / "run", firms, settings=settings) as server:
        server.cli("calendar", "complete", "2031")  # the draft's deadline year, as plain weeks
        client, csrf = _signed_in_console(server.url, new_key(server, "staff"))
        answer: dict[str, Any] = {}

        def preview() -> None:
            started = time.monotonic()
            response = client.post("/console/policies/preview", data={**COMPOSED, "csrf": csrf})
            answer.update(status=response.status_code, text=response.text,
                          seconds=time.monotonic() - started)

        worker = threading.Thread(target=preview)
        worker.start()
        waits = []
        with httpx.Client(base_url=server.url, timeout=120) as probe:
            while worker.is_alive() or not waits:
                started = time.monotonic()
                assert probe.get("/healthz").status_code == 200
                waits.append(time.monotonic() - started)
        worker.join()
        client.close()
        log = (server.folder / "server.log").read_text(encoding="utf-8", errors="replace")
    print(f"preview {answer['seconds']:.2f} s; /healthz x{len(waits)}, slowest {max(waits):.2f} s")
    assert answer["status"] == 200, answer["text"][:500]
    assert '"ok":true' in answer["text"].replace(" ", "")
    assert "database is locked" not in log
    # Before: the preview waited 30 s on SQLite's lock with the event loop stalled throughout.
    assert max(waits) < 15


def test_a_sender_gets_the_providers_while_another_thread_waits_to_reload_them(
    make_runtime, tmp_path
):
    url = f"sqlite:///{tmp_path / 'n.db'}"
    migrate.upgrade(url)
    runtime = make_runtime(database_url=url)
    catalog = runtime.catalog  # loaded
    catalog.refresh()  # the next use reloads
    reloaded: list[object] = []
    with runtime.sessions() as session:
        session.execute(text("SELECT 1"))  # this transaction holds SQLite's write lock
        reloader = threading.Thread(
            target=lambda: reloaded.append(catalog.for_channel("sms")), daemon=True
        )
        reloader.start()
        # The reloader is inside its reload, waiting for the database.
        busy = getattr(catalog, "_reloading", catalog._lock)
        wait_until(busy.locked, timeout=20, what="the reload to start")
        started = time.monotonic()
        providers = catalog.for_channel("sms")  # a sender: the current set, not a wait
        waited = time.monotonic() - started
    reloader.join(timeout=60)
    print(f"sender waited {waited:.3f} s while a reload waited on the database")
    assert providers and reloaded and reloaded[0]
    # Before: the sender queued behind the reload's lock until SQLite gave up (30 s).
    assert waited < 15
