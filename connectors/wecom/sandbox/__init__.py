"""A faithful WeCom sandbox on loopback: the API, staff sign-in and encrypted callbacks (see ``app``)."""

from connectors.wecom.sandbox.app import Sandbox, create_sandbox_app
from connectors.wecom.sandbox.server import SandboxServer, ServedApp, serve
from connectors.wecom.sandbox.state import SandboxConfig

__all__ = ["Sandbox", "SandboxConfig", "SandboxServer", "ServedApp", "create_sandbox_app", "serve"]
