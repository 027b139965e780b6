"""Locate the data shipped with the suite (the OpenAPI contract, the sandbox fixtures, the behaviour
document).

In a wheel they live under ``conformance/_data``; in a source checkout (editable install, tox, CI)
they are the top-level ``specs/`` and ``fixtures/`` folders.
"""

from __future__ import annotations

from pathlib import Path

_PACKAGE_DIR = Path(__file__).resolve().parent


def data_dir(name: str) -> Path:
    """Return the folder ``name`` (``specs``, ``fixtures`` or ``docs``), wherever this install keeps it."""
    for candidate in (_PACKAGE_DIR / "_data" / name, _PACKAGE_DIR.parent / name):
        if candidate.is_dir():
            return candidate
    raise FileNotFoundError(f"the suite's {name}/ folder is missing from this installation")


def specs_dir() -> Path:
    return data_dir("specs")


def fixtures_dir() -> Path:
    return data_dir("fixtures")


def behaviour_doc() -> Path:
    """``docs/behaviour.md``, which every citation in the suite and the report points into."""
    return data_dir("docs") / "behaviour.md"
