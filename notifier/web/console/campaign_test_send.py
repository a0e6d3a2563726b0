"""``POST /console/campaigns/{id}/test-send``: the campaign's message, rendered for a firm of its
audience, sent now to the clerk's own phone (their account's, or one typed) and to an address
typed for each other channel, by the campaign test-send service (``send_test_message``: audited
``campaign.test_send``, recorded as no delivery). The page shows each channel's outcome."""

from dataclasses import dataclass

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from notifier.domain.channel_names import CHANNELS
from notifier.errors import NotFoundError, NotifierError
from notifier.services.campaigns.preview import send_test_message
from notifier.services.context import Context
from notifier.web.console.campaign_changes import campaign_as_row
from notifier.web.console.campaigns import campaign_page
from notifier.web.console.deps import ConsoleDep, PostedForm, StaffPost
from notifier.web.deps import Id

router = APIRouter()


@dataclass(frozen=True)
class Outcome:
    """One channel's test send: ``state`` sent (``detail``: the provider and its message id),
    refused (``detail``: why) or skipped (no address given)."""

    channel: str
    to: str
    state: str
    detail: str = ""


def sent_each(
    context: Context, campaign_id: int, channels: list[str], addresses: dict[str, str],
    credit_code: str | None,
) -> list[Outcome]:
    """Test-send on each of ``channels`` that has an address; what became of each."""
    outcomes = []
    for channel in channels:
        to = addresses.get(channel, "")
        if not to:
            outcomes.append(Outcome(channel, to, "skipped"))
            continue
        try:
            message, result = send_test_message(
                context, campaign_id, to=to, channel=channel, credit_code=credit_code
            )
        except NotifierError as exc:
            outcomes.append(Outcome(channel, to, "refused", str(exc)))
            continue
        detail = " ".join(filter(None, (result.provider, result.provider_message_id)))
        outcomes.append(Outcome(channel, message.to, "sent", detail))
    return outcomes


@router.post("/campaigns/{campaign_id}/test-send", response_class=HTMLResponse)
def test_send(
    request: Request, campaign_id: Id, user: StaffPost, form: PostedForm, console: ConsoleDep
) -> HTMLResponse:
    """Send the test messages and show each channel's outcome on the campaign's page."""
    try:
        row = campaign_as_row(console.runtime, campaign_id, user.scope)
    except NotFoundError:
        return console.not_found(request)
    given = {c: str(form.get(f"to_{c}") or "").strip() for c in CHANNELS}
    firm = str(form.get("test_firm") or "").strip() or None
    outcomes = sent_each(console.acting(user), campaign_id, row["channels"], given, firm)
    return campaign_page(
        console, request, user, campaign_id, tested=outcomes, addresses=given,
        test_firm=firm or "",
    )  # fmt: skip
