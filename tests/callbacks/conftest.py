"""Fixtures for the callbacks command and the reference receiver: fresh credentials in the environment,
reference receivers on loopback (clean or with faults), and one call that runs the command in-process and
hands back its exit code, output and JSON report."""

from __future__ import annotations

import json
import secrets
import socket
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from conformance.cli import main
from conformance.reference.receiver import ReceiverConfig, RunningReceiver, start


@dataclass(frozen=True)
class Secrets:
    api_key: str
    application_id: str

    @property
    def signing_secret(self) -> str:
        return f"{self.application_id}.{self.api_key}"

    @property
    def values(self) -> tuple[str, str]:
        return self.api_key, self.signing_secret


@pytest.fixture
def creds(monkeypatch: pytest.MonkeyPatch) -> Secrets:
    """A fresh API key and application id, set in the two environment variables the command reads."""
    made = Secrets(api_key=f"cb-key-{secrets.token_hex(12)}", application_id=f"app-{secrets.token_hex(6)}")
    monkeypatch.setenv("NOTIFY_CALLBACK_API_KEY", made.api_key)
    monkeypatch.setenv("NOTIFY_APPLICATION_ID", made.application_id)
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy"):
        monkeypatch.delenv(name, raising=False)
    return made


ReceiverFactory = Callable[..., RunningReceiver]


@pytest.fixture
def receivers(creds: Secrets) -> Iterator[ReceiverFactory]:
    """``receivers(faults=..., **config)`` starts a reference receiver with the fixture's credentials."""
    started: list[RunningReceiver] = []

    def make(*faults: str, **options: Any) -> RunningReceiver:
        config = ReceiverConfig(
            api_key=creds.api_key, application_id=creds.application_id, faults=frozenset(faults), **options
        )
        running = start(config)
        started.append(running)
        return running

    yield make
    for running in started:
        running.stop()


@pytest.fixture
def receiver(receivers: ReceiverFactory) -> RunningReceiver:
    """A clean reference receiver."""
    return receivers()


@dataclass
class Run:
    code: int
    out: str
    err: str
    reports: Path

    @property
    def report(self) -> dict[str, Any]:
        loaded: dict[str, Any] = json.loads((self.reports / "callbacks.json").read_text(encoding="utf-8"))
        return loaded

    def checks(self, status: str) -> set[str]:
        """Names of the checks, and of the rows judged across every callback, with this status."""
        report = self.report
        found = {check["name"] for check in report["checks"] if check["status"] == status}
        return found | {row["name"] for row in report["across_all_callbacks"] if row["status"] == status}

    def written(self) -> str:
        return "".join(path.read_text(encoding="utf-8") for path in sorted(self.reports.iterdir()))


#: quick settings for runs against loopback: no pacing, a small budget, a fixed seed
QUICK = ("--rate-limit", "off", "--max-callbacks", "110", "--seed", "7")


@pytest.fixture
def run_callbacks(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Callable[..., Run]:
    """Run ``notify-conformance callbacks ARGS --reports DIR`` in-process."""
    count = 0

    def run(*args: str, reports: bool = True) -> Run:
        nonlocal count
        count += 1
        folder = tmp_path / f"reports-{count}"
        extra = ["--reports", str(folder)] if reports else []
        capsys.readouterr()
        try:
            code = main(["callbacks", *args, *extra])
        except SystemExit as exit_:  # argparse's own errors
            code = int(exit_.code or 0)
        captured = capsys.readouterr()
        return Run(code, captured.out, captured.err, folder)

    return run


def receiver_args(receiver: RunningReceiver) -> tuple[str, ...]:
    return (
        "--receiver-url",
        receiver.message_status_url,
        "--channel-receiver-url",
        receiver.channel_status_url,
    )


class RawServer:
    """A loopback TCP server that does one thing with every connection: ``close`` it at once, ``hang``
    (never answer), or answer ``garbage`` that is not HTTP."""

    def __init__(self, behaviour: str) -> None:
        self.behaviour = behaviour
        self._listener = socket.socket()
        self._listener.bind(("127.0.0.1", 0))
        self._listener.listen()
        self._listener.settimeout(0.1)
        self.url = f"http://127.0.0.1:{self._listener.getsockname()[1]}/callbacks"
        self.connections = 0
        self._open: list[socket.socket] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                connection, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            self.connections += 1
            if self.behaviour == "garbage":
                connection.settimeout(1)
                try:
                    connection.recv(65536)
                    connection.sendall(b"SSH-2.0-OpenSSH_9.6 this is not an HTTP server\r\n")
                except OSError:
                    pass
                connection.close()
            elif self.behaviour == "hang":
                self._open.append(connection)
            else:
                connection.close()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(5)
        self._listener.close()
        for connection in self._open:
            connection.close()


def closed_port_url() -> str:
    """A loopback URL nothing listens on."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}/callbacks/message-status"
