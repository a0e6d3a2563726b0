"""The campaign changes the console makes (create, pause, resume, cancel), through the campaign
services and audited as the API audits them (same actions, same before and after)."""

import dataclasses
from collections.abc import Callable
from typing import Any

from notifier.errors import InputError
from notifier.inputs.campaign_file import parse_campaign
from notifier.inputs.json_file import read_json_file
from notifier.runtime import Runtime
from notifier.services.access.api_keys import Principal
from notifier.services.campaigns import operations
from notifier.services.campaigns.operations import Changed, campaign_row, get_campaign
from notifier.web.auditing import record_change


def campaign_as_row(runtime: Runtime, campaign_id: int) -> dict[str, Any]:
    """The campaign as listings show it (raises NotFoundError for an unknown id)."""
    with runtime.sessions() as session:
        return campaign_row(get_campaign(session, campaign_id), runtime.settings.zone)


def create_from_text(runtime: Runtime, principal: Principal, text: str) -> int:
    """Create the campaign the campaign file's text describes, audited; its id.

    Raises:
        InputError, TemplateError: naming the field; nothing stored.
    """
    data = read_json_file(text.encode("utf-8"))
    # A file on the server is not the web's to read: the codes are listed in the file.
    if isinstance(data, dict) and "credit_codes_file" in data:
        raise InputError(
            "credit_codes_file: 通过 API 请在 targets.credit_codes 中列出信用代码 / over the API, "
            "list the credit codes in targets.credit_codes",
            field="credit_codes_file",
        )
    draft = parse_campaign(data, zone=runtime.settings.zone, now=runtime.time_source.now())
    campaign_id = operations.create_campaign(
        runtime.sessions, draft, time_source=runtime.time_source
    )
    record_change(
        runtime, principal, action="campaign.create", target_type="campaign",
        target_id=campaign_id, after=campaign_as_row(runtime, campaign_id),
    )  # fmt: skip
    return campaign_id


def _pause(runtime: Runtime, campaign_id: int) -> Changed:
    return operations.pause(runtime.sessions, campaign_id, time_source=runtime.time_source)


def _resume(runtime: Runtime, campaign_id: int) -> Changed:
    return operations.resume(
        runtime.sessions, runtime.dispatch, campaign_id,
        batch_size=runtime.settings.delivery.batch_size, time_source=runtime.time_source,
    )  # fmt: skip


def _cancel(runtime: Runtime, campaign_id: int) -> Changed:
    return operations.cancel(runtime.sessions, campaign_id, time_source=runtime.time_source)


# Each change by the name its form posts to.
CHANGES: dict[str, Callable[[Runtime, int], Changed]] = {
    "pause": _pause,
    "resume": _resume,
    "cancel": _cancel,
}


def change_campaign(
    runtime: Runtime, principal: Principal, campaign_id: int, action: str
) -> dict[str, Any]:
    """Pause, resume or cancel the campaign (``action``, a key of :data:`CHANGES`), audited.

    Raises:
        NotFoundError: no such campaign. InputError: the change does not apply to it.
    """
    before = campaign_as_row(runtime, campaign_id)
    changed = CHANGES[action](runtime, campaign_id)
    record_change(
        runtime, principal, action=f"campaign.{action}", target_type="campaign",
        target_id=campaign_id, before={"status": before["status"]},
        after={"status": changed.status, "deliveries": changed.deliveries},
    )  # fmt: skip
    return dataclasses.asdict(changed)
