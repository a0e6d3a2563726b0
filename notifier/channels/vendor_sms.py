"""What the cloud SMS vendors (Alibaba Cloud, Tencent Cloud) share: approved templates and codes.

A vendor sends no free text: each message names a template the vendor approved (its
*template code*) and the values of its parameters. So each notifier message kind
(``policy_published``, ``deadline_reminder``, ...) maps, per provider, to a template::

    [providers.options.templates.policy_published]
    template_code = "SMS_123"
    text = "${enterprise}：${department}发布《${title}》，详见政务网。回TD退订"
    params = { enterprise = "{{ enterprise.name }}", department = "{{ policy.department }}",
               title = "{{ policy.title }}" }

``params`` are Jinja expressions over the same context as the channel's templates, rendered in
the same sandbox. ``text`` is the template as approved at the vendor (``${name}`` for Alibaba,
``{1}`` for Tencent): filled with the parameters and prefixed with the sign name it is what the
phone shows, so the preview counts its length and billed parts. A kind in use with no mapping is
a config error when the providers are built, not at send time.

Vendor answers map to four outcomes (:class:`CodeTable`): sent, transient (retry later),
throttled (retry later, slower) and permanent. A throttling code the vendor documents with a
window (:class:`Window`: 30 seconds, a minute, an hour, a day) says how long to wait, and what
staff read on the delivery (``达到每日发送上限 daily limit reached for this number``).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal

import jinja2
import phonenumbers
import requests
from pydantic import Field

from notifier.channels.base import Composed, ProviderConfig, ProviderEnvironment
from notifier.channels.http import TOO_MANY_REQUESTS, HttpProvider
from notifier.channels.options import KindOptions
from notifier.channels.smsformat import MAX_SMS_LENGTH, SmsProvider
from notifier.domain.sms_length import check_sms_length, count_sms
from notifier.errors import (
    ChannelError,
    ConfigError,
    InputError,
    PermanentError,
    TemplateError,
    ThrottledError,
    TransientError,
)
from notifier.rendering.messages import compile_template, render_template

Outcome = Literal["sent", "transient", "throttled", "permanent"]

# A parameter is short: bound each render so a template cannot build a long text.
PARAM_RENDER_CHARS = 2_000


class SmsTemplate(KindOptions):
    """One message kind's approved template at the vendor."""

    template_code: str = Field(min_length=1, max_length=64)
    text: str = Field(min_length=1, max_length=MAX_SMS_LENGTH)
    params: dict[str, str] = Field(default_factory=dict)


class VendorSmsOptions(KindOptions):
    """The options every vendor SMS kind takes."""

    sign_name: str = Field(min_length=1, max_length=30)
    endpoint: str
    timeout: float = Field(default=10.0, gt=0)
    templates: dict[str, SmsTemplate] = Field(default_factory=dict)
    max_length: int = Field(default=MAX_SMS_LENGTH, ge=1, le=MAX_SMS_LENGTH)
    default_region: str = "CN"
    # Longest value of one parameter the vendor accepts (0: no limit).
    max_param_length: int = Field(default=35, ge=0, le=MAX_SMS_LENGTH)


@dataclass(frozen=True)
class Window:
    """How long a vendor's throttle lasts, and what it means in words staff read.

    ``seconds`` to wait, or ``next_day``: a daily limit, lifted at the next local midnight.
    """

    meaning: str
    seconds: float | None = None
    next_day: bool = False


PER_30_SECONDS = Window("触发 30 秒内发送上限 30-second limit reached for this number", 30.0)
PER_MINUTE = Window("触发每分钟发送上限 per-minute limit reached", 60.0)
PER_HOUR = Window("触发每小时发送上限 hourly limit reached", 3600.0)
DAILY_PER_NUMBER = Window("达到每日发送上限 daily limit reached for this number", next_day=True)
DAILY_PER_ACCOUNT = Window("达到账户每日发送限额 the account's daily limit reached", next_day=True)


@dataclass(frozen=True)
class CodeTable:
    """A vendor's answer codes and what each means for the message.

    ``exact`` is looked up first, then the longest matching prefix in ``prefixes``; a code in
    neither is transient when the HTTP status was 5xx, else permanent. ``windows`` gives the
    throttling codes whose window the vendor documents.
    """

    exact: Mapping[str, Outcome]
    prefixes: Mapping[str, Outcome]
    windows: Mapping[str, Window] = field(default_factory=dict)

    def outcome(self, code: str, *, status: int = 200) -> Outcome:
        """What ``code`` (answered with HTTP ``status``) means; an unknown code with 429 is
        throttling."""
        if code in self.exact:
            return self.exact[code]
        for prefix in sorted(self.prefixes, key=len, reverse=True):
            if code.startswith(prefix):
                return self.prefixes[prefix]
        if status == TOO_MANY_REQUESTS:
            return "throttled"
        return "transient" if status >= 500 else "permanent"

    def error(
        self, code: str, reason: str, *, status: int = 200, retry_after: float | None = None,
        window: Window | None = None,
    ) -> ChannelError:
        """The channel error for a failed answer with ``code``.

        A throttled answer waits for its ``window`` (by default the code's own in ``windows``)
        or ``retry_after`` (an HTTP ``Retry-After``), the longer of the two.
        """
        outcome = self.outcome(code, status=status)
        if outcome == "throttled":
            window = window or self.windows.get(code)
            if window is None:
                return ThrottledError(reason, retry_after=retry_after)
            waits = [w for w in (window.seconds, retry_after) if w is not None]
            return ThrottledError(
                f"{window.meaning}: {reason}", retry_after=max(waits) if waits else None,
                next_day=window.next_day,
            )
        if outcome == "transient":
            return TransientError(reason)
        return PermanentError(reason)


@dataclass(frozen=True)
class _Compiled:
    code: str
    text: str
    params: dict[str, jinja2.Template]


# ${name} (Alibaba) and {1} (Tencent) placeholders in an approved template text.
_PLACEHOLDER = re.compile(r"\$\{([A-Za-z][A-Za-z0-9_]*)\}|\{(\d+)\}")


def placeholders(text: str) -> list[str]:
    """The parameter names an approved template text uses, in order."""
    return [named or numbered for named, numbered in _PLACEHOLDER.findall(text)]


def fill(text: str, values: Mapping[str, str]) -> str:
    """The approved text with each placeholder replaced by its value."""
    return _PLACEHOLDER.sub(lambda m: values[m.group(1) or m.group(2)], text)


class VendorSmsProvider(SmsProvider, HttpProvider):
    """Base of the vendor SMS kinds: templates mapped per kind, composed as the phone shows it."""

    codes: ClassVar[CodeTable]

    def __init__(
        self, *, config: ProviderConfig, options: VendorSmsOptions,
        environment: ProviderEnvironment, session: requests.Session | None = None,
    ) -> None:
        super().__init__(
            name=config.name, channel=config.channel, timeout=options.timeout,
            environment=environment, session=session,
        )
        self.options = options
        self.sign_name = options.sign_name
        self._templates = _compile_templates(config, options, environment.message_kinds)

    def compose(self, text: str, *, to: str | None) -> Composed:
        """A vendor sends only approved templates: free text is refused."""
        raise TemplateError(
            f"{self.name}: 只能发送已审核的模板 / sends approved templates only (no kind given)"
        )

    def compose_message(
        self, kind: str, context: Mapping[str, Any], text: str, *, to: str | None
    ) -> Composed:
        """Fill the kind's approved template from ``context``; count it as the phone shows it.

        Raises:
            TemplateError: the kind has no template here, a parameter fails to render or is
                longer than ``max_param_length``, or the SMS is over ``max_length``.
        """
        template = self._templates.get(kind) or self._templates.get(FALLBACK_KINDS.get(kind, ""))
        if template is None:
            raise TemplateError(
                f"{self.name}: 消息类型 {kind} 没有对应的短信模板 / "
                f"no SMS template for kind {kind!r}"
            )
        values = {
            name: " ".join(render_template(
                expression, context, max_chars=PARAM_RENDER_CHARS
            ).split())
            for name, expression in template.params.items()
        }
        self._check_lengths(kind, values)
        composed = f"【{self.sign_name}】" + fill(template.text, values)
        count = count_sms(composed, to=to, region=self.options.default_region)
        check_sms_length(count, max_length=self.options.max_length)
        payload = {"template_code": template.code, "params": values}
        return Composed(text=composed, sms_count=count, payload=payload)

    def _check_lengths(self, kind: str, values: Mapping[str, str]) -> None:
        limit = self.options.max_param_length
        for name, value in values.items():
            if limit and len(value) > limit:
                raise TemplateError(
                    f"短信模板参数 {kind}.{name} 长 {len(value)} 字，超过服务商上限 {limit} / "
                    f"SMS parameter {kind}.{name} is {len(value)} characters, over the "
                    f"vendor's limit of {limit}"
                )

    def national_number(self, to: str) -> phonenumbers.PhoneNumber:
        """The recipient's number, read in ``default_region`` when it has no ``+``.

        Raises:
            InputError: not a phone number.
        """
        try:
            number = phonenumbers.parse(to, self.options.default_region)
        except phonenumbers.NumberParseException as exc:
            raise InputError(f"不是电话号码 / not a phone number: {to!r}", field="to") from exc
        if not phonenumbers.is_possible_number(number):
            raise InputError(f"不是电话号码 / not a phone number: {to!r}", field="to")
        return number


# A kind an account need not map: without a template of its own it sends the approved template
# of the kind named here (a reach ladder's re-send is the policy's first message again).
FALLBACK_KINDS: Mapping[str, str] = {"policy_resent": "policy_published"}


def _compile_templates(
    config: ProviderConfig, options: VendorSmsOptions, kinds: tuple[str, ...]
) -> dict[str, _Compiled]:
    """Compile each mapping; refuse a kind in use without one, or params that miss the text."""
    missing = [kind for kind in kinds if kind not in options.templates]
    if missing:
        raise ConfigError(
            f"{config.label}: 以下消息类型没有短信模板 / option templates: no template for "
            f"{', '.join(missing)}"
        )
    compiled = {}
    for kind, template in options.templates.items():
        used = placeholders(template.text)
        if set(used) != set(template.params):
            raise ConfigError(
                f"{config.label}: option templates.{kind}: 模板文字的变量 {sorted(set(used))} "
                f"与 params {sorted(template.params)} 不一致 / the text's placeholders and "
                f"params differ"
            )
        try:
            params = {
                name: compile_template(source, name=f"{config.name}.{kind}.{name}")
                for name, source in template.params.items()
            }
        except TemplateError as exc:
            raise ConfigError(f"{config.label}: option templates.{kind}: {exc}") from None
        compiled[kind] = _Compiled(template.template_code, template.text, params)
    return compiled
