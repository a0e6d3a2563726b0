"""Where a firm's consent to a channel (its subscription) last came from.

Each change of a subscription records its source and time (``subscriptions.source`` and
``changed_at``): the district register's import, the firm's own page (its link or preferences),
staff on its word (phone, console, CLI), the API (the firm's own key), or an SMS reply
(TD stops SMS).
"""

from __future__ import annotations

import enum


class ConsentSource(enum.StrEnum):
    """Where a subscription change came from."""

    IMPORT = "import"
    PAGE = "page"
    STAFF = "staff"
    API = "api"
    REPLY = "reply"


CHINESE: dict[str, str] = {
    ConsentSource.IMPORT: "名册导入",
    ConsentSource.PAGE: "企业页面",
    ConsentSource.STAFF: "工作人员",
    ConsentSource.API: "接口",
    ConsentSource.REPLY: "短信回复",
}
