"""Server lifecycle: start in a thread (port 0, fixed port, stop), serve in the foreground until SIGINT or
SIGTERM, start-up time, and the 40,000-message batch a supplier's load test sends."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import textwrap
import time
import uuid
from pathlib import Path

import httpx
import pytest

from conformance.reference.server import ReferenceConfig, RunningReference, start
from tests.reference.conftest import VALID_NHS_NUMBER, assert_errors, batch_body, field_error

REPO_ROOT = Path(__file__).resolve().parents[2]


def test_start_picks_a_free_port_and_reports_its_urls() -> None:
    started = time.perf_counter()
    with (
        start(ReferenceConfig(mode="sandbox")) as first,
        start(ReferenceConfig(mode="integration")) as second,
    ):
        elapsed = time.perf_counter() - started
        print(f"\nstarting two reference servers took {elapsed * 1000:.0f} ms")
        assert first.origin != second.origin
        for server in (first, second):
            assert server.origin.startswith("http://127.0.0.1:")
            assert server.base_url == server.origin + "/comms"
            assert server.token_url == server.origin + "/oauth2/token"
            assert httpx.get(server.base_url + "/_ping").status_code == 200
        assert repr(first) == f"RunningReference(mode='sandbox', origin={first.origin!r})"


def test_start_on_a_given_port() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with start(ReferenceConfig(mode="sandbox", port=port)) as server:
        assert server.origin == f"http://127.0.0.1:{port}"
        assert httpx.get(server.base_url + "/_ping").status_code == 200


def test_a_busy_port_fails_at_once() -> None:
    with start(ReferenceConfig(mode="sandbox")) as server:
        with pytest.raises(OSError):
            start(ReferenceConfig(mode="sandbox", port=int(server.origin.rsplit(":", 1)[1])))


def test_stop_closes_the_port_and_can_be_repeated() -> None:
    server = start(ReferenceConfig(mode="sandbox"))
    url = server.base_url + "/_ping"
    assert httpx.get(url).status_code == 200
    server.stop()
    server.stop()
    assert not server.running
    with pytest.raises(httpx.ConnectError):
        httpx.get(url)


def test_configured_status_key() -> None:
    with start(ReferenceConfig(mode="sandbox", status_key="let-me-in")) as server:
        assert server.status_key == "let-me-in"
        assert httpx.get(server.base_url + "/_status", headers={"apikey": "let-me-in"}).status_code == 200


SERVE_SCRIPT = textwrap.dedent(
    """
    import sys
    from conformance.reference.server import ReferenceConfig, serve

    serve(ReferenceConfig(mode=sys.argv[1]), lambda running: print(running.base_url, flush=True))
    print("stopped cleanly", flush=True)
    """
)


@pytest.mark.parametrize(("mode", "signum"), [("sandbox", signal.SIGINT), ("integration", signal.SIGTERM)])
def test_serve_stops_cleanly_on_signals(mode: str, signum: signal.Signals) -> None:
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
    launched = time.perf_counter()
    process = subprocess.Popen(
        [sys.executable, "-c", SERVE_SCRIPT, mode],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        cwd=REPO_ROOT,
    )
    try:
        assert process.stdout is not None
        base_url = process.stdout.readline().strip()
        assert base_url.startswith("http://127.0.0.1:"), base_url
        cold_start = time.perf_counter() - launched
        print(f"\ncold start of `serve` ({mode}, interpreter start included): {cold_start:.2f} s")
        assert httpx.get(base_url + "/_ping").status_code == 200
        process.send_signal(signum)
        stdout, stderr = process.communicate(timeout=20)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    assert process.returncode == 0, stderr
    assert stderr == ""
    assert stdout.strip() == "stopped cleanly"


@pytest.mark.slow
def test_a_40000_message_batch_is_validated_and_answered_quickly(sandbox_server: RunningReference) -> None:
    body = batch_body(
        messages=[
            {
                "messageReference": str(uuid.uuid4()),
                "recipient": {"nhsNumber": VALID_NHS_NUMBER},
                "personalisation": {"body": "test"},
            }
            for _ in range(40_000)
        ]
    )
    raw = json.dumps(body, separators=(",", ":")).encode()
    assert 5_000_000 < len(raw) < 6_000_000
    started = time.perf_counter()
    response = httpx.post(
        sandbox_server.base_url + "/v1/message-batches",
        content=raw,
        headers={"Content-Type": "application/json"},
        timeout=60,
    )
    elapsed = time.perf_counter() - started
    print(f"\n40,000-message batch ({len(raw) / 1e6:.2f} MB) answered in {elapsed * 1000:.0f} ms")
    assert response.status_code == 201
    messages = response.json()["data"]["attributes"]["messages"]
    assert len(messages) == 40_000
    assert len({message["id"] for message in messages}) == 40_000
    sent = body["data"]["attributes"]["messages"]  # type: ignore[index]
    assert [m["messageReference"] for m in messages] == [m["messageReference"] for m in sent]


@pytest.mark.slow
def test_a_40000_message_invalid_batch_reports_exactly_100_errors(sandbox_server: RunningReference) -> None:
    messages = [{"messageReference": "same", "recipient": {"nhsNumber": "not valid"}} for _ in range(40_000)]
    response = httpx.post(sandbox_server.base_url + "/v1/message-batches", json=batch_body(messages=messages))
    expected = [field_error("nhs_number", "/data/attributes/messages/0/recipient/nhsNumber")]
    for index in range(1, 50):
        expected.append(field_error("duplicate", f"/data/attributes/messages/{index}/messageReference"))
        expected.append(field_error("nhs_number", f"/data/attributes/messages/{index}/recipient/nhsNumber"))
    expected.append(field_error("duplicate", "/data/attributes/messages/50/messageReference"))
    assert_errors(response, 400, expected)
