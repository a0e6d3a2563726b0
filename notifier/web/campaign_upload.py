"""The campaign file as the API and the console receive it: bytes over HTTP.

Read by the same reader as ``notifier campaigns create FILE.json``, except that a
``credit_codes_file`` (a path on the server) is refused: over HTTP the codes are listed in
``targets.credit_codes``.
"""

from __future__ import annotations

from notifier.domain.records import CampaignDraft
from notifier.errors import InputError
from notifier.inputs.campaign_file import parse_campaign
from notifier.inputs.json_file import read_json_file
from notifier.runtime import Runtime


def uploaded_campaign(runtime: Runtime, content: bytes) -> CampaignDraft:
    """The campaign a file's bytes describe.

    Raises:
        InputError: naming the field (``credit_codes_file`` included); nothing is stored.
    """
    data = read_json_file(content)
    if isinstance(data, dict) and "credit_codes_file" in data:
        raise InputError(
            "credit_codes_file: 通过 API 请在 targets.credit_codes 中列出信用代码 / over the API, "
            "list the credit codes in targets.credit_codes",
            field="credit_codes_file",
        )
    return parse_campaign(data, zone=runtime.settings.zone, now=runtime.time_source.now())
