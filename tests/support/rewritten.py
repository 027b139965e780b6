"""A pytest plugin for ``tests/suite/test_import_ahead.py``: at the end of each pytest session that loads
it (the command's, and each pytest-xdist worker's, which load the same ``-p`` plugins), one JSON line
with the modules pytest rewrote, appended to the file that NOTIFY_TEST_REWRITTEN names."""

from __future__ import annotations

import json
import os

import pytest
from _pytest.assertion import assertstate_key


def pytest_unconfigure(config: pytest.Config) -> None:
    listing = os.environ.get("NOTIFY_TEST_REWRITTEN")
    state = config.stash.get(assertstate_key, None)
    if listing and state is not None and state.hook is not None:
        names = sorted(state.hook._rewritten_names)
        role = "worker" if hasattr(config, "workerinput") else "command"
        with open(listing, "a", encoding="utf-8") as out:
            out.write(json.dumps({"role": role, "rewritten": names}) + "\n")
