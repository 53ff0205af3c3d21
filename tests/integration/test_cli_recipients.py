"""`lif recipients` on a real database: add (a webhook's secret printed once), list (never a secret), erase."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.databases import fresh_database

pytestmark = [pytest.mark.integration]
LIF = Path(sys.executable).with_name("lif")


def lif(url: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "DATABASE_URL": url}
    return subprocess.run([str(LIF), *args], env=env, capture_output=True, text=True, timeout=120, check=False)


async def test_recipients_are_added_listed_and_erased(database_url: str) -> None:
    url = await fresh_database(database_url, "clirecipients")
    hook = lif(url, "recipients", "add", "--lscb", "BOL", "--channel", "webhook", "--name", "Bolton CMS",
               "--address", "https://cms.bolton.test/lif", "--role", "business_manager")
    assert hook.returncode == 0, hook.stderr
    added = json.loads(hook.stdout)
    assert added["secret"].startswith("whsec_") and added["recipient_id"].startswith("rcp-")
    panel = lif(url, "recipients", "add", "--panel", "--regime", "nwlif-2015", "--name", "National Panel",
                "--address", "panel@example.test")
    assert panel.returncode == 0, panel.stderr
    assert json.loads(panel.stdout)["lscb"] is None and json.loads(panel.stdout)["roles"] == ["national_panel"]

    listed = lif(url, "recipients", "list", "--lscb", "BOL")
    assert listed.returncode == 0 and added["secret"] not in listed.stdout
    assert [e["recipient_id"] for e in json.loads(listed.stdout)] == [added["recipient_id"]]
    national = json.loads(lif(url, "recipients", "list", "--panel").stdout)
    assert [e["address"] for e in national] == ["panel@example.test"]

    refused = lif(url, "recipients", "add", "--lscb", "BOL", "--name", "X", "--address", "not-mail", "--role", "chair")
    assert refused.returncode == 2 and "not an email address" in refused.stderr
    assert lif(url, "recipients", "erase", added["recipient_id"]).returncode == 0
    assert lif(url, "recipients", "erase", added["recipient_id"]).returncode == 2  # already erased
    assert json.loads(lif(url, "recipients", "list", "--lscb", "BOL").stdout) == []
