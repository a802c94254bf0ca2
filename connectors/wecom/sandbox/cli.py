"""``hub sandbox wecom …``: serve the WeCom sandbox for the demo, and play a customer against the hub."""

from __future__ import annotations

from typing import Annotated, Any, NoReturn
from xml.etree import ElementTree

import httpx
import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text

from connectors.wecom.sandbox.state import SandboxConfig
from hub.settings import Settings, get_settings

app = typer.Typer(no_args_is_help=True, help="Sandboxes of the outside systems, for the demo and for tests.")
wecom = typer.Typer(no_args_is_help=True, help="The WeCom sandbox: API, staff sign-in, customer callbacks.")
simulate = typer.Typer(no_args_is_help=True, help="Play a customer: WeCom callbacks POSTed to the hub.")
app.add_typer(wecom, name="wecom")
wecom.add_typer(simulate, name="simulate")

console = Console()
DEFAULT_AGENT_ID = 1000002  # the sandbox needs one; the hub's own HUB_WECOM_AGENT_ID should match
SandboxUrl = Annotated[str, typer.Option(help="Where `hub sandbox wecom serve` listens")]


def _fail(message: str) -> NoReturn:
    Console(stderr=True, soft_wrap=True).print(f"[bold red]hub:[/] {message}", highlight=False)
    raise typer.Exit(2)


def sandbox_config(settings: Settings) -> SandboxConfig:
    """The sandbox as the hub's own ``HUB_WECOM_*`` settings describe the corp; callbacks go to the hub."""
    corp_id, secret, token, aes_key = (settings.wecom_corp_id, settings.wecom_secret, settings.wecom_token,
                                       settings.wecom_aes_key)
    if not (corp_id and secret and token and aes_key):
        needed = {"HUB_WECOM_CORP_ID": corp_id, "HUB_WECOM_SECRET": secret, "HUB_WECOM_TOKEN": token,
                  "HUB_WECOM_AES_KEY": aes_key}
        missing = ", ".join(name for name, value in needed.items() if not value)
        _fail(f"set {missing} first: the sandbox plays the corp those settings describe")
    return SandboxConfig(
        corp_id=corp_id, secret=secret.get_secret_value(), token=token.get_secret_value(),
        aes_key=aes_key.get_secret_value(), agent_id=settings.wecom_agent_id or DEFAULT_AGENT_ID,
        callback_url=settings.public_base_url.rstrip("/") + "/webhooks/wecom",
    )


@wecom.command("serve")
def serve_sandbox(port: Annotated[int, typer.Option(min=1, max=65535, help="Port on 127.0.0.1")] = 9101) -> None:
    """Serve the sandbox on 127.0.0.1 until Ctrl-C."""
    from connectors.wecom.sandbox.server import serve

    config = sandbox_config(get_settings())
    base = f"http://127.0.0.1:{port}"
    console.print(f"WeCom sandbox for corp [bold]{config.corp_id}[/] on {base}, callbacks to {config.callback_url}\n"
                  f"Point the hub at it: HUB_WECOM_API_BASE={base}/cgi-bin/ "
                  f"HUB_WECOM_OAUTH_URL={base}/connect/oauth2/authorize HUB_WECOM_AGENT_ID={config.agent_id}\n"
                  f"Load staff with PUT {base}/sandbox/users; the controls are described at {base}/docs",
                  soft_wrap=True, highlight=False)
    serve(port, config=config)


@simulate.command("add")
def simulate_add(
    staff: Annotated[str, typer.Option(help="Userid of the staff member the customer adds")],
    state: Annotated[str, typer.Option(help="State of the contact way scanned (at most 30 characters)")] = "",
    name: Annotated[str | None, typer.Option(help="The customer's WeChat name")] = None,
    welcome: Annotated[bool, typer.Option(help="Issue a welcome code with the event")] = True,
    sandbox_url: SandboxUrl = "http://127.0.0.1:9101",
) -> None:
    """A new customer adds a staff member (add_external_contact)."""
    _show(_post(sandbox_url, "add", {"staff": staff, "state": state, "name": name, "welcome": welcome}))


@simulate.command("remove")
def simulate_remove(
    staff: Annotated[str, typer.Option(help="Userid of the staff member")],
    external_userid: Annotated[str, typer.Option(help="The customer's external userid (wm…)")],
    sandbox_url: SandboxUrl = "http://127.0.0.1:9101",
) -> None:
    """The staff member deletes the customer (del_external_contact)."""
    _show(_post(sandbox_url, "del_external_contact", {"staff": staff, "external_userid": external_userid}))


@simulate.command("lose")
def simulate_lose(
    staff: Annotated[str, typer.Option(help="Userid of the staff member")],
    external_userid: Annotated[str, typer.Option(help="The customer's external userid (wm…)")],
    sandbox_url: SandboxUrl = "http://127.0.0.1:9101",
) -> None:
    """The customer deletes the staff member (del_follow_user)."""
    _show(_post(sandbox_url, "del_follow_user", {"staff": staff, "external_userid": external_userid}))


def _post(sandbox_url: str, change_type: str, body: dict[str, Any]) -> dict[str, Any]:
    url = f"{sandbox_url.rstrip('/')}/sandbox/simulate/{change_type}"
    try:
        response = httpx.post(url, json=body, timeout=60, trust_env=False)  # waits for the hub's answers
    except httpx.TransportError as exc:
        _fail(f"the sandbox at {sandbox_url} does not answer ({exc}); start it with `hub sandbox wecom serve`")
    if response.status_code != 200:
        _fail(f"the sandbox refused: {response.text}")
    return response.json()


def _show(result: dict[str, Any]) -> None:
    """The event's fields as posted, then each delivery attempt with the hub's answer."""
    event = Table(title=f"Posted {result['change_type']} to {result['callback']['url']}", show_header=False)
    for field in ElementTree.fromstring(result["callback"]["plaintext"]):  # our own XML: safe to parse  # noqa: S314
        event.add_row(field.tag, Text(field.text or ""))
    console.print(event)
    answers = Table(title="The hub's answers")
    for column in ("attempt", "status", "body"):
        answers.add_column(column)
    for number, attempt in enumerate(result["attempts"], 1):
        status = attempt["status"]
        answers.add_row(str(number), Text(str(status or "no answer"), style="green" if status == 200 else "red"),
                        Text(attempt.get("body", attempt.get("error", "")) or "(empty)"))
    console.print(answers)
