"""Helpers to run the real command line (``python -m conformance``) in a subprocess, as a user would."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

URL_LINE = re.compile(r"listening on (http://\S+/comms)")


def cli(
    *args: str, env: dict[str, str] | None = None, timeout: float = 600
) -> subprocess.CompletedProcess[str]:
    """Run ``notify-conformance ARGS`` and wait for it."""
    return subprocess.run(
        [sys.executable, "-m", "conformance", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, **(env or {})},
    )


@dataclass
class Served:
    process: subprocess.Popen[str]
    base_url: str
    startup_s: float
    banner: str

    def stop(self) -> tuple[int, str]:
        """Send Ctrl-C (SIGINT) and return the exit code and everything printed to stderr."""
        self.process.send_signal(signal.SIGINT)
        _, err = self.process.communicate(timeout=20)
        return self.process.returncode, err


def serve(*args: str) -> Served:
    """Start ``notify-conformance serve ARGS`` and wait until it prints its base URL."""
    started = time.monotonic()
    process = subprocess.Popen(
        [sys.executable, "-m", "conformance", "serve", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    banner = ""
    while True:
        line = process.stdout.readline()
        if not line:
            raise AssertionError(f"serve exited early: {process.stderr.read() if process.stderr else ''}")
        banner += line
        if "Ctrl-C" in line:
            break
    match = URL_LINE.search(banner)
    assert match, banner
    return Served(process, match.group(1), time.monotonic() - started, banner)


@pytest.fixture
def served_sandbox() -> Iterator[Served]:
    served = serve("--mode", "sandbox", "--port", "0")
    yield served
    if served.process.poll() is None:
        served.stop()


@pytest.fixture
def served_integration(tmp_path: Path) -> Iterator[tuple[Served, Path]]:
    credentials = tmp_path / "client.json"
    served = serve("--mode", "integration", "--port", "0", "--credentials-out", str(credentials))
    yield served, credentials
    if served.process.poll() is None:
        served.stop()
