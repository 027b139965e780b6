"""Issue §2: a token endpoint that refuses the client, or answers something that is no token, ends the
run after that answer: exit 4, one line naming the complaint, and a readiness that judges nothing."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from tests.realworld.conftest import StartTarget
from tests.support.cli import run_cli
from tests.support.runs import (
    FAST,
    assert_no_traceback,
    assert_not_a_verdict_on_the_api,
    assert_one_line,
    authenticated_run,
    readiness,
)
from tests.support.targets import (
    TokenAnswer,
    refuses_kid,
    token_html_page,
    token_without_access_token,
)

pytestmark = pytest.mark.slow  # each runs the command line up to its first test

CLIENT_REFUSED = 4
MAX_TOKEN_REQUESTS = 3
#: enough tests that each would ask for a token if the first refusal did not stop the run
SELECTION = ("-k", "negotiation or test_valid_message_is_created")

#: each answer, and a word the one line must contain (the complaint itself, or at least what refused)
ANSWERS: dict[str, tuple[Callable[[], TokenAnswer], str | None]] = {
    "400-invalid-kid": (lambda: refuses_kid(400), "kid"),
    "401-invalid-kid": (lambda: refuses_kid(401), "kid"),
    "200-html-page": (token_html_page, "token"),
    "200-json-without-access-token": (token_without_access_token, "token"),
}


@pytest.mark.parametrize("answer", sorted(ANSWERS))
def test_a_refusing_token_endpoint_stops_the_run(
    answer: str, start_target: StartTarget, tmp_path: Path, reports: Path
) -> None:
    make, complaint = ANSWERS[answer]
    target = start_target("integration", make())
    outcome = run_cli(*authenticated_run(target, reports, *FAST, *SELECTION), env=target.client_env(tmp_path))
    assert outcome.returncode == CLIENT_REFUSED, outcome.tail()
    assert 1 <= target.traffic.token_requests <= MAX_TOKEN_REQUESTS, target.traffic.summary()
    line = assert_one_line(outcome)
    if complaint is not None:
        assert complaint in line, line
    assert_no_traceback(outcome)
    text = readiness(reports)
    assert "not assessed" in text.lower(), text
    assert_not_a_verdict_on_the_api(text)
