"""The WeCom sandbox: a FastAPI app that speaks the platform's protocol on loopback, state in memory.

``/cgi-bin/…`` is the API (same paths, JSON shapes and errcodes as qyapi.weixin.qq.com),
``/connect/oauth2/authorize`` the staff sign-in page, ``/sandbox/…`` set-up, inspection and customer
simulation (which POSTs encrypted callbacks to ``config.callback_url``). One app is one corp and one
secret; state lives as long as the app.
"""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from connectors.wecom.sandbox import control, oauth
from connectors.wecom.sandbox.api import add_api_routes
from connectors.wecom.sandbox.contacts import Contacts
from connectors.wecom.sandbox.messaging import Messaging
from connectors.wecom.sandbox.oauth import OAuthCodes
from connectors.wecom.sandbox.state import ApiError, Directory, Gate, SandboxConfig, SentLog


class Sandbox:
    """The whole simulated platform behind one app."""

    contacts: Contacts
    messaging: Messaging
    oauth: OAuthCodes

    def __init__(self, config: SandboxConfig) -> None:
        self.config = config
        self.gate = Gate(config)
        self.directory = Directory()
        self.sent = SentLog()
        self.contacts = Contacts(directory=self.directory, sent=self.sent,
                                 welcome_window_seconds=config.welcome_window_seconds,
                                 unionid_bound=config.unionid_bound)
        self.messaging = Messaging(config=config, directory=self.directory, contacts=self.contacts, sent=self.sent)
        self.oauth = OAuthCodes(directory=self.directory, code_seconds=config.oauth_code_seconds)


def create_sandbox_app(config: SandboxConfig) -> FastAPI:
    app = FastAPI(title="WeCom sandbox", summary="The WeCom API, sign-in page and callbacks, on loopback.")
    app.state.sandbox = Sandbox(config)
    add_api_routes(app)
    app.include_router(oauth.router)
    app.include_router(control.router)

    @app.exception_handler(ApiError)
    async def _refused(request: Request, exc: ApiError) -> JSONResponse:
        # Only /sandbox/… routes get here (the API answers errcodes itself): a bad set-up request.
        return JSONResponse({"errcode": exc.errcode, "errmsg": exc.errmsg}, status_code=400)

    return app
