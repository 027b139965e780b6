"""Locate the data shipped with the suite (the OpenAPI contract, the sandbox fixtures, the behaviour
document), and this installation itself for the child processes that must import it.

In a wheel they live under ``conformance/_data``; in a source checkout (editable install, tox, CI)
they are the top-level ``specs/`` and ``fixtures/`` folders.
"""

from __future__ import annotations

import os
import site
from collections.abc import Mapping
from pathlib import Path

_PACKAGE_DIR = Path(__file__).resolve().parent
#: the folder this installation's ``conformance`` package sits in (site-packages, or a checkout's root)
PACKAGE_ROOT = _PACKAGE_DIR.parent


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


def child_environment(environ: Mapping[str, str]) -> dict[str, str]:
    """``environ`` for a child Python that imports this installation of the package, not whatever
    ``conformance/`` its current folder holds (a checkout's source, say). Start the child with ``-P``, or
    in a folder of its own, so the current folder is not put first on its path.

    A child finds a site-packages installation (an editable one too) by itself; any other
    :data:`PACKAGE_ROOT` (a checkout run without installing) goes first on ``PYTHONPATH``. A
    site-packages folder never does: put before the standard library, it could shadow it."""
    env = dict(environ)
    if str(PACKAGE_ROOT) not in _site_folders():
        env["PYTHONPATH"] = os.pathsep.join(p for p in (str(PACKAGE_ROOT), env.get("PYTHONPATH")) if p)
    return env


def _site_folders() -> set[str]:
    folders = [*site.getsitepackages(), site.getusersitepackages()]
    return {str(Path(folder).resolve()) for folder in folders}
