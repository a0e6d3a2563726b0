"""Templates cannot stall the process: integer sizes, recursion, nesting, guarded branches.

Each case here once froze a worker or answered with a traceback: a staff template
``{% set big = ((10**1000)**1000)**10 %}`` ran for seconds to forever (the sandbox bounded the
exponent, not the base), recursive macros and 5,000 nested parentheses raised RecursionError,
and a guarded branch that the sample values never reached was stored and stalled every render.
"""

from __future__ import annotations

import threading
import time

import pytest

from notifier.errors import TemplateError
from notifier.rendering.messages import compile_template, render_template
from notifier.rendering.sandbox import OverTime
from notifier.rendering.stored import validate_campaign_template
from notifier.rendering.watchdog import RenderWatchdog

from support.bounds import memory_and_time_bounded

STALL = "{% for i in range(99999) %}{% for j in range(99999) %}{% endfor %}{% endfor %}"


def rendered_or_refused(source: str, context: dict[str, object] | None = None) -> str:
    """The render's output, or the TemplateError's message (compile or render)."""
    try:
        return render_template(compile_template(source, name="t"), context or {})
    except TemplateError as exc:
        return f"REFUSED {exc}"


@pytest.mark.parametrize(
    "source",
    [
        "{% set big = ((10**1000)**1000)**10 %}x",
        "{{ (10**300) * (10**300) * (10**300) * (10**300) }}",
        "{{ " + "9" * 5000 + " }}",
        "{{ (10 ** 400) ** 3 }}",
    ],
)
def test_huge_integer_arithmetic_is_refused_before_it_is_computed(source: str) -> None:
    with memory_and_time_bounded(max_seconds=2.0):
        result = rendered_or_refused(source)
    assert result.startswith("REFUSED")
    assert "整数过大" in result or "数字过长" in result or "指数过大" in result


def test_integers_built_from_variables_are_bounded_at_render_time() -> None:
    source = "{% set n = base ** 300 %}{% set m = n * n * n * n %}{{ m }}"
    with memory_and_time_bounded(max_seconds=2.0):
        result = rendered_or_refused(source, {"base": 10})
    assert result.startswith("REFUSED") and "整数过大" in result


def test_ordinary_arithmetic_still_works() -> None:
    assert rendered_or_refused("{{ 3 * 7 }} {{ 2 ** 10 }} {{ 10 - 4 }} {{ 7 // 2 }}") == (
        "21 1024 6 3"
    )


@pytest.mark.parametrize(
    ("source", "says"),
    [
        ("{% macro f(n) %}{{ f(n) }}{% endmacro %}{{ f(1) }}", "调用自身"),
        ("{% macro f() %}{{ g() }}{% endmacro %}{% macro g() %}{{ f() }}{% endmacro %}{{ f() }}",
         "调用自身"),
        ("{% for x in [[1]] recursive %}{{ loop(x) }}{% endfor %}", "递归循环"),
        ("{{ " + "(" * 5000 + "1" + ")" * 5000 + " }}", "嵌套"),
        ("{{ " + "[" * 5000 + "]" * 5000 + " }}", "嵌套"),
        ("{{ " + " + ".join(["1"] * 20000) + " }}", "过长"),
        # A macro handed to itself escapes the static check; the render still ends in words.
        ("{% macro f(g) %}{{ g(g) }}{% endmacro %}{{ f(f) }}", "递归"),
    ],
)
def test_recursion_and_deep_nesting_are_refused_with_a_named_error(
    source: str, says: str
) -> None:
    with memory_and_time_bounded(max_bytes=200_000_000, max_seconds=10.0):
        result = rendered_or_refused(source)
    assert result.startswith("REFUSED"), result[:200]
    assert says in result


def test_a_template_nested_a_few_levels_is_fine() -> None:
    assert rendered_or_refused("{{ ((((1 + 2)))) * [[3]][0][0] }}") == "9"


@pytest.mark.parametrize(
    "guard",
    [
        "{% if enterprise.name|length > 30 %}",
        "{% if enterprise.size == '微型' %}",
        "{% if '化工' in enterprise.name %}",
    ],
)
def test_a_stall_behind_a_guard_the_samples_miss_is_refused_when_saved(guard: str) -> None:
    body = f"{guard}{STALL}{{% endif %}}{{{{ enterprise.name }}}} 退订 {{{{ unsubscribe_url }}}}"
    started = time.monotonic()
    with pytest.raises(TemplateError, match="以测试值"):
        validate_campaign_template("webhook", body)
    assert time.monotonic() - started < 30  # bounded by the save check's budget (3 s)


def test_a_guarded_huge_power_is_refused_when_saved_whatever_the_values() -> None:
    body = ("{% if enterprise.credit_code == 'X' %}{% set big = ((10**1000)**1000)**10 %}"
            "{% endif %}hi")
    with pytest.raises(TemplateError, match="整数过大"):
        validate_campaign_template("sms", body)


def test_an_ordinary_branching_template_is_saved() -> None:
    validate_campaign_template(
        "sms",
        "{{ enterprise.name }}：{% if enterprise.size == '微型' %}小微企业可申请减免。"
        "{% else %}请关注申报时间。{% endif %}退订回T",
    )


def test_the_watchdog_interrupts_a_runaway_that_checks_no_deadline() -> None:
    watchdog = RenderWatchdog(grace=0.05)
    outcome: list[str] = []

    def runaway() -> None:
        try:
            with watchdog.watch(time.monotonic() + 0.1):
                while True:
                    pass
        except OverTime:
            outcome.append("interrupted")

    thread = threading.Thread(target=runaway, daemon=True)
    thread.start()
    thread.join(timeout=30)
    assert outcome == ["interrupted"]


def test_a_render_that_ends_in_time_is_never_interrupted_afterwards() -> None:
    watchdog = RenderWatchdog(grace=0.0)
    for _ in range(200):
        with watchdog.watch(time.monotonic() + 0.002):
            sum(range(1000))
    # Past every deadline now: nothing must surface in this thread.
    finish = time.monotonic() + 0.2
    while time.monotonic() < finish:
        sum(range(1000))
