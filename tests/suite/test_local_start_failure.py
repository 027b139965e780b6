"""Local reference servers that cannot start are a setup problem, not a verdict: the run ends before any
test with one line and exit 2, having tried to start them once (not once per test module)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

#: the command run in-process, its servers' child replaced by a real child process that cannot start:
#: it notes each start in a file, says why on stderr and exits 3
_RUN_WITH_A_FAILING_CHILD = """
import sys
import conformance.local_env as local_env
from conformance.cli import main

starts, reports = sys.argv[1], sys.argv[2]
local_env._CHILD_PROGRAM = (
    f"open({starts!r}, 'a').write('started\\\\n'); import sys; "
    "sys.stderr.write('address already in use\\\\n'); sys.exit(3)"
)
sys.argv = ["notify-conformance", "run", "-q", "--reports", reports]
sys.exit(main())
"""


def test_servers_that_cannot_start_end_the_run_in_one_line(tmp_path: Path) -> None:
    starts = tmp_path / "starts.txt"
    done = subprocess.run(
        [sys.executable, "-c", _RUN_WITH_A_FAILING_CHILD, str(starts), str(tmp_path / "reports")],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 2, done.stdout + done.stderr
    assert done.stderr.splitlines() == [
        "notify-conformance: error: NC000: the local reference servers did not start (exit code 3): "
        "address already in use"
    ]
    assert "errors collecting" not in done.stdout
    assert "Traceback" not in done.stdout + done.stderr
    assert starts.read_text().splitlines() == ["started"]
