"""Running the app under uvicorn in a thread: alone (``notifier serve``) or beside the worker
and clock (``notifier run``, ``notifier demo --serve``). uvicorn takes no signals outside the
main thread, so the command's own SIGINT/SIGTERM handling stops it."""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass

import uvicorn
from fastapi import FastAPI

from notifier.errors import ConfigError
from notifier.runtime import Runtime
from notifier.web.app import create_app

log = logging.getLogger(__name__)


def _config(app: FastAPI, runtime: Runtime, host: str, port: int) -> uvicorn.Config:
    trusted = runtime.settings.web.trusted_proxies
    return uvicorn.Config(
        app,
        host=host,
        port=port,
        # uvicorn believes X-Forwarded-For from 127.0.0.1 unless told otherwise: only the
        # configured proxies may name the client (notifier.guards.sign_in.ClientAddress).
        proxy_headers=bool(trusted),
        forwarded_allow_ips=list(trusted),
        log_level="warning",
        access_log=False,
        lifespan="off",
    )


@dataclass
class RunningServer:
    """A server started in a thread; ``address`` is where it listens."""

    server: uvicorn.Server
    thread: threading.Thread
    address: str
    app: FastAPI

    def stop(self) -> None:
        """Ask the server to finish its requests and stop; wait for it, then stop the
        export process."""
        self.server.should_exit = True
        self.thread.join(timeout=10)
        self.app.state.exports.close()


def start_in_thread(runtime: Runtime, *, host: str, port: int) -> RunningServer:
    """Start the web server in a thread and wait until it listens.

    Raises:
        ConfigError: it could not listen there (the port is taken); names the setting.
    """
    app = create_app(runtime)
    server = uvicorn.Server(_config(app, runtime, host, port))
    thread = threading.Thread(target=server.run, name="web", daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise ConfigError(
                f"web: cannot listen on {host}:{port} (NOTIFIER_WEB__HOST, NOTIFIER_WEB__PORT); "
                "is the port taken?"
            )
        time.sleep(0.05)
    sockets = [s for srv in server.servers for s in srv.sockets]
    bound_host, bound_port = sockets[0].getsockname()[:2] if sockets else (host, port)
    return RunningServer(server, thread, f"http://{bound_host}:{bound_port}", app)
