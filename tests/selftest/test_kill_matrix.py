"""The kill matrix's verdicts and score: a fault counts as caught only by a failure in its own area, and
anything short of a clean pass plus every fault caught fails the self-test. Also the jobs' wire form."""

from __future__ import annotations

import json

from conformance.reference.faults import FAULTS
from conformance.selftest.jobs import CLEAN, Failure, Job, JobResult
from conformance.selftest.matrix import KillMatrix, render_json, render_markdown, render_terminal, verdict_for


def _matrix(clean: JobResult, *results: JobResult) -> KillMatrix:
    verdicts = [verdict_for(FAULTS[result.name], result) for result in results]
    return KillMatrix("quick", 2, 1, 2, clean, verdicts, 12.5, "2026-01-01 00:00 UTC")


CLEAN_PASS = JobResult(CLEAN, passed=10, exit_code=0)
CAUGHT = JobResult(
    "406-ignored",
    failed=1,
    exit_code=1,
    failures=[Failure("test_negotiation.py::test_x[sandbox]", "negotiation")],
)
CAUGHT_ELSEWHERE = JobResult(
    "x-amz-header-leaked", failed=1, exit_code=1, failures=[Failure("test_routing.py::test_y", "routing")]
)


def test_a_failure_in_another_area_does_not_count() -> None:
    verdict = verdict_for(FAULTS["x-amz-header-leaked"], CAUGHT_ELSEWHERE)
    assert not verdict.caught
    assert verdict.also_failed == ["test_routing.py::test_y"]


def test_every_fault_caught_and_a_clean_pass_is_a_pass() -> None:
    matrix = _matrix(CLEAN_PASS, CAUGHT)
    assert matrix.passed and matrix.score == 1.0
    assert "1/1 faults caught (100%)" in render_markdown(matrix)
    assert "| `406-ignored` | both |" in render_markdown(matrix)


def test_one_missed_fault_fails_and_is_shown() -> None:
    matrix = _matrix(CLEAN_PASS, CAUGHT, CAUGHT_ELSEWHERE)
    assert not matrix.passed and matrix.caught == 1
    assert "**NO**" in render_markdown(matrix)
    assert "score: 1/2 faults caught (50%)" in render_terminal(matrix)


def test_a_failure_on_the_clean_reference_fails_everything() -> None:
    clean = JobResult(CLEAN, passed=9, failed=1, exit_code=1, failures=[Failure("test_a.py::test_b", "auth")])
    matrix = _matrix(clean, CAUGHT)
    assert not matrix.clean_passed and not matrix.passed
    assert "test_a.py::test_b" in render_markdown(matrix)


def test_a_broken_run_never_counts_as_a_catch() -> None:
    broken = JobResult("406-ignored", failed=3, exit_code=2, error="pytest ended with exit code 2")
    broken.failures = [Failure("test_negotiation.py::test_x", "negotiation")]
    matrix = _matrix(CLEAN_PASS, broken)
    assert not matrix.passed
    assert "error: pytest ended with exit code 2" in render_markdown(matrix)


def test_the_json_matrix_holds_the_score_and_every_verdict() -> None:
    document = json.loads(render_json(_matrix(CLEAN_PASS, CAUGHT, CAUGHT_ELSEWHERE)))
    assert document["score"] == {"caught": 1, "total": 2} and document["passed"] is False
    assert [(fault["fault"], fault["caught"]) for fault in document["faults"]] == [
        ("406-ignored", True),
        ("x-amz-header-leaked", False),
    ]
    assert document["clean"]["passed"] == 10


def test_jobs_and_results_cross_the_pipe_unchanged() -> None:
    job = Job("406-ignored", ("406-ignored",), ("negotiation",), 2, 7, "/tmp/x.log", True, {"t.py::t": 0.5})
    assert Job.from_json(job.to_json()) == job
    assert JobResult.from_json(CAUGHT.to_json()) == CAUGHT
