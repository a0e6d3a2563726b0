"""The email written directly reads back, through the standard parser, as the message given."""

from __future__ import annotations

import base64
import re
from email import message_from_bytes, message_from_string
from email.policy import default

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from notifier.channels.base import Message, ProviderConfig, ProviderEnvironment
from notifier.channels.email import SmtpProvider
from notifier.channels.mime import header_value, is_plain_address, write_email
from notifier.errors import PermanentError

from support.peers import SmtpPeer

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
    wire = f"Subject: {header_value(subject, name='Subject')}\r\n\r\n".encode("ascii")
    assert message_from_bytes(wire, policy=default)["Subject"] == subject


# RFC 2047 section 2: an encoded word is at most 75 characters, and a line holding one at
# most 76. Real relays and clients have cut or garbled subjects that broke these.
ENCODED_WORD = re.compile(rb"=\?[^?\s]+\?[bBqQ]\?[^?\s]*\?=")
LONG_NAME = "宁波市北仑区经济和信息化局企业服务中心政策推送平台（工业社区专用通道）"


def _header_block(raw: bytes) -> list[bytes]:
    return raw.split(b"\r\n\r\n", 1)[0].split(b"\r\n")


@pytest.mark.parametrize(
    "to",
    ["firm7@example.cn", "联系人@例子.中国"],
    ids=["written-directly", "email-package"],
)
def test_every_encoded_word_a_relay_receives_is_at_most_75_characters(to: str) -> None:
    subjects = [SUBJECT * 3, "【" + "北仑" * 60 + "】", "A" * 70 + "汽车零部件" * 20]
    sender = f"{LONG_NAME} <noreply@notifier.example.cn>"
    with SmtpPeer() as relay:
        smtp = provider(host=relay.host, port=relay.port, sender=sender)
        for subject in subjects:
            smtp.send(message(to=to, subject=subject))
        smtp.close()
    assert len(relay.messages) == len(subjects)
    for received, subject in zip(relay.messages, subjects, strict=True):
        lines = _header_block(received.raw)
        words = [w for line in lines for w in ENCODED_WORD.findall(line)]
        assert words, "the long Chinese headers travel as encoded words"
        assert max(len(w) for w in words) <= 75, [w for w in words if len(w) > 75]
        assert all(len(line) <= 76 for line in lines if ENCODED_WORD.search(line)), lines
        # Read as text: a message to an international address carries UTF-8 headers (RFC 6532).
        parsed = message_from_string(received.raw.decode("utf-8"), policy=default)
        assert parsed["Subject"] == subject
        # Python's address parser keeps a space between adjacent encoded words of a name
        # (RFC 2047 6.2 drops it, as mail clients do); the email package's own output reads
        # back the same way.
        shown = parsed["From"].addresses[0].display_name
        assert shown.replace(" ", "") == LONG_NAME


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=400))
def test_bodies_are_base64_lines_as_the_email_package_writes_them(text: str) -> None:
    written = write_email([("To", "a@b.cn")], text=text, html=None).decode("ascii")
    body = written.split("\r\n\r\n", 1)[1]
    assert body == base64.encodebytes(text.encode("utf-8")).decode("ascii").replace("\n", "\r\n")
