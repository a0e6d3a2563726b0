"""Never stall: on the embedded default (a SQLite file), the compose preview holds no
database transaction while the provider list reloads, so the preview answers, /healthz answers
meanwhile, and another writer is not kept waiting (the tester's 30 s "database is locked")."""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from notifier.services.providers import catalog as catalog_module

from support.web_harness import COMPOSED, console_runtime, make_key, signed_in, web_app

GENEROUS = 20.0  # seconds: a bound for a hang, not a timing assertion


class HeldReload:
    """Holds the provider list's reload at its first database read until released."""

    def __init__(self, real) -> None:
        self.real = real
        self.armed = False
        self.reloading = threading.Event()
        self.release = threading.Event()

    def __call__(self, sessions):
        if self.armed and not self.reloading.is_set():
            self.reloading.set()
            assert self.release.wait(GENEROUS), "the test never released the reload"
        return self.real(sessions)


@pytest.fixture
def runtime(make_runtime, tmp_path: Path):
    # Every provider lookup finds the list due for a reload.
    return console_runtime(make_runtime, tmp_path, circuit={"refresh_seconds": 0.001})


def test_a_preview_holds_no_lock_while_the_providers_reload(runtime, monkeypatch, tmp_path):
    client = TestClient(web_app(runtime), raise_server_exceptions=False)
    csrf = signed_in(client, make_key(runtime, "staff"))
    runtime.catalog.for_channel("sms")  # loaded before the reload is held
    held = HeldReload(catalog_module.fingerprint)
    monkeypatch.setattr(catalog_module, "fingerprint", held)
    held.armed = True
    answers: list = []
    preview = threading.Thread(
        target=lambda: answers.append(
            client.post("/console/policies/preview", data={**COMPOSED, "csrf": csrf})
        )
    )
    preview.start()
    try:
        assert held.reloading.wait(GENEROUS), "the preview never looked up a provider"
        # Mid-preview, with the reload under way: the server answers and the database is free.
        health = client.get("/healthz")
        assert health.status_code == 200 and health.json()["database"] == "ok"
        writer = sqlite3.connect(tmp_path / "console.db", timeout=GENEROUS / 4)
        try:
            writer.execute("BEGIN IMMEDIATE")  # fails if the preview holds a transaction
            writer.rollback()
        finally:
            writer.close()
    finally:
        held.release.set()
        preview.join(GENEROUS)
    assert not preview.is_alive(), "the preview hung"
    answer = answers[0]
    assert answer.status_code == 200, answer.text[-500:]
    body = answer.json()
    assert body["ok"] and body["enterprises"] == 2, body
