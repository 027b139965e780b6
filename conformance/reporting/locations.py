"""Where the reports say a test or a line of code is: relative to the installed package, the same
whether it is installed editable or from a wheel and whatever the current folder.

Test ids are relative to the suite folder already (``notify-conformance run`` makes it pytest's rootdir),
but pytest writes the file of each traceback entry, and of a skip, relative to the current folder or in
full, so a wheel install shows ``../../venv/lib/python3.11/site-packages/conformance/suite/...``. The
plugin below rewrites those paths in each test report, before any writer (terminal, JUnit, Allure)
reads it: a file of this package becomes ``conformance/suite/test_batches.py``, a file of another
installed package ``httpx/_client.py``.
"""

from __future__ import annotations

import functools
import os
import sys
from collections.abc import Generator, Iterable, Iterator
from pathlib import Path
from typing import Any

import pytest

import conformance

#: The folder that holds the ``conformance`` package (site-packages, or the checkout when editable).
PACKAGE_HOME = Path(conformance.__file__).resolve().parent.parent


def shown(path: str | os.PathLike[str], homes: Iterable[Path] | None = None) -> str:
    """``path`` as the reports show it: relative to the first of ``homes`` that holds it (by default
    this package's folder, then the folders of ``sys.path``, innermost first); unchanged when none does."""
    given = Path(path)
    full = Path(os.path.normpath(given if given.is_absolute() else Path.cwd() / given))
    for home in _default_homes() if homes is None else homes:
        if full != home and full.is_relative_to(home):
            return full.relative_to(home).as_posix()
    return os.fspath(path)


def _default_homes() -> Iterator[Path]:
    yield PACKAGE_HOME
    yield from _import_folders(tuple(sys.path))


@functools.lru_cache(maxsize=8)
def _import_folders(entries: tuple[str, ...]) -> tuple[Path, ...]:
    """The folders imports come from, innermost first; not the current folder's ``""`` entry, which
    would make a path depend on where the command was started."""
    found = {Path(os.path.normpath(Path(entry).resolve())) for entry in entries if entry}
    return tuple(sorted((entry for entry in found if entry.is_dir()), key=lambda entry: -len(entry.parts)))


def relocate(report: pytest.TestReport | pytest.CollectReport) -> None:
    """Rewrite the file paths a report carries (a skip's location; each traceback entry's file and the
    crash line) as :func:`shown` writes them. Read by shape, as pytest's terminal and JUnit writers do."""
    longrepr: Any = report.longrepr
    if isinstance(longrepr, tuple) and len(longrepr) == 3:  # a skip: (path, line, reason)
        report.longrepr = (shown(longrepr[0]), longrepr[1], longrepr[2])
        return
    chain = getattr(longrepr, "chain", None)  # ExceptionChainRepr: (traceback, crash, description)
    if chain is None and hasattr(longrepr, "reprtraceback"):
        chain = [(longrepr.reprtraceback, getattr(longrepr, "reprcrash", None), None)]
    for traceback, crash, _ in chain or ():
        for entry in getattr(traceback, "reprentries", ()):
            _move(getattr(entry, "reprfileloc", None))
        _move(crash)


def _move(location: Any) -> None:
    """A ReprFileLocation (path, lineno, message) with its path as the reports show it."""
    if location is not None and isinstance(getattr(location, "path", None), str):
        location.path = shown(location.path)


# innermost of the makereport wrappers, so every other one (redaction, Allure) sees the paths rewritten
@pytest.hookimpl(wrapper=True, trylast=True)
def pytest_runtest_makereport(item: pytest.Item) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    report = yield
    relocate(report)
    return report


@pytest.hookimpl(wrapper=True, trylast=True)
def pytest_make_collect_report(
    collector: pytest.Collector,
) -> Generator[None, pytest.CollectReport, pytest.CollectReport]:
    report = yield
    relocate(report)
    return report


def install(config: pytest.Config) -> None:
    """Register this module's hooks in the session (once)."""
    if not config.pluginmanager.is_registered(sys.modules[__name__]):
        config.pluginmanager.register(sys.modules[__name__], "notify-locations")
