"""One recorded HTTP exchange as text a person can read in the report: the request (method, URL, headers,
body and a curl line that replays it) and the response (status, headers, body).

Everything shown passes through :mod:`conformance.redaction` first, and bodies are cut to a preview with a
note of how much was cut, so a 5 MB batch cannot swell the single-file HTML and a secret cannot reach the
page. A body is written once: a short request body is repeated in the curl line, a longer one is shown as
sent and the curl line reads it from a file. The compact form (a passing test's evidence) has a smaller
preview, bodies as sent (not indented), no curl line and none of the headers the transport adds on every
exchange. The sizes are in :mod:`conformance.limits`.
"""

from __future__ import annotations

import hashlib
import http
import json
import shlex
from dataclasses import dataclass
from urllib.parse import urlsplit

import httpx

from conformance import limits, redaction
from conformance.exchange import Exchange

#: How much of a body the report shows (after pretty-printing); the rest is summarised in one line.
BODY_PREVIEW_CHARS = limits.BODY_PREVIEW_CHARS
#: The same for the compact form.
COMPACT_BODY_PREVIEW_CHARS = limits.COMPACT_BODY_PREVIEW_CHARS

#: How far past the cut a long body is redacted: far more than any secret is long.
_REDACTION_MARGIN = 64 * 1024

#: Headers curl works out for itself; repeating them would only make the replay line wrong when edited.
_CURL_SKIPS = frozenset({"host", "content-length", "accept-encoding", "connection"})
#: Headers every exchange carries whatever is tested (the client's transport, the server's clock): the
#: compact form leaves them out.
_TRANSPORT_HEADERS = _CURL_SKIPS | {"user-agent", "date"}
_TOKEN_HINT = f" (put your own credentials where it shows {redaction.MARKER})"


@dataclass(frozen=True)
class ExchangeText:
    """The three strings the report shows for one exchange."""

    title: str
    request: str
    response: str

    @property
    def size(self) -> int:
        return len(self.request) + len(self.response)

    @property
    def combined(self) -> str:
        """Request and response as one text (the compact form's single attachment)."""
        return f"{self.request}\n\n{self.response}"


def describe_exchange(
    exchange: Exchange, preview_chars: int = BODY_PREVIEW_CHARS, *, replay: bool = True
) -> ExchangeText:
    """Readable, redacted, size-capped text for ``exchange``; ``replay`` adds the curl line."""
    request_headers = redaction.redact_headers(_as_sent(exchange.request_headers))
    response_headers = redaction.redact_headers(_as_sent(exchange.response_headers))
    url = redaction.redact(exchange.url)
    request_body = _Body.of(
        exchange.request_body,
        exchange.request_headers.get("content-type", ""),
        preview_chars,
        curl_chars=limits.CURL_INLINE_BODY_CHARS if replay else None,
    )
    response_body = _Body.of(
        exchange.response_body, exchange.response_headers.get("content-type", ""), preview_chars
    )
    request_head = "\n".join([f"{exchange.method} {url}", *_header_lines(request_headers)])
    lines = [request_head, "", request_body.shown]
    if replay:
        lines += [
            "",
            "Replay with curl" + (_TOKEN_HINT if redaction.MARKER in request_head else "") + ":",
            _curl(exchange.method, url, request_headers, request_body),
        ]
    request = "\n".join(lines)
    status_line = f"HTTP {exchange.status} {_reason(exchange.status)}".rstrip()
    waited = [f"Waited out first: {line}" for line in exchange.waited]
    response = "\n".join([*waited, status_line, *_header_lines(response_headers), "", response_body.shown])
    return ExchangeText(title=_title(exchange, url), request=request, response=response)


def describe_compactly(exchange: Exchange, preview_chars: int = COMPACT_BODY_PREVIEW_CHARS) -> ExchangeText:
    """The compact form, for a test that passed: the request line, the headers that say something, short
    bodies as sent; the status line, headers and body of the response. No curl line."""
    url = redaction.redact(exchange.url)

    def part(first: list[str], headers: httpx.Headers, raw: bytes) -> str:
        pairs = redaction.redact_headers(_as_sent(headers))
        shown = [(name, value) for name, value in pairs if name.lower() not in _TRANSPORT_HEADERS]
        body = _Body.of(raw, headers.get("content-type", ""), preview_chars, indent=False)
        return "\n".join([*first, *_header_lines(shown), "", body.shown])

    status_line = f"HTTP {exchange.status} {_reason(exchange.status)}".rstrip()
    waited = [f"Waited out first: {line}" for line in exchange.waited]
    return ExchangeText(
        title=_title(exchange, url),
        request=part([f"{exchange.method} {url}"], exchange.request_headers, exchange.request_body),
        response=part([*waited, status_line], exchange.response_headers, exchange.response_body),
    )


def title_of(exchange: Exchange) -> str:
    """The step title alone (``GET /comms/v1/messages/x \u2192 404 Not Found (3 ms)``), redacted."""
    return _title(exchange, redaction.redact(exchange.url))


def _title(exchange: Exchange, url: str) -> str:
    parts = urlsplit(url)
    path = parts.path + (f"?{parts.query}" if parts.query else "")
    timing = f" ({exchange.elapsed_ms:.0f} ms)" if exchange.elapsed_ms else ""
    if exchange.waited:
        timing += f" after {len(exchange.waited)} throttled attempt(s)"
    return (
        f"{exchange.method} {path or '/'} \u2192 {exchange.status} {_reason(exchange.status)}".rstrip()
        + timing
    )


def _reason(status: int) -> str:
    try:
        return http.HTTPStatus(status).phrase
    except ValueError:
        return ""


def _as_sent(headers: httpx.Headers) -> list[tuple[str, str]]:
    """Header pairs with their names as they were written (the suite tests case-insensitivity)."""
    return [(name.decode("latin-1"), value.decode("latin-1")) for name, value in headers.raw]


def _header_lines(headers: list[tuple[str, str]]) -> list[str]:
    return [f"{name}: {value}" for name, value in headers]


@dataclass(frozen=True)
class _Body:
    """A body as the report shows it.

    ``replayable`` is the exact redacted text when the curl line should repeat it, ``""`` when there is no
    body, and None when it cannot (binary, cut, or long); ``as_sent`` says ``shown`` is exactly that text.
    """

    shown: str
    replayable: str | None
    as_sent: bool = False

    @classmethod
    def of(
        cls,
        raw: bytes,
        content_type: str,
        preview_chars: int,
        curl_chars: int | None = None,
        *,
        indent: bool = True,
    ) -> _Body:
        """``curl_chars`` None: no curl line repeats the body, so JSON is indented whenever it fits
        (unless not ``indent``: then a body is always shown as sent)."""
        if not raw:
            return cls("(no body)", "")
        size = f"{len(raw):,} bytes, sha256 {hashlib.sha256(raw).hexdigest()}"
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            return cls(f"(binary body not shown: {size})", None)
        # redact well past the cut before cutting, so a secret straddling the cut cannot survive half-shown;
        # the rest of a huge body is never shown, so it is not redacted (a 5 MB batch would take a second)
        whole = len(text) <= preview_chars + _REDACTION_MARGIN
        exact = redaction.redact(text if whole else text[: preview_chars + _REDACTION_MARGIN])
        fits = whole and len(exact) <= preview_chars
        if fits and (curl_chars is None or len(exact) <= curl_chars):
            # short: indented to read, and (with a curl line) repeated there exactly as sent
            replayable = exact if curl_chars is not None else None
            shown, as_sent = (_pretty(exact, content_type), False) if indent else (exact, True)
        elif fits:
            # long enough that repeating it in the curl line would double it: shown once, as sent
            replayable, shown, as_sent = None, exact, True
        else:
            replayable, shown, as_sent = None, exact, False
        if len(shown) <= preview_chars:
            return cls(shown, replayable, as_sent)
        total = len(shown) if whole else len(text)
        cut = total - preview_chars
        note = f"\n\u2026 [{cut:,} more characters cut here for the report; the whole body is {size}]"
        return cls(shown[:preview_chars] + note, replayable, False)


def _pretty(text: str, content_type: str) -> str:
    """Indent JSON so nested error objects are readable; anything else is shown as sent."""
    if "json" not in content_type.lower() and not text.lstrip().startswith(("{", "[")):
        return text
    try:
        return json.dumps(json.loads(text), indent=2, ensure_ascii=False)
    except ValueError:
        return text


def _curl(method: str, url: str, headers: list[tuple[str, str]], body: _Body) -> str:
    parts = ["curl -i"]
    if method == "HEAD":
        parts.append("--head")
    elif method != "GET" or body.replayable:
        parts.append(f"-X {shlex.quote(method)}")
    parts.append(shlex.quote(url))
    parts += [
        f"-H {shlex.quote(f'{name}: {value}')}" for name, value in headers if name.lower() not in _CURL_SKIPS
    ]
    if body.replayable:
        parts.append(f"--data-raw {shlex.quote(body.replayable)}")
    elif body.as_sent:
        parts.append("--data-binary @body  # the body above, exactly as sent: save it to a file named body")
    elif body.replayable is None:
        parts.append("--data-binary @body  # the body is too large or not text: save it to a file named body")
    return " \\\n  ".join(parts)
