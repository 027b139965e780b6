"""Choosing faults from the command line: unknown names and misplaced ``--fault`` are one-line usage
errors (exit 2) before anything starts; ``serve --list-faults`` names every fault."""

from __future__ import annotations

from pathlib import Path

import pytest

from conformance.cli import main
from conformance.reference.faults import FAULTS


@pytest.mark.parametrize(
    "argv",
    [
        ["serve", "--fault", "no-such-fault"],
        ["serve", "--mode", "sandbox", "--fault", "auth-not-enforced"],
        ["run", "--fault", "no-such-fault"],
        ["run", "--env", "sandbox", "--base-url", "http://127.0.0.1:9/comms", "--fault", "406-ignored"],
        ["selftest", "--fault", "no-such-fault"],
        ["selftest", "--jobs", "0"],
        ["selftest", "--max-examples", "none"],
    ],
    ids=lambda argv: " ".join(argv),
)
def test_fault_usage_errors_are_one_line_with_exit_2(
    argv: list[str], capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    try:
        code = main([*argv, *(["--reports", str(tmp_path)] if argv[0] == "selftest" else [])])
    except SystemExit as exit_:
        code = int(exit_.code or 0)
    captured = capsys.readouterr()
    assert code == 2
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1, captured.err
    assert lines[0].startswith("notify-conformance") and "Traceback" not in captured.err


@pytest.mark.parametrize(
    "argv",
    [
        ["serve", "--fault", "no-such-fault"],
        ["run", "--fault", "no-such-fault"],
        ["selftest", "--fault", "406-ignored", "--fault", "no-such-fault"],
    ],
    ids=lambda argv: argv[0],
)
def test_an_unknown_fault_reads_the_same_in_every_command(
    argv: list[str], capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    assert main([*argv, "--reports", str(tmp_path)] if argv[0] != "serve" else argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("notify-conformance: error: ")
    assert err.endswith(": unknown fault 'no-such-fault' (see 'notify-conformance serve --list-faults')\n")


def test_list_faults_names_every_fault(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["serve", "--list-faults"]) == 0
    listed = [line.split()[0] for line in capsys.readouterr().out.splitlines()]
    assert listed == list(FAULTS)
