"""``notify-conformance serve``: starts quickly on a free port, answers on loopback, stops on Ctrl-C."""

from __future__ import annotations

import json
from pathlib import Path

import httpx

from tests.suite.conftest import Served


def test_sandbox_mode_starts_answers_and_stops_cleanly(served_sandbox: Served) -> None:
    print(f"sandbox serve: ready in {served_sandbox.startup_s:.2f} s")
    response = httpx.get(served_sandbox.base_url + "/v1/messages/2WL3qFTEFM0qMY8xjRbt1LIKCzM")
    assert response.status_code == 200
    code, err = served_sandbox.stop()
    assert code == 0
    assert "Traceback" not in err


def test_integration_mode_writes_working_credentials(served_integration: tuple[Served, Path]) -> None:
    served, credentials_file = served_integration
    print(f"integration serve: ready in {served.startup_s:.2f} s")
    credentials = json.loads(credentials_file.read_text())
    assert credentials["base_url"] == served.base_url
    assert credentials["token_url"].endswith("/oauth2/token")
    assert Path(credentials["private_key_path"]).is_file()
    assert set(credentials["clients"]) == {"short_lived", "not_onboarded"}
    assert httpx.get(served.base_url + "/v1/messages/x").status_code == 401
    code, err = served.stop()
    assert code == 0 and "Traceback" not in err


def test_a_port_in_use_is_a_one_line_error(served_sandbox: Served) -> None:
    from tests.suite.conftest import cli

    port = served_sandbox.base_url.split(":")[2].split("/")[0]
    result = cli("serve", "--port", port, timeout=30)
    assert result.returncode == 2
    assert len(result.stderr.strip().splitlines()) == 1 and "Traceback" not in result.stderr
