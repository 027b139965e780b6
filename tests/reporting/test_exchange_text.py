"""How one exchange reads in the report: complete, redacted, and capped in size."""

from __future__ import annotations

import json
import shlex

from conformance import redaction
from conformance.exchange import Exchange
from conformance.reporting.exchange_text import BODY_PREVIEW_CHARS, describe_exchange

URL = "http://127.0.0.1:8000/comms/v1/messages"


def _post(body: bytes, response_body: bytes = b'{"data": {"id": "x"}}') -> Exchange:
    return Exchange.build(
        method="POST",
        url=URL,
        status=201,
        request_headers={
            "Content-Type": "application/vnd.api+json",
            "Authorization": "Bearer opaque-token-123456",
            "X-Correlation-ID": "abc",
        },
        request_body=body,
        response_headers={"Content-Type": "application/vnd.api+json"},
        response_body=response_body,
    )


def test_request_and_response_show_everything_a_reader_needs() -> None:
    text = describe_exchange(_post(b'{"data":{"type":"Message"}}'))
    assert text.title.startswith("POST /comms/v1/messages \u2192 201 Created")
    assert text.request.splitlines()[0] == f"POST {URL}"
    assert "X-Correlation-ID: abc" in text.request  # header names keep the case they were sent with
    assert '"type": "Message"' in text.request  # JSON is indented for reading
    assert text.response.splitlines()[0] == "HTTP 201 Created"
    assert "Content-Type: application/vnd.api+json" in text.response
    assert '"id": "x"' in text.response


def test_secrets_are_masked_in_headers_bodies_and_the_curl_line() -> None:
    redaction.register("registered-api-key-987654")
    body = b"grant_type=client_credentials&client_assertion=eyJhbGciOiJSUzUxMiJ9.eyJpc3MiOiJ4In0.c2ln"
    text = describe_exchange(
        _post(body, b'{"access_token": "issued-token-42", "note": "registered-api-key-987654"}')
    )
    combined = text.request + text.response
    for secret in (
        "opaque-token-123456",
        "eyJhbGciOiJSUzUxMiJ9",
        "issued-token-42",
        "registered-api-key-987654",
    ):
        assert secret not in combined
    assert "Authorization: [REDACTED]" in text.request
    assert "put your own credentials" in text.request


def test_the_curl_line_replays_the_request() -> None:
    text = describe_exchange(_post(b'{"data":{"type":"Message"}}'))
    curl = text.request.split("Replay with curl", 1)[1].split(":", 1)[1].strip()
    words = shlex.split(curl.replace("\\\n", " "))
    assert words[:4] == ["curl", "-i", "-X", "POST"]
    assert URL in words
    assert words[words.index("--data-raw") + 1] == '{"data":{"type":"Message"}}'
    assert "Content-Type: application/vnd.api+json" in words
    assert not any(word.lower().startswith(("host:", "content-length:")) for word in words)


def test_a_five_megabyte_batch_is_previewed_not_attached_whole() -> None:
    messages = [
        {"messageReference": f"ref-{i:07d}", "recipient": {"nhsNumber": "9990548609"}} for i in range(65000)
    ]
    body = json.dumps({"data": {"attributes": {"messages": messages}}}).encode()
    assert len(body) > 5_000_000
    text = describe_exchange(_post(body))
    assert text.size < 3 * BODY_PREVIEW_CHARS
    assert f"{len(body):,} bytes, sha256 " in text.request
    assert "--data-binary @body" in text.request


def test_binary_and_empty_bodies_are_named_not_dumped() -> None:
    exchange = Exchange.build(method="GET", url=URL, status=200, response_body=bytes(range(256)))
    text = describe_exchange(exchange)
    assert "(no body)" in text.request
    assert "(binary body not shown: 256 bytes" in text.response


def test_a_secret_straddling_the_preview_cut_is_masked_before_cutting() -> None:
    redaction.register("straddling-secret-value-0001")
    prefix = "x" * (BODY_PREVIEW_CHARS - 10)
    exchange = Exchange.build(
        method="GET",
        url=URL,
        status=200,
        response_body=(prefix + "straddling-secret-value-0001" + "y" * 100).encode(),
    )
    text = describe_exchange(exchange)
    assert "straddling-sec" not in text.response
