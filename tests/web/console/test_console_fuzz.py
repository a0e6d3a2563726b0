"""Hypothesis over every console form and page, on PostgreSQL: whatever a signed-in admin posts
(NUL, control and invisible characters, huge numbers, long text, random files), the answer is a
page, never a 5xx, and the server logs no traceback and no value the database had to refuse.

The forms are found the way a browser finds them: on the pages themselves, so a new form is
fuzzed without touching this file.
"""

from __future__ import annotations

import logging
from html.parser import HTMLParser
from typing import Any
from urllib.parse import quote, urlencode

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from notifier.domain.tokens import make_unsubscribe_token
from notifier.store import enterprises as enterprise_store

from support.factories import HOSTILE_TEXT, Firm, credit_code
from support.web_harness import SECRET, csrf_of, log_problems, make_key, seed, signed_in, web_app

EXAMPLES = 25
PAGES = [
    "/console/",
    "/console/policies",
    "/console/policies/new",
    "/console/enterprises",
    "/console/deliveries",
    "/console/deadlines",
    "/console/templates",
    "/console/campaigns",
    "/console/admin",
    "/console/admin/providers",
]
# Forms not fuzzed: signing out ends the session the rest needs; a provider's test send would
# reach out to whatever address was generated.
SKIPPED_ACTIONS = ("/console/logout", "/test-send")
VALUES = st.one_of(
    # A browser cannot send a lone surrogate: the form's encoder refuses it.
    st.sampled_from([*(t for t in HOSTILE_TEXT if t != "\ud800"), str(2**64), "1e999", ""]),
    st.text(max_size=40),
)


class _Forms(HTMLParser):
    """Each form of a page: its action, method, enctype and field names."""

    def __init__(self, page: str) -> None:
        super().__init__()
        self.page = page
        self.forms: list[dict[str, Any]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        given = dict(attrs)
        if tag == "form":
            self.forms.append(
                {
                    "action": given.get("action") or self.page,
                    "method": (given.get("method") or "get").lower(),
                    "multipart": given.get("enctype") == "multipart/form-data",
                    "fields": {},
                }
            )
        elif tag in ("input", "textarea", "select") and self.forms and given.get("name"):
            kind = "file" if given.get("type") == "file" else "text"
            self.forms[-1]["fields"][given["name"]] = kind


def _forms(client: TestClient, pages: list[str]) -> list[dict[str, Any]]:
    found: dict[tuple[str, str], dict[str, Any]] = {}
    for page in pages:
        answer = client.get(page)
        assert answer.status_code == 200, page
        parser = _Forms(page)
        parser.feed(answer.text)
        for form in parser.forms:
            if not any(skipped in form["action"] for skipped in SKIPPED_ACTIONS):
                found.setdefault((form["method"], form["action"]), form)
    return list(found.values())


@pytest.fixture(name="console")
def console_fixture(postgres_database, make_runtime) -> tuple[TestClient, Any]:
    from conftest import _truncate_postgres

    _truncate_postgres(postgres_database)
    runtime = make_runtime(database_url=postgres_database, secret_key=SECRET)
    seed(runtime, [Firm(1, topics="补贴"), Firm(2, channels="email"), Firm(3)])
    client = TestClient(web_app(runtime), raise_server_exceptions=False)
    signed_in(client, make_key(runtime, "admin"))
    return client, runtime


def _fuzz(client: TestClient, form: dict[str, Any], csrf: str) -> None:
    names = sorted(name for name in form["fields"] if name != "csrf")
    strategy = st.fixed_dictionaries({name: VALUES for name in names})

    @given(values=strategy, upload=st.binary(max_size=2000))
    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        suppress_health_check=list(HealthCheck),
        derandomize=True,
        database=None,
    )
    def post(values: dict[str, str], upload: bytes) -> None:
        if form["method"] == "get":
            # httpx refuses a URL over 64 KB before sending it (the server takes longer ones).
            assume(len(urlencode(values)) < 60_000)
            answer = client.get(form["action"], params=values)
        else:
            files = {
                name: ("register.csv", upload, "text/csv")
                for name, kind in form["fields"].items()
                if kind == "file"
            }
            data = {
                name: value for name, value in values.items() if form["fields"][name] != "file"
            }
            data["csrf"] = csrf
            answer = client.post(
                form["action"], data=data, files=files or None, follow_redirects=False
            )
        assert answer.status_code < 500, (form["action"], values, answer.text[:300])

    post()


def test_every_console_form_answers_any_input_without_a_5xx_or_a_traceback(console, caplog):
    client, _ = console
    caplog.set_level(logging.WARNING)
    csrf = csrf_of(client.get("/console/policies/new").text)
    forms = _forms(client, PAGES)
    assert len(forms) >= 8, [form["action"] for form in forms]
    compose = next(form for form in forms if form["action"] == "/console/policies")
    forms.append({**compose, "action": "/console/policies/preview"})  # the live preview's post
    for form in forms:
        _fuzz(client, form, csrf)
    assert log_problems(caplog.records) == []


def test_every_console_page_and_the_preferences_page_answer_any_address_without_a_5xx(
    console, caplog
):
    client, runtime = console
    caplog.set_level(logging.WARNING)

    @given(
        path=st.sampled_from([*PAGES, "/console/policies/", "/console/enterprises/"]),
        tail=st.one_of(
            st.sampled_from(["99999999999", "%00", "%E3%85%A4", "-1"]),
            st.text().map(lambda text: quote(text, safe="")),
        ),
        query=VALUES,
    )
    @settings(
        max_examples=40,
        deadline=None,
        suppress_health_check=list(HealthCheck),
        derandomize=True,
        database=None,
    )
    def visit(path: str, tail: str, query: str) -> None:
        url = path + tail if path.endswith("/") and path != "/console/" else path
        for name in ("q", "policy", "status", "enterprise", "sector", "channel"):
            answer = client.get(url, params={name: query})
            assert answer.status_code < 500, (url, name, query, answer.text[:300])

    visit()
    with runtime.sessions() as session:
        firm = enterprise_store.get_by_credit_code(session, credit_code(1))
        assert firm is not None
        token = make_unsubscribe_token(SECRET, enterprise_id=firm.id, channel="sms")
    preferences = _forms(client, [f"/u/{token}"])
    assert preferences
    page_csrf = csrf_of(client.get(f"/u/{token}").text)
    for form in preferences:
        _fuzz(client, form, page_csrf)
    assert log_problems(caplog.records) == []
