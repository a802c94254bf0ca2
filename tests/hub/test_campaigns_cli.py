import os
import subprocess

from hub.auth.models import Role
from hub.auth.service import create_key
from hub.campaigns.models import Campaign, CampaignStatus


def hub(*args: str) -> subprocess.CompletedProcess:
    # os.environ already points HUB_DATABASE_URL at the test database; a wide terminal keeps names whole.
    return subprocess.run([".venv/bin/hub", "campaigns", *args], env={**os.environ, "COLUMNS": "200"},
                          capture_output=True, text=True, timeout=60)


class TestCampaignsCli:
    async def test_list_and_show_read_the_database(self):
        key, _ = await create_key(role=Role.OPS)
        window = {"starts_at": "2025-07-01T00:00:00+08:00", "ends_at": "2025-08-01T00:00:00+08:00"}
        running = await Campaign.create(name="暑期流量包", status=CampaignStatus.RUNNING, channels=["app"],
                                        drafted_by_id=key.id, **window)
        await Campaign.create(name="宽带季", channels=["sms"], drafted_by_id=key.id, **window)

        listed = hub("list")
        assert listed.returncode == 0, listed.stderr
        assert "暑期流量包" in listed.stdout and "宽带季" in listed.stdout and key.prefix in listed.stdout
        only_running = hub("list", "--status", "running")
        assert "暑期流量包" in only_running.stdout and "宽带季" not in only_running.stdout

        shown = hub("show", str(running.id))
        assert shown.returncode == 0, shown.stderr
        assert "2025-07-01T00:00:00+08:00" in shown.stdout and "running" in shown.stdout

        missing = hub("show", "9999")
        assert missing.returncode == 2 and "No campaign 9999" in missing.stderr
