"""Drive ``notify-conformance`` as a user does: a subprocess, credentials in environment variables, a
report folder of its own; and read what it printed."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

TRACEBACK = "Traceback (most recent call last)"
#: lines about the optional HTML report, which needs Node and the pinned Allure CLI
_HTML_NOTE = re.compile(r"HTML report skipped|installing the pinned Allure report CLI")
_URL_LINE = re.compile(r"listening on (http://\S+/comms)")
_CREDENTIAL_VARS = ("NOTIFY_API_KEY", "NOTIFY_PRIVATE_KEY", "NOTIFY_KEY_ID", "NOTIFY_PRIVATE_KEY_PASSPHRASE")
_PROXY_VARS = ("http_proxy", "https_proxy", "all_proxy", "HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY")


def child_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    """The environment for a CLI subprocess: no inherited credentials or proxies, loopback never
    proxied, and a PATH holding only this interpreter's folder, so the HTML step cannot reach for npm
    (which would download the Allure CLI) and says in one line that it skipped the HTML instead."""
    env = {k: v for k, v in os.environ.items() if k not in _CREDENTIAL_VARS and k not in _PROXY_VARS}
    env["NO_PROXY"] = env["no_proxy"] = "127.0.0.1,localhost"
    env["PATH"] = str(Path(sys.executable).parent)
    env["PYTHONUNBUFFERED"] = "1"
    env.update(extra or {})
    return env


def cli_command(*args: str) -> list[str]:
    return [sys.executable, "-m", "conformance", *args]


@dataclass
class Outcome:
    """What one CLI run did: its exit code, its output and how long it took."""

    returncode: int
    stdout: str
    stderr: str
    seconds: float

    @property
    def output(self) -> str:
        return self.stdout + self.stderr

    @property
    def error_lines(self) -> list[str]:
        """The non-empty stderr lines, leaving out the note about the optional HTML report."""
        return [line for line in self.stderr.splitlines() if line.strip() and not _HTML_NOTE.search(line)]

    def tail(self, chars: int = 3000) -> str:
        """The end of both streams, for assertion messages."""
        return (
            f"exit {self.returncode}\n--- stdout\n{self.stdout[-chars:]}\n--- stderr\n{self.stderr[-chars:]}"
        )


def run_cli(
    *args: str, env: dict[str, str] | None = None, timeout: float = 300, cwd: Path | None = None
) -> Outcome:
    """Run ``notify-conformance ARGS`` to the end (killed after ``timeout`` s: a hang fails the test)."""
    started = time.monotonic()
    done = subprocess.run(
        cli_command(*args),
        capture_output=True,
        text=True,
        timeout=timeout,
        env=child_env(env),
        cwd=cwd,
    )
    return Outcome(done.returncode, done.stdout, done.stderr, time.monotonic() - started)


def run_pytest(*args: str, env: dict[str, str] | None = None, timeout: float = 300, cwd: Path) -> Outcome:
    """Plain ``pytest ARGS`` (the plugin registered by the installed package), run from ``cwd``."""
    started = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-m", "pytest", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=child_env(env),
        cwd=cwd,
    )
    return Outcome(done.returncode, done.stdout, done.stderr, time.monotonic() - started)


def start_cli(*args: str, env: dict[str, str] | None = None) -> subprocess.Popen[str]:
    """Start ``notify-conformance ARGS`` without waiting (for Ctrl-C tests)."""
    return subprocess.Popen(
        cli_command(*args),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=child_env(env),
    )


def interrupt(process: subprocess.Popen[str], timeout: float = 60) -> Outcome:
    """Send Ctrl-C (SIGINT) and collect what the process printed until it exited."""
    started = time.monotonic()
    process.send_signal(signal.SIGINT)
    try:
        out, err = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        out, err = process.communicate()
        err += "\n[test support: the process ignored SIGINT and was killed]\n"
    return Outcome(process.returncode, out, err, time.monotonic() - started)


@dataclass
class ServedProcess:
    """``notify-conformance serve`` running as a subprocess."""

    process: subprocess.Popen[str]
    base_url: str
    banner: str

    @property
    def origin(self) -> str:
        return self.base_url.removesuffix("/comms")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.communicate(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.communicate()


def serve(*args: str, timeout_s: float = 60) -> ServedProcess:
    """Start ``notify-conformance serve ARGS`` and wait until it prints its base URL."""
    process = subprocess.Popen(
        cli_command("serve", *args),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=child_env(),
    )
    assert process.stdout is not None
    deadline = time.monotonic() + timeout_s
    banner = ""
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line:
            err = process.stderr.read() if process.stderr else ""
            raise RuntimeError(f"serve exited early: {err.strip()}")
        banner += line
        if "Ctrl-C" in line:
            break
    match = _URL_LINE.search(banner)
    if match is None:
        process.kill()
        process.communicate()
        raise RuntimeError(f"serve printed no base URL: {banner!r}")
    return ServedProcess(process, match.group(1), banner)


def longest_line(text: str) -> int:
    return max((len(line) for line in text.splitlines()), default=0)
