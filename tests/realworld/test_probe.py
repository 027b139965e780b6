"""Issue §6: the probe recognises the API. A base URL that answers HTTP but is not the NHS Notify API
is the user's mistake: exit 2, one line naming the likely mistake, after at most two requests."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.realworld.conftest import StartServer, StartTarget
from tests.support.cli import Outcome, run_cli
from tests.support.runs import assert_names_the_problem, assert_no_traceback, assert_one_line, sandbox_run
from tests.support.servers import LoopbackServer
from tests.support.targets import html_app, plain_404_app, redirect_app

pytestmark = pytest.mark.slow  # each starts the command line and probes

USAGE = 2
MAX_PROBES = 2


def _probe(server: LoopbackServer, base_url: str, reports: Path) -> tuple[Outcome, str]:
    outcome = run_cli(*sandbox_run(base_url, reports), timeout=120)
    assert outcome.returncode == USAGE, outcome.tail()
    line = assert_one_line(outcome)
    assert_names_the_problem(line)
    assert_no_traceback(outcome)
    assert 1 <= server.traffic.count <= MAX_PROBES, server.traffic.summary()
    return outcome, line


def test_a_base_url_without_comms_is_named(start_target: StartTarget, reports: Path) -> None:
    """The reference's origin only: the gateway answers 404 CM_NOT_FOUND, the fix is to add /comms."""
    target = start_target("sandbox")
    _, line = _probe(target.server, target.origin, reports)
    assert "/comms" in line, line


def test_a_redirect_is_named_with_its_location(start_server: StartServer, reports: Path) -> None:
    """302 to another (loopback) host, which records whether the redirect was followed."""
    elsewhere = start_server(html_app(), "elsewhere", host="127.0.0.9")
    location = elsewhere.origin + "/comms"
    redirecting = start_server(redirect_app(location), "redirect")
    _, line = _probe(redirecting, redirecting.origin + "/comms", reports)
    assert "redirect" in line.lower(), line
    assert location in line, line
    assert elsewhere.traffic.count == 0, "the probe followed the redirect: " + elsewhere.traffic.summary()


def test_a_web_page_is_not_the_api(start_server: StartServer, reports: Path) -> None:
    server = start_server(html_app(), "html")
    _probe(server, server.origin + "/comms", reports)


def test_a_plain_text_404_is_not_the_api(start_server: StartServer, reports: Path) -> None:
    server = start_server(plain_404_app(), "plain-404")
    _probe(server, server.origin + "/comms", reports)
