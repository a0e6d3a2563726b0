"""Message templates stored in the database: versions, the save-time checks, rendering, the CLI."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
import sqlalchemy as sa

from notifier.channels.smsformat import SmsFormat
from notifier.domain.sms_length import count_sms
from notifier.errors import NotifierError, TemplateError
from notifier.rendering.messages import Renderer
from notifier.rendering.stored import render_stored, validate_campaign_template
from notifier.rendering.variables import VARIABLES, sample_context
from notifier.store import templates as store
from notifier.store.db import SessionFactory, create_db_engine, create_session_factory

from support.cli import Notifier, assert_one_line_error
from support.waiting import wait_until

SMS_BODY = "{{ enterprise.name }}：{{ campaign.title }}开始申报，请于12月31日前提交材料。回TD退订"


@pytest.fixture
def sessions(database_url: str) -> Iterator[SessionFactory]:
    engine = create_db_engine(database_url)
    yield create_session_factory(engine)
    engine.dispose()


def refusal(channel: str, body: str, **parts: Any) -> str:
    with pytest.raises(TemplateError) as caught:
        validate_campaign_template(channel, body, name="tech", **parts)
    return str(caught.value)


# --- versions ---------------------------------------------------------------------------------


def test_saving_again_adds_a_version_and_the_old_one_remains(sessions: SessionFactory) -> None:
    with sessions.begin() as session:
        first = store.save(session, "tech", "sms", SMS_BODY, author="张三")
    with sessions.begin() as session:
        second = store.save(session, "tech", "sms", SMS_BODY.replace("申报", "报名"))

    assert (first.version, second.version) == (1, 2)
    with sessions() as session:
        assert store.current(session, "tech", "sms") == second
        old = store.version(session, "tech", "sms", 1)
        assert old is not None and old.body == SMS_BODY and old.author == "张三"
        assert [t.version for t in store.history(session, "tech")] == [1, 2]
        assert store.version(session, "tech", "sms", 3) is None
        assert store.current(session, "tech", "email") is None


def test_saving_the_same_text_again_adds_no_version(sessions: SessionFactory) -> None:
    with sessions.begin() as session:
        first = store.save(session, "tech", "sms", SMS_BODY)
        again = store.save(session, "tech", "sms", SMS_BODY)

    assert again == first
    with sessions() as session:
        assert len(store.history(session, "tech")) == 1


def test_the_listing_gives_the_newest_version_of_each_name_and_channel(
    sessions: SessionFactory,
) -> None:
    with sessions.begin() as session:
        for text in ("一", "二", "三"):
            store.save(session, "tech", "sms", f"{text} {{{{ enterprise.name }}}}")
        store.save(session, "tech", "email", "{{ enterprise.name }}", subject="通知")
        store.save(session, "safety", "webhook", "{{ campaign.title }}")

    with sessions() as session:
        listed = [(t.name, t.channel, t.version) for t in store.listing(session)]
    assert listed == [("safety", "webhook", 1), ("tech", "email", 1), ("tech", "sms", 3)]


def test_a_refused_template_stores_nothing(sessions: SessionFactory) -> None:
    with sessions.begin() as session, pytest.raises(TemplateError):
        store.save(session, "tech", "sms", "{{ enterprise.nmae }}")

    with sessions() as session:
        assert store.listing(session) == []


@pytest.mark.parametrize("author", ["作" * 201, "张三\u200b", "\x00"], ids=["long", "zwsp", "NUL"])
def test_an_author_the_column_cannot_hold_is_refused_naming_it(
    sessions: SessionFactory, author: str
) -> None:
    """The command line took any author: 201 characters or a NUL aborted the save on PostgreSQL."""
    with sessions.begin() as session, pytest.raises(TemplateError) as refused:
        store.save(session, "tech", "sms", "{{ enterprise.name }}", author=author)
    assert refused.value.field == "author"
    with sessions() as session:
        assert store.listing(session) == []


@pytest.mark.postgres
def test_two_saves_at_once_get_two_versions(database_url: str) -> None:
    if not database_url.startswith("postgresql"):
        pytest.skip("SQLite takes one writer at a time; nothing races there")
    engine = create_db_engine(database_url)
    sessions = create_session_factory(engine)
    first = sessions()
    first.begin()
    store.save(first, "tech", "sms", "一 {{ enterprise.name }}")  # holds version 1, uncommitted
    saved: list[int] = []

    def second() -> None:
        with sessions.begin() as session:  # blocks on version 1 until the first commits
            saved.append(store.save(session, "tech", "sms", "二 {{ enterprise.name }}").version)

    racer = threading.Thread(target=second)
    racer.start()
    _wait_until_a_save_waits_for_a_lock(engine)
    first.commit()
    first.close()
    racer.join(10)

    assert saved == [2]
    with sessions() as session:
        assert [t.body[0] for t in store.history(session, "tech")] == ["一", "二"]
    engine.dispose()


def _wait_until_a_save_waits_for_a_lock(engine: sa.Engine, timeout: float = 10.0) -> None:
    """Return once a backend waits on a lock (the second save, held by the first's row)."""
    waiting = sa.text(
        "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
        "AND datname = current_database()"
    )

    def a_save_waits() -> bool:
        with engine.connect() as connection:  # a new transaction sees the activity as it is now
            return bool(connection.scalar(waiting))

    wait_until(a_save_waits, timeout=timeout, what="the second save to wait on the first's row")


@pytest.mark.parametrize("name", ["", " tech", "a/b", "te\x1bch", "x" * 101])
def test_a_bad_name_is_refused(sessions: SessionFactory, name: str) -> None:
    with sessions.begin() as session, pytest.raises(TemplateError, match="名称 name"):
        store.save(session, name, "sms", SMS_BODY)


# --- what a template may say ----------------------------------------------------------------


def test_a_template_using_every_documented_variable_is_accepted() -> None:
    body = " ".join(f"{{{{ {v.name} }}}}" for v in VARIABLES if not v.optional)
    validate_campaign_template("sms", body + "{% if campaign.url %} {{ campaign.url }}{% endif %}")
    validate_campaign_template("email", body, subject="【通知】{{ campaign.title }}",
                               html="<p>{{ enterprise.name }}</p>")
    validate_campaign_template("webhook", "{% set n = namespace(x=1) %}{% for i in range(3) %}"
                               "{{ loop.index }}{{ n.x }}{% endfor %}{{ enterprise.name }}")


@pytest.mark.parametrize(
    ("body", "says"),
    [
        ("{{ enterprise.nmae }}", "unknown variable enterprise.nmae; 是否应为 did you mean "
                                  "enterprise.name?"),
        ("{{ enterprise['credit_cod'] }}", "unknown variable enterprise.credit_cod; "
                                           "是否应为 did you mean enterprise.credit_code?"),
        ("{{ enterprize.name }}", "unknown variable enterprize.name; 是否应为 did you mean "
                                  "enterprise.name?"),
        ("第一行\n{{ policy.title }}", "line 2: 未知变量 unknown variable policy.title"),
        ("{{ unsubscribe_ur }}", "did you mean unsubscribe_url?"),
        ("{{ password }}",
         "unknown variable password; 可用变量见 see `notifier templates variables`"),
    ],
)
def test_an_undocumented_variable_is_refused_by_name(body: str, says: str) -> None:
    message = refusal("sms", body)
    assert message.startswith("正文 body: template 'tech/sms.txt'")
    assert says in message


def test_an_unknown_variable_in_the_subject_names_the_subject() -> None:
    message = refusal("email", "{{ enterprise.name }}", subject="{{ campaign.titel }}")
    assert message.startswith("主题 subject:")
    assert "did you mean campaign.title?" in message


def test_a_syntax_error_names_the_field_and_the_line() -> None:
    message = refusal("email", "{{ enterprise.name }}", subject="通知",
                      html="<p>\n{{ enterprise.name }\n</p>")
    assert message == "网页版 html: template 'tech/email.html', line 2: unexpected '}'"


@pytest.mark.parametrize(
    ("channel", "parts", "says"),
    [
        ("fax", {}, "渠道 channel: 'fax' is not one of sms, email, webhook"),
        ("email", {}, "主题 subject: 邮件须有主题 email needs a subject"),
        ("sms", {"subject": "通知"}, "主题 subject: 仅邮件可用 only email templates have one"),
        ("webhook", {"html": "<p></p>"}, "网页版 html: 仅邮件可用"),
    ],
)
def test_parts_that_do_not_belong_to_the_channel_are_refused(
    channel: str, parts: dict[str, str], says: str
) -> None:
    assert says in refusal(channel, "{{ enterprise.name }}", **parts)


@pytest.mark.parametrize(("body", "says"), [("  \n", "正文 body: 为空 is empty"),
                                            ("a\x1b[2Jb", "control character U+001B")])
def test_an_empty_body_or_a_control_character_is_refused(body: str, says: str) -> None:
    assert says in refusal("sms", body)


def test_an_optional_variable_must_render_when_it_is_empty() -> None:
    message = refusal("sms", "{{ enterprise.name }} {{ campaign.url.upper() }}")
    assert message.startswith("示例渲染失败 rendering the sample values failed")
    validate_campaign_template("sms", "{{ enterprise.name }} {{ campaign.url or '' }}")


# --- the sandbox ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "body",
    [
        "{{ ''.__class__ }}",
        "{{ ''.__class__.__mro__[1].__subclasses__() }}",
        "{{ enterprise|attr('__class__') }}",
        "{{ enterprise['__class__'] }}",
        "{{ cycler.__init__.__globals__ }}",
        "{{ namespace.__init__ }}",
        "{{ '{0.__class__.__mro__}'.format(enterprise.name) }}",
        "{{ '%s' % enterprise.name.format_map.__self__ }}",
        "{{ ''|attr('_'*2 ~ 'class' ~ '_'*2) }}",
        "{{ enterprise.name.__len__() }}",
        "{% include 'policy_published/sms.txt' %}",
    ],
)
def test_sandbox_escapes_are_refused_when_saved(body: str) -> None:
    with pytest.raises(TemplateError):
        validate_campaign_template("sms", body)


@pytest.mark.parametrize(
    ("body", "says"),
    [
        ("{% for i in range(10**9) %}x{% endfor %}", "Range too big"),
        ("{{ 'x' * 10**7 }}", "over the maximum"),
        ("{{ 2 ** 99999 }}", "exponent"),
        ("{% for i in range(99999) %}{{ enterprise.region }}{% endfor %}", "over the maximum"),
    ],
)
def test_huge_outputs_are_refused_when_saved_as_file_templates_are(body: str, says: str) -> None:
    message = refusal("sms", body)
    # Refused when the text is checked (constant arithmetic) or when the samples render.
    assert message.startswith(("示例渲染失败", "正文 body"))
    assert says in message


def test_an_sms_longer_than_the_default_limit_is_refused_when_saved() -> None:
    # 6 (the signature) + 13 (the example name) + 481: one over.
    validate_campaign_template("sms", "{{ enterprise.name }}" + "申" * 481)
    message = refusal("sms", "{{ enterprise.name }}" + "申" * 482)
    assert message.endswith("SMS is 501 characters, over the maximum of 500")


def test_a_loop_without_end_is_stopped_by_the_render_time_limit() -> None:
    body = "{% for i in range(99999) %}{% for j in range(99999) %}{% endfor %}{% endfor %}"
    assert "rendering took over" in refusal("sms", body)


# --- rendering --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Source:
    name: str
    channel: str
    body: str
    subject: str | None = None
    html: str | None = None


def test_an_sms_with_a_chinese_body_is_counted_as_carriers_count_it() -> None:
    body = SMS_BODY + "。详情请咨询北仑区经济和信息化局企业服务科，电话0574-86781234。"
    rendered = render_stored(Source("tech", "sms", body), sample_context())

    sent = "【北仑企服】" + rendered.text
    expected = count_sms(sent, to="13800138000")
    assert rendered.text.startswith("宁波灵峰汽车零部件有限公司：2026年技术改造补助申报提醒")
    assert rendered.sms_count == expected
    assert (expected.encoding, expected.length, expected.parts) == ("cn", len(sent), 2)


def test_an_sms_over_the_accounts_length_limit_is_refused() -> None:
    source = Source("tech", "sms", SMS_BODY)
    with pytest.raises(TemplateError, match="over the maximum of 40"):
        render_stored(source, sample_context(), sms_format=SmsFormat(max_length=40))


def test_a_stored_template_renders_as_the_same_file_template_does() -> None:
    # The shipped policy templates, stored as strings: the same text comes out.
    renderer = Renderer()
    context = {
        "enterprise": {"name": "宁波北仑精密模具有限公司", "credit_code": "91330206MA2H4K7L3X"},
        "policy": {"title": "北仑区制造业政策", "summary": "补助" * 40, "body": "正文",
                   "url": "https://www.bl.gov.cn/p/1", "department": "区经信局",
                   "topics": ["技术改造"], "published_at": "2026-12-01 09:30",
                   "deadlines": [{"title": "申报", "due_at": "2026-12-31 17:00"}]},
        "deadline": None,
        "unsubscribe_url": "https://notify.example.cn/u/1",
        "public_url": "https://notify.example.cn",
        "page_url": "https://notify.example.cn/p/1-2.sig",
    }
    loader = renderer.environment.loader
    assert loader is not None

    def text(name: str) -> str:
        return loader.get_source(renderer.environment, f"policy_published/{name}")[0]

    for channel in ("sms", "webhook", "email"):
        subject = text("email_subject.txt") if channel == "email" else None
        stored = render_stored(Source("p", channel, text(f"{channel}.txt"), subject), context)
        from_file = renderer.render("policy_published", channel, context)
        assert (stored.text, stored.subject) == (from_file.text, from_file.subject)


def test_stored_html_is_escaped_and_text_is_not() -> None:
    context = sample_context()
    context["enterprise"]["name"] = "<script>x</script>"
    rendered = render_stored(
        Source("tech", "email", "{{ enterprise.name }}", "  {{ campaign.title }}\n 通知 ",
               "<p>{{ enterprise.name }}</p>"),
        context,
    )
    assert rendered.text == "<script>x</script>"
    assert rendered.subject == "2026年技术改造补助申报提醒 通知"
    assert rendered.html == "<p>&lt;script&gt;x&lt;/script&gt;</p>"


def test_a_template_error_is_a_notifier_error() -> None:
    assert issubclass(TemplateError, NotifierError)


# --- the command ------------------------------------------------------------------------------


def test_set_list_and_show_on_the_command_line(notifier: Notifier) -> None:
    sms = notifier.file("sms.txt", SMS_BODY + "\r\n")
    saved = notifier("templates", "set", "tech", "--channel", "短信", "--file", sms,
                     "--author", "张三")
    assert saved.stdout == "模板 tech (sms) 已保存为第 1 版 saved as version 1\n"
    again = notifier("templates", "set", "tech", "--channel", "sms", "--file", sms)
    assert "未改变，仍为第 1 版 unchanged: still version 1" in again.stdout
    notifier.file("sms.txt", SMS_BODY.replace("申报", "报名"))
    assert "saved as version 2" in notifier("templates", "set", "tech", "--channel", "sms",
                                            "--file", sms).stdout
    mail = notifier.file("mail.txt", "{{ enterprise.name }}：\n\n{{ campaign.title }}\n")
    html = notifier.file("mail.html", "<p>{{ enterprise.name }}</p>".encode("gb18030"))
    notifier("templates", "set", "tech", "--channel", "email", "--file", mail,
             "--subject", "【通知】{{ campaign.title }}", "--html", html)

    listed = notifier.json("templates", "list")
    assert [(r["name"], r["channel"], r["version"]) for r in listed] == [
        ("tech", "email", 1), ("tech", "sms", 2)]
    assert listed[0]["html"] == "<p>{{ enterprise.name }}</p>"
    text = notifier("templates", "list").stdout
    assert "tech" in text and "2 个模板 template(s)" in text

    shown = notifier.json("templates", "show", "tech", "--channel", "sms", "--version", "1")
    assert [(r["version"], r["body"], r["author"], r["versions"]) for r in shown] == [
        (1, SMS_BODY + "\n", "张三", [1, 2])]
    both = notifier("templates", "show", "tech").stdout
    assert "tech (email) 第 1 版" in both and "tech (sms) 第 2 版" in both
    assert "--- 主题 subject\n【通知】{{ campaign.title }}" in both


def test_a_refused_template_is_one_line_and_exit_status_2(notifier: Notifier) -> None:
    bad = notifier.file("bad.txt", "{{ enterprise.name }}\n{{ enterprise.nmae }}")
    result = notifier("templates", "set", "tech", "--channel", "sms", "--file", bad, status=2)
    assert_one_line_error(result, "line 2", "enterprise.nmae", "did you mean enterprise.name?")
    assert notifier.json("templates", "list") == []

    sms = notifier.file("sms.txt", SMS_BODY)
    assert_one_line_error(
        notifier("templates", "set", "tech", "--channel", "传真", "--file", sms, status=2),
        "--channel", "传真")
    assert_one_line_error(
        notifier("templates", "set", "tech", "--channel", "email", "--file", sms, status=2),
        "主题 subject")
    assert_one_line_error(notifier("templates", "show", "nothing", status=2), "nothing")
    notifier("templates", "set", "tech", "--channel", "sms", "--file", sms)
    assert_one_line_error(
        notifier("templates", "show", "tech", "--version", "9", status=2), "version 9")
    assert_one_line_error(
        notifier("templates", "show", "tech", "--channel", "webhook", status=2), "webhook")


def test_variables_lists_every_documented_variable(notifier: Notifier) -> None:
    rows = notifier.json("templates", "variables")
    assert [r["name"] for r in rows] == [v.name for v in VARIABLES]
    assert {r["name"] for r in rows if r["optional"]} == {"campaign.url"}
    assert "enterprise.credit_code" in notifier("templates", "variables").stdout
