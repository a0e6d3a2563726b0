"""The email written directly reads back, through the standard parser, as the message given."""

from __future__ import annotations

from email import message_from_bytes
from email.policy import default

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from notifier.channels.base import Message, ProviderConfig, ProviderEnvironment
from notifier.channels.email import SmtpProvider
from notifier.channels.mime import header_value, is_plain_address
from notifier.errors import PermanentError

SUBJECT = "【政策发布】北仑区关于支持制造业高质量发展的若干政策意见（2026年修订版）——申报须知"


def provider(**options: object) -> SmtpProvider:
    config = ProviderConfig(
        name="smtp",
        channel="email",
        kind="smtp",
        options={"sender": "北仑企服 <noreply@notifier.example.cn>", **options},
        secrets={},
    )
    return SmtpProvider.from_config(config, environment=ProviderEnvironment())


def message(**fields: object) -> Message:
    values: dict[str, object] = {
        "delivery_id": 7,
        "idempotency_key": "k-7",
        "to": "firm7@example.cn",
        "text": "宁波北仑精密模具有限公司：\n\n政策全文见链接。\n" * 40,
        "subject": SUBJECT,
        "html": "<p>宁波北仑精密模具有限公司</p>" * 40,
        "unsubscribe_url": "https://notify.example.cn/u/" + "a" * 120,
    }
    values.update(fields)
    return Message(**values)  # type: ignore[arg-type]


def test_a_written_email_reads_back_as_the_message() -> None:
    sent = message()
    parsed = message_from_bytes(provider().write(sent) or b"", policy=default)

    assert parsed["Subject"] == SUBJECT
    assert parsed["From"].addresses[0].display_name == "北仑企服"
    assert parsed["To"] == "firm7@example.cn"
    assert parsed["Message-ID"] == f"<{sent.message_id}@notifier.example.cn>"
    # One line, never folded into encoded words: the link must stay a link.
    assert parsed["List-Unsubscribe"] == f"<{sent.unsubscribe_url}>"
    assert parsed["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    text, html = (part.get_content() for part in parsed.iter_parts())
    assert (text, html) == (sent.text, sent.html)
    assert all(len(line) <= 998 for line in (provider().write(sent) or b"").split(b"\r\n"))


def test_without_html_the_email_is_a_single_text_part() -> None:
    parsed = message_from_bytes(provider().write(message(html=None)) or b"", policy=default)

    assert not parsed.is_multipart()
    assert parsed.get_content() == message().text


def test_a_line_break_in_the_subject_is_refused() -> None:
    with pytest.raises(PermanentError, match="unusable header value"):
        provider().write(message(subject="政策\r\nBcc: victim@example.cn"))


def test_a_non_ascii_address_is_left_to_the_email_package() -> None:
    assert provider().write(message(to="用户@例子.中国")) is None
    assert not is_plain_address("Name <a@b.cn>")
    assert is_plain_address("a@b.cn")


@settings(max_examples=200, deadline=None)
# Control characters never reach a subject (the readers refuse them in every field).
@given(st.text(st.characters(blacklist_categories=("Cc", "Cs")), max_size=300))
def test_any_subject_reads_back_as_it_was(raw: str) -> None:
    subject = " ".join(raw.split())  # as the renderer gives subjects: one line, single spaces
    wire = f"Subject: {header_value(subject)}\r\n\r\n".encode("ascii")
    assert message_from_bytes(wire, policy=default)["Subject"] == subject
