"""Run the reference API under uvicorn: in a background thread (:func:`start`) or in the foreground
until Ctrl-C / SIGTERM (:func:`serve`).

The listening socket is bound here, before uvicorn starts, so ``port=0`` works and the real port is
known at once. uvicorn runs quietly (warnings only, no access log, no ``server`` header).
"""

from __future__ import annotations

import contextlib
import ipaddress
import secrets
import signal
import socket
import threading
import time
from collections.abc import Callable, Iterator
from types import FrameType
from typing import TYPE_CHECKING, Any, Self

import uvicorn

from conformance.reference.app import build_app
from conformance.reference.config import ReferenceConfig
from conformance.reference.context import BASE_PATH
from conformance.reference.oauth import TOKEN_PATH, ClientRegistry
from conformance.reference.store import MessageStore
from conformance.reference.throttle import TRAFFIC_PATH, Throttle, Traffic

if TYPE_CHECKING:
    from conformance.reference.callback_delivery import CallbackDelivery

__all__ = ["BackgroundServer", "ReferenceConfig", "RunningReference", "serve", "start"]

_STARTUP_TIMEOUT_S = 15.0
_STOP_TIMEOUT_S = 15.0
_GRACEFUL_SHUTDOWN_S = 1


def _url_host(host: str) -> str:
    """The host to put in URLs: loopback for wildcard binds, brackets for IPv6."""
    if host in ("", "0.0.0.0"):
        return "127.0.0.1"
    if host == "::":
        return "[::1]"
    with contextlib.suppress(ValueError):
        if ipaddress.ip_address(host).version == 6:
            return f"[{host}]"
    return host


def _address(sockname: tuple[object, ...]) -> str:
    host, port = str(sockname[0]), sockname[1]
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def _bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # an explicit IPPROTO_TCP matters: asyncio only sets TCP_NODELAY on accepted sockets whose proto says
    # TCP, and without it uvicorn's separate header and body writes stall ~40 ms on delayed ACKs
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
    except OSError:
        sock.close()
        raise
    return sock


def quiet_server(app: Any) -> uvicorn.Server:
    """uvicorn as every loopback server here runs it: warnings only, no access log, no server header."""
    config = uvicorn.Config(
        app,
        log_config=None,
        log_level="warning",
        access_log=False,
        server_header=False,
        lifespan="off",
        ws="none",
        http="h11",
        timeout_graceful_shutdown=_GRACEFUL_SHUTDOWN_S,
    )
    return uvicorn.Server(config)


class BackgroundServer:
    """A uvicorn server on its own thread (the reference API, the reference receiver): whether it still
    runs, how it stops (safe to call twice), and a context manager that stops it on exit."""

    def __init__(self, server: uvicorn.Server, thread: threading.Thread, sock: socket.socket) -> None:
        self._server = server
        self._thread = thread
        self._socket = sock
        self.port: int = sock.getsockname()[1]
        #: the address the socket is bound to, as ``host:port`` (``0.0.0.0:PORT`` for a wildcard bind)
        self.bound_address = _address(sock.getsockname())

    @property
    def running(self) -> bool:
        return self._thread.is_alive()

    def stop(self) -> None:
        """Ask uvicorn to shut down gracefully and wait for its thread; safe to call twice."""
        self._server.should_exit = True
        if self._thread.is_alive() and self._thread is not threading.current_thread():
            self._thread.join(_STOP_TIMEOUT_S)
        self._socket.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


class RunningReference(BackgroundServer):
    """A started reference server. Also a context manager that stops it on exit."""

    def __init__(
        self,
        config: ReferenceConfig,
        server: uvicorn.Server,
        thread: threading.Thread,
        sock: socket.socket,
        registry: ClientRegistry,
        store: MessageStore,
        status_key: str,
        throttle: Throttle,
        callbacks: CallbackDelivery | None = None,
    ) -> None:
        super().__init__(server, thread, sock)
        self.config = config
        self.registry = registry
        self.store = store
        self.throttle = throttle
        #: the callback sender (integration mode with ``config.callbacks``), else None
        self.callbacks = callbacks
        #: the ``apikey`` header value /_status accepts
        self.status_key = status_key
        self.origin = f"http://{_url_host(config.host)}:{self.port}"
        self.base_url = self.origin + BASE_PATH
        self.token_url = self.origin + TOKEN_PATH
        #: the reference-only JSON view of :attr:`traffic`
        self.traffic_url = self.origin + TRAFFIC_PATH
        #: the reference-only JSON view of :attr:`callbacks` (404 when it sends none)
        self.callbacks_url = self.origin + "/_reference/callbacks"

    def stop(self) -> None:
        """Stop answering, then stop sending callbacks (what still waits is abandoned)."""
        super().stop()
        if self.callbacks is not None:
            self.callbacks.stop()

    @property
    def traffic(self) -> Traffic:
        """Per-application counters so far: requests, 429s sent, peak accepted per 1 s and per 60 s."""
        return self.throttle.traffic()

    def __repr__(self) -> str:
        return f"RunningReference(mode={self.config.mode!r}, origin={self.origin!r})"


def start(config: ReferenceConfig) -> RunningReference:
    """Start uvicorn in a background thread; return once it is listening."""
    registry = ClientRegistry.for_config(config)
    store = MessageStore.for_config(config)
    throttle = Throttle.for_config(config)
    status_key = config.status_key or secrets.token_urlsafe(24)
    delivery: CallbackDelivery | None = None
    if config.mode == "integration" and config.callbacks is not None:
        from conformance.reference.callback_delivery import CallbackDelivery

        delivery = CallbackDelivery(config.callbacks).start()
    app = build_app(config, registry, status_key, store, throttle, delivery)
    server = quiet_server(app)
    try:
        sock = _bind(config.host, config.port)
    except OSError:
        if delivery is not None:
            delivery.stop()
        raise
    thread = threading.Thread(
        target=server.run, kwargs={"sockets": [sock]}, name=f"notify-reference-{config.mode}", daemon=True
    )
    thread.start()
    deadline = time.monotonic() + _STARTUP_TIMEOUT_S
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            server.should_exit = True
            thread.join(_STOP_TIMEOUT_S)
            sock.close()
            if delivery is not None:
                delivery.stop()
            raise RuntimeError(
                f"the {config.mode} reference API did not start on {config.host}:{config.port}"
            )
        time.sleep(0.005)
    return RunningReference(config, server, thread, sock, registry, store, status_key, throttle, delivery)


@contextlib.contextmanager
def _stop_on_signals(stop: threading.Event) -> Iterator[None]:
    """Turn SIGINT/SIGTERM into ``stop.set()`` while inside (main thread only), then restore handlers."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def request_stop(signum: int, frame: FrameType | None) -> None:
        stop.set()

    previous = {sig: signal.signal(sig, request_stop) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def serve(
    config: ReferenceConfig,
    on_ready: Callable[[RunningReference], None],
    on_stop: Callable[[RunningReference], None] | None = None,
) -> None:
    """Run in the foreground until SIGINT/SIGTERM, then stop cleanly and return (so the exit status is 0).

    ``on_stop`` runs once the server has stopped answering (its counters are final by then).
    """
    stop = threading.Event()
    with _stop_on_signals(stop), start(config) as running:
        on_ready(running)
        # waking up regularly lets the signal handler run promptly and notices a dead server thread
        while running.running and not stop.wait(0.2):
            pass
        running.stop()
        if on_stop is not None:
            on_stop(running)
