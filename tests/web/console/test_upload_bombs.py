"""Hostile registers sent to a real ``notifier run`` (a subprocess on a free port): ZIP and XML
bombs, a ZIP header that lies, five million rows, an endless line, a flood of bad rows.

Each is answered with a 400 naming the problem, or a report capped at 1,000 errors with the
count of the rest, while the server's peak memory (VmHWM) stays under 300 MB and ``/healthz``
keeps answering during the upload. Timings are printed (``pytest -s``), with generous bounds.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests
from click.testing import Result

from support.cli import notifier_as
from support.console_import import preset_mapping
from support.hostile_registers import (
    BILLION_LAUGHS,
    MB,
    declare_size,
    external_entity,
    inline_row,
    repeated,
    shared_strings,
    sheet,
    workbook,
    zip_of,
)
from support.web_harness import csrf_of
from support.web_server import Server, new_key, running_notifier

pytestmark = [pytest.mark.slow, pytest.mark.multiprocess]

RSS_LIMIT_MB = 300
# /healthz must answer within this during an upload (the unbounded reader stalled it 28 s).
HEALTHZ_SECONDS = 10
# The row limit in force (web.max_import_rows, its default).
MAX_ROWS = 100_000
CSV_HEADER = "credit_code,name,sectors,region,size,phone,email,webhook_url,topics,channels,tags\n"


@dataclass
class Site:
    server: Server
    key: str


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    # The compression ratio is judged in test_register_files.py; here it is lifted so that the
    # five million rows reach the row limit, the rule this file shows.
    settings = {"NOTIFIER_IMPORTS__MAX_XLSX_RATIO": "100000"}
    with running_notifier(tmp_path_factory.mktemp("bombs"), settings=settings) as server:
        yield Site(server, new_key(server, "staff"))


@dataclass
class Measured:
    """An upload's answer, how long it took, the slowest /healthz meanwhile, the peak RSS."""

    answer: requests.Response
    seconds: float
    slowest_healthz: float
    peak_rss_mb: float

    def report(self, what: str) -> None:
        print(
            f"\n{what}: {self.answer.status_code} in {self.seconds:.1f} s, /healthz at most "
            f"{self.slowest_healthz:.2f} s, server peak RSS {self.peak_rss_mb:.0f} MB"
        )


def peak_rss_mb(pid: int) -> float:
    """The process's peak resident memory so far (VmHWM), in MB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise AssertionError("no VmHWM line")


def measured(site: Site, send: Callable[[], requests.Response]) -> Measured:
    """Run ``send`` while probing /healthz every 0.2 s until it is done."""
    done = threading.Event()
    outcome: dict[str, object] = {}

    def run() -> None:
        try:
            outcome["answer"] = send()
        except Exception as exc:  # noqa: BLE001 - re-raised in the test's thread
            outcome["error"] = exc
        finally:
            done.set()

    started = time.monotonic()
    thread = threading.Thread(target=run)
    thread.start()
    slowest = 0.0
    while not done.is_set():
        probe = time.monotonic()
        assert requests.get(f"{site.server.url}/healthz", timeout=120).status_code == 200
        slowest = max(slowest, time.monotonic() - probe)
        done.wait(0.2)  # the probe's pace, not a wait for a condition
    thread.join()
    seconds = time.monotonic() - started
    if "error" in outcome:
        raise outcome["error"]  # type: ignore[misc]
    answer = outcome["answer"]
    assert isinstance(answer, requests.Response)
    return Measured(answer, seconds, slowest, peak_rss_mb(site.server.pid))


def api_upload(site: Site, name: str, content: bytes, **params: str) -> requests.Response:
    return requests.post(
        f"{site.server.url}/api/v1/enterprises/import",
        headers={"Authorization": f"Bearer {site.key}"},
        files={"file": (name, content)},
        params=params,
        timeout=600,
    )


def console_upload(site: Site, name: str, content: bytes) -> requests.Response:
    client = requests.Session()
    url = site.server.url
    form = client.get(f"{url}/console/login", timeout=60).text  # its CSRF value and cookie
    signed = client.post(f"{url}/console/login", data={"key": site.key, "csrf": csrf_of(form)},
                         allow_redirects=False)
    assert signed.status_code == 303
    csrf = csrf_of(client.get(f"{url}/console/policies/new", timeout=60).text)
    mapping = client.post(
        f"{url}/console/enterprises/import",
        data={"csrf": csrf},
        files={"file": (name, content)},
        timeout=600,
    )
    if mapping.status_code != 200:  # refused whole at the upload
        return mapping
    form = preset_mapping(mapping.text)
    return client.post(f"{url}/console/enterprises/import/confirm", data=form, timeout=600)


def refused(measure: Measured, *words: str) -> str:
    """The reason of a 400 that names every one of ``words``; the bounds held meanwhile."""
    assert measure.answer.status_code == 400, measure.answer.text[:500]
    reason = measure.answer.json()["error"]["reason"]
    for word in words:
        assert word in reason, reason
    assert measure.peak_rss_mb < RSS_LIMIT_MB
    assert measure.slowest_healthz < HEALTHZ_SECONDS
    return str(reason)


def many_rows(row: bytes, count: int) -> Iterator[bytes]:
    """``row`` ``count`` times, streamed."""
    return repeated(row, count * len(row))


def share_rows(count: int) -> Iterator[bytes]:
    """``count`` rows whose first cell is shared string 0."""
    return many_rows(b'<row><c t="s"><v>0</v></c></row>', count)


def test_a_600_mb_shared_string_is_refused_from_the_zip_directory(site):
    bomb = workbook(sheet(share_rows(10)), shared_strings([repeated(b"A", 600 * MB)]))
    assert len(bomb) < 2 * MB
    measure = measured(site, lambda: api_upload(site, "名册.xlsx", bomb))
    measure.report(f"600 MB shared string in {len(bomb) // 1024} KB")
    refused(measure, "sharedStrings.xml", "more than")


def test_a_zip_header_that_lies_about_the_size_unpacks_no_more_than_it_declares(site):
    honest = workbook(sheet(share_rows(10)), shared_strings([repeated(b"A", 600 * MB)]))
    lying = declare_size(honest, "xl/sharedStrings.xml", 4000)
    measure = measured(site, lambda: api_upload(site, "名册.xlsx", lying))
    measure.report("the same bomb declaring 4,000 bytes")
    refused(measure, "damaged ZIP")


def test_five_million_identical_rows_stop_at_the_row_limit(site):
    row = b'<row><c t="inlineStr"><is><t>x</t></is></c></row>'
    bomb = workbook(sheet(many_rows(row, 5_000_000)))
    measure = measured(site, lambda: api_upload(site, "名册.xlsx", bomb))
    measure.report(f"5,000,000 rows in {len(bomb) // 1024} KB")
    refused(measure, f"more than {MAX_ROWS} rows")
    assert measure.seconds < 45  # the unbounded reader answered after 45 s; here ~a few


def test_a_csv_of_one_endless_line_is_refused_at_the_line_bound(site):
    measure = measured(site, lambda: api_upload(site, "名册.csv", b"x" * (9 * MB)))
    measure.report("9 MB CSV without a line break")
    refused(measure, "line 1 is longer than 20000 characters")


def test_a_console_upload_over_the_body_limit_is_refused_before_it_is_read(site):
    answer = console_upload(site, "名册.csv", b"x" * (11 * MB))
    assert answer.status_code == 413 and "10000000" in answer.text


def test_a_csv_of_too_many_rows_is_refused_before_any_is_stored(site):
    flood = (CSV_HEADER + "\n" * (MAX_ROWS + 1)).encode()
    refused(measured(site, lambda: api_upload(site, "名册.csv", flood)), "more than")


def test_malformed_workbooks_get_400_naming_the_problem(site):
    good = workbook(sheet([inline_row(["x"])]))
    cases = {
        "not a zip": (b"not a zip at all", "not a ZIP archive"),
        "truncated": (good[: len(good) // 2], "damaged ZIP"),
        "old xls": (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 512, ".xls"),
        "too many parts": (zip_of({f"p{n}.xml": b"" for n in range(1500)}), "more than 1000"),
        "billion laughs": (
            workbook(sheet([]), shared_strings([b"&lol9;"], prolog=BILLION_LAUGHS)),
            "DOCTYPE",
        ),
    }
    for case, (content, words) in cases.items():
        measure = measured(site, lambda content=content: api_upload(site, "名册.xlsx", content))
        measure.report(case)
        refused(measure, words)


def test_an_external_entity_is_refused_and_nothing_is_fetched(site):
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        listener.setblocking(False)
        url = f"http://127.0.0.1:{listener.getsockname()[1]}/secret"
        rows = [b'<row><c t="inlineStr"><is><t>&xxe;</t></is></c></row>']
        xxe = workbook(sheet(rows, prolog=external_entity(url)))
        refused(measured(site, lambda: api_upload(site, "名册.xlsx", xxe)), "DOCTYPE")
        page = console_upload(site, "名册.xlsx", xxe)
        assert page.status_code == 400 and "DOCTYPE" in page.text
        with pytest.raises(BlockingIOError):
            listener.accept()  # no connection ever came


def bad_rows_csv(count: int) -> bytes:
    """A register whose every row has a malformed credit code (one error each)."""
    row = "BAD,宁波测试企业有限公司,C3670,北仑区,small,,,,,,\n"
    return (CSV_HEADER + row * count).encode()


def test_99999_bad_rows_give_a_capped_report_with_the_count_left_out(site):
    measure = measured(site, lambda: api_upload(site, "名册.csv", bad_rows_csv(99_999)))
    measure.report("99,999 bad rows")
    assert measure.answer.status_code == 200
    report = measure.answer.json()
    assert report["bad_rows"] == 99_999 and report["created"] == 0
    assert len(report["errors"]) == 1000 and report["errors_left_out"] == 98_999
    assert report["errors"][0]["row"] == 2 and report["errors"][-1]["row"] == 1001
    assert len(measure.answer.content) < 500_000
    assert measure.peak_rss_mb < RSS_LIMIT_MB

    page = console_upload(site, "名册.csv", bad_rows_csv(5_000))
    assert page.status_code == 200
    assert "有误 5000 行" in page.text and "另有 4000 条未列出" in page.text


def run_cli(site: Site, folder: Path, *args: str, status: int) -> Result:
    """``notifier enterprises import ARGS`` with the server's settings, in this process (a
    fresh interpreter per file cost seconds); it must exit with ``status``."""
    return notifier_as(site.server.env, folder)("enterprises", "import", *args, status=status)


def test_the_command_line_caps_the_report_too(site, tmp_path):
    register = tmp_path / "bad.csv"
    register.write_bytes(bad_rows_csv(3_000))
    done = run_cli(site, tmp_path, str(register), "--dry-run", status=1)
    assert "0 enterprises (0 new, 0 updated); 3000 bad rows" in done.stdout
    listed = [line for line in done.stderr.splitlines() if line.startswith("  第 ")]
    assert len(listed) == 1000 and "2000 more errors left out" in done.stderr


@pytest.mark.parametrize("dry_run", [[], ["--dry-run"]], ids=["import", "dry-run"])
def test_the_command_line_refuses_a_hostile_file_in_one_line(site, tmp_path, dry_run):
    files = {
        "bomb.xlsx": workbook(sheet(share_rows(2)), shared_strings([repeated(b"A", 100 * MB)])),
        "laughs.xlsx": workbook(sheet([]), shared_strings([b"&lol9;"], prolog=BILLION_LAUGHS)),
        "cut.xlsx": workbook(sheet([inline_row(["x"])]))[:300],
        "fake.xlsx": b"not a zip",
    }
    for name, content in files.items():
        path = tmp_path / name
        path.write_bytes(content)
        done = run_cli(site, tmp_path, str(path), *dry_run, status=2)
        assert "Traceback" not in done.stderr and done.stdout == ""
        assert len(done.stderr.strip().splitlines()) == 1, done.stderr
        assert done.stderr.startswith("error: file: 不是有效的 XLSX 文件"), done.stderr
