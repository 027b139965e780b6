"""What the gateway knows about one request once it has arrived: ids, negotiated headers, URLs."""

from __future__ import annotations

import itertools
import os
import secrets
from dataclasses import dataclass
from typing import TYPE_CHECKING

from starlette.requests import Request

from conformance.reference.config import ReferenceConfig
from conformance.reference.routing import Destination

if TYPE_CHECKING:
    from conformance.reference.oauth import ClientRecord

BASE_PATH = "/comms"
_SEQUENCE = itertools.count(1)
_PROCESS_TAG = f"{os.getpid() % 100_000:05d}"


def new_message_id() -> str:
    """A gateway message id shaped like Apigee's (``rrt-<19 digits>-c-geu2-<5>-<7>-<n>``)."""
    sequence = next(_SEQUENCE) % 10_000_000
    return f"rrt-{secrets.randbelow(10**19):019d}-c-geu2-{_PROCESS_TAG}-{sequence:07d}-1"


@dataclass
class RequestContext:
    """Per-request facts every stage reads; ``client`` is filled in by the integration auth stage."""

    request: Request
    config: ReferenceConfig
    method: str
    #: the request path with runs of slashes collapsed (percent-decoded, as routing sees it)
    path: str
    message_id: str
    correlation_id: str
    accept: str | None
    origin: str | None
    #: scheme://host of the request, as the client addressed us
    origin_url: str
    #: the exact request URL without its query string
    url_without_query: str
    #: set by the auth stage (integration mode)
    client: ClientRecord | None = None
    #: set by the routing stage
    operation: Destination | None = None

    @property
    def public_base(self) -> str:
        """``{scheme}://{host}/comms``: the base the client used, for building ``links``."""
        return self.origin_url + BASE_PATH

    @property
    def suffix(self) -> str | None:
        """The path after ``/comms`` (``""`` for the bare base), or None outside the API's base path."""
        if self.path == BASE_PATH:
            return ""
        if self.path.startswith(BASE_PATH + "/"):
            return self.path[len(BASE_PATH) :]
        return None

    def header(self, name: str) -> str | None:
        return self.request.headers.get(name)


def collapse_slashes(path: str) -> str:
    """Runs of ``/`` become one, as Apigee normalises ``{base}//v1/messages``."""
    while "//" in path:
        path = path.replace("//", "/")
    return path


def build_context(request: Request, config: ReferenceConfig) -> RequestContext:
    scope = request.scope
    message_id = new_message_id()
    supplied = request.headers.get("x-correlation-id")
    host = request.headers.get("host")
    if not host:
        server = scope.get("server") or (config.host, config.port)
        host = f"{server[0]}:{server[1]}"
    origin_url = f"{scope.get('scheme', 'http')}://{host}"
    raw_path = scope.get("raw_path")
    path_text = raw_path.decode("latin-1") if raw_path else scope["path"]
    return RequestContext(
        request=request,
        config=config,
        method=request.method.upper(),
        path=collapse_slashes(scope["path"]),
        message_id=message_id,
        correlation_id=supplied if supplied else message_id,
        accept=request.headers.get("accept"),
        origin=request.headers.get("origin"),
        origin_url=origin_url,
        url_without_query=origin_url + path_text.split("?", 1)[0],
    )
