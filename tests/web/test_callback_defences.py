"""The vendors' callback routes against a hostile world, on the real app: a push is bounded in
bytes (413 before the body is read, chunked too) and in records, wrong tokens are limited per
client address and never decrypt the provider rows again, an unknown provider is answered as a
wrong token, and no push of any shape gets a 500 or a traceback."""

from __future__ import annotations

import http.client
import json
import logging
import os
import select
import socket
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from notifier.channels.receipts import READERS
from notifier.channels.sources import provider_configs_from_settings
from notifier.config import Settings, load_settings
from notifier.domain.secret_box import SecretBox, new_key
from notifier.runtime import Runtime
from notifier.services.providers.admin import ProviderDraft, add, remove

from support.factories import (
    ALIYUN_TEMPLATES,
    KEY_ID,
    KEY_SECRET,
    SECRET_ID,
    SECRET_KEY,
    TENCENT_TEMPLATES,
    acting,
)
from support.web_harness import web_app
from support.web_server import PARK, Server, running_notifier

TOKEN = "callback-token-0123456789"
TX_TOKEN = "tencent-callback-token-0123"
WRONG = "wrong-token-0123456789"
ENDPOINT = "http://127.0.0.1:9"  # never called: nothing is sent in these tests
ALI_OPTIONS = {"access_key_id": KEY_ID, "sign_name": "北仑企服", "endpoint": ENDPOINT,
               "templates": ALIYUN_TEMPLATES}
PROVIDERS = [
    {"name": "ali", "channel": "sms", "kind": "aliyun-sms", "options": ALI_OPTIONS,
     "secrets": {"access_key_secret": KEY_SECRET, "callback_token": TOKEN}},
    {"name": "tx", "channel": "sms", "kind": "tencent-sms", "priority": 1,
     "options": {"secret_id": SECRET_ID, "sms_sdk_app_id": "1400000000", "sign_name": "北仑企服",
                 "endpoint": ENDPOINT, "templates": TENCENT_TEMPLATES},
     "secrets": {"secret_key": SECRET_KEY, "callback_token": TX_TOKEN}},
]
MiB = 1024 * 1024


def reports(count: int, *, pad: int = 0) -> bytes:
    """An Alibaba ``SmsReport`` push of ``count`` reports for messages nobody sent."""
    return json.dumps([
        {"phone_number": "13800000001", "report_time": "2026-11-25 10:00:08", "success": True,
         "err_code": "DELIVERED", "err_msg": "x" * pad, "biz_id": f"biz-{n}"}
        for n in range(count)
    ]).encode()


@pytest.fixture
def runtime(database_url: str, make_runtime: Any) -> Runtime:
    return make_runtime(database_url=database_url, providers=PROVIDERS)


@pytest.fixture
def client(runtime: Runtime) -> TestClient:
    return TestClient(web_app(runtime))


# --- who may push -----------------------------------------------------------------------------


def test_an_unknown_provider_gets_the_same_answer_as_a_wrong_token(
    runtime: Runtime, client: TestClient
) -> None:
    no_callbacks = next(c.name for c in provider_configs_from_settings(runtime.settings)
                        if c.kind not in READERS)
    for route in ("reports", "replies"):
        answers = [
            client.post(f"/callbacks/{name}/{route}", params={"token": token}, content=b"[]")
            for name, token in [("ali", WRONG), ("tx", TOKEN), ("ali", None), ("nope", WRONG),
                                ("nope", TOKEN), (no_callbacks, WRONG)]
        ]
        assert {(a.status_code, a.text) for a in answers} == {(403, answers[0].text)}
    assert "no such callback URL, or its token is missing or wrong" in answers[0].text


def test_the_schema_documents_one_refusal_for_unknown_providers_and_wrong_tokens(
    client: TestClient,
) -> None:
    paths = client.get("/api/openapi.json").json()["paths"]
    for route in ("reports", "replies"):
        documented = paths[f"/callbacks/{{provider}}/{route}"]["post"]["responses"]
        assert "404" not in documented
        assert {"200", "400", "403", "413", "429"} <= set(documented)
        assert "one answer for both" in documented["403"]["description"]


@pytest.mark.parametrize(
    "query",
    ["token=" + "%E4%BB%A4%E7%89%8C" * 8, "token=" + "%00" * 30, "token=" + "%FF%FE%FD" * 8,
     "token=callback-token-0123456789%E2%80%8B", "token=" + "%ED%A0%80" * 8],
    ids=["cjk", "nul", "not-utf8", "zero-width-space", "surrogate"],
)
def test_a_token_that_is_not_ascii_gets_403_not_a_500(client: TestClient, query: str) -> None:
    answer = client.post(f"/callbacks/ali/reports?{query}", content=reports(1))
    assert answer.status_code == 403
    assert answer.json()["error"]["field"] == "token"


def test_a_token_check_decrypts_no_provider_row_again_until_an_admin_changes_them(
    database_url: str, make_runtime: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    key = new_key()
    # Rows read again at every push: only their fingerprint, never their secrets.
    runtime = make_runtime(database_url=database_url, secrets={"keys": [key]},
                           circuit={"refresh_seconds": 1e-9}, web={"failed_auth_limit": 10_000})
    draft = ProviderDraft(name="ali-row", channel="sms", kind="aliyun-sms", options=ALI_OPTIONS,
                          secrets={"access_key_secret": KEY_SECRET, "callback_token": TOKEN})
    add(acting(runtime), draft)
    decrypted: list[str] = []
    decrypt = SecretBox.decrypt

    def counted(box: SecretBox, token: bytes, *, what: str) -> dict[str, str]:
        decrypted.append(what)
        return decrypt(box, token, what=what)

    monkeypatch.setattr(SecretBox, "decrypt", counted)
    client = TestClient(web_app(runtime))
    wrong = [client.post("/callbacks/ali-row/reports", params={"token": WRONG}, content=b"[]")
             for _ in range(100)]
    assert {answer.status_code for answer in wrong} == {403}
    assert len(decrypted) == 1  # the first push; before: one for each of the 100
    remove(acting(runtime), "ali-row")
    add(acting(runtime),
        ProviderDraft(**{**draft.__dict__, "secrets": {"access_key_secret": KEY_SECRET,
                                                     "callback_token": TX_TOKEN}}))
    new = client.post("/callbacks/ali-row/reports", params={"token": TX_TOKEN}, content=b"[]")
    old = client.post("/callbacks/ali-row/reports", params={"token": TOKEN}, content=b"[]")
    assert (new.status_code, old.status_code) == (200, 403)


# --- what a push may hold ---------------------------------------------------------------------

DEEP = 100_000


@pytest.mark.parametrize(
    ("route", "body", "reason"),
    [
        ("reports", b"[" * DEEP + b"]" * DEEP, "nested too deeply"),
        ("replies", b'{"a":' * DEEP + b"1" + b"}" * DEEP, "nested too deeply"),
        ("reports", b'[{"biz_id": "1"}]\x00', "not JSON"),
        ("reports", b"\xff\xfe[]", "not JSON"),
        ("reports", b"9" * 5000, "must be an object or an array"),
        ("reports", b"[" + b"9" * 5000 + b"]", "record 1: 应为 JSON 对象 / must be a JSON object"),
        ("reports", b'[{"biz_id": ' + b"9" * 5000 + b"}]",
         "biz_id 数字过长 / biz_id is a number of 5000 digits"),
        ("reports", b'[{"biz_id": "biz\\u0000", "success": true}]',
         "biz_id contains a control character (U+0000 at position 4)"),
        ("reports", b'[{"biz_id": "\\ud800"}]', "biz_id contains a control character (U+D800"),
        ("replies", '[{"phone_number": "13800000001", "content": "退订\\u0000"}]'.encode(),
         "content contains a control character (U+0000 at position 3)"),
        ("replies", b'[{"phone_number": "1\\u001b[2J", "content": "TD"}]',
         "phone_number contains a control character (U+001B at position 2)"),
    ],
    ids=["deep-arrays", "deep-objects", "nul-byte", "not-utf8", "huge-number", "huge-record",
         "huge-id", "nul-in-id", "lone-surrogate", "nul-in-reply", "escape-in-number"],
)
def test_a_hostile_push_gets_400_naming_the_problem_never_a_500(
    client: TestClient, route: str, body: bytes, reason: str
) -> None:
    answer = client.post(f"/callbacks/ali/{route}", params={"token": TOKEN}, content=body)
    assert answer.status_code == 400, answer.text
    error = answer.json()["error"]
    assert error["field"] == "body" and reason in error["reason"]
    assert "Traceback" not in answer.text


@pytest.mark.parametrize("stamp", [b'"' + b"1" * 5000 + b'"', b"1" + b"0" * 300, b"1e400"],
                         ids=["digits", "huge", "infinite"])
def test_a_reply_at_a_time_that_is_not_one_is_kept_without_its_time(
    client: TestClient, stamp: bytes
) -> None:
    body = b'{"mobile": "13800000001", "nationcode": "86", "text": "TD", "time": ' + stamp + b"}"
    answer = client.post("/callbacks/tx/replies", params={"token": TX_TOKEN}, content=body)
    assert (answer.status_code, answer.json()) == (200, {"result": 0, "errmsg": "OK"})


def test_a_push_over_the_record_limit_takes_the_first_records_and_counts_the_rest(
    database_url: str, make_runtime: Any
) -> None:
    runtime = make_runtime(database_url=database_url, providers=PROVIDERS,
                           web={"callback_max_records": 3})
    answer = TestClient(web_app(runtime)).post(
        "/callbacks/ali/reports", params={"token": TOKEN}, content=reports(5))
    assert (answer.status_code, answer.json()) == (200, {"code": 0, "msg": "成功", "skipped": 2})


# --- a fuzz of every shape --------------------------------------------------------------------

SPECIAL = "\x00\x01\x1b\x7f\x85\u200b\u200e\u200f\u202e\u2066\u2028\ufeff\u3164\U000e0041\u0301"
KEYS = ["biz_id", "success", "report_time", "err_code", "err_msg", "phone_number", "content",
        "send_time", "sid", "report_status", "mobile", "nationcode", "text", "time", "errmsg"]
odd_text = st.text(st.one_of(st.characters(), st.sampled_from(SPECIAL)), max_size=40)
huge_number = st.integers(300, 6000).map(lambda digits: "9" * digits)
scalar = st.one_of(
    st.none(), st.booleans(), st.integers(), st.floats(), odd_text, st.just("13800000001"),
).map(json.dumps)


def _json_value(children: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    return st.one_of(
        st.lists(children, max_size=4).map(lambda items: "[" + ",".join(items) + "]"),
        st.dictionaries(st.one_of(st.sampled_from(KEYS), odd_text), children, max_size=6).map(
            lambda d: "{" + ",".join(f"{json.dumps(k)}:{v}" for k, v in d.items()) + "}"),
    )


json_text = st.recursive(st.one_of(scalar, huge_number), _json_value, max_leaves=30)
deep = st.builds(lambda n, arrays: "[" * n + "]" * n if arrays else '{"a":' * n + "0" + "}" * n,
                st.integers(500, 120_000), st.booleans())
bodies = st.one_of(json_text.map(str.encode), deep.map(str.encode), st.binary(max_size=400))


@pytest.mark.slow
@given(
    # Any name that stays one path segment (a '/' or '..' would be another route).
    provider=st.one_of(st.sampled_from(["ali", "tx", "nope"]),
                       odd_text.filter(lambda name: name.strip(".") and "/" not in name)),
    route=st.sampled_from(["reports", "replies"]),
    token=st.one_of(st.sampled_from([TOKEN, TX_TOKEN]), st.none(), odd_text),
    body=bodies,
)
@settings(max_examples=250, deadline=None, derandomize=True, database=None,
          suppress_health_check=list(HealthCheck))
def test_no_push_of_any_shape_gets_a_5xx_or_a_traceback(
    fuzz_client: TestClient, provider: str, route: str, token: str | None, body: bytes
) -> None:
    url = f"/callbacks/{quote(provider, safe='')}/{route}"
    params = {} if token is None else {"token": token}
    answer = fuzz_client.post(url, params=params, content=body)
    assert answer.status_code < 500, (url, token, body[:200], answer.text)
    assert "Traceback" not in answer.text
    answer.json()  # always JSON


@pytest.fixture
def fuzz_client(
    database_url: str, make_runtime: Any, caplog: pytest.LogCaptureFixture
) -> Iterator[TestClient]:
    runtime = make_runtime(database_url=database_url, providers=PROVIDERS,
                           web={"failed_auth_limit": 1_000_000})  # the fuzz is not the flood
    with caplog.at_level(logging.ERROR):
        yield TestClient(web_app(runtime))
    assert [r.getMessage() for r in caplog.records if r.exc_info] == []


# --- the real server: bytes and floods ----------------------------------------------------------


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """``notifier run`` with an Alibaba provider row (its secrets encrypted in the database).

    One for the module (a start costs seconds): the body-limit test leaves nothing behind, and
    the flood of wrong tokens, which fills the limiter, comes last."""
    key = new_key()
    env = {"NOTIFIER_SECRETS__KEYS": json.dumps([key]),
           "NOTIFIER_ALLOWED_PRIVATE_TARGETS": json.dumps(["127.0.0.0/8"])}
    with running_notifier(tmp_path_factory.mktemp("server"), PARK[:1], settings=env) as running:
        runtime = Runtime.build(server_settings(running))
        try:
            add(acting(runtime), ProviderDraft(
                name="ali", channel="sms", kind="aliyun-sms", options=ALI_OPTIONS,
                secrets={"access_key_secret": KEY_SECRET, "callback_token": TOKEN}))
        finally:
            runtime.close()
        yield running


def server_settings(server: Server) -> Settings:
    """The running server's settings, as read in this process (none of this process's own)."""
    with pytest.MonkeyPatch.context() as patch:
        for name in [name for name in os.environ if name.startswith("NOTIFIER_")]:
            patch.delenv(name)
        for name, value in server.env.items():
            if name.startswith("NOTIFIER_"):
                patch.setenv(name, value)
        return load_settings()


def _address(server: Server) -> tuple[str, int]:
    parts = urlsplit(server.url)
    return parts.hostname or "127.0.0.1", parts.port or 80


def _answer_of(sock: socket.socket) -> http.client.HTTPResponse:
    answer = http.client.HTTPResponse(sock)
    answer.begin()
    return answer


def _memory_kb(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1])
    raise AssertionError(f"no {field} for {pid}")


@pytest.mark.slow
@pytest.mark.multiprocess
def test_a_push_over_the_body_limit_gets_413_before_it_is_sent(server: Server) -> None:
    target = f"/callbacks/ali/reports?token={TOKEN}"
    with socket.create_connection(_address(server), timeout=60) as sock:
        started = time.monotonic()
        # 8 MB declared, nothing sent: the answer comes without waiting for a byte of it.
        sock.sendall(f"POST {target} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                     f"Content-Length: {8 * MiB}\r\n\r\n".encode())
        declared = _answer_of(sock)
        assert declared.status == 413 and b"body" in declared.read()
    print(f"\n8 MiB declared: 413 in {time.monotonic() - started:.3f} s")

    # Chunked, no length declared: counted as it arrives. Up to 9.5 MiB would be sent, under
    # the API's 10 MB limit; the 413 comes while the rest is still being sent.
    whole = int(9.5 * MiB)
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 64 * 1024)
        sock.settimeout(60)
        sock.connect(_address(server))
        sock.sendall(f"POST {target} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                     "Transfer-Encoding: chunked\r\n\r\n".encode())
        chunk, sent = b"[" + b" " * (64 * 1024 - 1), 0
        while sent < whole and not select.select([sock], [], [], 0)[0]:
            try:
                sock.sendall(b"%x\r\n%s\r\n" % (len(chunk), chunk))
            except (BrokenPipeError, ConnectionResetError):
                break  # the server answered and closed while this chunk was on its way
            sent += len(chunk)
            chunk = b" " * len(chunk)
        if sent >= whole:  # the server read it all: end the body and hear what it says
            sock.sendall(b"1\r\n]\r\n0\r\n\r\n")
        chunked = _answer_of(sock)
        assert chunked.status == 413, chunked.read()
    # Sent, not read: the socket buffers on both sides hold some MB of it.
    print(f"chunked: 413 after {sent / MiB:.2f} MiB sent")
    assert sent < whole


@pytest.mark.slow
@pytest.mark.multiprocess
def test_a_flood_of_wrong_tokens_gets_429s_and_the_process_stays_small(server: Server) -> None:
    host, port = _address(server)
    before = _memory_kb(server.pid, "VmRSS")
    body = reports(4)
    statuses: list[int] = []
    retry_after: set[str | None] = set()
    connection = http.client.HTTPConnection(host, port, timeout=60)
    started = time.monotonic()
    for attempt in range(1000):
        connection.request("POST", f"/callbacks/ali/reports?token=wrong-{attempt:016d}",
                           body=body, headers={"Content-Type": "application/json"})
        answer = connection.getresponse()
        answer.read()
        statuses.append(answer.status)
        if answer.status == 429:
            retry_after.add(answer.getheader("Retry-After"))
    elapsed = time.monotonic() - started
    connection.close()
    assert statuses[:20] == [403] * 20  # web.failed_auth_limit
    assert set(statuses[20:]) == {429}
    assert None not in retry_after
    # The address is blocked, not the provider: its vendor, from another address, gets through.
    vendor = http.client.HTTPConnection(host, port, timeout=60, source_address=("127.0.0.2", 0))
    vendor.request("POST", f"/callbacks/ali/reports?token={TOKEN}", body=body,
                   headers={"Content-Type": "application/json"})
    answer = vendor.getresponse()
    assert (answer.status, json.loads(answer.read())) == (200, {"code": 0, "msg": "成功"})
    vendor.close()

    # The largest push allowed: 1,000 reports in 1 MiB (the records past that are skipped).
    big = reports(1000, pad=int(MiB / 1000) - 200)
    assert len(big) <= MiB
    vendor = http.client.HTTPConnection(host, port, timeout=120, source_address=("127.0.0.2", 0))
    started_big = time.monotonic()
    vendor.request("POST", f"/callbacks/ali/reports?token={TOKEN}", body=big,
                   headers={"Content-Type": "application/json"})
    answer = vendor.getresponse()
    assert answer.status == 200, answer.read()
    big_seconds = time.monotonic() - started_big
    vendor.close()
    peak = _memory_kb(server.pid, "VmHWM")
    print(f"\n1,000 wrong tokens: {elapsed:.2f} s, {statuses.count(429)} got 429; "
          f"1 MiB push of 1,000 reports: {big_seconds:.2f} s; "
          f"RSS before {before / 1024:.0f} MB, peak {peak / 1024:.0f} MB")
    assert peak < 300 * 1024
