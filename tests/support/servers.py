"""Serve any ASGI app on loopback in a background thread, and record every request it receives.

:class:`Traffic` is filled by :class:`Recorder`, the outermost ASGI layer of every server built here, so
the counts and timestamps are the server's own view: one entry per HTTP request that arrived, with the
status it was answered with (None while unanswered or when it never was).
"""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass

import uvicorn
from starlette.types import ASGIApp, Message, Receive, Scope, Send

STARTUP_TIMEOUT_S = 15.0
STOP_TIMEOUT_S = 15.0

TOKEN_PATH = "/oauth2/token"
CREATE_PATHS = ("/comms/v1/messages", "/comms/v1/message-batches")


@dataclass
class Hit:
    """One request as the server saw it."""

    #: ``time.monotonic()`` when the request line and headers had arrived
    at: float
    method: str
    path: str
    status: int | None = None

    @property
    def is_token(self) -> bool:
        return self.path == TOKEN_PATH

    @property
    def is_create(self) -> bool:
        """A POST that created a message or a batch (201)."""
        return self.method == "POST" and self.path.rstrip("/") in CREATE_PATHS and self.status == 201


class Traffic:
    """Thread-safe log of the requests one server received."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._hits: list[Hit] = []

    def record(self, hit: Hit) -> None:
        with self._lock:
            self._hits.append(hit)

    @property
    def hits(self) -> list[Hit]:
        with self._lock:
            return list(self._hits)

    @property
    def count(self) -> int:
        with self._lock:
            return len(self._hits)

    @property
    def token_requests(self) -> int:
        return sum(hit.is_token for hit in self.hits)

    @property
    def creates(self) -> int:
        return sum(hit.is_create for hit in self.hits)

    def statuses(self) -> list[int | None]:
        return [hit.status for hit in self.hits]

    def peak(self, window_s: float) -> int:
        """The most requests that arrived within any window of ``window_s`` seconds."""
        return peak_in_window((hit.at for hit in self.hits), window_s)

    def wait_for(self, count: int, timeout_s: float) -> bool:
        """Wait until at least ``count`` requests have arrived; False on timeout."""
        deadline = time.monotonic() + timeout_s
        while self.count < count:
            if time.monotonic() > deadline:
                return False
            time.sleep(0.02)
        return True

    def summary(self) -> str:
        """A short text for assertion messages: count and the first and last few requests."""
        hits = self.hits
        shown = [f"{h.method} {h.path} -> {h.status}" for h in hits[:5]]
        if len(hits) > 10:
            shown.append("...")
        shown += [f"{h.method} {h.path} -> {h.status}" for h in hits[max(5, len(hits) - 5) :]]
        return f"{len(hits)} request(s): " + "; ".join(shown)


def peak_in_window(times: Iterable[float], window_s: float) -> int:
    """The largest number of instants in any half-open interval ``[t, t + window_s)`` (sliding window)."""
    ordered = sorted(times)
    best = 0
    start = 0
    for end, moment in enumerate(ordered):
        while ordered[start] <= moment - window_s:
            start += 1
        best = max(best, end - start + 1)
    return best


class Recorder:
    """ASGI middleware: log each HTTP request into ``traffic`` on arrival and note its status."""

    def __init__(self, app: ASGIApp, traffic: Traffic) -> None:
        self.app = app
        self.traffic = traffic

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        hit = Hit(at=time.monotonic(), method=scope["method"], path=scope["path"])
        self.traffic.record(hit)

        async def noting_send(message: Message) -> None:
            if message["type"] == "http.response.start":
                hit.status = int(message["status"])
            await send(message)

        await self.app(scope, receive, noting_send)


def _bind(host: str) -> socket.socket:
    if not host.startswith("127."):
        raise ValueError(f"test servers listen on loopback only, not {host}")
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, 0))
    return sock


class LoopbackServer:
    """An ASGI app under uvicorn on a loopback address (127.0.0.1 unless told another 127.x address; a
    free port), in a daemon thread, with its traffic log.

    A context manager; :meth:`stop` is safe to call twice. Handlers still running at stop (a deliberate
    hang) are cancelled after uvicorn's one-second graceful shutdown.
    """

    def __init__(self, app: ASGIApp, name: str = "loopback", host: str = "127.0.0.1") -> None:
        self.traffic = Traffic()
        self.name = name
        config = uvicorn.Config(
            Recorder(app, self.traffic),
            log_config=None,
            log_level="critical",
            access_log=False,
            server_header=False,
            lifespan="off",
            ws="none",
            http="h11",
            timeout_graceful_shutdown=1,
        )
        self._server = uvicorn.Server(config)
        self._socket = _bind(host)
        self.port: int = self._socket.getsockname()[1]
        self.origin = f"http://{host}:{self.port}"
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [self._socket]}, name=f"support-{name}", daemon=True
        )
        #: set by :meth:`stop`; misbehaviours that wait (hangs) watch it to end promptly
        self.stopping = threading.Event()

    def start(self) -> LoopbackServer:
        self._thread.start()
        deadline = time.monotonic() + STARTUP_TIMEOUT_S
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"the {self.name} server did not start")
            time.sleep(0.005)
        return self

    def stop(self) -> None:
        self.stopping.set()
        self._server.should_exit = True
        if self._thread.is_alive():
            self._thread.join(STOP_TIMEOUT_S)
        self._socket.close()

    def __enter__(self) -> LoopbackServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def __repr__(self) -> str:
        return f"LoopbackServer({self.name!r}, {self.origin!r})"


async def drain(receive: Receive) -> bytes:
    """Read the whole request body (so keep-alive stays in step) and return it."""
    chunks: list[bytes] = []
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            break
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            break
    return b"".join(chunks)


async def wait_until(event: threading.Event, limit_s: float) -> None:
    """Sleep until ``event`` is set (from any thread) or ``limit_s`` has passed, whichever is first."""
    deadline = time.monotonic() + limit_s
    while not event.is_set() and time.monotonic() < deadline:
        await asyncio.sleep(0.05)
