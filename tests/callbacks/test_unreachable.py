"""A receiver that is down, never answers or answers something that is not HTTP: exit 3 and one line."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from conformance.reference.receiver import RunningReceiver
from tests.callbacks.conftest import QUICK, RawServer, Run, Secrets, closed_port_url
from tests.support.servers import LoopbackServer, wait_until


@pytest.fixture
def raw_server(request: pytest.FixtureRequest) -> Iterator[RawServer]:
    server = RawServer(request.param)
    yield server
    server.stop()


def _one_line(run: Run) -> str:
    assert run.code == 3, run.out + run.err
    assert run.out == ""
    lines = run.err.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in run.err, run.err
    return lines[0]


def test_a_closed_port_is_unreachable(run_callbacks: Callable[..., Run], creds: object) -> None:
    url = closed_port_url()
    line = _one_line(run_callbacks("--receiver-url", url, *QUICK))
    assert line.startswith("notify-conformance: not assessed: NC005:") and url in line
    assert "could not be reached" in line


@pytest.mark.parametrize("raw_server", ["hang"], indirect=True)
def test_a_receiver_that_never_answers_is_unreachable(
    raw_server: RawServer, run_callbacks: Callable[..., Run], creds: object
) -> None:
    started = time.monotonic()
    line = _one_line(run_callbacks("--receiver-url", raw_server.url, *QUICK, "--timeout", "1"))
    assert "did not answer within 1 s" in line
    assert time.monotonic() - started < 15


@pytest.mark.parametrize("raw_server", ["garbage", "close"], indirect=True)
def test_a_receiver_that_does_not_speak_http_is_unreachable(
    raw_server: RawServer, run_callbacks: Callable[..., Run], creds: object
) -> None:
    line = _one_line(run_callbacks("--receiver-url", raw_server.url, *QUICK))
    assert "without an HTTP answer" in line or "not HTTP" in line
    assert raw_server.connections >= 1


def test_a_channel_url_that_is_down_stops_the_run(
    receiver: RunningReceiver, run_callbacks: Callable[..., Run]
) -> None:
    url = closed_port_url()
    run = run_callbacks("--receiver-url", receiver.message_status_url, "--channel-receiver-url", url, *QUICK)
    line = _one_line(run)
    assert "channel status receiver" in line and url in line
    # it stopped at the first channel status callback: the report says so, and nothing more was sent
    assert run.report["verdict"] == "STOPPED"
    assert receiver.snapshot()["total"] == 1


def test_reports_are_written_when_the_receiver_is_down(
    run_callbacks: Callable[..., Run], creds: object
) -> None:
    run = run_callbacks("--receiver-url", closed_port_url(), *QUICK)
    assert run.code == 3
    report = run.report
    assert report["sent"] == 1 and report["verdict"] == "STOPPED"
    (exchange,) = report["checks"][0]["exchanges"]
    assert exchange["status"] is None and "could not be reached" in exchange["no_answer"]


@pytest.mark.slow
def test_a_receiver_that_stops_answering_mid_run_stops_it(
    creds: Secrets, run_callbacks: Callable[..., Run]
) -> None:
    """Three callbacks in a row without an answer: the run stops (exit 3); what was judged is printed."""
    answered = 0
    released = threading.Event()

    async def callback(request: Request) -> Response:
        nonlocal answered
        await request.body()
        if answered >= 10:
            await wait_until(released, 10)  # hangs until the test ends
            return Response(status_code=202)
        answered += 1
        return Response(status_code=202)

    app = Starlette(routes=[Route("/cb", callback, methods=["POST"])])
    server = LoopbackServer(app, name="stops-answering").start()
    try:
        run = run_callbacks("--receiver-url", server.origin + "/cb", *QUICK, "--timeout", "1")
    finally:
        released.set()
        server.stop()
    assert run.code == 3, run.out + run.err
    lines = run.err.strip().splitlines()
    assert len(lines) == 1 and "stopped answering: 3 callbacks in a row got no answer" in lines[0]
    assert "Verdict: STOPPED" in run.out and "not assessed" in run.out
    assert run.report["sent"] == 13
