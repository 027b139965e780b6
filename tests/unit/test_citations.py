"""Every reference the project makes can be followed inside the repository.

Test labels, the fault bank, docstrings and the documents cite ``docs/behaviour.md`` (``behaviour §3.2``,
``upstream §3.10``, ``ops §1.1``); an auditor who follows one of them from a report must land on a section
that exists. So this fails when:

* anything names a research file that is not in the repository (the strings in ``OUTSIDE``);
* a citation, or a link into the behaviour document, names an anchor the document lacks;
* a document names a repository path (``docs/coverage.md``, ``conformance/reference/catalogue.py``) that
  does not exist.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from conformance.citations import BEHAVIOUR_DOC, Citation, citations, link_for, links_for
from conformance.reference.faults import FAULTS

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / BEHAVIOUR_DOC
THIS_FILE = Path(__file__).resolve()

#: names of files outside the repository that nothing may cite
OUTSIDE = ("api-behaviour", "upstream-tests", "callbacks-and-operations", "shared/reference")

_ANCHOR = re.compile(r'<a id="([^"]+)"></a>')
#: a link into the behaviour document: ``behaviour.md#api-3-2``, ``docs/behaviour.md#upstream-1-9``, ``(#api-2)``
_DOC_LINK = re.compile(r"behaviour\.md#([\w-]+)")
_LOCAL_LINK = re.compile(r"\]\(#([\w-]+)\)")
#: a repository path in backticks or a Markdown link target, to a .md, .py or .yaml file
_PATH = re.compile(r"(?:`|\]\()([\w.*-]+(?:/[\w.*-]+)+\.(?:md|py|yaml))(?:[`#)]|::)")
#: a Markdown link to a file next to the document: ``[coverage](coverage.md)``
_LINK_TARGET = re.compile(r"\]\(([\w.*-]+\.(?:md|py|yaml))(?:#[\w-]*)?\)")
#: where a run writes, or paths that are examples rather than files of the repository
_NOT_REPOSITORY = ("reports/", "path/to/", "~/")


def _scanned() -> list[Path]:
    files = [*sorted((ROOT / "conformance").rglob("*.py")), *sorted((ROOT / "docs").rglob("*.md"))]
    files += [ROOT / "README.md", ROOT / "ARCHITECTURE.md"]
    return [path for path in files if path.resolve() != THIS_FILE and path.exists()]


def _documents() -> list[Path]:
    return [*sorted((ROOT / "docs").rglob("*.md")), ROOT / "README.md", ROOT / "ARCHITECTURE.md"]


def _lines(path: Path) -> Iterator[tuple[str, int, str]]:
    where = path.relative_to(ROOT).as_posix()
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        yield where, number, line


def _anchors() -> list[str]:
    return _ANCHOR.findall(DOC.read_text(encoding="utf-8"))


# ------------------------------------------------------------------------------------------------------
# The helper


def test_a_citation_becomes_a_link_into_the_behaviour_document() -> None:
    assert link_for("behaviour §3.2") == "../behaviour.md#api-3-2"
    assert link_for("upstream §3.10") == "../behaviour.md#upstream-3-10"
    assert link_for("ops §1.1") == "../behaviour.md#ops-1-1"
    assert link_for("behaviour §4") == "../behaviour.md#api-4"
    assert link_for("behaviour §3.9 rule 6; upstream §3.10") == "../behaviour.md#api-3-9"


def test_one_label_may_cite_several_sections_of_several_parts() -> None:
    ref = "behaviour §3.9 rules 6, 8-10, §4.3; upstream §3.5 (425), §3.10"
    assert links_for(ref) == [
        ("behaviour §3.9", "../behaviour.md#api-3-9"),
        ("behaviour §4.3", "../behaviour.md#api-4-3"),
        ("upstream §3.5", "../behaviour.md#upstream-3-5"),
        ("upstream §3.10", "../behaviour.md#upstream-3-10"),
    ]
    assert citations("behaviour §1.5 (links), §1.5 and §4.6 rule 2") == [
        Citation("behaviour", "1.5"),
        Citation("behaviour", "4.6"),
    ]


def test_sections_of_other_documents_are_not_taken_for_citations() -> None:
    assert citations("behaviour §6. RFC 6749 §5.2 allows 400") == [Citation("behaviour", "6")]
    assert citations("RFC 9110 §10.2.3 delay-seconds") == []
    assert citations("behaviour §1.2\nthen §3.1 of something else") == [Citation("behaviour", "1.2")]
    with pytest.raises(ValueError, match="not a citation"):
        link_for("§3.2")


def test_every_fault_cites_a_section() -> None:
    uncited = [fault.name for fault in FAULTS.values() if not citations(fault.section)]
    assert uncited == []


# ------------------------------------------------------------------------------------------------------
# The document


def test_the_behaviour_document_has_each_anchor_once() -> None:
    anchors = _anchors()
    assert "api-3-2" in anchors and "upstream-3-10" in anchors and "ops-1-1" in anchors
    assert sorted({a for a in anchors if anchors.count(a) > 1}) == []


# ------------------------------------------------------------------------------------------------------
# The repository


def test_nothing_cites_a_file_outside_the_repository() -> None:
    found = [
        f"{where}:{number}: {line.strip()}"
        for path in _scanned()
        for where, number, line in _lines(path)
        if any(name in line for name in OUTSIDE)
    ]
    assert found == [], f"{len(found)} references to files that are not in the repository:\n" + "\n".join(
        found
    )


def test_every_citation_names_a_section_of_the_behaviour_document() -> None:
    anchors = set(_anchors())
    missing = []
    for path in _scanned():
        for where, number, line in _lines(path):
            named = [c.anchor for c in citations(line)] + _DOC_LINK.findall(line)
            if path == DOC:
                named += _LOCAL_LINK.findall(line)
            missing += [f"{where}:{number}: #{anchor}" for anchor in named if anchor not in anchors]
    assert missing == [], "sections the behaviour document lacks:\n" + "\n".join(missing)


def _exists(mentioned: str, document: Path) -> bool:
    for base in (ROOT, document.parent, ROOT / "conformance"):
        if "*" in mentioned:
            if any(base.glob(mentioned)):
                return True
        elif (base / mentioned).exists():
            return True
    return False


def test_every_path_the_documents_name_exists() -> None:
    missing = []
    for path in _documents():
        for where, number, line in _lines(path):
            for mentioned in _PATH.findall(line) + _LINK_TARGET.findall(line):
                if mentioned.startswith(_NOT_REPOSITORY) or _exists(mentioned, path):
                    continue
                missing.append(f"{where}:{number}: {mentioned}")
    assert missing == [], "paths that are not in the repository:\n" + "\n".join(missing)


def test_the_path_check_sees_a_missing_file() -> None:
    line = "the reference's table (`reference/errors.py`) and [a page](docs/nowhere.md#x)"
    assert _PATH.findall(line) == ["reference/errors.py", "docs/nowhere.md"]
    assert _LINK_TARGET.findall("see [the report](report.md) and [x](behaviour.md#api-2)") == [
        "report.md",
        "behaviour.md",
    ]
    assert not _exists("reference/errors.py", ROOT / "ARCHITECTURE.md")
    assert _exists("reference/catalogue.py", ROOT / "ARCHITECTURE.md")
    assert _exists("tests/reference/test_upstream_*.py", ROOT / "docs" / "coverage.md")
