"""``notify-conformance serve --mode receiver`` as a user runs it: a subprocess that prints its URLs
(never the secrets), writes generated credentials to a 0600 file, and stops on Ctrl-C with a summary."""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import queue
import re
import signal
import stat
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.callbacks.conftest import QUICK

_VARIABLES = ("NOTIFY_CALLBACK_API_KEY", "NOTIFY_APPLICATION_ID")


def _env(extra: dict[str, str] | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in _VARIABLES and "proxy" not in k.lower()}
    env.update({"NO_PROXY": "127.0.0.1,localhost", "PYTHONUNBUFFERED": "1", **(extra or {})})
    return env


def _command(*args: str) -> list[str]:
    return [sys.executable, "-m", "conformance", *args]


class Served:
    def __init__(self, *args: str, env: dict[str, str] | None = None) -> None:
        self.process = subprocess.Popen(
            _command("serve", "--mode", "receiver", *args),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=_env(env),
        )
        self._lines: queue.Queue[str] = queue.Queue()
        self.banner = self._read_until("press Ctrl-C to stop", 30)

    def _read_until(self, marker: str, timeout_s: float) -> str:
        """The lines printed up to the one holding ``marker`` (read by a thread, so a hang cannot block)."""
        assert self.process.stdout is not None
        lines = self._lines
        stdout = self.process.stdout

        def read() -> None:
            for line in iter(stdout.readline, ""):
                lines.put(line)

        self._reader = threading.Thread(target=read, daemon=True)
        self._reader.start()
        seen: list[str] = []
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            try:
                line = lines.get(timeout=0.2)
            except queue.Empty:
                if self.process.poll() is not None:
                    break
                continue
            seen.append(line)
            if marker in line:
                return "".join(seen)
        self.process.kill()
        raise AssertionError(f"no {marker!r} in what it printed: {''.join(seen)}")

    def url(self, label: str) -> str:
        match = re.search(rf"{label}: (?:GET )?(http://\S+)", self.banner)
        assert match, self.banner
        return match.group(1)

    def stop(self) -> tuple[int, str, str]:
        """Ctrl-C; the exit code, and what it printed after the banner (stdout is read by the thread until
        then, so the rest of stdout is collected here line by line)."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        assert self.process.stderr is not None
        err = self.process.stderr.read()
        self.process.stderr.close()
        self._reader.join(5)  # it ends at the end of stdout
        assert self.process.stdout is not None
        self.process.stdout.close()
        rest = []
        while not self._lines.empty():
            rest.append(self._lines.get())
        return self.process.returncode, "".join(rest), err


@pytest.fixture
def generated(tmp_path: Path) -> Iterator[tuple[Served, Path]]:
    out = tmp_path / "receiver.json"
    served = Served("--credentials-out", str(out))
    yield served, out
    if served.process.poll() is None:
        served.stop()


def test_it_prints_its_urls_and_writes_the_credentials_privately(generated: tuple[Served, Path]) -> None:
    served, out = generated
    message_url = served.url("message status callbacks")
    assert re.fullmatch(r"http://127\.0\.0\.1:\d+/callbacks/message-status", message_url)
    assert served.url("channel status callbacks").endswith("/callbacks/channel-status")
    assert served.url("what it received").endswith("/callbacks/received")
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    written = json.loads(out.read_text(encoding="utf-8"))
    assert written["message_status_url"] == message_url
    assert written["api_key"] not in served.banner and written["application_id"] not in served.banner
    assert str(out) in served.banner

    body = b'{"data":[{"type":"MessageStatus"}]}'
    secret = f"{written['application_id']}.{written['api_key']}".encode()
    headers = {
        "content-type": "application/vnd.api+json",
        "x-api-key": written["api_key"],
        "x-hmac-sha256-signature": hmac.new(secret, body, hashlib.sha256).hexdigest(),
    }
    assert httpx.post(message_url, content=body, headers=headers, trust_env=False).status_code == 202
    code, out_text, err = served.stop()
    assert code == 0 and "received 1 callbacks (0 duplicates)" in out_text and err == ""
    assert written["api_key"] not in out_text + err


@pytest.mark.slow
def test_the_command_passes_against_the_served_receiver(generated: tuple[Served, Path]) -> None:
    _, out = generated
    written = json.loads(out.read_text(encoding="utf-8"))
    done = subprocess.run(
        _command(
            "callbacks",
            "--receiver-url",
            written["message_status_url"],
            "--channel-receiver-url",
            written["channel_status_url"],
            *QUICK,
        ),
        capture_output=True,
        text=True,
        timeout=120,
        env=_env(written["environment"]),
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Verdict: PASSED" in done.stdout
    assert written["api_key"] not in done.stdout + done.stderr


def test_credentials_from_the_environment(tmp_path: Path) -> None:
    env = {"NOTIFY_CALLBACK_API_KEY": "env-key-1234567", "NOTIFY_APPLICATION_ID": "env-app"}
    served = Served("--fault", "duplicate_500", env=env)
    try:
        assert "from $NOTIFY_CALLBACK_API_KEY and $NOTIFY_APPLICATION_ID" in served.banner
        assert "deliberate faults: duplicate_500" in served.banner
        assert "env-key-1234567" not in served.banner
    finally:
        code, _, _ = served.stop()
    assert code == 0


@pytest.mark.parametrize(
    ("args", "env", "says"),
    [
        ((), {}, "give --credentials-out FILE"),
        ((), {"NOTIFY_CALLBACK_API_KEY": "only-the-key"}, "NOTIFY_APPLICATION_ID as well"),
        (("--fault", "nope", "--credentials-out", "x.json"), {}, "unknown receiver fault 'nope'"),
        (("--quota", "5", "--credentials-out", "x.json"), {}, "--quota applies only to --mode integration"),
        (("--credentials-out", "/no/such/folder/x.json"), {}, "does not exist"),
    ],
)
def test_usage_errors(args: tuple[str, ...], env: dict[str, str], says: str, tmp_path: Path) -> None:
    done = subprocess.run(
        _command("serve", "--mode", "receiver", *args),
        capture_output=True,
        text=True,
        timeout=60,
        env=_env(env),
        cwd=tmp_path,
    )
    assert done.returncode == 2, done.stdout + done.stderr
    assert len(done.stderr.strip().splitlines()) == 1 and says in done.stderr


def test_list_faults() -> None:
    done = subprocess.run(
        _command("serve", "--mode", "receiver", "--list-faults"),
        capture_output=True,
        text=True,
        timeout=60,
        env=_env(),
    )
    assert done.returncode == 0
    from conformance.reference.receiver_faults import FAULTS

    assert [line.split()[0] for line in done.stdout.splitlines()] == list(FAULTS)
