"""Staff logging a firm's complaint (a call, a letter, the vendor's notice): kept with the SMS
it answered, audited in the same transaction."""

from __future__ import annotations

from dataclasses import dataclass

from notifier.domain.text_rules import check_line
from notifier.errors import InputError, NotFoundError
from notifier.services import audit
from notifier.services.context import Context
from notifier.store import complaints, enterprises

# A complaint's text is kept to this many characters.
TEXT_LIMIT = 2000


@dataclass(frozen=True)
class Logged:
    """A complaint kept, and the SMS it answered (None: the firm had none)."""

    complaint_id: int
    enterprise_id: int
    delivery_id: int | None


def log_complaint(context: Context, credit_code: str, text: str) -> Logged:
    """Keep a complaint from the firm ``credit_code`` with its latest SMS before now; audited
    ``complaint.log``.

    Raises:
        NotFoundError: no such firm.
        InputError: no text, a text longer than :data:`TEXT_LIMIT`, or a control character.
    """
    text = text.strip()
    if not text or len(text) > TEXT_LIMIT:
        raise InputError(
            f"text: 请填写投诉内容（最多 {TEXT_LIMIT} 字） / the complaint's text, at most "
            f"{TEXT_LIMIT} characters", field="text",
        )  # fmt: skip
    check_line(text.replace("\n", " "), "text")
    now = context.time_source.now()
    with context.sessions.begin() as session:
        firm = enterprises.get_by_credit_code(session, credit_code.strip())
        if firm is None:
            raise NotFoundError(
                f"enterprise {credit_code}: 没有这家企业 / no such firm", field="enterprise"
            )
        answered = complaints.latest_sms_to(session, firm.id, before=now)
        kept = complaints.add(
            session, source="staff", enterprise_id=firm.id, text=text, at=now,
            delivery_id=answered, logged_by=context.actor.owner or context.actor.name,
        )  # fmt: skip
        audit.record(
            session, context, action="complaint.log", target_type="enterprise",
            target_id=firm.credit_code, after={"complaint": kept.id, "delivery": answered},
        )  # fmt: skip
        return Logged(kept.id, firm.id, answered)
