"""How the suite behaves against real-world targets, measured on this machine over loopback.

Each scenario runs the real command line (a subprocess) against a server from ``tests/support``, and
reads the outcome from the server's side (its own arrival timestamps and statuses):

  a  a full ``--env integration`` run against ``notify-conformance serve --mode integration`` (live
     throttling: quota 1,200/min, spike arrest 6,000/min per app) behind a recording proxy, with the
     default pacing: requests, peak per second and per minute, wall time, exit code, and the reference's
     own counters from ``GET <origin>/_reference/traffic`` when it offers them
  b  the reference that answers every fifth API request 429 (Retry-After: 1): failures, exit code,
     the 429s sent and the total time the run waited after them
  c  the reference that stops answering after the probe, with the DEFAULT per-request timeout: wall
     time from the first unanswered request to the exit, exit code
  d  a token endpoint that refuses the client (401 invalid_client, "Invalid 'kid' header in JWT"):
     token requests received, lines printed, exit code, wall time

    python bench/realworld.py                 # all four
    python bench/realworld.py --only a,c      # a subset

Nothing is asserted: it prints a table. Only loopback addresses are used.
"""

from __future__ import annotations

import argparse
import itertools
import json
import re
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402

from tests.support.cli import Outcome, run_cli, serve  # noqa: E402
from tests.support.runs import authenticated_run, sandbox_run  # noqa: E402
from tests.support.servers import Traffic  # noqa: E402
from tests.support.targets import Every429, HangAfter, ReferenceTarget, refuses_kid, start_proxy  # noqa: E402

FAILED_COUNT = re.compile(r"\b([0-9]+) failed\b")
#: the run's own account of what it sent (printed by runs that count their requests)
SENT_COUNT = re.compile(r"\b([0-9]+) request\(s\) sent\b")


@dataclass
class Result:
    scenario: str
    rows: list[tuple[str, str]] = field(default_factory=list)

    def add(self, name: str, value: object) -> None:
        self.rows.append((name, str(value)))


def _failures(outcome: Outcome) -> int:
    counted = FAILED_COUNT.findall(outcome.stdout)
    return int(counted[-1]) if counted else 0


def _lines(text: str) -> int:
    return len([line for line in text.splitlines() if line.strip()])


def _common(result: Result, outcome: Outcome, traffic: Traffic) -> None:
    result.add("exit code", outcome.returncode)
    result.add("wall time (s)", f"{outcome.seconds:.1f}")
    result.add("requests received", traffic.count)
    result.add("  of which token requests", traffic.token_requests)
    claimed = SENT_COUNT.findall(outcome.stdout)
    result.add("requests the run says it sent", claimed[-1] if claimed else "not printed")


def scenario_a(args: argparse.Namespace, work: Path) -> Result:
    result = Result("a: full integration run, live throttling, default pacing")
    credentials = work / "a-client.json"
    served = serve("--mode", "integration", "--port", "0", "--credentials-out", str(credentials))
    try:
        proxy = start_proxy(served.origin, "bench-a-proxy")
        try:
            creds = json.loads(credentials.read_text())
            env = {
                "NOTIFY_API_KEY": creds["api_key"],
                "NOTIFY_KEY_ID": creds["kid"],
                "NOTIFY_PRIVATE_KEY": creds["private_key_path"],
            }
            run = [
                "run", "--env", "integration",
                "--base-url", proxy.origin + "/comms", "--token-url", proxy.origin + "/oauth2/token",
                "--reports", str(work / "a-reports"), "-q", *args.extra_a,
            ]  # fmt: skip
            outcome = run_cli(*run, env=env, timeout=args.cap)
            traffic = proxy.traffic
            _common(result, outcome, traffic)
            result.add("failures", _failures(outcome))
            result.add("peak requests in any 1 s", traffic.peak(1.0))
            result.add("peak requests in any 60 s", traffic.peak(60.0))
            result.add("429 answers", sum(status == 429 for status in traffic.statuses()))
            result.add("reference counters", _reference_traffic(served.origin))
        finally:
            proxy.stop()
    finally:
        served.stop()
    return result


def _reference_traffic(origin: str) -> str:
    """The reference's own ``/_reference/traffic`` JSON, compact; tolerates a reference without it."""
    try:
        response = httpx.get(origin + "/_reference/traffic", timeout=10, trust_env=False)
    except httpx.HTTPError as error:
        return f"unavailable ({type(error).__name__})"
    if response.status_code != 200:
        return f"unavailable (HTTP {response.status_code})"
    try:
        return json.dumps(response.json(), separators=(",", ":"))[:600]
    except ValueError:
        return "unavailable (not JSON)"


def _waited_after_429(traffic: Traffic) -> float:
    hits = traffic.hits
    return sum(later.at - hit.at for hit, later in itertools.pairwise(hits) if hit.status == 429)


def scenario_b(args: argparse.Namespace, work: Path) -> Result:
    result = Result(f"b: every fifth API request 429, Retry-After: 1 (-k {args.select_b!r})")
    quota = Every429(nth=5, retry_after="1")
    with ReferenceTarget("sandbox", quota) as target:
        outcome = run_cli(*sandbox_run(target, work / "b-reports", "-k", args.select_b), timeout=args.cap)
        _common(result, outcome, target.traffic)
        result.add("failures", _failures(outcome))
        result.add("429s sent", quota.injected)
        result.add("time waited after 429s (s)", f"{_waited_after_429(target.traffic):.1f}")
    return result


def scenario_c(args: argparse.Namespace, work: Path) -> Result:
    result = Result("c: stops answering after the probe, default per-request timeout")
    hang = HangAfter(answered=args.answered)
    with ReferenceTarget("sandbox", hang) as target:
        outcome = run_cli(*sandbox_run(target, work / "c-reports", "-k", "negotiation"), timeout=args.cap)
        ended = time.monotonic()
        _common(result, outcome, target.traffic)
        hung = f"{ended - hang.hung_at:.1f}" if hang.hung_at is not None else "never hung"
        result.add("from the first unanswered request to exit (s)", hung)
        result.add("stderr lines (besides the HTML note)", len(outcome.error_lines))
        result.add("readiness.md written", (work / "c-reports" / "readiness.md").is_file())
    return result


def scenario_d(args: argparse.Namespace, work: Path) -> Result:
    result = Result("d: token endpoint refuses the client (401 invalid_client, kid)")
    with ReferenceTarget("integration", refuses_kid(401)) as target:
        env = target.client_env(work / "d-keys")
        outcome = run_cli(*authenticated_run(target, work / "d-reports"), env=env, timeout=args.cap)
        _common(result, outcome, target.traffic)
        result.add("stdout lines", _lines(outcome.stdout))
        result.add("stderr lines (besides the HTML note)", len(outcome.error_lines))
        result.add("stderr", " | ".join(outcome.error_lines)[:200])
    return result


SCENARIOS: dict[str, Callable[[argparse.Namespace, Path], Result]] = {
    "a": scenario_a,
    "b": scenario_b,
    "c": scenario_c,
    "d": scenario_d,
}


def _table(results: list[Result]) -> str:
    width = max([len(name) for result in results for name, _ in result.rows] + [10])
    lines = []
    for result in results:
        lines += ["", result.scenario, "-" * len(result.scenario)]
        lines += [f"  {name:<{width}}  {value}" for name, value in result.rows]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--only", default="a,b,c,d", help="comma-separated scenarios (default: a,b,c,d)")
    parser.add_argument(
        "--select-b", default="negotiation or headers", help="-k selection for b (default: %(default)r)"
    )
    parser.add_argument("--answered", type=int, default=1, help="c: requests answered before the hang")
    parser.add_argument(
        "--extra-a", nargs=argparse.REMAINDER, default=[], help="a: extra run arguments (put last)"
    )
    parser.add_argument("--cap", type=float, default=3600, help="kill a run after this many seconds")
    parser.add_argument("--keep", type=Path, help="keep reports under this folder (default: a temp folder)")
    args = parser.parse_args(argv)
    chosen = [name.strip() for name in args.only.split(",") if name.strip()]
    unknown = [name for name in chosen if name not in SCENARIOS]
    if unknown:
        parser.error(f"unknown scenario(s) {', '.join(unknown)}; choose from {', '.join(SCENARIOS)}")
    results = []
    with tempfile.TemporaryDirectory(prefix="bench-realworld-") as temp:
        work = args.keep or Path(temp)
        work.mkdir(parents=True, exist_ok=True)
        for name in chosen:
            print(f"running scenario {name} ...", file=sys.stderr, flush=True)
            try:
                results.append(SCENARIOS[name](args, work))
            except Exception as error:  # a benchmark reports a broken scenario and goes on
                failed = Result(f"{name}: did not complete")
                failed.add("error", f"{type(error).__name__}: {error}"[:300])
                results.append(failed)
    sys.stdout.write(_table(results))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
