"""Secrets never reach the report folder: the Allure writer redacts as it writes, and the folder is
scrubbed again after the run without breaking the JSON the report generator reads."""

from __future__ import annotations

import json
from pathlib import Path

import allure_pytest.plugin
from allure_commons import model2

from conformance import redaction
from conformance.reporting.scrubbing import RedactingFileLogger, install_redacting_writer, scrub_tree

SECRET = "scrub-test-secret-5f2a9c"
JWT = "eyJhbGciOiJSUzUxMiJ9.eyJpc3MiOiJzY3J1YiJ9.c2lnbmF0dXJlLXNjcnVi"


def _all_bytes(folder: Path) -> bytes:
    return b"".join(path.read_bytes() for path in sorted(folder.rglob("*")) if path.is_file())


def test_the_writer_redacts_results_and_attachments(tmp_path: Path) -> None:
    redaction.register(SECRET)
    writer = RedactingFileLogger(tmp_path)
    result = model2.TestResult(
        uuid="u1",
        name=f"title with {SECRET}",
        parameters=[model2.Parameter(name="token", value=f"'{SECRET}'")],
        statusDetails=model2.StatusDetails(
            message=f"Authorization: Bearer {SECRET}", trace=f"assertion={JWT}"
        ),
        attachments=[model2.Attachment(name="log", source="a-attachment.txt", type="text/plain")],
    )
    writer.report_result(result)
    writer.report_attached_data(
        body=f"captured log: client_assertion={JWT} key {SECRET}", file_name="a-attachment.txt"
    )
    binary = bytes([0x89, 0x50, 0x4E, 0x47, 0xFF, 0x00])
    writer.report_attached_data(body=binary, file_name="b-attachment.png")
    source = tmp_path / "outside.txt"
    source.write_text(f"file attachment {SECRET}")
    writer.report_attached_file(source=str(source), file_name="c-attachment.txt")
    source.unlink()

    written = _all_bytes(tmp_path)
    assert SECRET.encode() not in written and b"eyJhbGciOiJSUzUxMiJ9" not in written
    (result_file,) = tmp_path.glob("*-result.json")
    document = json.loads(result_file.read_text())
    assert document["name"] == f"title with {redaction.MARKER}"
    assert document["parameters"][0]["value"] == f"'{redaction.MARKER}'"
    assert (tmp_path / "b-attachment.png").read_bytes() == binary


def test_allure_pytest_is_made_to_build_the_redacting_writer() -> None:
    install_redacting_writer()
    assert allure_pytest.plugin.AllureFileLogger is RedactingFileLogger


def test_scrub_tree_cleans_every_text_file_and_keeps_json_valid(tmp_path: Path) -> None:
    redaction.register(SECRET)
    results = tmp_path / "allure-results"
    results.mkdir()
    (results / "x-result.json").write_text(
        json.dumps({"name": "ok", "statusDetails": {"message": f'a "{SECRET}"\\'}})
    )
    (results / "y-attachment.txt").write_text(f"Authorization: Bearer {SECRET}\n")
    (tmp_path / "junit.xml").write_text(f'<testsuite><failure message="{SECRET}"/></testsuite>')
    (tmp_path / "history.jsonl").write_text(
        json.dumps({"m": SECRET}) + "\n" + json.dumps({"m": "clean"}) + "\n"
    )
    (tmp_path / "image.png").write_bytes(b"\x89PNG\xff\xfe" + SECRET.encode())  # not text: left alone
    untouched = tmp_path / "clean.txt"
    untouched.write_text("nothing to hide")
    html = tmp_path / "html"
    html.mkdir()
    (html / "index.html").write_text(SECRET)

    changed = scrub_tree(tmp_path, skip=("html",))

    assert {p.name for p in changed} == {"x-result.json", "y-attachment.txt", "junit.xml", "history.jsonl"}
    for path in changed:
        assert SECRET not in path.read_text()
    assert json.loads((results / "x-result.json").read_text())["statusDetails"]["message"].startswith(
        'a "[REDACTED]'
    )
    assert [json.loads(line) for line in (tmp_path / "history.jsonl").read_text().splitlines()] == [
        {"m": redaction.MARKER},
        {"m": "clean"},
    ]
    assert (html / "index.html").read_text() == SECRET  # the HTML is regenerated from scrubbed results
    assert untouched.read_text() == "nothing to hide"


def test_a_token_under_a_sensitive_key_is_masked_and_the_json_stays_valid(tmp_path: Path) -> None:
    document = {"response": {"access_token": "never-registered-token-77", "expires_in": "599"}}
    (tmp_path / "r.json").write_text(json.dumps(document))
    scrub_tree(tmp_path)
    cleaned = json.loads((tmp_path / "r.json").read_text())
    assert cleaned == {"response": {"access_token": redaction.MARKER, "expires_in": "599"}}
