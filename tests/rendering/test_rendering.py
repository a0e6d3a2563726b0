"""Sandboxed, bounded rendering of the message templates."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from notifier.channels.base import Composed
from notifier.channels.smsformat import SmsFormat
from notifier.config import Settings, load_settings
from notifier.domain.channel_names import CHANNELS
from notifier.errors import TemplateError
from notifier.rendering.messages import Renderer, compile_template, render_template

from support.bounds import memory_and_time_bounded

KINDS = ("policy_published", "deadline_reminder", "policy_corrected")

UNSUBSCRIBE_URL = "https://notify.example.cn/u/3f9a1c"
PAGE_URL = "https://notify.example.cn/p/1f-2s.Ybt1YD952ODt5qlq"


@pytest.fixture(autouse=True)
def _no_notifier_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    # The environment wins over load_settings' overrides; keep the developer's out.
    for name in list(os.environ):
        if name.upper().startswith("NOTIFIER_"):
            monkeypatch.delenv(name)


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return load_settings(config_dir=tmp_path)


@pytest.fixture
def renderer() -> Renderer:
    return Renderer()


def as_sms(text: str, **options: Any) -> Composed:
    """The text as the SMS account sends it: its signature added, counted, length checked."""
    signed, count = SmsFormat(**options).sign(text, to="13800138000")
    return Composed(text=signed, sms_count=count)


@pytest.fixture
def context() -> dict[str, Any]:
    return {
        "enterprise": {"name": "宁波北仑精密模具有限公司", "credit_code": "91330206MA2H4K7L3X"},
        "policy": {
            "title": "北仑区关于支持制造业高质量发展的若干政策意见",
            "summary": "对年度技术改造投入超过500万元的规上工业企业，按设备投资额的10%给予补助，"
            "单个项目最高300万元。",
            "body": "第一条 为推动制造业高质量发展……\n第二条 支持企业技术改造……",
            "url": "https://www.bl.gov.cn/art/2024/5/6/art_1229.html",
            "department": "区经济和信息化局",
            "topics": ["技术改造", "数字化转型"],
            "published_at": "2024年5月6日 09:30",
            "deadlines": [{"title": "技改补助申报", "due_at": "2024年5月31日 17:00"}],
        },
        "deadline": {"title": "技改补助申报", "due_at": "2024年5月31日 17:00", "days_left": 3},
        "unsubscribe_url": UNSUBSCRIBE_URL,
        "public_url": "https://notify.example.cn",
        "done_url": "https://notify.example.cn/d/7b2e",
        "page_url": PAGE_URL,
        "correction": {
            "number": 1,
            "revised_at": "2024年5月8日 10:00",
            "changed": ["截止时间", "摘要"],
            "previous_title": None,
            "moved": [
                {
                    "title": "技改补助申报",
                    "before": "2024年5月31日 17:00",
                    "after": "2024年6月14日 17:00",
                }
            ],
            "added": [],
            "removed": [],
        },
    }


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("channel", CHANNELS)
def test_each_default_template_renders_the_enterprise_and_policy(
    renderer: Renderer, context: dict[str, Any], kind: str, channel: str
) -> None:
    rendered = renderer.render(kind, channel, context)
    assert context["enterprise"]["name"] in rendered.text
    assert context["policy"]["title"] in rendered.text
    if channel != "sms":
        assert UNSUBSCRIBE_URL in rendered.text


@pytest.mark.parametrize("kind", KINDS)
def test_email_has_a_single_line_subject_and_html_with_the_unsubscribe_link(
    renderer: Renderer, context: dict[str, Any], kind: str
) -> None:
    rendered = renderer.render(kind, "email", context)
    assert rendered.subject
    assert "\n" not in rendered.subject
    assert rendered.html is not None
    assert context["enterprise"]["name"] in rendered.html
    assert f'href="{UNSUBSCRIBE_URL}"' in rendered.html


@pytest.mark.parametrize("kind", KINDS)
def test_sms_starts_with_the_signature_on_one_line_and_is_counted(
    renderer: Renderer, context: dict[str, Any], kind: str
) -> None:
    rendered = renderer.render(kind, "sms", context)
    assert rendered.subject is None and rendered.html is None
    sms = as_sms(rendered.text)
    assert sms.text.startswith("【北仑企服】宁波北仑精密模具有限公司：")
    assert "\n" not in sms.text
    assert "  " not in sms.text
    assert sms.text.endswith(f" {PAGE_URL} 回TD退订")  # the firm's page, its one link
    assert context["policy"]["url"] not in sms.text and context["done_url"] not in sms.text
    assert sms.sms_count is not None
    assert sms.sms_count.encoding == "cn"
    assert sms.sms_count.length == len(sms.text)


def test_sms_truncates_a_long_summary(renderer: Renderer, context: dict[str, Any]) -> None:
    context["policy"]["summary"] = "补" * 300
    rendered = renderer.render("policy_published", "sms", context)
    assert "补" * 39 + "…" in rendered.text
    assert "补" * 40 not in rendered.text


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("channel", CHANNELS)
def test_a_policy_without_a_url_renders_without_one(
    renderer: Renderer, context: dict[str, Any], kind: str, channel: str
) -> None:
    context["policy"]["url"] = None
    rendered = renderer.render(kind, channel, context)
    assert "None" not in rendered.text
    assert "None" not in (rendered.html or "")


def test_a_deadline_due_today_says_so(renderer: Renderer, context: dict[str, Any]) -> None:
    context["deadline"]["days_left"] = 0
    assert "今天截止" in renderer.render("deadline_reminder", "sms", context).text


def test_html_escapes_a_script_in_a_policy_title_while_text_keeps_it(
    renderer: Renderer, context: dict[str, Any]
) -> None:
    context["policy"]["title"] = "<script>alert(1)</script>"
    rendered = renderer.render("policy_published", "email", context)
    assert rendered.html is not None
    assert "<script>" not in rendered.html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in rendered.html
    assert "<script>alert(1)</script>" in rendered.text


def test_an_sms_over_the_maximum_length_is_refused(
    renderer: Renderer, context: dict[str, Any]
) -> None:
    text = renderer.render("policy_published", "sms", context).text
    with pytest.raises(TemplateError, match=r"SMS is \d+ characters, over the maximum of 50"):
        as_sms(text, max_length=50)


@pytest.mark.parametrize(
    ("source", "used"),
    [
        ("{{ ''.__class__ }}", "__class__"),
        ("{{ x.__globals__ }}", "__globals__"),
        ("{{ x['__class__'] }}", "__class__"),
        ("{{ x|attr('__class__') }}", "__class__"),
        ("{{ _secret }}", "_secret"),
    ],
)
def test_names_starting_with_an_underscore_are_refused(source: str, used: str) -> None:
    with pytest.raises(TemplateError) as caught:
        compile_template(source, name="x")
    assert str(caught.value) == f"template 'x': uses '{used}', which is not allowed"


def test_a_computed_private_attribute_is_stopped_by_the_sandbox() -> None:
    template = compile_template("{{ (''|attr('__cla' ~ 'ss__')).mro() }}", name="x")
    with pytest.raises(TemplateError, match="template 'x': .*__class__"):
        render_template(template, {})


def test_a_syntax_error_names_the_template_and_line() -> None:
    with pytest.raises(TemplateError, match=r"template 'campaign', line 2: .*"):
        compile_template("hello\n{% if %}", name="campaign")


def test_a_misspelt_variable_names_the_template_and_the_variable(
    tmp_path: Path, settings: Settings, context: dict[str, Any]
) -> None:
    override = tmp_path / "templates" / "policy_published"
    override.mkdir(parents=True)
    (override / "sms.txt").write_text("{{ policy.titel }}", encoding="utf-8")
    renderer = Renderer(templates_dir=override.parent)
    with pytest.raises(TemplateError) as caught:
        renderer.render("policy_published", "sms", context)
    assert str(caught.value) == (
        "template 'policy_published/sms.txt': 'policy' has no attribute 'titel' (line 1)"
    )


def test_an_undefined_name_is_refused() -> None:
    with pytest.raises(TemplateError, match="template 'x': 'enterprize' is undefined"):
        render_template(compile_template("{{ enterprize.name }}", name="x"), {})


def test_huge_output_is_stopped() -> None:
    template = compile_template(
        "{% for i in range(100000) %}{{ 'x' * 100 }}{% endfor %}", name="huge"
    )
    with pytest.raises(TemplateError, match="template 'huge': output over the maximum of 100000"):
        render_template(template, {})


def test_repeating_a_string_into_a_huge_value_is_refused() -> None:
    template = compile_template("{{ ('x' * 1000000000)|length }}", name="huge")
    with pytest.raises(TemplateError, match="template 'huge': '\\*' would build"):
        render_template(template, {})


def test_a_huge_power_is_refused() -> None:
    with pytest.raises(TemplateError, match="exponent"):
        render_template(compile_template("{{ 10 ** 100000000 }}", name="x"), {})


def test_a_long_loop_without_output_is_stopped_by_the_time_limit() -> None:
    template = compile_template(
        "{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}",
        name="slow",
    )
    with pytest.raises(TemplateError, match="template 'slow': rendering took over 0.2 s"):
        render_template(template, {}, max_seconds=0.2)


def test_range_still_behaves_like_a_range() -> None:
    template = compile_template(
        "{{ range(3)|list }} {{ range(5)|length }} {{ range(3)|reverse|join(',') }}", name="r"
    )
    assert render_template(template, {}) == "[0, 1, 2] 5 2,1,0"


def test_a_user_template_named_html_is_escaped() -> None:
    template = compile_template("<p>{{ title }}</p>", name="campaign.html")
    assert render_template(template, {"title": "<b>"}) == "<p>&lt;b&gt;</p>"


def test_a_templates_dir_override_replaces_a_default_template(
    tmp_path: Path, context: dict[str, Any]
) -> None:
    override = tmp_path / "templates" / "policy_published"
    override.mkdir(parents=True)
    (override / "sms.txt").write_text("新政策：{{ policy.title }}", encoding="utf-8")
    renderer = Renderer(templates_dir=tmp_path / "templates")
    sms = renderer.render("policy_published", "sms", context)
    assert sms.text == "新政策：北仑区关于支持制造业高质量发展的若干政策意见"
    # Templates the override folder lacks still come from the package.
    email = renderer.render("policy_published", "email", context)
    assert UNSUBSCRIBE_URL in email.text


def test_templates_are_loaded_once(
    tmp_path: Path, settings: Settings, context: dict[str, Any]
) -> None:
    override = tmp_path / "templates" / "policy_published"
    override.mkdir(parents=True)
    sms_template = override / "sms.txt"
    sms_template.write_text("第一版", encoding="utf-8")
    renderer = Renderer(templates_dir=override.parent)
    assert renderer.render("policy_published", "sms", context).text.endswith("第一版")
    sms_template.write_text("第二版", encoding="utf-8")
    assert renderer.render("policy_published", "sms", context).text.endswith("第一版")


def test_an_unknown_kind_is_a_template_error(renderer: Renderer, context: dict[str, Any]) -> None:
    with pytest.raises(TemplateError, match="template 'no_such_kind/sms.txt' not found"):
        renderer.render("no_such_kind", "sms", context)


@pytest.mark.parametrize("channel", CHANNELS)
def test_a_published_policy_message_names_its_deadline(
    renderer: Renderer, context: dict[str, Any], channel: str
) -> None:
    rendered = renderer.render("policy_published", channel, context)
    assert "技改补助申报" in rendered.text and "2024年5月31日 17:00" in rendered.text
    if rendered.html is not None:
        assert "2024年5月31日 17:00" in rendered.html


def test_a_policy_without_deadlines_renders_without_a_deadline_line(
    renderer: Renderer, context: dict[str, Any]
) -> None:
    context["policy"]["deadlines"] = []
    assert "截止" not in renderer.render("policy_published", "email", context).text


LONG = "x" * 100_000


@pytest.mark.parametrize(
    ("source", "context"),
    [
        ("{% for a in s %}{% for b in s %}{% endfor %}{% endfor %}", {"s": LONG}),
        ('{% for a in "x" * 100000 %}{% for b in "x" * 100000 %}{% endfor %}{% endfor %}', {}),
        ("{% for a in d %}{% for b in s %}{% endfor %}{% endfor %}",
         {"s": LONG, "d": dict.fromkeys(range(100_000))}),
        ("{% for a in s if a == 'x' %}{% for b in s %}{% endfor %}{% endfor %}", {"s": LONG}),
        ("{% for a in s %}{{ s|map('upper')|list|length }}{% endfor %}", {"s": LONG}),
    ],
)
def test_a_loop_of_any_kind_is_stopped_by_the_time_limit(
    source: str, context: dict[str, Any]
) -> None:
    template = compile_template(source, name="loop")
    # Stopped by the clock, or (when it rebuilds a string each pass) by the build budget first.
    stopped = "took over 0.5 s|builds over"
    with memory_and_time_bounded(), pytest.raises(TemplateError, match=stopped):
        render_template(template, context, max_seconds=0.5)


@pytest.mark.parametrize(
    "source",
    [
        '{{ "%999999999s" % "x" }}',
        '{{ "%.999999999f" % 1.5 }}',
        '{{ "%*s" % (999999999, "x") }}',
        '{{ "%999999999s"|format("x") }}',
        '{{ "{:>999999999}".format("x") }}',
        '{{ "{:>{w}}".format("x", w=999999999) }}',
        '{{ "{0:>90000}{0:>90000}{0:>90000}".format("x") }}',
        '{{ "{x:>999999999}".format_map({"x": 1}) }}',
        '{{ "x"|center(999999999) }}',
        '{{ "x".center(999999999) }}',
        '{{ "x".ljust(999999999) }}',
        '{{ "x".rjust(999999999) }}',
        '{{ "x".zfill(999999999) }}',
        '{{ "\t\t".expandtabs(999999999) }}',
        '{{ ("x" * 100000).replace("x", "y" * 100000) }}',
        '{{ ("x" * 100000)|replace("x", "y" * 100000) }}',
        '{{ ("a\nb\n" * 50000)|indent(999999) }}',
        '{{ ("a\nb\n" * 50000)|indent("y" * 100000) }}',
        '{{ ("a b " * 25000)|wordwrap(1, wrapstring="y" * 100000) }}',
        '{{ "abcdef"|truncate(3, end="y" * 100000, leeway=0) ~ "z" * 100000 }}',
        '{{ range(100000)|join("x" * 100000) }}',
        '{{ "x".join(["y" * 100000] * 100000) }}',
        '{{ ["x" * 100000] * 100000 }}',
        '{{ [10 ** 999] * 100000 }}',
        '{{ range(100000)|map("center", 100000)|list|length }}',
        '{{ range(10)|batch(999999999, "x")|list }}',
        '{{ range(10)|slice(999999999)|list }}',
        '{{ [["x" * 100000]] * 1000|sum(start=[]) }}',
        '{% set ns = namespace(s="x") %}{% for i in range(40) %}'
        "{% set ns.s = ns.s ~ ns.s %}{% endfor %}{{ ns.s|length }}",
        '{% set ns = namespace(s="x") %}{% for i in range(40) %}'
        "{% set ns.s = ns.s + ns.s %}{% endfor %}{{ ns.s|length }}",
        "{{ lipsum(999999999) }}",
    ],
)
def test_nothing_builds_a_value_past_the_size_limit(source: str) -> None:
    # Refused when compiled (constant arithmetic) or when rendered, never built.
    with memory_and_time_bounded(), pytest.raises(TemplateError, match="template 'big'"):
        render_template(compile_template(source, name="big"), {})


def test_formatting_and_filters_within_the_limits_still_work() -> None:
    source = (
        '{{ "%5s|%-3d|%.2f" % ("ab", 7, 1.5) }} {{ "{:>4}{x}".format("a", x=1) }} '
        '{{ "ab"|center(6) }} {{ "a\nb"|indent(2) }} {{ "%s-%s"|format(1, 2) }} '
        '{{ [1, 2, 3]|join(",") }} {{ "x".ljust(3) }}| {{ [3, 1, 2]|sort|list }} '
        "{{ [1, 2]|sum }} {{ range(5)|batch(2, 0)|list }} {{ 'a' ~ 'b' }} "
        "{% for x in [1, 2] %}{{ loop.index }}/{{ loop.length }}{% endfor %} "
        "{{ [1, 2]|last }} {{ [1, 2]|reverse|list }} {{ {'b': 1, 'a': 2}|dictsort }}"
    )
    assert render_template(compile_template(source, name="ok"), {}) == (
        "   ab|7  |1.50    a1   ab   a\n  b 1-2 1,2,3 x  | [1, 2, 3] 3 [[0, 1], [2, 3], [4, 0]]"
        " ab 1/22/2 2 [2, 1] [('a', 2), ('b', 1)]"
    )


@pytest.mark.parametrize("channel", CHANNELS)
def test_a_correction_says_it_is_one_and_what_changed(
    renderer: Renderer, context: dict[str, Any], channel: str
) -> None:
    rendered = renderer.render("policy_corrected", channel, context)
    assert "更正" in rendered.text
    assert "截止时间" in rendered.text
    assert "2024年6月14日 17:00" in rendered.text
    if channel == "email":
        assert rendered.subject is not None and "更正" in rendered.subject
        assert rendered.html is not None and "2024年6月14日 17:00" in rendered.html



@pytest.mark.parametrize("kind", KINDS)
def test_email_webhook_and_sms_messages_link_the_firms_page(
    renderer: Renderer, context: dict[str, Any], kind: str
) -> None:
    email = renderer.render(kind, "email", context)
    assert PAGE_URL in email.text and f'href="{PAGE_URL}"' in (email.html or "")
    assert f"({PAGE_URL})" in renderer.render(kind, "webhook", context).text  # a markdown link
    assert PAGE_URL in renderer.render(kind, "sms", context).text
