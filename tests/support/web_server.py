"""The real server for browser tests and screenshots: ``notifier run`` in a subprocess on a
free port, an SQLite file, the dry-run providers (messages land in the outbox folder), and a
headless Chromium from Debian driven by Playwright."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import subprocess
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from support.cli import NOTIFIER, notifier_as
from support.factories import Firm, enterprise_csv
from support.peers import free_port
from support.waiting import wait_until

CHROMIUM = Path("/usr/bin/chromium")
START_SECONDS = 60
IN_CI = bool(os.environ.get("CI"))


def find_chromium() -> tuple[Path | None, str]:
    """Debian's chromium, installed with apt-get when it is missing and we may; or why not."""
    if CHROMIUM.exists():
        return CHROMIUM, ""
    if shutil.which("apt-get") and os.geteuid() == 0:
        for command in (["apt-get", "update"], ["apt-get", "install", "-y", "chromium"]):
            subprocess.run(command, capture_output=True, timeout=900, check=False)
        if CHROMIUM.exists():
            return CHROMIUM, ""
        return None, "apt-get install chromium did not give /usr/bin/chromium"
    return None, "no /usr/bin/chromium, and apt-get cannot install it here (not root)"


@contextlib.contextmanager
def headless_chromium() -> Iterator[Any]:
    """Playwright's browser over Debian's Chromium, closed at the end.

    Skips the test saying why where no Chromium (or no Playwright) can be had and ``CI`` is
    unset; under CI a missing browser fails it instead.
    """
    try:
        from playwright.sync_api import sync_playwright
    except ImportError as exc:
        if IN_CI:
            pytest.fail(f"playwright is not installed ({exc}); CI must run the browser tests")
        pytest.skip(f"playwright is not installed: {exc}")
    chromium, why = find_chromium()
    if chromium is None:
        if IN_CI:
            pytest.fail(f"no Chromium: {why}; CI must run the browser tests")
        pytest.skip(f"no Chromium: {why}")
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(chromium), headless=True)
        try:
            yield launched
        finally:
            launched.close()


@dataclass
class Server:
    """A running ``notifier run``: its address, settings (environment) and folders."""

    url: str
    env: dict[str, str]
    folder: Path
    pid: int = 0  # of the running ``notifier run``

    def cli(self, *args: str) -> str:
        """Run a ``notifier`` command against the server's database (in this process, with the
        server's settings); its standard output."""
        return notifier_as(self.env, self.folder)(*args).stdout

    def outbox(self, channel: str) -> list[dict[str, Any]]:
        """The messages the dry-run provider of ``channel`` wrote, oldest first."""
        folder = self.folder / "var" / "outbox" / channel
        files = sorted(folder.glob("*.json"), key=lambda p: p.stat().st_mtime)
        return [json.loads(p.read_text(encoding="utf-8")) for p in files]


def _environment(folder: Path, port: int) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("NOTIFIER_")}
    env.update(
        {
            "NOTIFIER_CONFIG_DIR": str(folder / "no-config"),
            "NOTIFIER_DATABASE_URL": f"sqlite:///{folder / 'notifier.db'}",
            "NOTIFIER_VAR_DIR": str(folder / "var"),
            "NOTIFIER_PUBLIC_URL": f"http://127.0.0.1:{port}",
            "NOTIFIER_WEB__HOST": "127.0.0.1",
            "NOTIFIER_WEB__PORT": str(port),
            # The story must pass at any hour: no quiet hours hold the SMS back.
            "NOTIFIER_QUIET_HOURS__SMS": "",
            # Its policies go out at once: no approval (待审核), as in every test not about it.
            "NOTIFIER_APPROVAL__ENABLED": "false",
        }
    )
    return env


def _wait_until_up(url: str, process: subprocess.Popen[bytes]) -> None:
    def up() -> bool:
        if process.poll() is not None:
            raise RuntimeError(f"notifier run exited with status {process.returncode}")
        with (
            contextlib.suppress(OSError),
            urllib.request.urlopen(f"{url}/healthz", timeout=2) as answer,
        ):
            return answer.status == 200
        return False

    # A real process starting: there is no clock to move.
    wait_until(up, timeout=START_SECONDS, what=f"notifier run to answer at {url}", every=0.2)


PARK = [
    Firm(1, name="宁波北仑精工汽车部件有限公司", topics="补贴"),
    Firm(2, name="宁波春晓新材料科技有限公司", channels="email"),
    Firm(3, name="北仑港城模具有限公司", sectors="C3525", channels="sms;email"),
    Firm(4, name="宁波灵峰电子有限公司", sectors="C3989", size="medium"),
]


@contextlib.contextmanager
def running_notifier(
    folder: Path, firms: list[Firm] = PARK, settings: dict[str, str] | None = None
) -> Iterator[Server]:
    """``notifier run`` on a fresh database holding ``firms``, with more ``settings``
    (environment variables); stopped at the end."""
    folder.mkdir(parents=True, exist_ok=True)
    port = free_port()
    env = {**_environment(folder, port), **(settings or {})}
    server = Server(f"http://127.0.0.1:{port}", env, folder)
    server.cli("db", "upgrade")
    register = folder / "firms.csv"
    register.write_text(enterprise_csv(firms), encoding="utf-8")
    server.cli("enterprises", "import", str(register))
    log = (folder / "server.log").open("wb")
    process = subprocess.Popen(
        [str(NOTIFIER), "run", "--threads", "2"], env=server.env, stdout=log, stderr=log
    )
    server.pid = process.pid
    try:
        _wait_until_up(server.url, process)
        yield server
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()


def new_key(server: Server, role: str) -> str:
    """A new API key of ``role``, made by ``notifier keys create``."""
    return server.cli("keys", "create", "--role", role, "--name", f"浏览器测试 {role}").split()[0]


def sent_rows(
    page: Any, server: Server, policy_id: str, expected: int, *, wait: float
) -> list[str]:
    """Reload the policy's delivery log until ``expected`` deliveries show as sent (at most
    ``wait`` seconds); its rows. The worker of another process is sending: no clock to move,
    and the caller's assertion names what is missing."""
    rows: list[str] = []

    def enough() -> bool:
        nonlocal rows
        page.goto(f"{server.url}/console/deliveries?policy={policy_id}&status=sent")
        rows = page.locator("#delivery-log tr").all_inner_texts()[1:]
        return len(rows) >= expected

    with contextlib.suppress(TimeoutError):
        wait_until(enough, timeout=wait, what=f"{expected} sent", every=0.5)
    return rows
