"""Reading the State Council's yearly holiday notice (国务院办公厅关于部分节假日安排的通知).

One holiday a line, as the notice writes it or as a clerk types it::

    二、春节：2月6日至13日放假调休，共8天。2月14日（周日）、2月20日（周六）上班。
    春节 2027-02-06 至 2027-02-13，调休上班 2027-02-14、2027-02-20

The name is the text before the line's first date (numbering and colons dropped). Each clause
(split at ，。；) holds single dates or ranges (``至``, ``到``, ``~``); a clause that says
``上班`` (or ``workday``) gives worked days, any other gives holidays (``放假``, ``补休``).
Dates are ``2027-02-06``, ``2027年2月6日``, ``2月6日`` (the notice's year) or, after ``至``,
``13日`` (the month before it). A line with no date (the notice's preamble) is skipped, as is
a line that is a date alone (its signature date). Every bad line is reported in one pass.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, timedelta

from notifier.domain.plaintext import first_control_character
from notifier.domain.workdays import WEEKDAYS_ZH, DayKind
from notifier.errors import InputError

MAX_NOTICE_CHARS = 20_000
MAX_NAME = 50
# The longest legal holiday run is 9 days; a longer range is a typing slip.
MAX_RANGE_DAYS = 15

_DATE = re.compile(
    r"(?P<y>\d{4})\s*[-/.]\s*(?P<m>\d{1,2})\s*[-/.]\s*(?P<d>\d{1,2})"
    r"|(?:(?P<y2>\d{4})\s*年\s*)?(?P<m2>\d{1,2})\s*月\s*(?P<d2>\d{1,2})\s*日"
    r"|(?P<d3>\d{1,2})\s*日"
)
_CLAUSES = re.compile(r"[，,。；;]")
_ASIDE = re.compile(r"[（(][^）)]*[）)]")
_RANGE_WORDS = {"至", "到", "~", "～", "-", "—", "–", "to"}
_NUMBERING = re.compile(r"^\s*(?:[一二三四五六七八九十]+|\d{1,2})\s*[、.．)）]\s*")
_WORKED = ("上班", "workday")


@dataclass(frozen=True)
class NoticeDay:
    """One day the notice names: its kind, its holiday's name and the line it came from."""

    day: date
    kind: DayKind
    name: str
    line: int


@dataclass
class Notice:
    """What a notice says: each named day, and the line numbers skipped as not a holiday."""

    year: int
    days: dict[date, NoticeDay] = field(default_factory=dict)
    skipped: list[int] = field(default_factory=list)

    def holidays(self) -> dict[str, list[NoticeDay]]:
        """The days grouped by holiday name, in the order the notice gives them."""
        groups: dict[str, list[NoticeDay]] = {}
        for entry in sorted(self.days.values(), key=lambda e: e.day):
            groups.setdefault(entry.name, []).append(entry)
        return groups


class _LineError(Exception):
    pass


def read_name(value: str) -> str:
    """A holiday's name as an admin gives it (may be empty).

    Raises:
        InputError: a control character, or over 50 characters.
    """
    name = value.strip()
    bad = first_control_character(name)
    if bad:
        raise InputError(f"name: 含有控制字符 / holds a control character ({bad})", field="name")
    if len(name) > MAX_NAME:
        raise InputError(f"name: 超过 {MAX_NAME} 字 / over {MAX_NAME} characters", field="name")
    return name


def _date(match: re.Match[str], year: int, previous: date | None) -> date:
    groups = match.groupdict()
    try:
        if groups["d"]:
            return date(int(groups["y"]), int(groups["m"]), int(groups["d"]))
        if groups["d2"]:
            return date(int(groups["y2"] or year), int(groups["m2"]), int(groups["d2"]))
        if previous is None:
            raise _LineError(f"“{match.group(0)}” 缺少月份 / has no month")
        return date(previous.year, previous.month, int(groups["d3"]))
    except ValueError:
        raise _LineError(f"“{match.group(0)}” 不是有效日期 / is not a date") from None


def _clause_days(clause: str, year: int) -> list[date]:
    """The dates a clause names, ranges expanded."""
    days: list[date] = []
    last_end = 0
    previous: date | None = None
    joined = False
    for match in _DATE.finditer(clause):
        between = _ASIDE.sub("", clause[last_end : match.start()]).strip()
        joined = previous is not None and between.lower() in _RANGE_WORDS
        if match.group("d3") and not joined:
            raise _LineError(f"“{match.group(0)}” 缺少月份 / has no month")
        day = _date(match, year, previous)
        if joined and previous is not None:
            if not previous < day <= previous + timedelta(days=MAX_RANGE_DAYS):
                raise _LineError(
                    f"{previous.isoformat()} 至 {day.isoformat()}：区间应在 {MAX_RANGE_DAYS} 天内"
                    f"且先早后晚 / the range must run forward, at most {MAX_RANGE_DAYS} days"
                )
            days += [previous + timedelta(days=n) for n in range(1, (day - previous).days + 1)]
        else:
            days.append(day)
        previous, last_end = day, match.end()
    return days


def _name(line: str) -> str:
    first = _DATE.search(line)
    head = line[: first.start()] if first else line
    name = _NUMBERING.sub("", head).strip(" \t：:，,、")
    if not name:
        raise _LineError("缺少节日名称（写在第一个日期前）/ no holiday name before the first date")
    if len(name) > MAX_NAME:
        raise _LineError(f"节日名称超过 {MAX_NAME} 字 / the name is over {MAX_NAME} characters")
    return name


def _line_days(text: str, year: int, number: int) -> list[NoticeDay]:
    bad = first_control_character(text, allowed="\t")
    if bad:
        raise _LineError(f"含有控制字符 / holds a control character ({bad})")
    name = _name(text)
    found: list[NoticeDay] = []
    for clause in _CLAUSES.split(text):
        kind = DayKind.WORKDAY if any(w in clause.lower() for w in _WORKED) else DayKind.HOLIDAY
        for day in _clause_days(clause, year):
            if kind is DayKind.WORKDAY and day.weekday() < 5:
                raise _LineError(
                    f"{day.isoformat()} 是周{WEEKDAYS_ZH[day.weekday()]}，只有周末需要调休上班 / "
                    "is a weekday; only a weekend day is worked instead"
                )
            found.append(NoticeDay(day, kind, name, number))
    return found


def _is_signature(text: str) -> bool:
    """A line that is one date and nothing else: the notice's date, not a holiday."""
    match = _DATE.fullmatch(text.strip())
    return match is not None and not match.group("d3")


def read_notice(text: str, *, year: int) -> Notice:
    """The days a notice for ``year`` names.

    Raises:
        InputError: any bad line (all of them, one per line of the message), a day named
            twice with different kinds, or no day at all.
    """
    if len(text) > MAX_NOTICE_CHARS:
        raise InputError(
            f"notice: 超过 {MAX_NOTICE_CHARS} 字 / over {MAX_NOTICE_CHARS} characters",
            field="notice",
        )
    notice = Notice(year=year)
    problems: list[str] = []
    for number, line in enumerate(text.splitlines(), start=1):
        stripped = line.strip()
        if not stripped or _DATE.search(stripped) is None or _is_signature(stripped):
            if stripped:
                notice.skipped.append(number)
            continue
        try:
            entries = _line_days(stripped, year, number)
        except _LineError as exc:
            problems.append(f"第 {number} 行 line {number}: {exc}")
            continue
        for entry in entries:
            seen = notice.days.get(entry.day)
            if seen is not None and seen.kind is not entry.kind:
                problems.append(
                    f"第 {number} 行 line {number}: {entry.day.isoformat()} 在第 {seen.line} 行"
                    f"已是{'放假' if seen.kind is DayKind.HOLIDAY else '上班'} / is already a "
                    f"{seen.kind.value} on line {seen.line}"
                )
                continue
            notice.days[entry.day] = entry
    if problems:
        raise InputError("notice: " + "\n".join(problems), field="notice")
    if not any(d.day.year == year for d in notice.days.values()):
        raise InputError(
            f"notice: 没有找到 {year} 年的放假日期 / names no day of {year}", field="notice"
        )
    return notice
