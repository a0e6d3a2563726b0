"""The campaign changes the console's campaign page makes (pause, resume, cancel): each one call
of the campaign services, which audit it in the transaction of the change, naming the console.
(Creating and editing go through the form: ``campaign_form``, ``campaign_edit``.)"""

from collections.abc import Callable
from typing import Any

from notifier.domain.scope import DISTRICT, Scope
from notifier.runtime import Runtime
from notifier.services.access.api_keys import Principal
from notifier.services.campaigns import operations
from notifier.services.campaigns.operations import Changed, campaign_view
from notifier.services.context import Context
from notifier.web.auth import acting

# Each change by the name its form posts to.
CHANGES: dict[str, Callable[[Context, int], Changed]] = {
    "pause": operations.pause,
    "resume": operations.resume,
    "cancel": operations.cancel,
}


def campaign_as_row(
    runtime: Runtime, campaign_id: int, scope: Scope = DISTRICT
) -> dict[str, Any]:
    """The campaign as listings show it (raises NotFoundError for an unknown id, or one out of
    ``scope``)."""
    return campaign_view(runtime.sessions, campaign_id, zone=runtime.settings.zone, scope=scope)


def change_campaign(runtime: Runtime, principal: Principal, campaign_id: int, action: str) -> None:
    """Pause, resume or cancel the campaign (``action``, a key of :data:`CHANGES`).

    Raises:
        NotFoundError: no such campaign. InputError: the change does not apply to it.
    """
    CHANGES[action](acting(runtime, principal, "console"), campaign_id)
