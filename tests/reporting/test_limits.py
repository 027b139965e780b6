"""The bounds in conformance/limits.py hold for real objects: a failure message for 100 broken error
objects stays one short line per rule, a 5 MB body is cut with a note of how much, a passing test lists
its exchanges (one example of each kind of answer attached in the run) while a failing one keeps them,
history.jsonl keeps the last N runs however many share the folder, an Allure CLI past its time limit is
one line, and the manifest's size follows the folder's files, not the number of runs."""

from __future__ import annotations

import base64
import hashlib
import json
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from conformance import limits
from conformance.checks import ConformanceViolation, Violation, assert_no_violations, check_error_response
from conformance.exchange import Exchange
from conformance.reporting import allure_html
from conformance.reporting.evidence import answer_kind, readable_parameter
from conformance.reporting.exchange_text import describe_compactly, describe_exchange
from conformance.reporting.manifest import write_manifest
from conformance.reporting.metadata import RunFacts
from conformance.reporting.readiness import Readiness
from conformance.reporting.summary import AreaCounts

pytest_plugins = ["pytester"]

URL = "http://127.0.0.1:8000/comms/v1/message-batches"


def _error(index: int, pointer: str) -> dict[str, Any]:
    return {
        "code": "CM_INVALID_VALUE",
        "links": {"about": "https://digital.nhs.uk/developer/api-catalogue/nhs-notify"},
        "status": "400",
        "title": "Invalid value",
        "detail": f"Invalid value supplied for message {index}: the field is not a valid NHS number.",
        "source": {"pointer": pointer},
    }


def _hundred_misplaced_errors() -> tuple[Exchange, list[dict[str, Any]]]:
    """A 400 whose 100 errors all point at the wrong place, and the 100 the catalogue expects."""
    wrong = [_error(i, f"/attributes/messages/{i}/recipient/nhsNumber") for i in range(100)]
    body = {"errors": [{"id": f"rrt-1.{i}", **error} for i, error in enumerate(wrong)]}
    exchange = Exchange.build(
        method="POST",
        url=URL,
        status=400,
        response_headers={"Content-Type": "application/vnd.api+json"},
        response_body=json.dumps(body).encode(),
    )
    expected = [_error(i, f"/data/attributes/messages/{i}/recipient/nhsNumber") for i in range(100)]
    return exchange, expected


# -- failure messages -------------------------------------------------------------------------------------
def test_a_rule_broken_100_times_is_one_line_with_a_few_examples() -> None:
    exchange, expected = _hundred_misplaced_errors()
    violations = check_error_response(exchange, 400, expected)
    assert len(violations) == 100
    assert sum(len(v.detail) for v in violations) > 400_000  # what the old message quoted in full

    with pytest.raises(ConformanceViolation) as raised:
        assert_no_violations(violations, exchange)

    message = str(raised.value)
    lines = message.splitlines()
    assert len(message) <= limits.FAILURE_MESSAGE_CHARS
    assert lines[0] == f"100 conformance violations in POST {URL} -> 400:"
    assert len(lines) == 2  # the heading and the one rule that was broken
    assert lines[1].startswith("  [ERR-005] ") and "(100 times)" in lines[1]
    assert lines[1].endswith(f"\u2026 and {100 - limits.FAILURE_EXAMPLES_PER_RULE} more")
    assert raised.value.violations == tuple(violations)  # every one is still there for code that wants it


def test_many_broken_rules_are_named_up_to_the_limit_then_counted() -> None:
    shown = limits.FAILURE_RULES_SHOWN
    violations = [Violation(f"HDR-{n:03d}", f"Rule {n}", "x\n" * 5_000) for n in range(shown + 4)]
    message = str(ConformanceViolation(violations, "GET " + "http://h/" + "p" * 10_000 + " -> 200"))
    lines = message.splitlines()
    assert len(message) <= limits.FAILURE_MESSAGE_CHARS
    assert len(lines[0]) <= limits.FAILURE_HEADING_CHARS + 40
    named = lines[1:-1]
    assert 1 <= len(named) <= shown  # as many whole lines as fit, never more than the limit
    assert lines[-1] == f"  \u2026 and {shown + 4 - len(named)} more rules broken"
    assert all(len(line) <= limits.FAILURE_DETAIL_CHARS + 40 for line in named)
    few = [Violation(f"HDR-{n:03d}", f"Rule {n}", "short") for n in range(shown + 4)]
    assert str(ConformanceViolation(few)).splitlines()[-1] == "  \u2026 and 4 more rules broken"


def test_repeated_identical_details_are_quoted_once() -> None:
    violations = [Violation("HDR-004", "Cache-Control should be set", "Cache-Control is absent")] * 7
    assert str(ConformanceViolation(violations)).splitlines()[1] == (
        "  [HDR-004] Cache-Control should be set (7 times): Cache-Control is absent"
    )


# -- attachments ------------------------------------------------------------------------------------------
def _five_megabyte_batch() -> Exchange:
    messages = [
        {"messageReference": f"ref-{i:07d}", "recipient": {"nhsNumber": "9990548609"}} for i in range(65_000)
    ]
    body = json.dumps({"data": {"type": "MessageBatch", "attributes": {"messages": messages}}}).encode()
    assert len(body) > 5_000_000
    return Exchange.build(
        method="POST",
        url=URL,
        status=201,
        request_headers={"Content-Type": "application/vnd.api+json"},
        request_body=body,
        response_headers={"Content-Type": "application/vnd.api+json"},
        response_body=body,
    )


def test_a_five_megabyte_body_is_cut_with_a_note_of_how_much() -> None:
    exchange = _five_megabyte_batch()
    size = len(exchange.request_body)
    digest = hashlib.sha256(exchange.request_body).hexdigest()
    for text, preview in (
        (describe_exchange(exchange), limits.BODY_PREVIEW_CHARS),
        (describe_compactly(exchange), limits.COMPACT_BODY_PREVIEW_CHARS),
    ):
        cut = size - preview
        note = f"\u2026 [{cut:,} more characters cut here for the report; the whole body is {size:,} bytes"
        assert note in text.request and note in text.response
        assert digest in text.request
        assert text.size < 2 * preview + 4_000


def test_a_long_request_body_is_written_once_not_again_in_the_curl_line() -> None:
    body = json.dumps({"data": {"attributes": {"note": "n" * (limits.CURL_INLINE_BODY_CHARS + 10)}}})
    exchange = Exchange.build(method="POST", url=URL, status=201, request_body=body.encode())
    request = describe_exchange(exchange).request
    assert request.count("n" * limits.CURL_INLINE_BODY_CHARS) == 1
    assert "--data-binary @body  # the body above, exactly as sent" in request
    short = Exchange.build(method="POST", url=URL, status=201, request_body=b'{"a":1}')
    assert "--data-raw '{\"a\":1}'" in describe_exchange(short).request
    assert "curl" not in describe_compactly(short).request


SUITE = """
import pytest
from conformance.exchange import Exchange

BIG = b'{"data": "' + b"x" * 5_000_000 + b'"}'


def exchange(number, body=b'{"errors": []}'):
    return Exchange.build(
        method="POST",
        url=f"http://127.0.0.1:1/comms/v1/messages?n={number}",
        status=400,
        request_headers={"Content-Type": "application/vnd.api+json"},
        request_body=body,
        response_headers={"Content-Type": "application/vnd.api+json"},
        response_body=b'{"errors": [{"code": "CM_INVALID_VALUE"}]}',
    )


@pytest.fixture
def api(send):
    send(exchange("setup"))
    return send


def test_passes(api):
    for number in range(30):
        api(exchange(number))


def read_back(message_id):
    return Exchange.build(
        method="GET",
        url=f"http://127.0.0.1:1/comms/v1/messages/{message_id}",
        status=200,
        response_headers={"Content-Type": "application/vnd.api+json"},
        response_body=b'{"data": {"type": "Message"}}',
    )


def test_passes_too(api):
    api(exchange("again"))  # an answer of a kind the run has an example of already
    api(read_back("2WL5eDefrbW31uw1il84WdF8ndH"))  # a new kind
    api(read_back("3MtHOa0GCiF1PnELCvL9lwiOF8a"))  # the same kind: another id


def test_fails(api):
    for number in range(30):
        api(exchange(number, BIG if number == 29 else b'{"errors": []}'))
    assert False, "the API broke a rule"


def deep(level):
    if level == 0:
        raise AssertionError("rule broken: " + "r" * 10_000)
    return deep(level - 1)


def test_fails_deep_with_a_long_message():
    deep(40)
"""

CONFTEST = """
import pytest
from conformance.reporting import evidence
from conformance.transport import Recorder

RECORDER = Recorder()


@pytest.hookimpl(tryfirst=True)
def pytest_configure(config):
    evidence.install(config, RECORDER)


@pytest.fixture
def send():
    def send(exchange):
        for listener in RECORDER.listeners:
            listener(exchange)
    return send
"""


def _steps(result: dict[str, Any]) -> list[dict[str, Any]]:
    return list(result.get("steps", []))


def test_a_passing_test_lists_its_exchanges_with_one_example_per_kind_and_a_failing_one_keeps_them(
    pytester: pytest.Pytester,
) -> None:
    pytester.makeconftest(CONFTEST)
    pytester.makepyfile(test_evidence_limits=SUITE)
    results = pytester.path / "results"
    junit = pytester.path / "junit.xml"
    run = pytester.runpytest_subprocess(
        "-p", "no:notify_conformance", "-p", "no:cacheprovider", f"--alluredir={results}", f"--junitxml={junit}"
    )  # fmt: skip
    run.assert_outcomes(passed=2, failed=2)
    documents = {p.name: p for p in results.iterdir()}
    by_test = {
        doc["name"]: doc
        for doc in (
            json.loads(p.read_text()) for name, p in documents.items() if name.endswith("-result.json")
        )
    }

    # passing: the setup's exchange and the call's, in order, by title; each kind of answer attached once
    # in the run, compactly, as an example (the 31 POSTs here are one kind, the two reads another)
    passed = _steps(by_test["test_passes"])
    listed = limits.PASSING_LISTED_EXCHANGES
    assert len(passed) == listed + 1
    assert passed[0]["name"].startswith("POST /comms/v1/messages?n=setup")
    assert (
        passed[-1]["name"]
        == f"\u2026 {31 - listed} more exchanges not listed (the test passed: at most {listed} are listed)"
    )
    also = _steps(by_test["test_passes_too"])
    assert [step["name"].split(" \u2192")[0] for step in also] == [
        "POST /comms/v1/messages?n=setup",
        "POST /comms/v1/messages?n=again",
        "GET /comms/v1/messages/2WL5eDefrbW31uw1il84WdF8ndH",
        "GET /comms/v1/messages/3MtHOa0GCiF1PnELCvL9lwiOF8a",
    ]
    examples = [(s["name"], a) for s in passed + also for a in s.get("attachments", [])]
    assert [a["name"] for _, a in examples] == ["Exchange", "Exchange"]
    assert sorted(name.split(" ")[0] for name, _ in examples) == ["GET", "POST"]
    compact = "".join((results / a["source"]).read_text() for _, a in examples)
    assert "POST http://127.0.0.1:1/comms/v1/messages?n=" in compact and "curl" not in compact
    assert "GET http://127.0.0.1:1/comms/v1/messages/2WL5eDefrbW31uw1il84WdF8ndH" in compact
    attachment_files = [name for name in documents if name.endswith("-attachment.txt")]
    assert len(attachment_files) == 2 + 2 * (limits.FAILING_HEAD_EXCHANGES + limits.FAILING_TAIL_EXCHANGES)

    # failing: the first exchanges and the last ones in full, with a note of how many came between
    failed = _steps(by_test["test_fails"])
    head, tail = limits.FAILING_HEAD_EXCHANGES, limits.FAILING_TAIL_EXCHANGES
    assert len(failed) == head + 1 + tail
    assert (
        failed[head]["name"]
        == f"\u2026 {31 - head - tail} more exchanges not attached (at most {head} per test)"
    )
    assert failed[-1]["name"].startswith("POST /comms/v1/messages?n=29")
    for step in failed[:head] + failed[head + 1 :]:
        assert [a["name"] for a in step["attachments"]] == ["Request", "Response"]
    big = (results / failed[-1]["attachments"][0]["source"]).read_text()
    assert "more characters cut here for the report; the whole body is 5,000,012 bytes" in big
    assert len(big) < limits.BODY_PREVIEW_CHARS + 4_000

    # labels every result would carry alike are left out
    assert {"host", "thread", "framework", "language"}.isdisjoint(
        label["name"] for label in by_test["test_passes"]["labels"]
    )

    # the fixture showed nothing of its own, so no container file was written for it
    assert not [name for name in documents if name.endswith("-container.json")]

    # a long failure: message and traceback bounded in the results, whole in JUnit
    details = by_test["test_fails_deep_with_a_long_message"]["statusDetails"]
    assert len(details["message"]) <= limits.RESULT_MESSAGE_CHARS + 100
    assert details["message"].endswith("more characters cut for the report; junit.xml has them]")
    assert len(details["trace"]) <= limits.RESULT_TRACE_CHARS + 100
    assert "characters of the traceback cut for the report" in details["trace"]
    assert "rrrrrrrrrr" not in details["trace"]  # the message is not repeated in the traceback
    assert "r" * 10_000 in junit.read_text()


# -- history ----------------------------------------------------------------------------------------------
def _allure_history_line(run: int, tests: int) -> str:
    """One line as Allure 3.18 appends it: every test's labels, message and stack trace."""
    labels = [
        {"name": name, "value": f"{name}-value"} for name in ("epic", "feature", "story", "suite", "host")
    ]
    results = {
        f"{i:032x}.{run:032x}": {
            "id": f"{run:016x}{i:016x}",
            "name": f"Test number {i}",
            "fullName": f"test_module#test_{i}",
            "environment": "default",
            "status": "failed",
            "message": "AssertionError: " + "m" * 20_000,
            "trace": "Traceback\n" + "t" * 50_000,
            "start": 1,
            "stop": 2,
            "duration": 1,
            "labels": labels,
            "url": "",
            "historyId": f"{i:032x}.{run:032x}",
            "reportLinks": [],
        }
        for i in range(tests)
    }
    point = {"uuid": f"run-{run}", "name": "NHS Notify conformance", "timestamp": run, "knownTestCaseIds": [],
             "testResults": results, "metrics": {}, "url": ""}  # fmt: skip
    return json.dumps(point) + "\n"


def test_history_keeps_the_last_runs_and_small_lines(tmp_path: Path) -> None:
    history = tmp_path / "history.jsonl"
    runs, tests = limits.HISTORY_RUNS + 5, 20
    for run in range(runs):
        with history.open("a", encoding="utf-8") as stream:  # what Allure does at the end of a build
            stream.write(_allure_history_line(run, tests))
            if run == 3:
                stream.write("{not json\n")  # would stop every later build
        allure_html.compact_history(history)
    lines = history.read_text().splitlines()
    assert len(lines) == limits.HISTORY_RUNS
    assert [json.loads(line)["uuid"] for line in lines] == [f"run-{r}" for r in range(5, runs)]
    for line in lines:
        assert len(line) < 600 + tests * (limits.HISTORY_MESSAGE_CHARS + 300)
        item = next(iter(json.loads(line)["testResults"].values()))
        assert {"labels", "trace", "name", "fullName", "historyId"}.isdisjoint(item)
        assert item["status"] == "failed" and len(item["message"]) == limits.HISTORY_MESSAGE_CHARS


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("node") is None, reason="the HTML report needs Node.js and npm")
def test_the_allure_cli_itself_keeps_the_history_bounded(tmp_path: Path) -> None:
    cli = allure_html.find_or_install()
    reports = tmp_path / "reports"
    results = reports / "allure-results"
    results.mkdir(parents=True)
    for i, status in enumerate(("passed", "failed")):
        result = {"uuid": f"u{i}", "historyId": f"h{i}", "name": f"t{i}", "fullName": f"m#t{i}",
                  "status": status, "statusDetails": {"message": "AssertionError: " + "x" * 5_000,
                  "trace": "y" * 5_000}, "start": 1, "stop": 2}  # fmt: skip
        (results / f"u{i}-result.json").write_text(json.dumps(result))
    sizes = []
    for _ in range(limits.HISTORY_RUNS + 5):
        allure_html.build(cli, reports, "history bound")
        sizes.append((reports / "history.jsonl").stat().st_size)
    lines = (reports / "history.jsonl").read_text().splitlines()
    assert len(lines) == limits.HISTORY_RUNS
    assert all(len(line) < 2_000 for line in lines)
    assert sizes[-1] == sizes[-2]  # full: each build adds one line and drops the oldest
    trend = (reports / "html" / "index.html").read_text()
    assert "history bound" in trend


# -- manifest ---------------------------------------------------------------------------------------------
def test_the_manifest_lists_every_file_compactly_and_does_not_grow_with_runs(tmp_path: Path) -> None:
    reports = tmp_path / "reports"
    results = reports / "allure-results"
    results.mkdir(parents=True)
    files = 500
    for i in range(files):
        (results / f"{i:08x}-0000-4000-8000-000000000000-attachment.txt").write_text(f"exchange {i}\n")
    readiness = Readiness.from_counts([("negotiation", AreaCounts(passed=3))])
    history = reports / "history.jsonl"
    sizes = []
    for run in range(limits.HISTORY_RUNS + 5):
        with history.open("a", encoding="utf-8") as stream:
            stream.write(_allure_history_line(run, 5))
        allure_html.compact_history(history)
        sizes.append(write_manifest(reports, RunFacts(environment="local"), readiness, None).stat().st_size)

    manifest = (reports / "manifest.json").read_text()
    document = json.loads(manifest)
    on_disk = sorted(p.relative_to(reports).as_posix() for p in reports.rglob("*") if p.is_file())
    assert [e["path"] for e in document["artefacts"]] == [p for p in on_disk if p != "manifest.json"]
    assert len(manifest) <= 170 * len(on_disk) + 16 * 1024
    assert max(sizes) - min(sizes) < 64  # a full history and the same files: the same size, run after run
    lines = "".join(
        f"{e['sha256']}  {e['path']}\n"
        for e in document["artefacts"]
        if e["path"].startswith("allure-results/")
    )
    tree = document["allure_results"]
    assert tree["files"] == files and tree["sha256"] == hashlib.sha256(lines.encode()).hexdigest()


# -- the HTML's time limit --------------------------------------------------------------------------------
@pytest.mark.skipif(shutil.which("node") is None, reason="the stand-in Allure CLI is a Node.js script")
def test_allure_past_its_time_limit_is_one_line_and_the_history_is_still_bounded(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A real process that never finishes stands in for the Allure CLI: the build stops it at the limit,
    says so in one line, leaves no HTML, and still cuts history.jsonl (which a later run appends to)."""
    never = tmp_path / "never.js"
    never.write_text("setInterval(() => {}, 1000);\n")
    cli = allure_html.AllureCli(node=str(shutil.which("node")), script=never, version="stand-in")
    reports = tmp_path / "reports"
    (reports / "allure-results").mkdir(parents=True)
    history = reports / "history.jsonl"
    history.write_text("".join(_allure_history_line(run, 3) for run in range(limits.HISTORY_RUNS + 2)))
    monkeypatch.setattr(allure_html, "GENERATE_TIMEOUT_S", 1)

    with pytest.raises(allure_html.HtmlUnavailable) as raised:
        allure_html.build(cli, reports, "never finishes")

    assert str(raised.value) == (
        "HTML report skipped: Allure did not finish in 1 s (the results, JUnit and manifest are written)"
    )
    assert not (reports / "html" / "index.html").exists()
    assert len(history.read_text().splitlines()) == limits.HISTORY_RUNS


# -- what the HTML repeats for every test -----------------------------------------------------------------
def test_a_passing_exchange_is_the_same_example_whatever_its_ids_and_query() -> None:
    def kind(method: str, url: str, status: int) -> tuple[str, str, int]:
        return answer_kind(Exchange.build(method=method, url=url, status=status))

    base = "http://127.0.0.1:9/comms/v1/messages"
    read = kind("GET", f"{base}/2WL5eDefrbW31uw1il84WdF8ndH", 200)
    assert read == ("GET", "/comms/v1/messages/{id}", 200)
    assert kind("GET", f"{base}/NotifyConformanceUnknownId0?x=1", 200) == read
    assert kind("GET", f"{base}/2WL5eDefrbW31uw1il84WdF8ndH", 404) != read
    assert (
        kind("POST", f"{base}?n=1", 400)
        == kind("POST", f"{base}?n=2", 400)
        == ("POST", "/comms/v1/messages", 400)
    )
    assert kind("GET", "http://h/comms/channels/nhsapp/accounts", 200)[1] == "/comms/channels/nhsapp/accounts"


@dataclass(frozen=True)
class _Create:
    name: str
    request: object


def test_a_create_parameter_is_named_not_spelled_out() -> None:
    """Its repr (the whole operation, 400 characters) was in every tree of the HTML, for 270 tests."""
    assert readable_parameter(_Create(name="batch", request=object())) == "batch"
    assert readable_parameter({"name": "not a dataclass"}) is None
    assert readable_parameter("batch") is None


# -- the page itself --------------------------------------------------------------------------------------
def _page(code: str, *files: tuple[str, str]) -> str:
    """A page laid out as Allure's single file is: the app's code from a data: URL, then the data script."""
    data = ",".join(f'd("{name}","{value}")' for name, value in files)
    script = base64.b64encode(code.encode()).decode()
    return (
        f'<html><body><script   src="data:text/javascript;base64,{script}"></script>\n'
        f"<script>Promise.allSettled([{data}]).then(function () {{ window.reportDataReady = true; }});</script>"
    )


def _b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def test_the_page_packs_its_data_embeds_repeats_once_and_inlines_its_code() -> None:
    cases = _b64(json.dumps([{"name": f"test {n}", "status": "passed"} for n in range(200)]))
    other, short = _b64("GET /v1/messages/1 -> 200\n" * 100), _b64("tiny")
    code = "const grammar = {comment: [/<!--/, /-->/], tag: /<script(?=\\s|>)/};"
    files = (
        ("widgets/duration.json", cases), ("widgets/severity.json", cases), ("data/attachments/1.txt", other),
        ("widgets/a.json", short),
    )  # fmt: skip
    page = allure_html.compact_page(_page(code, *files))
    assert cases not in page and other not in page  # packed
    assert (
        'z("widgets/duration.json","' in page and 's("widgets/severity.json","widgets/duration.json")' in page
    )
    assert f'd("widgets/a.json","{short}")' in page  # too short to be worth packing
    assert allure_html.embedded_files(page) == {name: base64.b64decode(value) for name, value in files}
    assert len(page) < len(_page(code, *files)) / 4
    assert "DecompressionStream" in page and page.index("function z(") < page.index("Promise.allSettled")
    assert f"<script>{code}</script>" in page and "data:text/javascript" not in page


@pytest.mark.parametrize(
    "code",
    [
        "document.write('</script>');",  # would end the element early
        "const s = '<!-- <script>';",  # the parser would look past the closing tag
        "const s = '<!--';",  # never closed
    ],
)
def test_code_the_parser_could_end_elsewhere_stays_embedded(code: str) -> None:
    page = _page(code)
    assert allure_html.compact_page(page) == page
