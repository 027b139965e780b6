"""Helpers for the end-to-end report tests: read what the single-file HTML embeds, open it in headless
Chromium with the network blocked, and serve a deliberately wrong API on loopback."""

from __future__ import annotations

import base64
import re
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path
from typing import ClassVar

import pytest
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from conformance.reporting import allure_html

CHROMIUM = Path("/usr/bin/chromium")
#: Debian's package; the CI script installs it with: apt-get update && apt-get install -y chromium
needs_chromium = pytest.mark.skipif(
    not CHROMIUM.exists(), reason="needs Debian's chromium at /usr/bin/chromium (apt-get install -y chromium)"
)

_DATA_URI = re.compile(r"data:[\w/+.-]+;base64,([A-Za-z0-9+/=]+)")


def embedded_files(page: str) -> dict[str, bytes]:
    """The report data the single-file HTML carries, decoded and unpacked."""
    return allure_html.embedded_files(page)


def decoded_payloads(page: str) -> list[bytes]:
    """Everything base64-encoded in the page (report data, scripts, styles, images), decoded."""
    return list(embedded_files(page).values()) + [base64.b64decode(d) for d in _DATA_URI.findall(page)]


class _LoadingTags(HTMLParser):
    """Collects the URLs that script, link, img, iframe and media tags would load."""

    LOADING: ClassVar[dict[str, str]] = {
        "script": "src",
        "img": "src",
        "iframe": "src",
        "link": "href",
        "source": "src",
        "embed": "src",
    }

    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        wanted = self.LOADING.get(tag)
        self.urls += [value for name, value in attrs if name == wanted and value]


def loaded_urls(page: str) -> list[str]:
    parser = _LoadingTags()
    parser.feed(page)
    return parser.urls


def chromium(url: str, user_data: Path, *, screenshot: Path | None = None, size: str = "1400,1000") -> str:
    """Open ``url`` in headless Chromium with every outside address unreachable; return the rendered DOM."""
    flags = [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        f"--user-data-dir={user_data}",
        "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1",
        "--proxy-server=127.0.0.1:9",
        f"--window-size={size}",
        "--virtual-time-budget=10000",
    ]
    if screenshot is not None:
        subprocess.run(
            [str(CHROMIUM), *flags, f"--screenshot={screenshot}", url],
            capture_output=True,
            timeout=120,
            check=True,
        )
    done = subprocess.run(
        [str(CHROMIUM), *flags, "--dump-dom", url], capture_output=True, text=True, timeout=120, check=True
    )
    return done.stdout


WRONG_BODY = {"hello": "this is not the NHS Notify API"}


async def _wrong_answer(request: Request) -> Response:
    return JSONResponse(WRONG_BODY, status_code=200)


@pytest.fixture
def wrong_api() -> Iterator[str]:
    """A server on loopback that answers every request 200 with a body that is not the API's; its base URL."""
    methods = ["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "HEAD"]
    app = Starlette(routes=[Route("/{path:path}", _wrong_answer, methods=methods)])
    config = uvicorn.Config(app, log_level="warning", lifespan="off", access_log=False, ws="none", http="h11")
    server = uvicorn.Server(config)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.01)
    assert server.started, "the wrong API did not start"
    yield f"http://127.0.0.1:{sock.getsockname()[1]}/comms"
    server.should_exit = True
    thread.join(10)
    sock.close()
