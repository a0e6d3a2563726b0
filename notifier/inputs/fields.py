"""Field shapes shared by the input models: the words a choice takes, a credit code's shape.

Each states in the schema what a client can know beforehand; what only the server can check (a
credit code's check character) stays a 400 that names the field.
"""

from __future__ import annotations

from typing import Any

from pydantic import Field

from notifier.domain.channel_names import CHANNELS
from notifier.domain.targets import SIZE_WORDS
from notifier.inputs.enterprise_csv import CHANNEL_WORDS

# What a choice field takes, as the readers accept it (English or the register's Chinese word).
CHANNEL_ENUM = [*CHANNELS, *CHANNEL_WORDS]
SIZE_ENUM = list(SIZE_WORDS)
ROLES = ["admin", "staff", "enterprise"]
# A unified social credit code (GB 32100-2015) by its ``format`` name, so a client (or a fuzzer)
# can make valid ones: a pattern could not state the check character, and a generator that
# honours the pattern ignores the format.
CREDIT_CODE: dict[str, Any] = {
    "format": "credit-code",
    "minLength": 18,
    "examples": ["91330206MA2000001P"],
}
# A date or a date-time to the minute, as a client writes it (the readers also take seconds
# and offsets).
DATE_OR_TIME_PATTERN = (
    r"^20[0-9]{2}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])(T([01][0-9]|2[0-3]):[0-5][0-9])?$"
)


def choice(words: list[str], **options: Any) -> Any:
    """A text field that takes one of ``words`` (the schema lists them as an enum)."""
    schema: dict[str, Any] = {"enum": words}
    return Field(max_length=max(map(len, words)), json_schema_extra=schema, **options)


def credit_code_field(**options: Any) -> Any:
    """A credit code field (the check character is checked by the server)."""
    # 40: the reader also takes a code written with spaces or dashes.
    return Field(max_length=40, json_schema_extra=dict(CREDIT_CODE), **options)
