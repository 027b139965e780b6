"""The reference callback receiver: a correct endpoint for NHS Notify's message and channel status
callbacks, the stand-in a supplier's own receiver is compared with (``serve --mode receiver``).

It answers as the contract says a receiver should (behaviour §5, ops §1.1-§1.3):

* the API key is compared in constant time; missing or wrong is 401;
* the signature is HMAC-SHA256 of the raw body bytes keyed with ``<application id>.<API key>``, compared
  with ``hmac.compare_digest``; missing, empty or wrong is 403;
* ``application/vnd.api+json`` and ``application/json`` are both accepted (anything else is 415);
* the body must be ``{"data": [object, ...]}`` with at least one item, and nothing else is required of
  it: unknown members and values the contract does not list yet are taken as they come;
* a callback whose items were all seen before (same ``meta.idempotencyKey``) is a duplicate, accepted
  with 202 and counted, never processed twice; callbacks are accepted in any order;
* success is 202 with no body.

``GET /callbacks/received`` shows what arrived (the last :attr:`ReceiverConfig.keep` callbacks, with
counters); memory is bounded, and so is the set of idempotency keys remembered.

Each step of that is a field of :class:`Hooks`, so a deliberate fault
(:mod:`conformance.reference.receiver_faults`) replaces exactly one of them. This module never imports
the ``callbacks`` command's package, which judges it.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import hmac
import json
import os
import secrets
import socket
import sys
import threading
import time
from collections import OrderedDict, deque
from collections.abc import Callable, MutableMapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from conformance.errors import ExitCode, UsageError
from conformance.reference.server import BackgroundServer, _bind, _stop_on_signals, _url_host, quiet_server

MESSAGE_STATUS_PATH = "/callbacks/message-status"
CHANNEL_STATUS_PATH = "/callbacks/channel-status"
RECEIVED_PATH = "/callbacks/received"
API_KEY_HEADER = "x-api-key"
SIGNATURE_HEADER = "x-hmac-sha256-signature"
#: where the agreed API key and the application id are read from (never the command line)
API_KEY_VARIABLE = "NOTIFY_CALLBACK_API_KEY"
APPLICATION_ID_VARIABLE = "NOTIFY_APPLICATION_ID"
MEDIA_TYPES = ("application/vnd.api+json", "application/json")
#: the sender's request timeout (ops §1.3); the slow fault answers later than this by default
SENDER_TIMEOUT_S = 30.0

_STARTUP_TIMEOUT_S = 15.0
_STOP_TIMEOUT_S = 15.0
_GRACEFUL_SHUTDOWN_S = 1
_WILDCARD_HOSTS = ("", "0.0.0.0", "::")
_KINDS = {MESSAGE_STATUS_PATH: "message-status", CHANNEL_STATUS_PATH: "channel-status"}


@dataclass(frozen=True)
class ReceiverConfig:
    """The credentials the receiver checks, where it listens, and its deliberate faults."""

    api_key: str = field(repr=False)
    application_id: str = field(repr=False)
    host: str = "127.0.0.1"
    port: int = 0
    faults: frozenset[str] = frozenset()
    #: callbacks kept for ``GET /callbacks/received`` (older ones are only counted)
    keep: int = 200
    #: idempotency keys remembered to recognise duplicates (the oldest are forgotten first)
    remember_keys: int = 10_000
    #: the ``slow_answer`` fault's delay: longer than the sender's timeout
    slow_s: float = SENDER_TIMEOUT_S + 5
    #: the ``throttles_without_retry_after`` fault throttles every this many genuine callbacks
    throttle_every: int = 25

    @property
    def signing_key(self) -> bytes:
        return f"{self.application_id}.{self.api_key}".encode()


# ------------------------------------------------------------------------------------------------------
# The behaviour, one replaceable step at a time


def key_matches(sent: str | None, agreed: str) -> bool:
    """The ``x-api-key`` is present and is the agreed key (constant-time comparison)."""
    return sent is not None and hmac.compare_digest(sent.encode("utf-8"), agreed.encode("utf-8"))


def signature_of(raw: bytes, key: bytes) -> str:
    """HMAC-SHA256 of the raw body bytes, as lowercase hex."""
    return hmac.new(key, raw, hashlib.sha256).hexdigest()


def signature_matches(sent: str | None, expected: str) -> bool:
    """The header is present, not empty, and equal to the expected signature (constant time)."""
    return bool(sent) and hmac.compare_digest((sent or "").encode("utf-8"), expected.encode("utf-8"))


def media_type_accepted(content_type: str | None) -> bool:
    """``application/vnd.api+json`` or ``application/json``, parameters (charset) allowed."""
    media = (content_type or "").split(";")[0].strip().lower()
    return media in MEDIA_TYPES


def structure_problem(document: Any) -> str | None:
    """The least a callback must be: ``{"data": [object, ...]}`` with at least one item."""
    if not isinstance(document, dict):
        return "the body is not a JSON object"
    data = document.get("data")
    if not isinstance(data, list) or not data:
        return "data must be an array of at least one item"
    if not all(isinstance(item, dict) for item in data):
        return "every item of data must be an object"
    return None


def no_delay(document: Any) -> float:
    return 0.0


def never_throttle(count: int) -> dict[str, str] | None:
    """None: go on. A fault returns the headers of a 429 to send instead."""
    return None


def any_order(last_seen: MutableMapping[str, int], document: Any) -> bool:
    """Callbacks arrive in any order (ops §1.3); every order is accepted."""
    return True


@dataclass(frozen=True)
class Hooks:
    """The receiver's behaviour, one field per documented step; faults replace one each."""

    key_ok: Callable[[str | None, str], bool] = key_matches
    expected_signature: Callable[[bytes, bytes], str] = signature_of
    signature_ok: Callable[[str | None, str], bool] = signature_matches
    #: the answers to a bad key and a bad signature
    key_status: int = 401
    signature_status: int = 403
    media_type_ok: Callable[[str | None], bool] = media_type_accepted
    throttle: Callable[[int], dict[str, str] | None] = never_throttle
    problem: Callable[[Any], str | None] = structure_problem
    order_ok: Callable[[MutableMapping[str, int], Any], bool] = any_order
    #: the answer to a callback whose items were all seen before
    duplicate_status: int = 202
    delay_s: Callable[[Any], float] = no_delay


def hooks_for(config: ReceiverConfig) -> Hooks:
    """The correct behaviour, with the configured faults installed."""
    from conformance.reference.receiver_faults import FAULTS

    hooks = Hooks()
    for name in sorted(config.faults):
        hooks = FAULTS[name].install(hooks, config)
    return hooks


# ------------------------------------------------------------------------------------------------------
# What arrived


def _item_summary(item: dict[str, Any]) -> dict[str, Any]:
    attributes = item.get("attributes") if isinstance(item.get("attributes"), dict) else {}
    meta = item.get("meta") if isinstance(item.get("meta"), dict) else {}
    assert isinstance(attributes, dict) and isinstance(meta, dict)
    summary = {
        "type": item.get("type"),
        "messageId": attributes.get("messageId"),
        "status": attributes.get("messageStatus", attributes.get("channelStatus")),
        "idempotencyKey": meta.get("idempotencyKey"),
    }
    for extra in ("channel", "supplierStatus"):
        if extra in attributes:
            summary[extra] = attributes[extra]
    return summary


def idempotency_keys(document: dict[str, Any]) -> list[str | None]:
    keys: list[str | None] = []
    for item in document["data"]:
        meta = item.get("meta")
        key = meta.get("idempotencyKey") if isinstance(meta, dict) else None
        keys.append(key if isinstance(key, str) and key else None)
    return keys


class Received:
    """What the receiver was sent: the last callbacks, counters, and the idempotency keys seen."""

    def __init__(self, keep: int, remember_keys: int) -> None:
        self._lock = threading.Lock()
        self._callbacks: deque[dict[str, Any]] = deque(maxlen=max(1, keep))
        self._keys: OrderedDict[str, None] = OrderedDict()
        self._remember = max(1, remember_keys)
        self.total = 0
        self.duplicates = 0
        self.refused: dict[str, int] = {}
        self.genuine = 0
        #: the latest status rank seen per message and channel (for faults about ordering)
        self.last_seen: dict[str, int] = {}

    def count_genuine(self) -> int:
        with self._lock:
            self.genuine += 1
            return self.genuine

    def refuse(self, status: int) -> None:
        with self._lock:
            self.refused[str(status)] = self.refused.get(str(status), 0) + 1

    def seen_before(self, keys: list[str | None]) -> list[bool]:
        """Which keys were seen before; remembers them all (a key of None is never a duplicate)."""
        with self._lock:
            seen = []
            for key in keys:
                if key is None:
                    seen.append(False)
                    continue
                seen.append(key in self._keys)
                self._keys[key] = None
                self._keys.move_to_end(key)
                while len(self._keys) > self._remember:
                    self._keys.popitem(last=False)
            return seen

    def record(
        self, kind: str, content_type: str | None, size: int, document: dict[str, Any], seen: list[bool]
    ) -> None:
        duplicate = bool(seen) and all(seen)
        entry = {
            "kind": kind,
            "receivedAt": datetime.now(UTC).isoformat(timespec="milliseconds"),
            "contentType": content_type,
            "bytes": size,
            "duplicate": duplicate,
            "items": [
                {**_item_summary(item), "seenBefore": item_seen}
                for item, item_seen in zip(document["data"], seen, strict=True)
            ],
        }
        with self._lock:
            self.total += 1
            self.duplicates += duplicate
            self._callbacks.append(entry)

    def snapshot(self) -> dict[str, Any]:
        with self._lock:
            return {
                "total": self.total,
                "duplicates": self.duplicates,
                "refused": dict(sorted(self.refused.items())),
                "kept": self._callbacks.maxlen,
                "callbacks": list(self._callbacks),
            }

    def summary(self) -> str:
        snap = self.snapshot()
        refused = ", ".join(f"{status} x{count}" for status, count in snap["refused"].items()) or "none"
        return f"received {snap['total']} callbacks ({snap['duplicates']} duplicates); refused: {refused}"


# ------------------------------------------------------------------------------------------------------
# The application


def _error(status: int, title: str, headers: dict[str, str] | None = None) -> Response:
    return JSONResponse({"errors": [{"status": str(status), "title": title}]}, status, headers=headers)


def build_app(
    config: ReceiverConfig, hooks: Hooks, received: Received, stopping: threading.Event
) -> Starlette:
    """The receiver's routes; ``stopping`` (set from any thread) cuts a deliberate delay short."""
    key = config.signing_key

    async def callback(request: Request) -> Response:
        try:
            response = await _handle(request)
        except Exception:  # a fault that crashes answers like a crashing receiver, quietly
            response = _error(500, "Internal Server Error")
        if response.status_code >= 400:
            received.refuse(response.status_code)
        return response

    async def _handle(request: Request) -> Response:
        raw = await request.body()
        if not hooks.key_ok(request.headers.get(API_KEY_HEADER), config.api_key):
            return _error(hooks.key_status, "missing or wrong x-api-key")
        if not hooks.signature_ok(request.headers.get(SIGNATURE_HEADER), hooks.expected_signature(raw, key)):
            return _error(hooks.signature_status, "the signature does not match the body; ignored")
        content_type = request.headers.get("content-type")
        if not hooks.media_type_ok(content_type):
            return _error(415, "expected application/vnd.api+json or application/json")
        throttled = hooks.throttle(received.count_genuine())
        if throttled is not None:
            return _error(429, "too many callbacks", throttled)
        try:
            document = json.loads(raw)
        except ValueError:
            return _error(400, "the body is not JSON")
        problem = hooks.problem(document)
        if problem is not None:
            return _error(400, problem)
        if not hooks.order_ok(received.last_seen, document):
            return _error(409, "a later status of this message was received already")
        seen = received.seen_before(idempotency_keys(document))
        if seen and all(seen) and hooks.duplicate_status >= 300:
            return _error(hooks.duplicate_status, "duplicate")
        received.record(_KINDS[request.url.path], content_type, len(raw), document, seen)
        delay = hooks.delay_s(document)
        deadline = time.monotonic() + delay
        while time.monotonic() < deadline and not stopping.is_set():  # a stop ends the wait at once
            await asyncio.sleep(min(0.05, max(0.0, deadline - time.monotonic())))
        return Response(status_code=202)

    async def show_received(request: Request) -> Response:
        return JSONResponse(received.snapshot())

    routes = [
        Route(MESSAGE_STATUS_PATH, callback, methods=["POST"]),
        Route(CHANNEL_STATUS_PATH, callback, methods=["POST"]),
        Route(RECEIVED_PATH, show_received, methods=["GET"]),
    ]
    return Starlette(routes=routes)


# ------------------------------------------------------------------------------------------------------
# Serving


class RunningReceiver(BackgroundServer):
    """A started receiver. Also a context manager that stops it on exit."""

    def __init__(
        self,
        config: ReceiverConfig,
        server: uvicorn.Server,
        thread: threading.Thread,
        sock: socket.socket,
        received: Received,
        stopping: threading.Event,
    ) -> None:
        super().__init__(server, thread, sock)
        self.config = config
        self.received = received
        self._stopping = stopping
        self.origin = f"http://{_url_host(config.host)}:{self.port}"
        self.message_status_url = self.origin + MESSAGE_STATUS_PATH
        self.channel_status_url = self.origin + CHANNEL_STATUS_PATH
        self.received_url = self.origin + RECEIVED_PATH

    def snapshot(self) -> dict[str, Any]:
        """What ``GET /callbacks/received`` shows."""
        return self.received.snapshot()

    def stop(self) -> None:
        """Shut uvicorn down (a deliberately slow answer is cut short); safe to call twice."""
        self._stopping.set()
        super().stop()

    def __repr__(self) -> str:
        return f"RunningReceiver(origin={self.origin!r}, faults={sorted(self.config.faults)!r})"


def start(config: ReceiverConfig) -> RunningReceiver:
    """Start the receiver under uvicorn in a background thread; return once it is listening.

    Raises:
        ValueError: a fault name is unknown.
        OSError: the address cannot be bound.
    """
    from conformance.reference.receiver_faults import check_known

    check_known(config.faults)
    received = Received(config.keep, config.remember_keys)
    stopping = threading.Event()
    app = build_app(config, hooks_for(config), received, stopping)
    server = quiet_server(app)
    sock = _bind(config.host, config.port)
    thread = threading.Thread(
        target=server.run, kwargs={"sockets": [sock]}, name="notify-receiver", daemon=True
    )
    thread.start()
    deadline = time.monotonic() + _STARTUP_TIMEOUT_S
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            server.should_exit = True
            thread.join(_STOP_TIMEOUT_S)
            sock.close()
            raise RuntimeError(f"the reference receiver did not start on {config.host}:{config.port}")
        time.sleep(0.005)
    return RunningReceiver(config, server, thread, sock, received, stopping)


def serve(
    config: ReceiverConfig,
    on_ready: Callable[[RunningReceiver], None],
    on_stop: Callable[[RunningReceiver], None] | None = None,
) -> None:
    """Run in the foreground until SIGINT/SIGTERM, then stop cleanly and return."""
    stop = threading.Event()
    with _stop_on_signals(stop), start(config) as running:
        on_ready(running)
        while running.running and not stop.wait(0.2):
            pass
        running.stop()
        if on_stop is not None:
            on_stop(running)


# ------------------------------------------------------------------------------------------------------
# ``notify-conformance serve --mode receiver``


def list_faults() -> str:
    """One line per receiver fault: name, what it breaks, where documented, the checks that catch it."""
    from conformance.reference.receiver_faults import FAULTS

    width = max(len(name) for name in FAULTS)
    return "".join(
        f"{fault.name:<{width}}  {fault.breaks} ({fault.section}) [caught by: {', '.join(fault.caught_by)}]\n"
        for fault in FAULTS.values()
    )


def _credentials(out: Path | None) -> tuple[str, str, bool]:
    """(API key, application id, generated) from the environment, or fresh ones when ``out`` is given."""
    api_key = os.environ.get(API_KEY_VARIABLE, "").strip()
    application_id = os.environ.get(APPLICATION_ID_VARIABLE, "").strip()
    if api_key and application_id:
        return api_key, application_id, False
    if api_key or application_id:
        missing = APPLICATION_ID_VARIABLE if api_key else API_KEY_VARIABLE
        raise UsageError(
            f"set {missing} as well, or neither (with --credentials-out, to have both generated)"
        )
    if out is None:
        raise UsageError(
            f"set {API_KEY_VARIABLE} and {APPLICATION_ID_VARIABLE}, or give --credentials-out FILE to have "
            "them generated and written there"
        )
    return secrets.token_urlsafe(24), f"app-{secrets.token_hex(8)}", True


def write_credentials(path: Path, running: RunningReceiver) -> None:
    """The receiver's key, application id and URLs as JSON, readable by the owner only (0600)."""
    content = {
        "api_key": running.config.api_key,
        "application_id": running.config.application_id,
        "message_status_url": running.message_status_url,
        "channel_status_url": running.channel_status_url,
        "received_url": running.received_url,
        "environment": {
            API_KEY_VARIABLE: running.config.api_key,
            APPLICATION_ID_VARIABLE: running.config.application_id,
        },
    }
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
        os.fchmod(handle.fileno(), 0o600)
        json.dump(content, handle, indent=2)
        handle.write("\n")


def _check_options(args: argparse.Namespace) -> None:
    from conformance.reference.receiver_faults import check_known

    try:
        check_known(args.fault)
    except ValueError as error:
        raise UsageError(str(error)) from None
    given = [
        option
        for option, value in (
            ("--register-client", getattr(args, "register_client", None)),
            ("--quota", getattr(args, "quota", None)),
            ("--spike-arrest", getattr(args, "spike_arrest", None)),
            ("--no-throttle", getattr(args, "no_throttle", None)),
        )
        if value
    ]
    if given:
        raise UsageError(f"{given[0]} applies only to --mode integration")


def serve_command(args: argparse.Namespace) -> ExitCode:
    """``serve --mode receiver``: print the URLs, never the secrets; Ctrl-C stops it."""
    if args.list_faults:
        sys.stdout.write(list_faults())
        return ExitCode.OK
    _check_options(args)
    out: Path | None = args.credentials_out
    if out is not None and not out.parent.is_dir():
        raise UsageError(f"--credentials-out: folder {out.parent} does not exist")
    api_key, application_id, generated = _credentials(out)
    config = ReceiverConfig(
        api_key=api_key,
        application_id=application_id,
        host=args.host,
        port=args.port,
        faults=frozenset(args.fault),
    )

    def on_ready(running: RunningReceiver) -> None:
        if config.host in _WILDCARD_HOSTS:
            head = f"reference receiver listening on {running.bound_address}; URLs that work from here:"
        else:
            head = f"reference receiver listening on {running.origin}"
        lines = [
            head,
            f"message status callbacks: {running.message_status_url}",
            f"channel status callbacks: {running.channel_status_url}",
            f"what it received: GET {running.received_url}",
        ]
        if config.faults:
            lines.append(f"deliberate faults: {', '.join(sorted(config.faults))}")
        if out is not None:
            write_credentials(out, running)
            where = "generated and written to" if generated else "written to"
            lines.append(f"API key and application id {where} {out} (readable by you only)")
        else:
            lines.append(
                f"API key and application id: from ${API_KEY_VARIABLE} and ${APPLICATION_ID_VARIABLE}"
            )
        lines.append("press Ctrl-C to stop")
        sys.stdout.write("\n".join(lines) + "\n")
        sys.stdout.flush()

    def on_stop(running: RunningReceiver) -> None:
        sys.stdout.write(running.received.summary() + "\n")
        sys.stdout.flush()

    try:
        serve(config, on_ready, on_stop)
    except OSError as error:
        raise UsageError(f"cannot listen on {args.host}:{args.port}: {error.strerror or error}") from None
    return ExitCode.OK
