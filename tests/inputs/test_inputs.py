"""Bad input gets a 4xx naming the field, on every path and on both databases; good rows of the
same import are kept. textrules' one rule for control and invisible characters, and every
length the database enforces checked at input."""

from __future__ import annotations

import io
import re
import uuid

import pytest
import sqlalchemy as sa
from conftest import POSTGRES_ADMIN_URL, service_missing
from fastapi.testclient import TestClient

from notifier.domain.message_class import MessageClass
from notifier.domain.text_rules import (
    LINE_PATTERN,
    REQUIRED_LINE_PATTERN,
    is_control,
    is_invisible,
    line_problem,
    text_problem,
)
from notifier.domain.tokens import make_unsubscribe_token
from notifier.inputs.enterprise_csv import parse_enterprise_csv
from notifier.services.enterprises.importing import import_enterprises
from notifier.store import enterprises as enterprise_store
from notifier.store import migrate
from notifier.store.models import Base

from support.apiclient import OWN, make_api
from support.factories import Firm, credit_code, enterprise_csv
from support.web_harness import console_runtime, make_key, signed_in, web_app

NUL = "\x00"
# Each is refused in a firm's name (and in every other line field).
INVISIBLE_NAMES = {
    "zero-width space": "北仑\u200b机械有限公司",
    "right-to-left mark": "北仑\u200f机械有限公司",
    "arabic letter mark": "北仑\u061c机械有限公司",
    "byte order mark": "\ufeff北仑机械有限公司",
    "only a hangul filler": "\u3164",
    "tag characters": "北仑机械\U000e0041\U000e0042",
    "fifty combining marks": "北仑机械" + "\u0301" * 50,
    "word joiner": "北仑\u2060机械",
    "bidi isolate": "北仑\u2066机械\u2069",
    "NUL": f"北仑{NUL}机械",
}


# --- the rule ---------------------------------------------------------------------------------


@pytest.mark.parametrize("value", INVISIBLE_NAMES.values(), ids=INVISIBLE_NAMES.keys())
def test_the_line_rule_refuses_control_and_invisible_characters_saying_which(value):
    problem = line_problem(value)
    assert problem is not None
    assert re.search(r"U\+[0-9A-F]{4}|combining", problem), problem


@pytest.mark.parametrize(
    "value",
    ["宁波市北仑区精工机械有限公司", "Ningbo Beilun Co., Ltd.", "Công ty Việt", "（北仑）模具厂"],
)
def test_the_line_rule_accepts_real_names(value):
    assert line_problem(value) is None
    assert re.match(REQUIRED_LINE_PATTERN, value)


def test_a_text_keeps_line_breaks_and_emoji_joiners_but_not_nul():
    assert text_problem("第一行\n第二行\t👨\u200d👩\u200d👧") is None
    assert "U+0000" in (text_problem(f"a{NUL}b") or "")


def test_the_schema_pattern_refuses_every_character_the_rule_refuses():
    """The OpenAPI pattern and the check agree on every code point (but lone surrogates, which
    no JSON or UTF-8 text carries; the check refuses those too)."""
    every = "".join(chr(p) for p in range(0x110000) if not 0xD800 <= p <= 0xDFFF)
    not_in_a_line = LINE_PATTERN.replace("^[^", "[", 1).removesuffix("]*$") + "]"
    by_pattern = set(re.findall(not_in_a_line, every))
    by_rule = {c for c in every if is_control(c) or is_invisible(c)}
    assert by_pattern == by_rule
    assert all(line_problem(f"a{c}b") for c in by_rule)


# --- enterprise rows --------------------------------------------------------------------------


@pytest.mark.parametrize("name", INVISIBLE_NAMES.values(), ids=INVISIBLE_NAMES.keys())
def test_an_import_row_with_an_invisible_character_in_the_name_is_refused_naming_the_field(name):
    text = enterprise_csv([Firm(1), Firm(2, name=name)])
    records, errors = parse_enterprise_csv(io.StringIO(text))
    assert [r.credit_code for r in records] == [credit_code(1)]
    assert [(e.row, e.field) for e in errors] == [(3, "name")]


def test_every_string_column_the_database_bounds_is_bounded_at_input():
    """Walk the models: each String(n) column is either filled from input by a named check of
    at most n characters, or written only by notifier itself."""
    from notifier.domain import holiday_notice as calendar_notice
    from notifier.inputs import enterprise_csv, policy, policy_file
    from notifier.services.access import api_keys as apikeys
    from notifier.services.access import users
    from notifier.store import import_headings, templates

    checked_at_input = {
        "enterprises.credit_code": 18,  # read_credit_code: exactly 18
        "enterprises.name": enterprise_csv.MAX_NAME_LENGTH,
        "enterprises.region": enterprise_csv.MAX_REGION_LENGTH,
        "enterprises.size": 6,  # one of SIZES
        "enterprise_sectors.code": 5,  # normalize_sector: letter and up to 4 digits
        "enterprise_tags.tag": enterprise_csv.MAX_TAG_LENGTH,
        "enterprise_topics.topic": enterprise_csv.MAX_TOPIC_LENGTH,
        "contacts.channel": 7,  # one of CHANNELS
        "contacts.address": enterprise_csv.MAX_ADDRESS_LENGTH,
        "subscriptions.channel": 7,
        "policies.source_key": 100,  # ref (90) or a digest
        "policies.title": 300,
        "policies.url": 2000,
        "policies.department": 100,
        "deadlines.title": 300,
        "campaigns.name": 100,
        "campaigns.title": 300,
        "campaigns.url": 2000,
        "campaigns.cron": 100,
        "campaigns.timezone": 64,
        "api_keys.name": 100,
        "message_templates.name": templates.MAX_NAME_LENGTH,
        "message_templates.author": 100,  # TemplateIn, the console and the CLI
        "calendar_days.name": calendar_notice.MAX_NAME,
        "calendar_days.kind": 7,  # holiday or workday
        "import_headings.heading": import_headings.MAX_HEADING,  # cut to it when remembered
        "import_headings.field": max(map(len, enterprise_csv.FIELDS)),  # one of FIELDS or ""
        "users.name": 64,  # users._name: 1-64 characters
        "users.role": max(map(len, users.USER_ROLES)),  # one of USER_ROLES
        "users.phone": 20,  # users._optional(..., limit=20)
        "communities.name": 100,  # services.communities: 1-100 characters
        "departments.name": 100,
        "policies.office_address": policy.MAX_ADDRESS_LENGTH,  # the guide fields
        "policies.apply_url": policy.MAX_URL_LENGTH,
        "policies.enquiry_phone": policy.MAX_PHONE_LENGTH,
        # read as one of MessageClass's values by inputs.policy._message_class
        "policies.message_class": max(map(len, MessageClass)),
        "campaigns.message_class": max(map(len, MessageClass)),
    }
    assert policy_file.MAX_TAG_LENGTH <= enterprise_csv.MAX_TAG_LENGTH
    assert policy_file.MAX_TOPIC_LENGTH <= enterprise_csv.MAX_TOPIC_LENGTH
    with pytest.raises(Exception, match="1-100"):
        apikeys._name("k" * 101)
    with pytest.raises(Exception, match="1-64"):
        users._name("名" * 65)
    for column_name, bound in checked_at_input.items():
        table, column = column_name.split(".")
        length = Base.metadata.tables[table].c[column].type.length
        assert bound <= length, f"{column_name}: input allows {bound}, the database {length}"
    strings = {
        f"{table.name}.{column.name}"
        for table in Base.metadata.sorted_tables
        for column in table.columns
        if isinstance(column.type, sa.String) and column.type.length
    }
    written_by_notifier = {
        name
        for name in strings
        if name.split(".")[0]
        in {
            "deliveries",
            "delivery_attempts",
            "triggers",
            "audit_log",
            "inbound_replies",
            "console_sessions",
            "approvals",  # the actor's names and roles, the kind and status
            "complaints",  # its source, the number and the actor's name
            "number_refusals",  # the number of an inbound reply
        }
        or name
        in {
            "api_keys.prefix",
            "api_keys.key_hash",
            "users.password_hash",  # argon2's encoded hash
            "api_keys.role",
            "message_templates.channel",
            "campaigns.status",
            "calendar_years.source",  # chinesecalendar's version or "console"
            "calendar_years.entered_by",  # the signed-in key's prefix
            "calendar_days.entered_by",
            "providers.name",  # provider_admin: 1-50 letters, digits, '.', '_' or '-'
            "providers.channel",  # one of CHANNELS
            "providers.kind",  # a registered kind
            "provider_usage.process",  # host:pid:role of a sending process
            "provider_usage.version",
            "reach_events.kind",  # one of ReachKind
            "reach_events.key",  # the kind, done:<id>, or question: and 60 characters
            "reach_states.state",  # one of ReachState
            "subscriptions.source",  # one of the consent sources
        }
    }
    assert strings - written_by_notifier == set(checked_at_input), (
        "a new String column: bound it at input and list it here"
    )


def test_a_tag_or_topic_longer_than_the_database_allows_loses_no_good_row(database_url, tmp_path):
    """On PostgreSQL the long value aborted the transaction: every row of the import was lost."""
    from notifier.store.db import create_db_engine, create_session_factory

    text = enterprise_csv(
        [Firm(1), Firm(2, tags="专" * 51), Firm(3, topics="补" * 51), Firm(4, tags="专" * 50)]
    )
    engine = create_db_engine(database_url)
    sessions = create_session_factory(engine)
    try:
        report = import_enterprises(sessions, io.StringIO(text), dry_run=False)
        assert [(e.row, e.field) for e in report.errors] == [(3, "tags"), (4, "topics")]
        assert "50" in report.errors[0].reason
        assert report.created == 2
        with sessions() as session:
            assert enterprise_store.get_by_credit_code(session, credit_code(4)) is not None
    finally:
        engine.dispose()


# --- the API ----------------------------------------------------------------------------------


@pytest.fixture(name="api")
def api_fixture(database_url, make_runtime):
    return make_api(make_runtime(database_url=database_url))


NUL_REQUESTS = [
    ("GET", "/api/v1/enterprises", {"params": {"q": f"a{NUL}"}}, "q"),
    ("GET", "/api/v1/enterprises", {"params": {"region": f"浙江{NUL}"}}, "region"),
    ("GET", "/api/v1/enterprises", {"params": {"cursor": NUL}}, "cursor"),
    ("GET", "/api/v1/templates/a%00b", {}, "name"),
    ("PUT", "/api/v1/templates/a%00b/sms", {"json": {"body": "x"}}, "name"),
    ("GET", "/api/v1/audit", {"params": {"target_type": NUL}}, "target_type"),
    ("GET", "/api/v1/audit", {"params": {"actor": f"ntf{NUL}"}}, "actor"),
    ("POST", "/api/v1/keys", {"json": {"role": "staff", "name": f"k{NUL}"}}, "body.name"),
    ("POST", "/api/v1/keys/ntf%00/revoke", {}, "prefix"),
    ("GET", "/api/v1/enterprises/%00", {}, "credit_code"),
    ("GET", "/api/v1/deliveries", {"params": {"enterprise": NUL}}, "enterprise"),
]


@pytest.mark.parametrize(("method", "path", "options", "field"), NUL_REQUESTS)
def test_a_nul_in_any_parameter_is_a_4xx_naming_it_never_a_500(api, method, path, options, field):
    answer = api.request(method, path, **options)
    assert 400 <= answer.status_code < 500, answer.text
    error = answer.json()["error"]
    assert error["field"] == field
    assert "U+0000" in error["reason"]


@pytest.mark.parametrize(
    "topics",
    [[f"补贴{NUL}"], ["补" * 51], ["\u3164"], ["补贴\u200b"]],
    ids=["NUL", "51 characters", "hangul filler", "zero-width space"],
)
def test_my_subscriptions_refuse_a_topic_the_database_cannot_hold(api, topics):
    answer = api.put(
        "/api/v1/me/subscriptions", role="enterprise", json={"channels": ["sms"], "topics": topics}
    )
    assert answer.status_code == 422, answer.text
    assert answer.json()["error"]["field"] == "body.topics.0"
    assert api.get("/api/v1/me/subscriptions", role="enterprise").json()["topics"] == []


def test_an_enterprise_body_with_a_zero_width_space_in_its_name_is_refused_naming_it(api):
    body = {
        "credit_code": credit_code(9),
        "name": "北仑\u200b机械",
        "sectors": ["C36"],
        "region": "浙江省/宁波市",
        "size": "small",
    }
    answer = api.post("/api/v1/enterprises", json=body)
    assert answer.status_code == 422
    error = answer.json()["error"]
    assert error["field"] == "body.name"
    assert "U+200B" in error["reason"] and "不可见" in error["reason"]
    assert api.post("/api/v1/enterprises", json={**body, "name": "北仑机械"}).status_code == 200


def test_an_enterprise_body_with_a_long_tag_is_refused_and_nothing_is_stored(api):
    body = {
        "credit_code": credit_code(9),
        "name": "北仑机械",
        "sectors": ["C36"],
        "region": "浙江省/宁波市",
        "size": "small",
        "tags": ["专" * 51],
    }
    answer = api.post("/api/v1/enterprises", json=body)
    assert answer.status_code == 422 and answer.json()["error"]["field"] == "body.tags.0"
    assert api.get(f"/api/v1/enterprises/{credit_code(9)}").status_code == 404


# --- the console and the enterprise pages -------------------------------------------------------


@pytest.fixture(name="console")
def console_fixture(make_runtime, database_url, tmp_path):
    """A signed-in console client on the test's database, with three enterprises."""
    if database_url.startswith("sqlite"):
        runtime = console_runtime(make_runtime, tmp_path)
    else:
        from support.web_harness import SECRET, seed

        runtime = make_runtime(database_url=database_url, secret_key=SECRET)
        seed(runtime, [Firm(1, topics="补贴"), Firm(2, channels="email"), Firm(3)])
    client = TestClient(web_app(runtime), raise_server_exceptions=False)
    signed_in(client, make_key(runtime, "admin"))
    return client


@pytest.mark.parametrize(
    "path",
    [
        "/console/policies/99999999999",
        "/console/deliveries/99999999999",
        "/console/campaigns/99999999999",
        "/console/policies/2147483648",
    ],
)
def test_a_console_id_beyond_the_database_integer_is_not_found(console, path):
    answer = console.get(path)
    assert answer.status_code == 404
    assert "找不到页面" in answer.text


@pytest.mark.parametrize(
    "path",
    [
        "/console/enterprises?q=%00",
        "/console/enterprises?sector=C%00",
        "/console/deliveries?enterprise=%00",
        "/console/templates/a%00",
        "/console/enterprises/%00",
        "/console/deliveries?policy=%00",
    ],
)
def test_a_nul_in_a_console_address_is_a_400_page_naming_the_parameter(console, path):
    answer = console.get(path)
    assert answer.status_code in (400, 404), answer.text
    assert "<html" in answer.text.lower()


@pytest.fixture(name="doomed_postgres")
def doomed_postgres_fixture():
    """A migrated PostgreSQL database of its own, and a function that drops it (the database
    gone: every new connection is refused, as when the server is down)."""
    try:
        admin = sa.create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
        name = f"notifier_down_{uuid.uuid4().hex[:10]}"
        with admin.connect() as connection:
            connection.execute(sa.text(f'CREATE DATABASE "{name}"'))
    except sa.exc.OperationalError as exc:
        service_missing("PostgreSQL", exc)
    url = admin.url.set(database=name).render_as_string(hide_password=False)
    migrate.upgrade(url)

    def drop() -> None:
        with admin.connect() as connection:
            connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))

    yield url, drop
    drop()
    admin.dispose()


def test_with_the_database_down_pages_answer_a_friendly_503(make_runtime, doomed_postgres):
    from support.web_harness import SECRET, seed

    url, drop = doomed_postgres
    runtime = make_runtime(database_url=url, secret_key=SECRET)
    seed(runtime, [Firm(1)])
    with runtime.sessions() as session:
        firm = enterprise_store.get_by_credit_code(session, OWN)
        assert firm is not None
        token = make_unsubscribe_token(SECRET, enterprise_id=firm.id, channel="sms")
    client = TestClient(web_app(runtime), raise_server_exceptions=False)
    key = make_key(runtime, "staff")
    signed_in(client, key)
    drop()
    runtime.engine.dispose()  # pooled connections to the dropped database are gone too

    for path in ("/console/", "/console/enterprises", f"/u/{token}"):
        answer = client.get(path)
        assert answer.status_code == 503, (path, answer.text[:300])
        assert "数据库暂时无法连接" in answer.text and "database cannot be reached" in answer.text
    api = client.get("/api/v1/enterprises", headers={"Authorization": f"Bearer {key}"})
    assert api.status_code == 503 and api.json()["error"]["field"] == "database"
