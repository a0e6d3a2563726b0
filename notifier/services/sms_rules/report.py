"""The monthly complaint and opt-out report: per local month, the SMS sent, the complaints and
the opt-outs (TD and R replies, and the firms' own page unsubscribes), each rate per 1,000 SMS
sent that month."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

from notifier.services.context import Context
from notifier.store import complaints

PER = 1000
MAX_MONTHS = 36


@dataclass(frozen=True)
class MonthRates:
    """One local month's figures and rates (per 1,000 SMS sent; None when none was sent)."""

    month: str  # 2026-12
    sms_sent: int
    complaints: int
    opt_outs: int
    reply_opt_outs: int
    page_opt_outs: int
    complaint_rate: float | None
    opt_out_rate: float | None

    def as_json(self) -> dict[str, Any]:
        """The month as plain values."""
        return asdict(self)


def _rate(count: int, sent: int) -> float | None:
    return round(count * PER / sent, 2) if sent else None


def _month_starts(now: datetime, months: int, zone: Any) -> list[datetime]:
    """The local starts of the last ``months`` months up to ``now``'s, oldest first, then the
    next month's start (the last one's end)."""
    local = now.astimezone(zone)
    year, month = local.year, local.month
    starts = []
    for back in range(months - 1, -2, -1):
        index = year * 12 + (month - 1) - back
        starts.append(datetime(index // 12, index % 12 + 1, 1, tzinfo=zone))
    return starts


def monthly_rates(context: Context, *, months: int = 12) -> list[MonthRates]:
    """Complaint and opt-out rates for each of the last ``months`` local months (this one
    included), oldest first."""
    months = max(1, min(months, MAX_MONTHS))
    zone = context.settings.zone
    starts = _month_starts(context.time_source.now(), months, zone)
    rows = []
    with context.sessions() as session:
        for start, end in zip(starts, starts[1:], strict=False):
            counts = complaints.month_counts(session, start=start, end=end)
            opt_outs = counts.reply_opt_outs + counts.page_opt_outs
            rows.append(MonthRates(
                month=start.strftime("%Y-%m"), sms_sent=counts.sms_sent,
                complaints=counts.complaints, opt_outs=opt_outs,
                reply_opt_outs=counts.reply_opt_outs, page_opt_outs=counts.page_opt_outs,
                complaint_rate=_rate(counts.complaints, counts.sms_sent),
                opt_out_rate=_rate(opt_outs, counts.sms_sent),
            ))  # fmt: skip
    return rows
