"""The command imports the suite's libraries before pytest starts, so pytest rewrites (from source, where
no bytecode is written) only the suite's own test modules, not some 440 modules of schemathesis,
hypothesis and this package: most of a run's start-up otherwise."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

#: runs the command in-process with a plugin that lists, at the end of pytest's session, every module
#: pytest rewrote; the selection matches nothing, so the run ends after collection (exit 2)
_LIST_REWRITTEN = """
import json, sys
import pytest
from _pytest.assertion import assertstate_key
import conformance.runner as runner

listing, reports = sys.argv[1], sys.argv[2]

class ListRewritten:
    def pytest_unconfigure(self, config):
        names = sorted(config.stash[assertstate_key].hook._rewritten_names)
        open(listing, "w").write(json.dumps(names))

real_main = pytest.main
runner.pytest.main = lambda args, plugins=(): real_main(args, plugins=[*plugins, ListRewritten()])
from conformance.cli import main
sys.argv = ["notify-conformance", "run", "-q", "-k", "no-test-is-called-this", "--reports", reports]
sys.exit(main())
"""


def test_pytest_rewrites_only_the_suite_modules(tmp_path: Path) -> None:
    listing = tmp_path / "rewritten.json"
    done = subprocess.run(
        [sys.executable, "-c", _LIST_REWRITTEN, str(listing), str(tmp_path / "reports")],
        capture_output=True,
        text=True,
        timeout=300,
        env={"PYTHONDONTWRITEBYTECODE": "1", "PATH": "/usr/bin:/bin"},
    )
    assert done.returncode == 2, done.stderr  # no test matched the selection
    rewritten = json.loads(listing.read_text())
    assert "conformance.suite.test_properties" in rewritten  # the suite's asserts keep pytest's messages
    heavy = ("hypothesis.", "conformance.properties", "conformance.reference.", "conformance.callbacks")
    assert [name for name in rewritten if name.startswith(heavy)] == []
    assert len([name for name in rewritten if name.startswith("schemathesis.")]) < 40
