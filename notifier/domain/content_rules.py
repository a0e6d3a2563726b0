"""Content rules: what a text about to go out may not hold, found with its place.

Pure: the texts, the word lists and the allowed domains are handed in; the findings come out,
each naming its place (a field such as ``title``, or a channel's message such as ``sms``), the
word, link or placeholder found, its character offset in that text (0-based) and a short
excerpt around it. ``services.content.checks`` gathers the texts of a policy, correction or
campaign and refuses those with a refusal among their findings (docs: Content rules).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from typing import Any
from urllib.parse import urlsplit

# How many characters an excerpt shows either side of what was found.
EXCERPT_RADIUS = 10
# At most so many findings of one word (link, placeholder) in one place: enough to find them.
PER_WORD = 3

FORBIDDEN_WORD = "forbidden_word"
SENSITIVE_WORD = "sensitive_word"
LINK_DOMAIN = "link_domain"
PLACEHOLDER = "placeholder"
EMPTY_VARIABLE = "empty_variable"
SMS_PARTS = "sms_parts"
CANNOT_RENDER = "cannot_render"
# The codes that refuse a text; the others are warnings: a sensitive word, and a message a
# provider cannot compose (its account's setup, not the text, may be what is wrong: the
# preview shows it and the send would fail visibly, as before content rules were kept).
REFUSING = frozenset({FORBIDDEN_WORD, LINK_DOMAIN, PLACEHOLDER, EMPTY_VARIABLE, SMS_PARTS})

# Template syntax left in a text that should have been filled: Jinja2's {{ and {%, and the
# ${name} of vendors' SMS templates.
_PLACEHOLDER = re.compile(r"\{\{|\{%|\$\{")
# A link: with its scheme, or a bare host name that starts with www. or ends in a common
# top-level domain (an e-mail address's host is not a link: nothing of @ before it).
_TLDS = (
    "cn|com|net|org|gov|edu|top|xyz|info|io|cc|me|co|biz|vip|shop|site|ltd|link|hk|ly|im|to|gl"
    "|tv|app|club|online|xin|wang|ink|fun|tk"
)
_STOP = r"\s<>\"'，。；、）)】」”"
_LINK = re.compile(
    rf"https?://[^{_STOP}]+"
    rf"|(?<![\w.@/-])(?:www\.(?:[A-Za-z0-9-]+\.)*[A-Za-z]{{2,}}"
    rf"|(?:[A-Za-z0-9-]+\.)+(?:{_TLDS}))(?![\w-])(?::\d+)?(?:/[^{_STOP}]*)?",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class Finding:
    """One thing found in one text.

    ``place``: the field or channel (``title``, ``sms``, ``email.subject``); ``word``: the
    word, link host, placeholder or variable; ``offset``: where it starts in that text
    (0-based, None when it is about the whole text); ``excerpt``: the text around it.
    """

    code: str
    place: str
    word: str
    offset: int | None = None
    excerpt: str = ""
    detail: str = ""

    @property
    def refuses(self) -> bool:
        """Whether this finding refuses the text (else it is a warning)."""
        return self.code in REFUSING

    def as_dict(self) -> dict[str, Any]:
        """The finding as plain data (the API's body, the frozen preview), its message too."""
        return {**asdict(self), "refuses": self.refuses, "message": self.message()}

    def message(self) -> str:
        """What was found and where: Chinese / English."""
        zh, en = _WORDS[self.code]
        values = {"word": self.word, "detail": self.detail}
        where = at = ""
        if self.offset is not None:
            where = f"（第 {self.offset + 1} 个字符：“{self.excerpt}”）"
            at = f" at character {self.offset + 1}: “{self.excerpt}”"
        return f"{self.place}: {zh.format(**values, where=where)} / {en.format(**values, at=at)}"


# Each finding's words (Chinese, English); {word}, {detail} and where it is.
_WORDS = {
    FORBIDDEN_WORD: ("含禁用词“{word}”{where}", "holds the forbidden word “{word}”{at}"),
    SENSITIVE_WORD: (
        "含敏感词“{word}”{where}，请确认",
        "holds the sensitive word “{word}”{at}; check it",
    ),
    LINK_DOMAIN: (
        "链接的域名 {word} 不在允许范围（{detail}）{where}",
        "links to {word}, not one of the allowed domains ({detail}){at}",
    ),
    PLACEHOLDER: ("有未填写的变量“{word}”{where}", "holds an unfilled variable “{word}”{at}"),
    EMPTY_VARIABLE: (
        "变量 {{{{ {word} }}}} 为空{where}",
        "the variable {{{{ {word} }}}} is empty{at}",
    ),
    SMS_PARTS: (
        "短信按 {word} 条计费，超过上限 {detail} 条",
        "the SMS is billed as {word} parts, more than content.sms_max_parts ({detail})",
    ),
    CANNOT_RENDER: ("无法生成消息：{detail}", "cannot render: {detail}"),
}


def excerpt(text: str, start: int, end: int, radius: int = EXCERPT_RADIUS) -> str:
    """The text around ``text[start:end]`` on one line, … where it was cut."""
    before = "…" if start > radius else ""
    after = "…" if end + radius < len(text) else ""
    shown = text[max(start - radius, 0) : end + radius]
    return before + " ".join(shown.split()) + after


def _occurrences(text: str, lowered: str, word: str) -> Iterable[int]:
    """Where ``word`` starts in ``text`` (``lowered``: its lower case), letters in any case."""
    if len(lowered) != len(text):  # a letter whose lower case is longer: offsets would drift
        yield from (m.start() for m in re.finditer(re.escape(word), text, re.IGNORECASE))
        return
    target = word.lower()
    start = lowered.find(target)
    while start != -1:
        yield start
        start = lowered.find(target, start + len(target))


def find_words(place: str, text: str, words: Sequence[str], *, code: str) -> list[Finding]:
    """Each of ``words`` in ``text`` (case ignored), at most :data:`PER_WORD` times a word."""
    found = []
    lowered = text.lower()  # once: a list of thousands of words over a long body stays fast
    for word in words:
        for count, start in enumerate(_occurrences(text, lowered, word)):
            if count == PER_WORD:
                break
            end = start + len(word)
            found.append(Finding(code, place, text[start:end], start, excerpt(text, start, end)))
    return sorted(found, key=lambda finding: finding.offset or 0)


def link_host(link: str) -> str:
    """The host a link (with or without its scheme) goes to, lower case."""
    full = link if "://" in link else f"http://{link}"
    try:
        return (urlsplit(full).hostname or "").lower().rstrip(".")
    except ValueError:
        return link.lower()


def allowed_host(host: str, domains: Sequence[str]) -> bool:
    """Whether ``host`` is one of ``domains`` or a subdomain of one."""
    return any(host == d or host.endswith(f".{d}") for d in (d.lower() for d in domains))


def find_links(
    place: str, text: str, domains: Sequence[str], *, own_host: str | None = None
) -> list[Finding]:
    """Links in ``text`` to a host outside ``domains`` (and ``own_host``, the deployment's).

    An empty ``domains`` allows every link (the rule is off).
    """
    if not domains:
        return []
    allowed = [*domains, *([own_host] if own_host else [])]
    found = []
    for match in _LINK.finditer(text):
        host = link_host(match.group())
        if allowed_host(host, allowed):
            continue
        start, end = match.span()
        found.append(
            Finding(LINK_DOMAIN, place, host, start, excerpt(text, start, end, radius=6),
                    detail="、".join(domains))
        )  # fmt: skip
    return found


def find_placeholders(place: str, text: str) -> list[Finding]:
    """Template syntax left in ``text`` (``{{``, ``{%``, ``${``): a variable nobody filled."""
    found = []
    for match in _PLACEHOLDER.finditer(text):
        start = match.start()
        closing = text.find("}", start + 2)
        end = closing + 1 if 0 < closing - start < 40 else start + 2
        if closing != -1 and text[closing : closing + 2] == "}}":
            end = closing + 2
        found.append(Finding(PLACEHOLDER, place, text[start:end], start, excerpt(text, start, end)))
        if len(found) == PER_WORD * 3:
            break
    return found


def check_text(
    place: str,
    text: str,
    *,
    forbidden: Sequence[str] = (),
    sensitive: Sequence[str] = (),
    domains: Sequence[str] = (),
    own_host: str | None = None,
    placeholders: bool = True,
) -> list[Finding]:
    """Every finding in one text: forbidden and sensitive words, links outside ``domains``,
    and (with ``placeholders``) template syntax nobody filled."""
    if not text:
        return []
    return [
        *find_words(place, text, forbidden, code=FORBIDDEN_WORD),
        *find_words(place, text, sensitive, code=SENSITIVE_WORD),
        *find_links(place, text, domains, own_host=own_host),
        *(find_placeholders(place, text) if placeholders else []),
    ]


def sms_parts(place: str, parts: int, max_parts: int) -> list[Finding]:
    """A refusal when an SMS is billed as more than ``max_parts`` parts (0: no limit)."""
    if max_parts and parts > max_parts:
        return [Finding(SMS_PARTS, place, str(parts), detail=str(max_parts))]
    return []


# A template's plain output of one variable: {{ campaign.url }} (filters and tests aside).
_OUTPUT = re.compile(r"\{\{-?\s*([A-Za-z_][\w.]*)\s*-?\}\}")


def _value(context: Any, path: str) -> Any:
    value = context
    for part in path.split("."):
        if not isinstance(value, dict) or part not in value:
            return ""
        value = value[part]
    return value


def empty_variables(place: str, source: str, context: dict[str, Any]) -> list[Finding]:
    """Variables a template prints as they are (``{{ campaign.url }}``) that are empty or
    missing in ``context``: the message would read "详见None" or "详见". A variable printed
    inside ``{% if %}`` is still found (the rule is kept simple: write such text inside the
    condition's own line, with a default, ``{{ campaign.url or '' }}``, if it may be empty)."""
    found = []
    for match in _OUTPUT.finditer(source):
        path = match.group(1)
        if path.split(".")[0] not in context:
            continue  # a name the template set itself ({% set %}, a loop): not ours to judge
        value = _value(context, path)
        if value is None or value == "":
            start, end = match.span()
            found.append(Finding(EMPTY_VARIABLE, place, path, start, excerpt(source, start, end)))
    return found


@dataclass(frozen=True)
class Findings:
    """Every finding of one policy, correction or campaign, in the order found."""

    items: tuple[Finding, ...] = ()

    @property
    def refusals(self) -> list[Finding]:
        """The findings that refuse it."""
        return [finding for finding in self.items if finding.refuses]

    @property
    def warnings(self) -> list[Finding]:
        """The findings shown as warnings (it may still go out)."""
        return [finding for finding in self.items if not finding.refuses]

    @property
    def clean(self) -> bool:
        """True when nothing refuses it."""
        return not self.refusals

    def as_list(self) -> list[dict[str, Any]]:
        """Every finding as plain data."""
        return [finding.as_dict() for finding in self.items]


def deduplicated(findings: Iterable[Finding]) -> Findings:
    """The findings, each word of each code in the first place it was found only: a title's
    forbidden word is named in the title (each time it occurs there), not again in every
    channel's message that quotes it."""
    first: dict[tuple[str, str], str] = {}
    kept = []
    for finding in findings:
        key = (finding.code, finding.word.lower())
        if finding.code in (SMS_PARTS, CANNOT_RENDER, EMPTY_VARIABLE):
            key = (finding.code, f"{finding.place}:{finding.word}")
        if first.setdefault(key, finding.place) == finding.place:
            kept.append(finding)
    return Findings(tuple(kept))
