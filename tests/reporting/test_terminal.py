"""The terminal's failure digest: broken rules and the exchange that broke them, grouped by area and
capped, paths relative to the suite, and tests that could not be assessed listed apart from failures.

Each test runs pytest in-process (pytester) on a small synthetic suite with the digest registered."""

from __future__ import annotations

import threading
import xml.etree.ElementTree as ET

import httpx
import pytest

from conformance.checks import Severity, Violation, assert_no_violations
from conformance.exchange import Exchange
from conformance.reporting import terminal
from conformance.reporting.terminal import (
    FAILURES_PER_AREA,
    LINE_CHARS,
    MESSAGE_LINES,
    FailureDigest,
    exchange_line,
    failure_lines,
)
from conformance.transport import Recorder

pytest_plugins = ["pytester"]

CONFTEST = """
import pytest
from conformance.reporting.terminal import FailureDigest


def pytest_configure(config):
    config.addinivalue_line("markers", "area(name): the requirement area")


@pytest.fixture
def digest(request):
    return next(p for _, p in request.config.pluginmanager.list_name_plugin() if isinstance(p, FailureDigest))
"""

EXCHANGE = """
from conformance.exchange import Exchange

JWT = "eyJhbGciOiJSUzUxMiJ9.eyJzdWIiOiJjbGllbnQifQ.c2lnbmF0dXJl"


def exchange(status=400, path="/comms/v1/messages", query=""):
    return Exchange.build(
        method="POST",
        url="http://127.0.0.1:1" + path + query,
        status=status,
        request_headers={"Authorization": "Bearer " + JWT, "X-Correlation-Id": "corr-1"},
        response_headers={"Content-Type": "application/vnd.api+json", "X-Correlation-Id": "corr-1"},
        response_body=b'{"errors": []}',
    )
"""

#: pytest's own failure output, which the digest replaces
TRACEBACK_SIGNS = ("= FAILURES =", "= ERRORS =", "FAILED ", "Traceback", "def test_", "AssertionError")


@pytest.fixture
def suite(pytester: pytest.Pytester) -> pytest.Pytester:
    pytester.makeconftest(CONFTEST)
    pytester.makepyfile(_exchanges=EXCHANGE)
    return pytester


def run(
    pytester: pytest.Pytester, *args: str, digest: FailureDigest | None = None
) -> tuple[pytest.RunResult, str]:
    digest = digest or FailureDigest(take_over_terminal=True)
    result = pytester.runpytest(
        "-p", "no:notify_conformance", "-p", "no:cacheprovider", "--strict-markers", *args, plugins=[digest]
    )
    return result, result.stdout.str()


def digest_part(output: str) -> str:
    """The output from the digest's first heading on."""
    headings = ("errors collecting the suite", "failures by area", "not assessed (")
    start = min((output.find(t) for t in headings if t in output), default=-1)
    assert start >= 0, output
    return output[start:]


def test_failures_are_grouped_by_area_in_reading_order(suite: pytest.Pytester) -> None:
    suite.makepyfile(
        test_mixed="""
        import pytest

        @pytest.mark.area("headers")
        def test_header():
            assert False, "header rule broken"

        @pytest.mark.area("auth")
        def test_auth_one():
            assert False, "auth rule broken"

        @pytest.mark.area("auth")
        def test_auth_two():
            assert False, "auth rule broken again"

        def test_no_area():
            assert False, "no area at all"

        @pytest.mark.area("auth")
        def test_passes():
            pass
        """
    )
    result, output = run(suite)
    result.assert_outcomes(failed=4, passed=1)
    shown = digest_part(output)
    assert "failures by area: 4 failed" in shown
    auth, headers, other = (shown.index(f"\n{a}: ") for a in ("auth", "headers", "other"))
    assert auth < headers < other  # the areas' reading order (conformance.areas), "other" last
    assert "auth: 2 failed" in shown and "headers: 1 failed" in shown and "other: 1 failed" in shown
    assert shown.index("test_mixed.py::test_auth_one") < headers < shown.index("test_mixed.py::test_header")
    assert "test_passes" not in shown


def test_each_area_shows_its_first_failures_then_how_many_more(suite: pytest.Pytester) -> None:
    suite.makepyfile(
        test_many="""
        import pytest

        @pytest.mark.area("routing")
        @pytest.mark.parametrize("n", range(7))
        def test_route(n):
            assert False, f"route {n} broken"

        @pytest.mark.area("headers")
        def test_header():
            assert False, "header broken"
        """
    )
    result, output = run(suite, "--junitxml", "reports/junit.xml")
    result.assert_outcomes(failed=8)
    shown = digest_part(output)
    assert "routing: 7 failed" in shown
    for n in range(FAILURES_PER_AREA):
        assert f"test_many.py::test_route[{n}]" in shown
    for n in range(FAILURES_PER_AREA, 7):
        assert f"test_route[{n}]" not in shown
    more = 7 - FAILURES_PER_AREA
    assert f"... and {more} more failures in this area (see reports/junit.xml and the HTML report)" in shown
    assert "headers: 1 failed" in shown and "more failure" not in shown.split("headers: 1 failed")[1]


def test_a_run_where_everything_fails_stays_short(suite: pytest.Pytester) -> None:
    suite.makepyfile(
        test_all="""
        import pytest

        AREAS = ["auth", "negotiation", "media type", "routing", "headers"]

        @pytest.mark.parametrize("area", AREAS)
        @pytest.mark.parametrize("n", range(40))
        def test_everything(request, area, n):
            request.node.add_marker(pytest.mark.area(area))
            raise AssertionError("\\n".join(f"line {i} of a long explanation" for i in range(30)))
        """
    )
    result, output = run(suite, "-q")
    result.assert_outcomes(failed=200)
    shown = digest_part(output).splitlines()
    # per area: a heading, 3 failures of (location + capped message), the "and N more" line
    assert len(shown) <= 1 + 5 * (1 + FAILURES_PER_AREA * (1 + MESSAGE_LINES) + 1) + 2
    assert sum("... and 37 more failures in this area" in line for line in shown) == 5
    for sign in TRACEBACK_SIGNS:
        assert sign not in output


def test_a_message_is_condensed_to_a_few_cut_lines(suite: pytest.Pytester) -> None:
    suite.makepyfile(
        test_long="""
        def test_long_message():
            lines = ["first: " + "x" * 500, "", "second", "third", "fourth", "fifth", "sixth", "seventh"]
            raise AssertionError("\\n".join(lines))

        def test_short_message():
            raise AssertionError("only\\n\\n   two lines   ")
        """
    )
    _, output = run(suite)
    shown = digest_part(output).splitlines()
    assert all(len(line) <= LINE_CHARS for line in shown)
    long_entry = shown[shown.index("  test_long.py::test_long_message") + 1 :][:MESSAGE_LINES]
    assert long_entry[0].strip().startswith("first: xxx") and long_entry[0].endswith(terminal.ELLIPSIS)
    assert [line.strip() for line in long_entry[1:-1]] == ["second", "third", "fourth"]
    # blank lines are dropped, so seven lines remain: four shown, three counted
    assert long_entry[-1].strip() == f"{terminal.ELLIPSIS} 3 more lines in the reports"
    short_entry = shown[shown.index("  test_long.py::test_short_message") + 1 :][:2]
    assert [line.strip() for line in short_entry] == ["only", "two lines"]


def test_broken_rules_are_shown_one_per_line_with_the_exchange(suite: pytest.Pytester) -> None:
    suite.makepyfile(
        test_rules="""
        import pytest
        from conformance.checks import Severity, Violation, assert_no_violations
        from _exchanges import JWT, exchange

        @pytest.mark.area("headers")
        def test_rules(digest):
            digest(exchange(status=201, path="/comms/v1/other"))
            digest(exchange(query="?token=" + JWT))
            assert_no_violations(
                [
                    Violation("HDR-002", "Response X-Correlation-Id should echo", "sent a, got b"),
                    Violation("CT-001", "Content-Type is exact", "had a charset"),
                    Violation("JSONAPI-009", "A hint", "for the reader", Severity.INFO),
                ],
                exchange(),
            )

        @pytest.mark.area("headers")
        def test_sends_nothing():
            assert False, "no exchange in this test"
        """
    )
    _, output = run(suite)
    shown = digest_part(output)
    entry = shown.split("test_rules.py::test_rules\n")[1].split("test_rules.py::test_sends_nothing")[0]
    assert [line for line in entry.splitlines() if line.strip()] == [
        "      [HDR-002] Response X-Correlation-Id should echo: sent a, got b",
        "      [CT-001] Content-Type is exact: had a charset",
        "      [JSONAPI-009] A hint (informational): for the reader",
        "      last exchange: POST /comms/v1/messages?token=[REDACTED] -> 400 application/vnd.api+json"
        " (X-Correlation-Id: corr-1)",
    ]
    assert "conformance violation" not in shown  # the heading with the full URL: the exchange line says it
    assert "eyJ" not in output
    # the last exchange is the test's own: a test that sent nothing shows none
    assert "last exchange" not in shown.split("test_sends_nothing")[1]


def test_exchanges_from_other_threads_are_not_the_tests(suite: pytest.Pytester) -> None:
    suite.makepyfile(
        test_thread="""
        import threading
        from _exchanges import exchange

        def test_thread(digest):
            digest(exchange(status=400))
            helper = threading.Thread(target=digest, args=(exchange(status=500, path="/elsewhere"),))
            helper.start()
            helper.join()
            assert False, "broken"
        """
    )
    _, output = run(suite)
    assert "last exchange: POST /comms/v1/messages -> 400" in output
    assert "/elsewhere" not in output


def test_paths_are_relative_to_the_suite_never_through_site_packages(suite: pytest.Pytester) -> None:
    (suite.path / "suite").mkdir()
    (suite.path / "suite" / "conftest.py").write_text(CONFTEST)
    (suite.path / "suite" / "test_where.py").write_text(
        "import pytest\n"
        "\n"
        "@pytest.mark.area('routing')\n"
        "@pytest.mark.parametrize('kind', ['integration'])\n"
        "def test_where(request, kind):\n"
        "    here = request.config.rootpath / 'test_where.py'\n"
        "    raise AssertionError(\n"
        "        f'raised in {here}:7\\n'\n"
        "        'see /opt/venv/lib/python3.11/site-packages/conformance/suite/_expect.py:109'\n"
        "    )\n"
    )
    result, output = run(suite, "suite", "--rootdir", "suite")
    result.assert_outcomes(failed=1)
    shown = digest_part(output)
    assert "  test_where.py::test_where[integration]\n" in shown
    assert "raised in test_where.py:7" in shown
    assert "see conformance/suite/_expect.py:109" in shown
    assert "site-packages" not in output
    assert str(suite.path) not in shown
    # pytest's progress line names the file relative to the suite folder too
    assert any(line.startswith("test_where.py F") for line in output.splitlines())


def test_without_take_over_pytest_keeps_its_own_output(suite: pytest.Pytester) -> None:
    (suite.path / "suite").mkdir()
    (suite.path / "suite" / "test_plain.py").write_text("def test_plain():\n    assert False, 'plain'\n")
    _, output = run(suite, "suite", "--rootdir", "suite", digest=FailureDigest())
    assert "= FAILURES =" in output and "FAILED " in output
    assert any(line.startswith("suite/test_plain.py F") for line in output.splitlines())
    assert "  test_plain.py::test_plain\n      plain" in digest_part(output)


def test_taking_over_the_terminal_leaves_the_reports_their_tracebacks(suite: pytest.Pytester) -> None:
    suite.makepyfile(
        test_deep="""
        def helper():
            assert 1 == 2, "deep in a helper"

        def test_deep():
            helper()
        """
    )
    _, output = run(suite, "--junitxml", "junit.xml")
    for sign in TRACEBACK_SIGNS:
        assert sign not in output
    assert "deep in a helper" in digest_part(output)
    failure = ET.parse(suite.path / "junit.xml").find(".//failure")
    assert failure is not None and failure.text is not None
    assert "def helper():" in failure.text and "test_deep.py:" in failure.text


def test_tests_that_could_not_be_assessed_are_listed_apart(suite: pytest.Pytester) -> None:
    suite.makepyfile(
        test_skips="""
        import pytest

        @pytest.mark.area("messages")
        @pytest.mark.parametrize("n", range(3))
        def test_rate_limited(n):
            pytest.skip("inconclusive: POST /comms/v1/messages: still 429 after 5 retries")

        @pytest.mark.area("auth")
        def test_refused():
            pytest.skip("not assessed: NC004: the token endpoint refused the client")

        @pytest.mark.skip(reason="not run: NC010: --max-duration has passed")
        def test_out_of_time():
            pass

        def test_does_not_apply():
            pytest.skip("needs sandbox scenario triggers")

        @pytest.mark.area("messages")
        def test_real_failure():
            assert False, "a real failure"
        """
    )
    result, output = run(suite)
    result.assert_outcomes(failed=1, skipped=6)
    shown = digest_part(output)
    failures, not_assessed = shown.split("not assessed (not failures): 5 tests")
    assert "messages: 1 failed" in failures and "test_real_failure" in failures
    for test in ("test_rate_limited", "test_refused", "test_out_of_time", "test_does_not_apply"):
        assert test not in shown
    assert not_assessed.splitlines()[1:4] == [
        "  inconclusive: POST /comms/v1/messages: still 429 after 5 retries (3 tests)",
        "  not assessed: NC004: the token endpoint refused the client (1 test)",
        "  not run: NC010: --max-duration has passed (1 test)",
    ]
    assert "sandbox scenario" not in shown  # a test that does not apply is neither


def test_not_assessed_alone_is_listed_without_a_failure_section(suite: pytest.Pytester) -> None:
    suite.makepyfile(
        test_only="""
        import pytest

        def test_rate_limited():
            pytest.skip("inconclusive: rate limited")

        def test_fine():
            pass
        """
    )
    _, output = run(suite)
    assert "failures by area" not in output
    assert "  inconclusive: rate limited (1 test)" in digest_part(output)


def test_a_passing_run_prints_no_digest(suite: pytest.Pytester) -> None:
    suite.makepyfile(test_ok="def test_ok():\n    pass\n")
    _, output = run(suite)
    assert "failures by area" not in output and "not assessed (" not in output


def test_errors_in_setup_and_teardown_are_named_as_such(suite: pytest.Pytester) -> None:
    suite.makepyfile(
        test_fixtures="""
        import pytest

        @pytest.fixture
        def broken_setup():
            raise RuntimeError("could not prepare")

        @pytest.fixture
        def broken_teardown():
            yield
            raise RuntimeError("could not clean up")

        @pytest.mark.area("batches")
        def test_setup(broken_setup):
            pass

        @pytest.mark.area("batches")
        def test_teardown(broken_teardown):
            pass
        """
    )
    result, output = run(suite)
    result.assert_outcomes(errors=2, passed=1)
    shown = digest_part(output)
    assert "  test_fixtures.py::test_setup (error in setup)\n      RuntimeError: could not prepare" in shown
    assert (
        "  test_fixtures.py::test_teardown (error in teardown)\n      RuntimeError: could not clean up"
        in shown
    )


def test_strict_xpass_is_a_failure_with_its_reason(suite: pytest.Pytester) -> None:
    suite.makepyfile(
        test_xpass="""
        import pytest

        @pytest.mark.xfail(strict=True, reason="known discrepancy D3")
        def test_xpass():
            pass
        """
    )
    _, output = run(suite)
    assert "  test_xpass.py::test_xpass\n      [XPASS(strict)] known discrepancy D3" in digest_part(output)


def test_the_digest_hears_the_sessions_recorder(suite: pytest.Pytester) -> None:
    suite.makepyfile(
        test_install="""
        from conformance.reporting import terminal
        from conformance.transport import Recorder

        def test_install(request, digest):
            recorder = Recorder()
            terminal.install(request.config, recorder)
            terminal.install(request.config, recorder)
            assert recorder.listeners == [digest]
        """
    )
    result, _ = run(suite)
    result.assert_outcomes(passed=1)


# -- the pieces, without pytest -------------------------------------------------------------------------------
def _exchange(**response_headers: str) -> Exchange:
    return Exchange.build(
        method="GET",
        url="http://127.0.0.1:1/comms/v1/messages/abc?x=1",
        status=404,
        request_headers={"X-Correlation-Id": "sent-1"},
        response_headers=response_headers,
    )


def test_exchange_line_names_a_correlation_id_that_was_not_echoed() -> None:
    assert exchange_line(_exchange(**{"X-Correlation-Id": "sent-1"})) == (
        "GET /comms/v1/messages/abc?x=1 -> 404 (X-Correlation-Id: sent-1)"
    )
    assert exchange_line(_exchange(**{"x-correlation-id": "other", "content-type": "text/html"})) == (
        "GET /comms/v1/messages/abc?x=1 -> 404 text/html (X-Correlation-Id: other, sent sent-1)"
    )
    assert exchange_line(_exchange()).endswith("-> 404 (X-Correlation-Id: none, sent sent-1)")
    plain = Exchange.build(method="OPTIONS", url="http://h", status=200)
    assert exchange_line(plain) == "OPTIONS / -> 200"


def test_exchange_line_is_cut() -> None:
    long = Exchange.build(method="GET", url="http://h/" + "a" * 500, status=200)
    line = exchange_line(long)
    assert len(line) == LINE_CHARS and line.endswith(terminal.ELLIPSIS)


def test_failure_lines_of_violations_groups_and_other_errors() -> None:
    with pytest.raises(AssertionError) as raised:
        assert_no_violations([Violation("ERR-001", "Exact error object", "status was 400", Severity.ERROR)])
    assert failure_lines(raised.value) == ["[ERR-001] Exact error object: status was 400"]
    group = BaseExceptionGroup("two", [AssertionError("first"), KeyError("second")])
    assert failure_lines(group) == ["first", "KeyError: 'second'"]
    assert failure_lines(AssertionError()) == ["assertion failed"]
    assert failure_lines(ValueError("Authorization: Bearer abc.def")) == [
        "ValueError: Authorization: Bearer [REDACTED]"
    ]


def test_the_listener_keeps_only_the_main_threads_last_exchange() -> None:
    digest = FailureDigest()
    recorder = Recorder(listeners=[digest])
    request = httpx.Request("GET", "http://127.0.0.1:1/comms/v1/messages/1")
    recorder.record(httpx.Response(404, request=request))
    elsewhere = threading.Thread(
        target=recorder.record, args=(httpx.Response(500, request=httpx.Request("GET", "http://x/other")),)
    )
    elsewhere.start()
    elsewhere.join()
    assert digest._last is not None and digest._last.status == 404


def test_a_module_that_cannot_be_collected_is_still_explained(suite: pytest.Pytester) -> None:
    suite.makepyfile(test_broken="import not_a_module_anywhere\n\ndef test_never():\n    pass\n")
    _, output = run(suite)
    shown = digest_part(output)
    assert shown.startswith("errors collecting the suite: 1")
    assert "  test_broken.py\n      ModuleNotFoundError: No module named 'not_a_module_anywhere'" in shown
    assert "Traceback" not in output and "= ERRORS =" not in output


def test_pytests_own_flags_quieten_it_as_well(suite: pytest.Pytester) -> None:
    suite.makepyfile(test_flags="def test_flags():\n    assert False, 'flagged'\n")
    _, output = run(suite, "--tb=no", "-rN", digest=FailureDigest())
    for sign in TRACEBACK_SIGNS:
        assert sign not in output
    assert "  test_flags.py::test_flags\n      flagged" in digest_part(output)
