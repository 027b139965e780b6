"""A target that is down or answers something that is not HTTP: one line, exit 3, before any test."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator

import pytest

from conformance.cli import main


@pytest.fixture
def garbage_server() -> Iterator[str]:
    """A loopback TCP server that answers every connection with bytes that are not HTTP."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    listener.settimeout(0.2)
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                connection, _ = listener.accept()
            except TimeoutError:
                continue
            with connection:
                connection.sendall(b"220 this is not an HTTP server\r\n")

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{listener.getsockname()[1]}/comms"
    stop.set()
    thread.join()
    listener.close()


def test_a_target_answering_garbage_is_unreachable(
    garbage_server: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["run", "--env", "sandbox", "--base-url", garbage_server]) == 3
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err and "NC005" in err
