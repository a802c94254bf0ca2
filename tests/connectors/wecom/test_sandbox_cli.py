"""``hub sandbox wecom …``: the sandbox configured from the hub's settings, and customers played from a shell."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time

import httpx
from typer.testing import CliRunner

from connectors.wecom.sandbox.cli import app, sandbox_config
from hub.settings import Settings

AES_KEY = "kWxPEV2UEDyxWpmPdKC3F4dgPDmOvfKX1HGnEUDS1aR"


def test_serve_without_the_wecom_settings_fails_in_one_line():
    result = CliRunner().invoke(app, ["wecom", "serve", "--port", "9"])
    assert result.exit_code == 2
    assert result.output.count("\n") == 1
    assert "HUB_WECOM_CORP_ID, HUB_WECOM_SECRET, HUB_WECOM_TOKEN, HUB_WECOM_AES_KEY" in result.output


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_serve_answers_as_the_corp_of_the_settings_until_stopped(tmp_path):
    port = _free_port()
    env = {**os.environ, "HUB_WECOM_CORP_ID": "wwdemo", "HUB_WECOM_SECRET": "demo-secret", "HUB_WECOM_TOKEN": "T0k3n",
           "HUB_WECOM_AES_KEY": AES_KEY, "HUB_VAR_DIR": str(tmp_path)}
    code = "from connectors.wecom.sandbox.cli import app; app()"
    server = subprocess.Popen([sys.executable, "-c", code, "wecom", "serve", "--port", str(port)], env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                answer = httpx.get(f"http://127.0.0.1:{port}/cgi-bin/gettoken",
                                   params={"corpid": "wwdemo", "corpsecret": "demo-secret"}, trust_env=False)
                break
            except httpx.TransportError:
                assert server.poll() is None and time.monotonic() < deadline, server.stdout.read()
                time.sleep(0.1)
        assert answer.json()["errcode"] == 0 and answer.json()["expires_in"] == 7200
    finally:
        server.terminate()
        output = server.communicate(timeout=10)[0]
    assert f"HUB_WECOM_API_BASE=http://127.0.0.1:{port}/cgi-bin/" in output
    assert "callbacks to http://hub.test/webhooks/wecom" in output  # HUB_PUBLIC_BASE_URL of the tests


def test_the_sandbox_plays_the_corp_of_the_hub_settings_and_calls_the_hub_back():
    settings = Settings(wecom_corp_id="ww49f0ab532d5d035a", wecom_secret="sec", wecom_token="123456",
                        wecom_aes_key=AES_KEY, wecom_agent_id=1000005, public_base_url="https://hub.example.cn/")
    config = sandbox_config(settings)
    assert (config.corp_id, config.secret, config.token, config.aes_key, config.agent_id, config.callback_url) == (
        "ww49f0ab532d5d035a", "sec", "123456", AES_KEY, 1000005, "https://hub.example.cn/webhooks/wecom")


async def test_simulate_add_posts_the_event_and_shows_the_hub_s_answer(wecom_sandbox_factory, callback_receiver):
    sandbox = wecom_sandbox_factory(callback_url=callback_receiver.url)
    result = CliRunner().invoke(app, ["wecom", "simulate", "add", "--staff", "zhangsan", "--state", "store-42",
                                      "--name", "王五", "--sandbox-url", sandbox.url], terminal_width=200)
    assert result.exit_code == 0, result.output
    [customer] = await sandbox.customers()
    external_userid = customer["external_contact"]["external_userid"]
    assert external_userid in result.output and "add_external_contact" in result.output
    assert sandbox.config.corp_id in result.output and "store-42" in result.output
    assert "200" in result.output and len(callback_receiver.requests) == 1

    removed = CliRunner().invoke(app, ["wecom", "simulate", "remove", "--staff", "zhangsan", "--external-userid",
                                       external_userid, "--sandbox-url", sandbox.url], terminal_width=200)
    assert removed.exit_code == 0 and "del_external_contact" in removed.output
    assert (await sandbox.customers())[0]["follow_user"] == []


async def test_simulate_reports_a_missing_sandbox_in_one_line():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{s.getsockname()[1]}"
    result = CliRunner().invoke(app, ["wecom", "simulate", "lose", "--staff", "a", "--external-userid", "wm1",
                                      "--sandbox-url", url])
    assert result.exit_code == 2 and "does not answer" in result.output and result.output.count("\n") == 1


async def test_simulate_shows_the_sandbox_s_refusal(wecom_sandbox):
    result = CliRunner().invoke(app, ["wecom", "simulate", "lose", "--staff", "zhangsan", "--external-userid",
                                      "wm" + "0" * 30, "--sandbox-url", wecom_sandbox.url])
    assert result.exit_code == 2 and "84061" in result.output
