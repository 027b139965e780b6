"""Citations of the project's behaviour document, ``docs/behaviour.md``, and the links they stand for.

A citation names a part of the document and a section number:

* ``behaviour §3.2``: Part 1, the API (anchor ``api-3-2``);
* ``upstream §3.10``: Part 2, what the API team's own tests check (anchor ``upstream-3-10``);
* ``ops §1.1``: Part 3, callbacks, operating and onboarding (anchor ``ops-1-1``).

One citation may list several sections of the same part (``behaviour §3.1, §3.3``), name an item of a
numbered list (``behaviour §3.9 rule 6``, which links to the section), and be followed by a citation of
another part after a semicolon (``behaviour §3.2; upstream §3.2 test_406``). Test labels, the fault bank
and docstrings use this form; :func:`link_for` and :func:`links_for` turn it into links for the report.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final

#: The behaviour document, as a path relative to the repository root (no public URL is published).
BEHAVIOUR_DOC: Final = "docs/behaviour.md"
#: Where a report's links point: each run copies the document into the report folder, beside html/,
#: so the link works from reports/html/index.html, offline and on the auditor's machine.
BEHAVIOUR_DOC_URL: Final = "../behaviour.md"

#: citation word -> anchor prefix in the document
PARTS: Final[dict[str, str]] = {"behaviour": "api", "upstream": "upstream", "ops": "ops"}

_MARKER = re.compile(r"\b(behaviour|upstream|ops) (?=§)")
_SECTION = re.compile(r"§ ?(\d+(?:\.\d+)*)")
#: a cited part's sections run until a semicolon, the end of the line or another document (an RFC)
_END = re.compile(r";|\n|\bRFC\b")


@dataclass(frozen=True)
class Citation:
    """One cited section: ``Citation("behaviour", "3.2")`` is ``behaviour §3.2``."""

    part: str
    section: str

    @property
    def text(self) -> str:
        return f"{self.part} §{self.section}"

    @property
    def anchor(self) -> str:
        return f"{PARTS[self.part]}-{self.section.replace('.', '-')}"

    @property
    def link(self) -> str:
        return f"{BEHAVIOUR_DOC_URL}#{self.anchor}"


def citations(text: str) -> list[Citation]:
    """Every section ``text`` cites, in order of appearance, each once."""
    found: list[Citation] = []
    markers = list(_MARKER.finditer(text))
    for index, marker in enumerate(markers):
        stop = markers[index + 1].start() if index + 1 < len(markers) else len(text)
        end = _END.search(text, marker.end(), stop)
        span = text[marker.end() : end.start() if end else stop]
        for number in _SECTION.findall(span):
            citation = Citation(marker.group(1), number)
            if citation not in found:
                found.append(citation)
    return found


def link_for(citation: str) -> str:
    """The link of the first section ``citation`` names: ``behaviour §3.2`` -> ``docs/behaviour.md#api-3-2``.

    Raises:
        ValueError: ``citation`` names no section of the behaviour document.
    """
    found = citations(citation)
    if not found:
        raise ValueError(f"not a citation of {BEHAVIOUR_DOC}: {citation!r}")
    return found[0].link


def links_for(text: str) -> list[tuple[str, str]]:
    """``(name, link)`` for every section ``text`` cites, e.g. ``("behaviour §3.2", "docs/...#api-3-2")``."""
    return [(citation.text, citation.link) for citation in citations(text)]
