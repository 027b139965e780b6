"""The redacting Allure writer stores exactly what allure's own writer would, without importing attrs."""

from __future__ import annotations

import json
from pathlib import Path

from allure_commons import model2
from allure_commons.logger import AllureFileLogger
from allure_commons.model2 import Attachment, Label, Parameter, StatusDetails

from conformance.reporting.scrubbing import RedactingFileLogger, allure_item_document


def _result() -> model2.TestResult:
    step = model2.TestStepResult(
        name="send",
        status="passed",
        start=0,
        stop=5,
        parameters=[Parameter(name="excluded", value="x", excluded=False)],
        steps=[
            model2.TestStepResult(name="inner", status="failed", statusDetails=StatusDetails(message="m"))
        ],
    )
    return model2.TestResult(
        uuid="u-1",
        name="test",
        fullName="suite.test",
        status="failed",
        statusDetails=StatusDetails(message="boom", trace="line", flaky=False),
        labels=[Label(name="tag", value="known discrepancy D3"), Label(name="epic", value="auth")],
        parameters=[Parameter(name="operation", value="'POST /v1/messages'")],
        attachments=[Attachment(name="request", source="a.txt", type="text/plain")],
        steps=[step],
        description="",
        start=1,
        stop=2,
    )


def _written(folder: Path) -> list[object]:
    return [json.loads(path.read_text(encoding="utf-8")) for path in sorted(folder.glob("*.json"))]


def test_documents_match_allures_own_writer(tmp_path: Path) -> None:
    items = [_result(), model2.TestResultContainer(uuid="c-1", name="fixture", children=["u-1"], start=3)]
    for name, writer_class in (("allure", AllureFileLogger), ("ours", RedactingFileLogger)):
        writer = writer_class(tmp_path / name)
        for item in items:
            if isinstance(item, model2.TestResult):
                writer.report_result(item)
            else:
                writer.report_container(item)
    theirs, ours = _written(tmp_path / "allure"), _written(tmp_path / "ours")
    key = json.dumps
    assert sorted(ours, key=key) == sorted(theirs, key=key)
    assert [allure_item_document(item) for item in items] in (theirs, theirs[::-1])


def test_empty_values_are_left_out_but_false_is_kept() -> None:
    document = allure_item_document(StatusDetails(message="", flaky=False, known=None))
    assert document == {"flaky": False}
