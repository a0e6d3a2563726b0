"""Every page reads fully in Chinese and in English: no catalogue key missing (a page asking
for one fails to render), and no Chinese left on an English page but the data."""

from __future__ import annotations

import html as html_text
import re
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from notifier.domain.sectors import catalogue as sector_catalogue
from notifier.domain.tokens import make_deadline_done_token, make_unsubscribe_token
from notifier.jobs.worker import start_worker
from notifier.rendering.variables import VARIABLES
from notifier.services.providers.admin import listing
from notifier.store import deadlines as deadline_store
from notifier.store import deliveries as delivery_store
from notifier.store import enterprises as enterprise_store
from notifier.store.deliveries import DeliveryFilter
from notifier.store.models import CalendarDay
from notifier.web import i18n
from notifier.web.console.admin import settings_in_effect
from notifier.web.console.calendar import NOTICE_EXAMPLE

from support.factories import credit_code
from support.web_harness import (
    CAMPAIGN_FORM,
    COMPOSED,
    SECRET,
    console_runtime,
    make_key,
    run_queued,
    signed_in,
    web_app,
)
from support.web_harness import (
    TEMPLATES_CJK as CJK,
)


@pytest.fixture
def runtime(make_runtime, tmp_path: Path):
    return console_runtime(make_runtime, tmp_path)


@pytest.fixture
def client(runtime) -> TestClient:
    return TestClient(web_app(runtime))


@pytest.fixture
def staff_key(runtime) -> str:
    return make_key(runtime, "staff")


@pytest.fixture
def admin_key(runtime) -> str:
    return make_key(runtime, "admin")


CONSOLE_PAGES = (
    "/console/",
    "/console/policies",
    "/console/policies/new",
    "/console/policies/1",
    "/console/policies/1/correct",
    "/console/deadlines",
    "/console/deadlines?month=2031-06",
    "/console/enterprises",
    "/console/enterprises/{code}",
    "/console/followups",
    "/console/followups?community=%E7%81%B5%E5%B3%B0%E5%B7%A5%E4%B8%9A%E7%A4%BE%E5%8C%BA",
    "/console/deliveries",
    "/console/deliveries/1",
    "/console/admin",
    "/console/templates",
    "/console/admin/providers",
    "/console/templates/%E6%8A%80%E6%94%B9",
    "/console/campaigns",
    "/console/campaigns/new",
    "/console/campaigns/1",
    "/console/campaigns/1?enterprise={code}",
    "/console/calendar",
    "/console/calendar?year=2026",
)
TEMPLATE = {"name": "技改", "channel": "sms", "body": "{{ enterprise.name }}：请及时申报。"}


def _data_texts(runtime) -> set[str]:
    """Every stored text a page may show as it is (names, titles, regions, errors...)."""
    texts = set(COMPOSED.values())
    with runtime.sessions() as session:
        for enterprise in enterprise_store.iter_enterprises(session):
            texts |= {enterprise.name, enterprise.region, *enterprise.region.split("/")}
            texts |= {t.topic for t in enterprise.topics} | {t.tag for t in enterprise.tags}
        for delivery in delivery_store.list_deliveries(session, DeliveryFilter(), limit=None):
            texts |= {str(v) for v in delivery.reason.values()}
            texts.add(delivery.trigger.key)
        for deadline in deadline_store.listed(session):
            texts |= {deadline.title, deadline.policy.title}
        texts |= {day.name for day in session.scalars(select(CalendarDay))}  # holiday names
    texts |= {value for _, value in settings_in_effect(runtime.settings)}
    texts |= {TEMPLATE["name"], TEMPLATE["body"]}
    texts |= {CAMPAIGN_FORM["name"], CAMPAIGN_FORM["title"]}
    texts.add("测试企业1有限公司：技术改造补助申报提醒")
    # The notice's format is shown as clerks type it: in Chinese, like the notice itself.
    texts |= set(NOTICE_EXAMPLE.splitlines())
    providers = listing(runtime.sessions, runtime.settings)
    texts |= {str(v) for row in providers for v in row["options"].values()}
    # GB/T 4754-2017 has Chinese names only (the compose page's sector list).
    texts |= {sector.name_zh for sector in sector_catalogue()}
    # The campaign form's variables: their English meanings quote the Chinese values (大型, 、).
    texts |= {v.meaning.split(" ", 1)[1] for v in VARIABLES}
    # Catalogue texts that are Chinese on purpose in English (the switch back to Chinese).
    texts |= {v[i18n.EN] for v in i18n.catalogue().values() if CJK.search(v[i18n.EN])}
    return {t for t in texts if t}


def _visible(html: str) -> str:
    html = re.sub(r"<(script|style)\b.*?</\1>", "", html, flags=re.S)
    # A message as the firm receives it (a delivery's text, a preview) is the firm's language.
    html = re.sub(r'<div class="preview"[^>]*>[^<]*</div>', "", html)
    return html_text.unescape(re.sub(r"<[^>]+>", " ", html))


def _pages(runtime, client: TestClient) -> list[str]:
    enterprise_id = 1
    with runtime.sessions() as session:
        enterprise = enterprise_store.get_by_credit_code(session, credit_code(1))
        assert enterprise is not None
        enterprise_id = enterprise.id
    unsubscribe = make_unsubscribe_token(SECRET, enterprise_id=enterprise_id, channel="sms")
    done = make_deadline_done_token(SECRET, deadline_id=1, enterprise_id=enterprise_id)
    code = credit_code(1)
    return [p.format(code=code) for p in CONSOLE_PAGES] + [
        f"/u/{unsubscribe}",
        f"/d/{done}",
        "/u/broken-link",
        "/console/policies/999",
        "/console/enterprises?q=%E6%B5%8B%E8%AF%95",
    ]


def test_every_page_reads_fully_in_chinese_and_in_english(runtime, client, admin_key):
    csrf = signed_in(client, admin_key)
    worker = start_worker(runtime.queue.broker, threads=2)
    try:
        client.post("/console/policies", data={**COMPOSED, "csrf": csrf})
        client.post("/console/templates", data={**TEMPLATE, "csrf": csrf})
        made = client.post("/console/campaigns/new", data={**CAMPAIGN_FORM, "csrf": csrf})
        assert made.status_code == 200 and "技改提醒" in made.text, made.text[-2000:]
        run_queued(runtime, worker)
    finally:
        worker.stop()
    data = sorted(_data_texts(runtime), key=len, reverse=True)
    english_words = [i18n.catalogue()[k][i18n.EN] for k in ("nav.deliveries", "nav.logout")]
    for path in _pages(runtime, client):
        for language in i18n.LANGUAGES:
            client.cookies.set(i18n.COOKIE, language)
            page = client.get(path)
            assert page.status_code in (200, 400, 404), f"{path} ({language}): {page.status_code}"
            assert f'<html lang="{language}">' in page.text
            text = _visible(page.text)
            if language == i18n.EN:
                for value in data:
                    text = text.replace(value, "")
                assert not CJK.search(text), f"{path}: Chinese left: {CJK.findall(text)[:10]}"
            else:
                assert not any(word in text for word in english_words), path


def test_the_language_follows_the_cookie_then_the_browser_then_chinese():
    assert i18n.choose_language(None, None) == i18n.ZH
    assert i18n.choose_language(None, "en-US,en;q=0.9") == i18n.EN
    assert i18n.choose_language(None, "fr,zh-CN;q=0.8,en;q=0.5") == i18n.ZH
    assert i18n.choose_language(None, "zh;q=0.1,en;q=0.9") == i18n.EN
    assert i18n.choose_language("zh-CN", "en") == i18n.ZH
    assert i18n.choose_language("xx", "de") == i18n.ZH


def test_every_catalogue_key_has_both_languages_and_the_same_placeholders():
    for key, texts in i18n.catalogue().items():
        assert set(texts) == set(i18n.LANGUAGES), key
        holes = {lang: set(re.findall(r"\{(\w+)\}", text)) for lang, text in texts.items()}
        assert holes[i18n.ZH] == holes[i18n.EN], key


def test_the_language_switch_sets_a_cookie_and_returns_only_to_this_site(client):
    answer = client.get("/lang/en", params={"next": "/console/login"}, follow_redirects=False)
    assert answer.headers["location"] == "/console/login"
    assert "lang=en" in answer.headers["set-cookie"]
    away = client.get("/lang/en", params={"next": "//evil.example/"}, follow_redirects=False)
    assert away.headers["location"] == "/console/"


def test_the_key_pages_read_in_both_languages(client, admin_key):
    csrf = signed_in(client, admin_key)
    for language in i18n.LANGUAGES:
        client.cookies.set(i18n.COOKIE, language)
        made = client.post(
            "/console/admin/keys", data={"role": "staff", "name": "desk", "csrf": csrf}
        )
        refused = client.post("/console/admin/keys", data={"role": "x", "name": "y", "csrf": csrf})
        assert made.status_code == 200 and refused.status_code == 400
        for page in (made, refused):
            assert f'<html lang="{language}">' in page.text
        if language == i18n.EN:
            text = _visible(made.text)
            # Catalogue texts Chinese on purpose in English (the switch back to Chinese).
            for value in (v[i18n.EN] for v in i18n.catalogue().values()):
                if CJK.search(value):
                    text = text.replace(value, "")
            assert "Copy it now" in text and not CJK.search(text), CJK.findall(text)
            # The one-line error is Chinese first, English second, like the CLI's.
            error = re.search(r'id="key-error">([^<]+)<', refused.text)
            assert error is not None and "unknown role" in error.group(1)
            assert "New key" in refused.text
        else:
            assert "只显示这一次" in made.text
