"""Changes since the last run: the comparison of two runs' ``outcomes.json`` (tests newly failing,
passing, skipped or no longer run; known discrepancies that appeared or are no longer seen; new drift),
and real runs into one folder that show the difference first on the terminal, at the top of
``readiness.md`` and on the HTML report's first page (headless Chromium)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from conformance.errors import UsageError
from conformance.reporting.changes import (
    OUTCOMES_FORMAT,
    Baseline,
    OutcomeLog,
    RunOutcomes,
    compare,
    load_baseline,
)
from conformance.reporting.readiness import Readiness
from conformance.reporting.summary import AreaCounts
from tests.reporting.conftest import chromium, needs_chromium
from tests.support.cli import run_cli

A, B, C, D, E = (f"test_x.py::test_{name}[sandbox]" for name in "abcde")
DRIFT = "POST /v1/messages 201: member data.attributes.priority"


def _run(tests: dict[str, str], **more: object) -> RunOutcomes:
    values: dict[str, object] = {
        "started_at": "2026-06-01T02:00:00Z",
        "finished_at": "2026-06-01T02:10:00Z",
        "environment": "local",
        "headline": "Onboarding readiness: READY - all 10 areas passed",
        "tests": tests,
        **more,
    }
    return RunOutcomes(**values)  # type: ignore[arg-type]


def _baseline(outcomes: RunOutcomes) -> Baseline:
    return Baseline(outcomes, "the last run", "reports")


# -- the comparison ----------------------------------------------------------------------------------------


def test_each_test_that_changed_is_named_once_by_what_changed() -> None:
    before = _run({A: "passed", B: "failed", C: "passed", D: "passed"})
    now = _run({A: "failed", B: "passed", C: "not assessed", E: "failed"})
    changes = compare(_baseline(before), now)
    assert changes.newly_failing == (A,)
    assert changes.newly_passing == (B,)
    assert changes.newly_skipped == ((C, "not assessed"),)
    assert changes.no_longer_run == (D,)
    assert changes.new_tests == ((E, "failed"),)
    assert changes.summary() == (
        "Since the last run (2026-06-01 02:00 UTC): 1 newly failing, 1 newly passing, "
        "1 newly skipped or not assessed, 1 no longer run, 1 new test (1 failing)"
    )


def test_the_same_outcomes_are_no_change() -> None:
    same = _run({A: "passed", B: "skipped"}, discrepancies={"D3": [A]}, drift=[DRIFT])
    changes = compare(_baseline(same), same)
    assert not changes.any
    assert changes.summary() == (
        "Since the last run (2026-06-01 02:00 UTC): no change (2 tests, same outcomes, discrepancies and drift)"
    )
    assert changes.markdown() == "" and changes.panel_rows() == [("Changes", changes.summary())]


def test_a_discrepancy_no_longer_seen_is_news_when_its_tests_ran_again() -> None:
    # the gateway starts accepting charset=utf-8: the D3 test no longer shows D3
    before = _run({A: "passed", B: "passed"}, discrepancies={"D3": [A], "D19": [B]})
    now = _run({A: "failed", B: "skipped"}, discrepancies={})
    changes = compare(_baseline(before), now)
    assert changes.discrepancies_gone == ("D3",)  # D19's test did not run this time: nothing to say
    assert "known discrepancy D3 no longer seen" in changes.summary()
    titles = dict(changes.sections())
    gone = next(items for title, items in titles.items() if title.startswith("Known discrepancies no longer"))
    assert gone[0].startswith("D3: ")  # with the contract's title of the discrepancy


def test_a_discrepancy_appears_only_where_its_tests_ran_before() -> None:
    before = _run({A: "passed"})
    now = _run({A: "passed", B: "passed"}, discrepancies={"D28": [A], "D3": [B]})
    changes = compare(_baseline(before), now)
    assert changes.discrepancies_appeared == ("D28",)  # D3's test is new: no news about the gateway
    assert "known discrepancy D28 newly seen" in changes.summary()


def test_drift_appears_and_goes_only_where_the_answer_was_seen_again() -> None:
    other = "GET /v1/messages/{messageId} 200: header x-new"
    before = _run({A: "passed"}, drift=[other], exercised=["GET /v1/messages/{messageId} 200"])
    now = _run({A: "passed"}, drift=[DRIFT], exercised=["POST /v1/messages 201"])
    changes = compare(_baseline(before), now)
    assert changes.drift_appeared == (DRIFT,)
    assert changes.drift_gone == ()  # this run saw no GET 200 answer: it cannot say the header is gone
    again = _run({A: "passed"}, exercised=["GET /v1/messages/{messageId} 200"])
    assert compare(_baseline(before), again).drift_gone == (other,)


def test_a_different_selection_is_said() -> None:
    before = _run({A: "passed"}, environment="sandbox", selection={"keyword": "headers"}, stopped=True)
    now = _run({A: "passed"}, selection={"faults": ["correlation-id-not-echoed"]})
    caveats = compare(_baseline(before), now).caveats
    assert caveats == (
        "that run was against --env sandbox",
        "that run had -k 'headers'",
        "that run's reference faults: none",
        "that run stopped early",
    )


def test_the_changes_come_first_in_the_readiness_and_the_report_panel() -> None:
    changes = compare(_baseline(_run({A: "passed"})), _run({A: "failed"}))
    readiness = Readiness.from_counts([("headers", AreaCounts(failed=1))]).with_news(changes, None)
    assert readiness.panel_rows()[:2] == [
        ("Changes", "Since the last run (2026-06-01 02:00 UTC): 1 newly failing"),
        ("Newly failing", A),
    ]
    lines = readiness.markdown().splitlines()
    assert lines[0].startswith("# Onboarding readiness: NOT READY")
    assert lines[2] == "**Since the last run (2026-06-01 02:00 UTC): 1 newly failing**"
    assert f"- `{A}`" in lines
    assert readiness.report_name() == f"{readiness.headline()}. {changes.summary()}"
    terminal = readiness.terminal_summary().splitlines()
    assert terminal[:4] == [readiness.headline(), changes.summary(), "  newly failing: 1", f"    {A}"]


# -- the outcome file and the baseline -------------------------------------------------------------------


def test_the_outcome_log_keeps_outcomes_and_the_discrepancies_passing_tests_showed() -> None:
    log = OutcomeLog(collected=[A, B, C, D])
    for nodeid, outcome, tags in (
        (A, "passed", ["known discrepancy D3"]),
        (B, "failed", ["known discrepancy D19"]),
    ):
        log.pytest_runtest_logstart(nodeid)
        log.add_label("tag", tags)
        report = pytest.TestReport(nodeid, ("x", 1, "t"), {}, outcome, None, "call")
        log.pytest_runtest_logreport(report)
        log.pytest_runtest_logfinish(nodeid)
    log.pytest_runtest_logstart(C)
    log.attach_data(
        "prop (positive): 5 cases\nknown discrepancy D28 (no Allow header): 2 case(s)\n", "summary"
    )
    log.pytest_runtest_logreport(pytest.TestReport(C, ("x", 1, "t"), {}, "failed", None, "call"))
    log.pytest_runtest_logfinish(C)
    assert log.outcomes() == {A: "passed", B: "failed", C: "failed", D: "not run"}
    # a tagged test that failed gave no evidence; a counted discrepancy is evidence whatever the outcome
    assert log.discrepancies == {"D3": [A], "D28": [C]}


def test_the_suite_s_discrepancy_tag_reaches_the_outcome_log() -> None:
    import allure_commons

    from conformance.suite._expect import note_known_discrepancy

    log = OutcomeLog()
    allure_commons.plugin_manager.register(log)
    try:
        log.pytest_runtest_logstart(A)
        note_known_discrepancy("D3")
    finally:
        allure_commons.plugin_manager.unregister(log)
    assert log._tagged == {"D3"}


def test_the_outcome_file_round_trips_and_becomes_the_next_baseline(tmp_path: Path) -> None:
    outcomes = _run({A: "passed"}, discrepancies={"D3": [A]}, drift=[DRIFT])
    outcomes.write(tmp_path)
    raw = json.loads((tmp_path / "outcomes.json").read_text())
    assert raw["format"] == OUTCOMES_FORMAT and raw["tests"] == {A: "passed"}
    assert raw["counts"]["passed"] == 1
    baseline, note = load_baseline(tmp_path, None)
    assert note is None and baseline is not None
    assert baseline.outcomes == outcomes and baseline.label == "the last run"


def test_a_folder_without_an_earlier_run_compares_with_nothing(tmp_path: Path) -> None:
    assert load_baseline(tmp_path, None) == (None, None)
    (tmp_path / "outcomes.json").write_text('{"format": "something else"}')
    baseline, note = load_baseline(tmp_path, None)
    assert baseline is None and note is not None and "not compared" in note


def test_a_baseline_folder_without_outcomes_is_a_usage_error(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match=r"--baseline: no outcomes\.json in"):
        load_baseline(tmp_path / "reports", tmp_path)


# -- real runs ---------------------------------------------------------------------------------------------

#: the correlation-id echo tests against the sandbox reference: a couple of seconds
SELECTION = "test_correlation_id_echoed and sandbox"
FAULT = "correlation-id-not-echoed"


def _summary_line(stdout: str) -> tuple[str, str]:
    """The readiness headline the command printed after the tests, and the line right after it."""
    lines = stdout.splitlines()
    at = next(i for i, line in enumerate(lines) if line.startswith("Onboarding readiness:"))
    return lines[at], lines[at + 1]


@pytest.mark.slow
def test_two_runs_into_one_folder_show_what_changed_first(tmp_path: Path) -> None:
    reports = tmp_path / "reports"
    first = run_cli("run", "-k", SELECTION, "--reports", str(reports), "-q")
    assert first.returncode == 0, first.tail()
    assert json.loads((reports / "changes.json").read_text())["baseline"] is None
    earlier = json.loads((reports / "outcomes.json").read_text())
    assert earlier["tests"] and set(earlier["tests"].values()) == {"passed"}

    second = run_cli("run", "-k", SELECTION, "--fault", FAULT, "--reports", str(reports), "-q")
    assert second.returncode == 1, second.tail()
    headline, news = _summary_line(second.stdout)
    assert headline.startswith("Onboarding readiness: NOT READY")
    failing = sorted(earlier["tests"])
    assert news.startswith("Since the last run (") and f"{len(failing)} newly failing" in news, news

    readiness = (reports / "readiness.md").read_text().splitlines()
    assert readiness[0] == f"# {headline}"
    assert readiness[2] == f"**{news}**"
    changes = json.loads((reports / "changes.json").read_text())
    assert changes["summary"] == news
    assert changes["newly_failing"] == failing
    assert changes["baseline"]["started_at"] == earlier["started_at"]

    # --baseline compares a run in another folder with a given one: here the faulty run
    third = run_cli("run", "-k", SELECTION, "--reports", str(tmp_path / "other"), "--baseline", str(reports))
    assert third.returncode == 0, third.tail()
    _, news = _summary_line(third.stdout)
    assert news.startswith(f"Since the baseline run ({reports}, ") and f"{len(failing)} newly passing" in news


@pytest.mark.slow
def test_a_known_discrepancy_seen_by_a_run_is_compared_by_the_next(tmp_path: Path) -> None:
    reports = tmp_path / "reports"
    selection = "test_charset_utf8_accept_known_discrepancy and sandbox"
    first = run_cli("run", "-k", selection, "--reports", str(reports), "-q")
    assert first.returncode == 0, first.tail()
    outcomes = json.loads((reports / "outcomes.json").read_text())
    assert sorted(outcomes["discrepancies"]["D3"]) == sorted(outcomes["tests"])

    # an earlier run that did not see D3 (the gateway then did what the documentation says)
    baseline = tmp_path / "baseline"
    baseline.mkdir()
    (baseline / "outcomes.json").write_text(json.dumps({**outcomes, "discrepancies": {}}))
    second = run_cli("run", "-k", selection, "--reports", str(reports), "--baseline", str(baseline), "-q")
    assert second.returncode == 0, second.tail()
    _, news = _summary_line(second.stdout)
    assert news.endswith("known discrepancy D3 newly seen"), news


@pytest.mark.slow
@needs_chromium
@pytest.mark.skipif(shutil.which("node") is None, reason="the HTML report needs Node.js and npm")
def test_the_html_first_page_says_what_changed(tmp_path: Path) -> None:
    from tests.suite.conftest import cli  # with the caller's PATH, so the pinned Allure CLI is found

    reports = tmp_path / "reports"
    first = cli("run", "-k", SELECTION, "--reports", str(reports), "-q")
    assert first.returncode == 0, first.stdout[-3000:] + first.stderr[-2000:]
    second = cli("run", "-k", SELECTION, "--fault", FAULT, "--reports", str(reports), "-q")
    assert second.returncode == 1, second.stdout[-3000:] + second.stderr[-2000:]
    _, news = _summary_line(second.stdout)
    index = reports / "html" / "index.html"
    assert index.is_file(), second.stderr[-2000:]

    overview = chromium(index.as_uri(), tmp_path / "chrome", screenshot=tmp_path / "overview.png")
    # the report's name (its first heading) and the first rows of the Environment panel
    assert news in overview
    assert "Newly failing" in overview and "Areas failed" in overview
    assert overview.index(news) < overview.index("Areas failed")
