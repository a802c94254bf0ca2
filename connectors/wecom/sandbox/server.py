"""Run the sandbox (or any ASGI app) with uvicorn on 127.0.0.1, in a background thread or in the foreground.

The background server has its own event loop in its own thread, so a test's loop can call it over real
HTTP and the sandbox can call back into an app the test serves the same way. Port 0 picks a free port; the
socket is bound before the thread starts, so ``.url`` is right from the start and no port is raced for.
"""

from __future__ import annotations

import socket
import threading
import time
from types import TracebackType

import uvicorn
from fastapi import FastAPI

from connectors.wecom.sandbox.app import Sandbox, create_sandbox_app
from connectors.wecom.sandbox.state import SandboxConfig

HOST = "127.0.0.1"


class ServedApp:
    """``with ServedApp(app) as served:`` serves ``app`` at ``served.url`` until the block ends."""

    def __init__(self, app: FastAPI, *, port: int = 0, startup_timeout: float = 10.0) -> None:
        self.app = app
        self._port = port
        self._startup_timeout = startup_timeout
        self.url = ""

    def __enter__(self) -> ServedApp:
        self._socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._socket.bind((HOST, self._port))
        self.url = f"http://{HOST}:{self._socket.getsockname()[1]}"
        config = uvicorn.Config(self.app, lifespan="off", log_level="warning", access_log=False,
                                timeout_graceful_shutdown=2)
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, kwargs={"sockets": [self._socket]},
                                        name=f"served-app-{self.url}", daemon=True)
        self._thread.start()
        deadline = time.monotonic() + self._startup_timeout
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                self._socket.close()
                raise RuntimeError(f"the server for {self.url} did not start")
            time.sleep(0.01)
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=10)
        self._socket.close()


class SandboxServer(ServedApp):
    """The WeCom sandbox for ``config``, served in the background; ``.sandbox`` is its live state."""

    def __init__(self, config: SandboxConfig, *, port: int = 0) -> None:
        super().__init__(create_sandbox_app(config), port=port)

    @property
    def sandbox(self) -> Sandbox:
        return self.app.state.sandbox

    @property
    def config(self) -> SandboxConfig:
        return self.sandbox.config

    def reset(self, config: SandboxConfig) -> None:
        """Start over with a fresh state and ``config``, keeping the server (tests reuse one)."""
        self.app.state.sandbox = Sandbox(config)

    @property
    def api_base(self) -> str:
        return f"{self.url}/cgi-bin/"

    @property
    def oauth_url(self) -> str:
        return f"{self.url}/connect/oauth2/authorize"


def serve(port: int, *, config: SandboxConfig) -> None:
    """Serve the sandbox in the foreground until interrupted (``hub sandbox wecom serve``)."""
    # No access log: request lines would show access_token and corpsecret query parameters.
    uvicorn.run(create_sandbox_app(config), host=HOST, port=port, log_level="info", access_log=False)
