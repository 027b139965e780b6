"""Readable names (issue 12, item 4): the report files each test under its area and operation, as
``readiness.md`` names them, and every location it prints is relative to the package, never through
site-packages nor up from the current folder, wherever the command is started."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from collections import defaultdict
from pathlib import Path
from typing import Any

import pytest

from conformance.areas import AREAS
from conformance.reporting import locations
from conformance.suite._labels import OPERATIONS, REQUEST_GROUPS
from tests.support.cli import run_cli, run_pytest

pytest_plugins = ["pytester"]

#: What a suite may be named: an operation of the contract, or a named group of requests.
SUITES = {*OPERATIONS.values(), *REQUEST_GROUPS}
#: A quick selection with failures (the fault breaks 406) and a generated property test.
SELECTION = "negotiation and unsupported_accept_value or properties and create-message-positive"
#: Signs of a location printed by where the package is installed or where the command was started.
UNREADABLE = ("site-packages", "../", str(locations.PACKAGE_HOME) + "/")


def _labels(result: dict[str, Any]) -> dict[str, list[str]]:
    found: dict[str, list[str]] = defaultdict(list)
    for label in result["labels"]:
        found[label["name"]].append(label["value"])
    return found


def _unreadable(text: str) -> list[str]:
    return [sign for sign in UNREADABLE if sign in text]


@pytest.mark.slow
def test_a_run_from_another_folder_names_areas_operations_and_package_paths(tmp_path: Path) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    reports = tmp_path / "reports"
    run = run_cli(
        "run", "-k", SELECTION, "--fault", "406-as-400", "--reports", str(reports), cwd=elsewhere, timeout=600
    )
    assert run.returncode == 1, run.tail()
    results = [json.loads(p.read_text()) for p in (reports / "allure-results").glob("*-result.json")]
    assert len(results) > 3, run.tail()
    failed = 0
    for result in results:
        labels, name = _labels(result), result["fullName"]
        assert len(labels["parentSuite"]) == 1 and labels["parentSuite"][0] in AREAS, (name, labels)
        assert labels["epic"] == labels["parentSuite"], (name, labels)
        assert len(labels["suite"]) == 1 and labels["suite"][0] in SUITES, (name, labels)
        assert labels["feature"] == labels["suite"], (name, labels)
        assert labels["subSuite"] == labels["story"], (name, labels)  # every selected test has cases
        assert labels["package"] == [name.split("#")[0]] and "." not in labels["package"][0], (name, labels)
        shown = [value for values in labels.values() for value in values]
        assert not [value for value in shown if _unreadable(value)], (name, labels)
        trace = (result.get("statusDetails") or {}).get("trace") or ""
        assert not _unreadable(trace), trace
        if result["status"] == "failed":
            failed += 1
            assert "conformance/suite/test_negotiation.py:" in trace, trace
    assert failed, "the fault failed no test"
    by_operation = {(_labels(r)["parentSuite"][0], _labels(r)["suite"][0]) for r in results}
    assert ("negotiation", "GET /v1/messages/{messageId}") in by_operation
    assert ("properties", "POST /v1/messages") in by_operation

    junit = ET.parse(reports / "junit.xml").getroot()
    cases = list(junit.iter("testcase"))
    assert cases and {suite.get("name") for suite in junit.iter("testsuite")} == {"notify-conformance"}
    for case in cases:
        for attribute in ("classname", "file", "name"):
            value = case.get(attribute) or ""
            assert not _unreadable(value) and not value.startswith("/"), (attribute, value)
        assert case.get("classname", "").startswith("test_"), case.attrib
    failures = [element.text or "" for element in junit.iter("failure")]
    assert failures and all("conformance/suite/test_negotiation.py:" in text for text in failures)
    assert not [text for text in failures if _unreadable(text)], failures[0]

    lines = run.stdout.splitlines()
    assert not [line for line in lines if _unreadable(line)], [line for line in lines if _unreadable(line)]
    assert "rootdir: conformance/suite" in lines
    assert any(line.startswith("  test_negotiation.py::test_unsupported_accept_value[") for line in lines)
    assert not _unreadable((reports / "readiness.md").read_text(encoding="utf-8"))


LABEL_PROBE = """
import json

def pytest_collection_finish(session):
    found = {}
    for item in session.items:
        labels = {}
        for mark in item.iter_markers("allure_label"):
            labels.setdefault(mark.kwargs["label_type"], []).extend(str(arg) for arg in mark.args)
        area = item.get_closest_marker("area")
        params = getattr(getattr(item, "callspec", None), "params", {})
        operation = next(
            (str(getattr(v, "operation").id) for v in params.values() if hasattr(v, "operation")), None
        )
        found[item.nodeid] = {
            "labels": {name: sorted(set(values)) for name, values in labels.items()},
            "area": area.args[0] if area else None,
            "operation": operation,
        }
    with open("labels.json", "w") as out:
        json.dump(found, out)
"""


@pytest.mark.slow
def test_every_suite_case_is_filed_under_its_area_and_its_own_operation(tmp_path: Path) -> None:
    (tmp_path / "label_probe.py").write_text(LABEL_PROBE)
    run = run_pytest(
        "--pyargs", "conformance.suite", "--collect-only", "-q", "-p", "label_probe", "-p", "no:randomly",
        "--notify-env", "local", cwd=tmp_path, env={"PYTHONPATH": str(tmp_path)},
    )  # fmt: skip
    assert run.returncode == 0, run.tail()
    found: dict[str, dict[str, Any]] = json.loads((tmp_path / "labels.json").read_text())
    assert len(found) > 500, run.tail()
    per_operation = 0
    for nodeid, case in found.items():
        labels = case["labels"]
        assert labels.get("parentSuite") == [case["area"]] and case["area"] in AREAS, (nodeid, case)
        if nodeid.startswith("test_properties.py::test_generated_requests_conform"):
            assert labels.get("suite") and labels["suite"][0] in OPERATIONS.values(), (nodeid, case)
        if "suite" not in labels:  # only a test that files itself when it runs
            assert nodeid.startswith("test_properties.py::"), (nodeid, case)
            continue
        assert len(labels["suite"]) == 1 and labels["suite"][0] in SUITES, (nodeid, case)
        assert labels.get("feature") == labels["suite"], (nodeid, case)
        if case["operation"] is not None:  # a case sent to one operation is filed under that operation
            per_operation += 1
            assert labels["suite"] == [OPERATIONS[case["operation"]]], (nodeid, case)
    assert per_operation > 50
    allowed = found["test_negotiation.py::test_allowed_accept[sandbox-create-message-batch-accept=*/*]"]
    assert allowed["labels"]["suite"] == ["POST /v1/message-batches"], allowed


def test_shown_paths_are_relative_to_the_folder_that_holds_the_package(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    site = tmp_path / "venv" / "lib" / "python3.11" / "site-packages"
    module = site / "conformance" / "suite" / "test_batches.py"
    assert locations.shown(module, homes=[site]) == "conformance/suite/test_batches.py"
    monkeypatch.chdir(tmp_path)
    relative = "venv/lib/python3.11/site-packages/conformance/suite/test_batches.py"
    assert locations.shown(relative, homes=[tmp_path / "venv", site]) == "lib/python3.11/site-packages/" + (
        "conformance/suite/test_batches.py"
    )  # the first home that holds it wins
    assert locations.shown("/elsewhere/file.py", homes=[site]) == "/elsewhere/file.py"
    this_package = Path(locations.__file__)
    assert locations.shown(this_package) == "conformance/reporting/locations.py"
    assert locations.shown(site, homes=[site]) == str(site)  # a home itself stays as it is


WHEEL_TEST = """
import pytest

def helper():
    assert 1 == 2, "deep in a helper"

def test_fails():
    helper()

def test_skips():
    pytest.skip("not for this target")

@pytest.mark.skip(reason="marked")
def test_marked():
    pass
"""


@pytest.mark.parametrize("relocated", [True, False], ids=["relocated", "pytest-alone"])
def test_reports_from_an_installed_package_name_it_not_the_install(
    pytester: pytest.Pytester, relocated: bool
) -> None:
    """A package installed in a venv beside the current folder: without the plugin pytest writes
    ``../venv/lib/python3.11/site-packages/...`` in JUnit; with it, ``installed/test_where.py``."""
    site = pytester.path / "venv" / "lib" / "python3.11" / "site-packages"
    (site / "installed").mkdir(parents=True)
    (site / "installed" / "__init__.py").write_text("")
    (site / "installed" / "test_where.py").write_text(WHEEL_TEST)
    pytester.syspathinsert(site)
    work = pytester.mkdir("work")
    junit = pytester.path / "junit.xml"
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(work)
        plugins: list[object] = [locations] if relocated else []
        result = pytester.runpytest_inprocess(
            "-p", "no:notify_conformance", "-p", "no:cacheprovider", "--rootdir", str(site / "installed"),
            str(site / "installed"), f"--junitxml={junit}", plugins=plugins,
        )  # fmt: skip
    result.assert_outcomes(failed=1, skipped=2)
    written = junit.read_text()
    texts = [el.text or "" for el in ET.fromstring(written).iter() if el.tag in ("failure", "skipped")]
    assert len(texts) == 3, written
    if relocated:
        assert "site-packages" not in written and "../" not in written, written
        assert all("installed/test_where.py:" in text for text in texts), texts
    else:
        assert "site-packages" in written  # what the plugin is there to prevent
