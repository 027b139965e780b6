"""``notify-conformance serve``: starts quickly on a free port, answers on loopback, stops on Ctrl-C;
registers a supplier's own key without its API key on the command line; rate-limits per application
in integration mode and reports the traffic it saw."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from conformance.reference.oauth import ClientCredentials
from tests.reference.conftest import client_assertion
from tests.suite.conftest import Served, cli

JWT_BEARER = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
UNKNOWN_MESSAGE = "/v1/messages/NotifyConformanceUnknownId0"
BASE_URL = re.compile(r"(http://\S+/comms)")


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
    assert set(credentials["clients"]) == {"short_lived", "not_onboarded", "throttled"}
    assert httpx.get(served.base_url + "/v1/messages/x").status_code == 401
    code, err = served.stop()
    assert code == 0 and "Traceback" not in err


def test_a_port_in_use_is_a_one_line_error(served_sandbox: Served) -> None:
    port = served_sandbox.base_url.split(":")[2].split("/")[0]
    result = cli("serve", "--port", port, timeout=30)
    assert result.returncode == 2
    assert len(result.stderr.strip().splitlines()) == 1 and "Traceback" not in result.stderr


# ---- a process of our own, for banners the shared helper does not parse and for stdout at the end


@dataclass
class Process:
    process: subprocess.Popen[str]
    #: the command line, as ``ps`` shows it to anyone on the machine
    command: list[str]
    banner: str

    @property
    def base_url(self) -> str:
        match = BASE_URL.search(self.banner)
        assert match, self.banner
        return match.group(1)

    @property
    def origin(self) -> str:
        return self.base_url.removesuffix("/comms")

    def stop(self) -> tuple[int, str, str]:
        """Ctrl-C; the exit code, what was printed after the banner, and stderr."""
        self.process.send_signal(signal.SIGINT)
        out, err = self.process.communicate(timeout=20)
        return self.process.returncode, out, err


def start_serve(*args: str, env: dict[str, str] | None = None) -> Process:
    command = [sys.executable, "-m", "conformance", "serve", *args]
    process = subprocess.Popen(
        command,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, **(env or {})},
    )
    assert process.stdout is not None
    banner = ""
    while "Ctrl-C" not in banner:
        line = process.stdout.readline()
        if not line:
            raise AssertionError(f"serve exited early: {process.stderr.read() if process.stderr else ''}")
        banner += line
    return Process(process, command, banner)


@pytest.fixture
def processes() -> Iterator[list[Process]]:
    started: list[Process] = []
    yield started
    for running in started:
        if running.process.poll() is None:
            running.stop()


def one_line_usage_error(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    return lines[0]


# ---- --port and --host


@pytest.mark.parametrize("port", ["65536", "70000", "-1", "http"])
def test_a_port_outside_the_tcp_range_is_a_usage_error(port: str) -> None:
    line = one_line_usage_error(cli("serve", "--port", port, timeout=30))
    assert "--port" in line


def test_a_wildcard_host_names_the_address_it_bound(processes: list[Process]) -> None:
    served = start_serve("--mode", "sandbox", "--host", "0.0.0.0", "--port", "0")
    processes.append(served)
    first = served.banner.splitlines()[0]
    match = re.fullmatch(
        r"reference API \(sandbox\) listening on 0\.0\.0\.0:(\d+); base URL http://127\.0\.0\.1:(\d+)/comms",
        first,
    )
    assert match, first
    assert match.group(1) == match.group(2) != "0"
    assert httpx.get(served.base_url + "/_ping").status_code == 200
    code, _, err = served.stop()
    assert code == 0 and "Traceback" not in err


# ---- --register-client: the API key comes from the environment


@pytest.fixture
def own_key(tmp_path: Path) -> tuple[Path, Path]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private = tmp_path / "private.pem"
    private.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    public = tmp_path / "public.pem"
    public.write_bytes(
        key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )
    return private, public


def test_register_client_reads_the_api_key_from_the_environment(
    processes: list[Process], own_key: tuple[Path, Path]
) -> None:
    private, public = own_key
    api_key = "SupplierApiKeyNeverOnTheCommandLine1"
    served = start_serve(
        "--mode",
        "integration",
        "--register-client",
        f"supplier-kid:{public}",
        env={"NOTIFY_API_KEY": api_key},
    )
    processes.append(served)
    assert api_key not in " ".join(served.command)
    token_url = served.origin + "/oauth2/token"
    credentials = ClientCredentials(api_key=api_key, kid="supplier-kid", private_key_path=private)
    form = {
        "grant_type": "client_credentials",
        "client_assertion_type": JWT_BEARER,
        "client_assertion": client_assertion(credentials, token_url),
    }
    token = httpx.post(token_url, data=form)
    assert token.status_code == 200, token.text
    bearer = {"Authorization": f"Bearer {token.json()['access_token']}"}
    assert httpx.get(served.base_url + UNKNOWN_MESSAGE, headers=bearer).status_code == 404
    code, out, err = served.stop()
    assert code == 0
    assert api_key not in served.banner + out + err


def test_register_client_without_the_api_key_variable(own_key: tuple[Path, Path]) -> None:
    _, public = own_key
    command = [sys.executable, "-m", "conformance", "serve", "--mode", "integration"]
    result = subprocess.run(
        [*command, "--register-client", f"supplier-kid:{public}"],
        capture_output=True,
        text=True,
        timeout=30,
        env={name: value for name, value in os.environ.items() if name != "NOTIFY_API_KEY"},
    )
    assert "NOTIFY_API_KEY" in one_line_usage_error(result)


def test_the_old_form_with_the_api_key_is_refused_without_echoing_it(own_key: tuple[Path, Path]) -> None:
    _, public = own_key
    secret = "OldStyleApiKeyThatMustNotBeEchoed1"
    result = cli(
        "serve",
        "--mode",
        "integration",
        "--register-client",
        f"{secret}:supplier-kid:{public}",
        env={"NOTIFY_API_KEY": "x" * 32},
        timeout=30,
    )
    line = one_line_usage_error(result)
    assert secret not in line and "NOTIFY_API_KEY" in line


# ---- rate limiting and traffic counters


def test_integration_serve_throttles_and_reports_its_traffic(
    processes: list[Process], tmp_path: Path
) -> None:
    credentials_file = tmp_path / "client.json"
    served = start_serve(
        "--mode", "integration", "--quota", "2", "--spike-arrest", "6000000",
        "--credentials-out", str(credentials_file),
    )  # fmt: skip
    processes.append(served)
    assert "quota 2/min" in served.banner and "/_reference/traffic" in served.banner
    document = json.loads(credentials_file.read_text())
    credentials = ClientCredentials(
        api_key=document["api_key"], kid=document["kid"], private_key_path=Path(document["private_key_path"])
    )
    token_url = document["token_url"]
    form = {
        "grant_type": "client_credentials",
        "client_assertion_type": JWT_BEARER,
        "client_assertion": client_assertion(credentials, token_url),
    }
    bearer = {"Authorization": f"Bearer {httpx.post(token_url, data=form).json()['access_token']}"}
    statuses = [httpx.get(served.base_url + UNKNOWN_MESSAGE, headers=bearer).status_code for _ in range(3)]
    assert statuses == [404, 404, 429]
    traffic = httpx.get(served.origin + "/_reference/traffic").json()
    assert traffic["limits"] == {"quota_per_minute": 2, "spike_arrest_per_minute": 6000000}
    app = traffic["apps"][document["app_name"]]
    assert (app["requests"], app["accepted"], app["throttled"], app["peak_per_minute"]) == (3, 2, 1, 2)
    code, out, err = served.stop()
    assert code == 0 and "Traceback" not in err
    summary = out.strip().splitlines()
    assert len(summary) == 1 and summary[0].startswith(
        "traffic: 3 requests from 1 application(s), 1 answered 429"
    )
    assert credentials.api_key not in served.banner + out + err


def test_no_throttle_turns_the_limits_off(processes: list[Process]) -> None:
    served = start_serve("--mode", "integration", "--no-throttle")
    processes.append(served)
    assert "rate limits off" in served.banner
    assert httpx.get(served.origin + "/_reference/traffic").json() == {"limits": None, "apps": {}}


@pytest.mark.parametrize("option", [["--quota", "10"], ["--spike-arrest", "10"], ["--no-throttle"]])
def test_rate_limit_options_need_integration_mode(option: list[str]) -> None:
    line = one_line_usage_error(cli("serve", "--mode", "sandbox", *option, timeout=30))
    assert option[0] in line


@pytest.mark.parametrize("value", ["0", "-5", "many"])
def test_rate_limits_are_whole_numbers_of_at_least_one(value: str) -> None:
    one_line_usage_error(cli("serve", "--mode", "integration", "--quota", value, timeout=30))
