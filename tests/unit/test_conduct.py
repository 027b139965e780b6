"""The transport's conduct against small real servers on loopback: Retry-After obeyed (seconds and
HTTP-date), the opt-out for tests about the 429 itself, budgets that end in "inconclusive", pacing, and
a target that stops answering."""

from __future__ import annotations

import email.utils
import http.server
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from conformance.environments import Target
from conformance.errors import RateLimited, RequestNotAnswered, TargetUnreachable
from conformance.exchange import Exchange
from conformance.pacing import Pacer, RateLimit
from conformance.retries import RetryPolicy, retry_after_seconds
from conformance.safety import SafetyPolicy
from conformance.transport import NO_RETRY, Conduct, Recorder, build_client

Answer = tuple[int, dict[str, str]]


class Script:
    """What the server answers, request by request (the last answer repeats), and when it was asked."""

    def __init__(self, answers: list[Answer]) -> None:
        self.answers = answers
        self.times: list[float] = []
        self.paths: list[str] = []
        self.hang = threading.Event()

    def next(self, path: str) -> Answer:
        self.times.append(time.monotonic())
        self.paths.append(path)
        index = min(len(self.times) - 1, len(self.answers) - 1)
        return self.answers[index]


@pytest.fixture
def serve() -> Iterator[Callable[[Script], str]]:
    servers: list[http.server.ThreadingHTTPServer] = []

    def start(script: Script) -> str:
        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                if script.hang.is_set() and self.path != "/comms/_ping":
                    time.sleep(3)
                    return
                if self.path == "/comms/_ping":
                    status, headers = (200, {}) if not script.hang.is_set() else (0, {})
                    if status == 0:
                        time.sleep(3)
                        return
                else:
                    status, headers = script.next(self.path)
                body = b'{"errors":[]}' if status != 200 else b"{}"
                self.send_response(status)
                for name, value in {"Content-Type": "application/vnd.api+json", **headers}.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        server.daemon_threads = True
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return f"http://127.0.0.1:{server.server_address[1]}/comms"

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


def _client(base_url: str, conduct: Conduct, recorder: Recorder | None = None) -> httpx.Client:
    target = Target(kind="sandbox", base_url=base_url)
    return build_client(policy=SafetyPolicy.open(), target=target, conduct=conduct, recorder=recorder)


FAST = RetryPolicy(max_retries=3, per_request_wait_s=5, per_run_wait_s=20, backoff_initial_s=0.05)


def test_a_429_with_retry_after_is_waited_out_and_shows_in_the_exchange(
    serve: Callable[[Script], str],
) -> None:
    script = Script([(429, {"Retry-After": "1"}), (200, {})])
    seen: list[Exchange] = []
    conduct = Conduct(retry=FAST)
    base = serve(script)
    with _client(base, conduct, Recorder([seen.append])) as http:
        response = http.get(base + "/v1/messages/x")
    assert response.status_code == 200
    # waited as told (a second, less what a loaded machine can add to the first timestamp)
    assert len(script.times) == 2 and script.times[1] - script.times[0] >= 0.8
    assert seen[-1].waited == ("429 (Retry-After: 1) -> waited 1.0 s",)
    assert conduct.retries.retried_requests == 1 and conduct.retries.waits == 1


def test_an_http_date_retry_after_is_obeyed() -> None:
    soon = datetime.now(UTC) + timedelta(seconds=30)
    assert 28 <= (retry_after_seconds(email.utils.format_datetime(soon, usegmt=True)) or 0) <= 30
    assert retry_after_seconds("soon") is None and retry_after_seconds(None) is None
    assert retry_after_seconds("5") == 5.0


def test_a_test_about_the_429_itself_sees_it(serve: Callable[[Script], str]) -> None:
    script = Script([(429, {"Retry-After": "1"}), (200, {})])
    base = serve(script)
    with _client(base, Conduct(retry=FAST)) as http:
        request = http.build_request("GET", base + "/v1/x")
        request.extensions[NO_RETRY] = True
        assert http.send(request).status_code == 429
    assert len(script.times) == 1


def test_a_retry_after_beyond_the_budget_is_inconclusive_at_once(serve: Callable[[Script], str]) -> None:
    script = Script([(425, {"Retry-After": "300"})])
    conduct = Conduct(retry=FAST)
    base = serve(script)
    with _client(base, conduct) as http, pytest.raises(RateLimited, match="still 425 after 0"):
        http.get(base + "/v1/x")
    assert len(script.times) == 1 and conduct.retries.gave_up == 1


def test_a_target_that_keeps_throttling_is_inconclusive_after_the_retries(
    serve: Callable[[Script], str],
) -> None:
    script = Script([(429, {})])  # no Retry-After: exponential backoff
    base = serve(script)
    with _client(base, Conduct(retry=FAST)) as http, pytest.raises(RateLimited, match="after 3"):
        http.get(base + "/v1/x")
    assert len(script.times) == 4  # the first attempt and three retries


def test_a_503_without_retry_after_is_an_answer_like_any_other(serve: Callable[[Script], str]) -> None:
    script = Script([(503, {}), (200, {})])
    base = serve(script)
    with _client(base, Conduct(retry=FAST)) as http:
        assert http.get(base + "/v1/x").status_code == 503
    assert len(script.times) == 1


def test_requests_are_paced_evenly(serve: Callable[[Script], str]) -> None:
    script = Script([(200, {})])
    conduct = Conduct(pacer=Pacer(RateLimit(per_second=20)))
    base = serve(script)
    with _client(base, conduct) as http:
        for _ in range(5):
            http.get(base + "/v1/x")
    # 20/s, evenly: five requests span at least four 50 ms slots (server clocks add a little jitter)
    assert script.times[-1] - script.times[0] >= 0.15
    assert conduct.traffic.requests == 5


def test_one_request_not_answered_while_the_target_lives_is_inconclusive(
    serve: Callable[[Script], str],
) -> None:
    script = Script([(200, {})])
    conduct = Conduct(timeout_s=0.5)
    base = serve(script)
    with _client(base, conduct) as http:
        script.answers = [(200, {})]
        script.hang.set()
        # the API path hangs but /_ping is asked and... hangs too here: the target is down
        with pytest.raises(TargetUnreachable, match="stopped answering"):
            http.get(base + "/v1/x")
        with pytest.raises(TargetUnreachable):  # nothing more is sent to a target that is down
            http.get(base + "/v1/y")


def test_a_dropped_connection_with_a_live_ping_is_only_this_request(serve: Callable[[Script], str]) -> None:
    class Flaky(httpx.BaseTransport):
        def __init__(self) -> None:
            self.inner = httpx.HTTPTransport()
            self.failed = False

        def handle_request(self, request: httpx.Request) -> httpx.Response:
            if not self.failed and not request.url.path.endswith("/_ping"):
                self.failed = True
                raise httpx.RemoteProtocolError("server disconnected", request=request)
            return self.inner.handle_request(request)

    from conformance.traffic import Traffic
    from conformance.transport import TargetHealth, WatchedTransport

    base = serve(Script([(200, {})]))
    watched = WatchedTransport(Flaky(), TargetHealth(liveness_url=base + "/_ping"), Traffic())
    with httpx.Client(transport=watched) as http:
        with pytest.raises(RequestNotAnswered, match="RemoteProtocolError"):
            http.get(base + "/v1/x")
        assert http.get(base + "/v1/x").status_code == 200


def test_a_test_judging_a_status_gets_it_and_still_waits_out_others(serve: Callable[[Script], str]) -> None:
    from conformance.transport import JUDGED

    script = Script([(429, {"Retry-After": "1"}), (200, {})])
    base = serve(script)
    with _client(base, Conduct(retry=FAST)) as http:
        request = http.build_request("GET", base + "/v1/x")
        request.extensions[JUDGED] = frozenset({429})
        assert http.send(request).status_code == 429  # the trigger's own answer: judged, not waited out
        script.times.clear()
        script.answers = [(429, {"Retry-After": "1"}), (422, {})]
        request = http.build_request("GET", base + "/v1/y")
        request.extensions[JUDGED] = frozenset({422})
        assert http.send(request).status_code == 422  # a throttle it did not provoke is waited out
    assert len(script.times) == 2


def test_a_status_judged_if_repeated_is_waited_out_once_then_judged(serve: Callable[[Script], str]) -> None:
    from conformance.transport import JUDGED_IF_REPEATED

    script = Script([(429, {"Retry-After": "1"}), (406, {})])
    base = serve(script)
    with _client(base, Conduct(retry=FAST)) as http:
        request = http.build_request("GET", base + "/v1/x")
        request.extensions[JUDGED_IF_REPEATED] = frozenset({429})
        assert http.send(request).status_code == 406  # throttling, once: waited out
        assert len(script.times) == 2
        script.times.clear()
        script.answers = [(429, {"Retry-After": "1"})]
        request = http.build_request("GET", base + "/v1/y")
        request.extensions[JUDGED_IF_REPEATED] = frozenset({429})
        assert http.send(request).status_code == 429  # again after its wait: the trigger's answer, judged
    assert len(script.times) == 2
    assert script.times[1] - script.times[0] >= 1.0
