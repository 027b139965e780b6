"""The sender: only the URLs given, no proxies from the environment, no redirects followed, and answers
that are not 202 judged as deviations or failures; 429s waited out and judged by their Retry-After."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable, Iterator

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from conformance.callbacks.deliveries import Delivery
from conformance.callbacks.schema import Kind
from conformance.callbacks.sender import RefusedUrl, Sender
from tests.callbacks.conftest import QUICK, Run, Secrets
from tests.support.servers import LoopbackServer


def test_only_the_given_urls_are_sent_to() -> None:
    seen: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(str(request.url))
        return httpx.Response(202)

    urls = {Kind.MESSAGE_STATUS: "http://127.0.0.1:1/a", Kind.CHANNEL_STATUS: "http://127.0.0.1:1/b"}
    with Sender(urls, 5, transport=httpx.MockTransport(handler)) as sender:
        delivery = Delivery("x", Kind.CHANNEL_STATUS, "x", b"{}", ())
        assert sender.send(delivery).status == 202
        sender.urls[Kind.CHANNEL_STATUS] = "http://127.0.0.1:1/elsewhere"
        with pytest.raises(RefusedUrl):
            sender.send(delivery)
    assert seen == ["http://127.0.0.1:1/b"]


def _receiver_app(creds: Secrets, answer: Callable[[int], Response]) -> Starlette:
    """A receiver that checks key and signature properly, then answers ``answer(n)`` to the n-th genuine
    callback."""
    count = 0
    key = creds.signing_secret.encode()

    async def callback(request: Request) -> Response:
        nonlocal count
        body = await request.body()
        if request.headers.get("x-api-key") != creds.api_key:
            return Response(status_code=401)
        expected = hmac.new(key, body, hashlib.sha256).hexdigest()
        if not hmac.compare_digest(request.headers.get("x-hmac-sha256-signature", ""), expected):
            return Response(status_code=403)
        count += 1
        return answer(count)

    return Starlette(routes=[Route("/cb", callback, methods=["POST"])])


@pytest.fixture
def custom_receiver(creds: Secrets, request: pytest.FixtureRequest) -> Iterator[str]:
    with LoopbackServer(_receiver_app(creds, request.param), name="custom-receiver").start() as server:
        yield server.origin + "/cb"


@pytest.mark.parametrize("custom_receiver", [lambda n: Response(status_code=200)], indirect=True)
def test_another_2xx_is_a_warning_not_a_failure(
    custom_receiver: str, run_callbacks: Callable[..., Run]
) -> None:
    run = run_callbacks("--receiver-url", custom_receiver, *QUICK)
    assert run.code == 0, run.out
    report = run.report
    warnings = {v["code"] for c in report["checks"] for v in c["violations"]}
    assert warnings == {"CB-002"}
    assert all(v["severity"] == "warning" for c in report["checks"] for v in c["violations"])
    assert "deviation(s) from the documented answers (warnings)" in run.out
    assert run.checks("deviates") >= {"valid-example", "every-status"}


def _throttle_once(n: int) -> Response:
    if n == 3:
        return Response(status_code=429, headers={"Retry-After": "1"})
    return Response(status_code=202)


@pytest.mark.parametrize("custom_receiver", [_throttle_once], indirect=True)
def test_a_429_is_waited_out_and_its_retry_after_judged(
    custom_receiver: str, run_callbacks: Callable[..., Run]
) -> None:
    run = run_callbacks("--receiver-url", custom_receiver, *QUICK)
    assert run.code == 0, run.out
    report = run.report
    rows = {row["name"]: row for row in report["across_all_callbacks"]}
    assert rows["retry-after"]["status"] == "deviates" and rows["retry-after"]["judged"] == 1
    throttled = [e for c in report["checks"] for e in c["exchanges"] if e["status"] == 429]
    (first,) = throttled
    resent = [e for c in report["checks"] for e in c["exchanges"] if e["attempt"] == 2]
    assert len(resent) == 1 and resent[0]["label"] == first["label"] and resent[0]["status"] == 202
    assert all(c["status"] == "passed" for c in report["checks"])


def _redirect(n: int) -> Response:
    return Response(status_code=307, headers={"Location": "http://127.0.0.1:9/elsewhere"})


@pytest.mark.parametrize("custom_receiver", [_redirect], indirect=True)
def test_a_redirect_is_not_followed_and_not_an_acceptance(
    custom_receiver: str, run_callbacks: Callable[..., Run]
) -> None:
    run = run_callbacks("--receiver-url", custom_receiver, *QUICK)
    assert run.code == 1
    assert "valid-example" in run.checks("failed")
    urls = {e["url"] for c in run.report["checks"] for e in c["exchanges"]}
    assert urls == {custom_receiver}


def test_proxies_in_the_environment_are_ignored(
    receiver: object, run_callbacks: Callable[..., Run], monkeypatch: pytest.MonkeyPatch
) -> None:
    from conformance.reference.receiver import RunningReceiver

    assert isinstance(receiver, RunningReceiver)
    monkeypatch.setenv("HTTP_PROXY", "http://127.0.0.1:9")
    monkeypatch.setenv("ALL_PROXY", "http://127.0.0.1:9")
    run = run_callbacks("--receiver-url", receiver.message_status_url, *QUICK)
    assert run.code == 0, run.out + run.err
