"""How much memory one ``notify-conformance serve --mode integration`` process holds as it answers run
after run: the resident set size (VmRSS, and the peak VmHWM) at start, after run 1, after every 10th
run and at the end.

    python bench/reference_memory.py [--runs N] [--runs-real K] [--every 10] [--json]

A "run" is, by default, a quick replay over loopback of what one full ``run --env integration`` sends
the reference (counted on one: 4 token requests, 161 single creates, 130 small batches, one batch of
40,000 messages, and reads of created and unknown messages), plus one replayed client assertion and
one repeated reference; a run takes seconds, so N = 100 is practical. ``--runs-real K`` then points K
real ``notify-conformance run --env integration --rate-limit off`` invocations at the same process
(about a minute each). The reference is started with ``--no-throttle`` and its own fresh client.

Figures are for one machine and one moment, not targets; on a shared machine they are upper bounds.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import jwt

GLOBAL_NHSAPP_PLAN = "00000000-0000-0000-0000-000000000001"
VALID_NHS_NUMBER = "9990548609"
JSON_API = "application/vnd.api+json"
JWT_BEARER = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
#: what one full run sends the reference (counted on a clean run with the default selection)
TOKENS_PER_RUN = 4
SINGLES_PER_RUN = 161
SMALL_BATCHES_PER_RUN = 130
SMALL_BATCH_SIZES = (1, 1, 1, 2, 2, 3, 5, 9)
LARGE_BATCH = 40_000
READS_PER_RUN = 600
UNKNOWN_READS_PER_RUN = 60
_SERVE_TIMEOUT_S = 60.0


def rss_mb(pid: int) -> tuple[float, float]:
    """(VmRSS, VmHWM) of ``pid`` in MB, from /proc."""
    values: dict[str, float] = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        name, _, rest = line.partition(":")
        if name in ("VmRSS", "VmHWM"):
            values[name] = int(rest.split()[0]) / 1024
    return values["VmRSS"], values["VmHWM"]


@dataclass
class Reference:
    """A ``serve --mode integration`` child process and the client it wrote out."""

    process: subprocess.Popen[str]
    credentials: dict[str, Any]
    private_key: bytes = field(repr=False)

    @property
    def pid(self) -> int:
        return self.process.pid

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def start_reference(folder: Path) -> Reference:
    out = folder / "client.json"
    command = [
        *_command(),
        "serve",
        "--mode",
        "integration",
        "--port",
        "0",
        "--no-throttle",
        "--credentials-out",
        str(out),
    ]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    deadline = time.monotonic() + _SERVE_TIMEOUT_S
    assert process.stdout is not None
    for line in process.stdout:
        if line.startswith("press Ctrl-C"):
            break
        if time.monotonic() > deadline:
            break
    if process.poll() is not None or not out.exists():
        process.kill()
        raise SystemExit("the reference did not start")
    credentials = json.loads(out.read_text())
    return Reference(process, credentials, Path(credentials["private_key_path"]).read_bytes())


def _command() -> list[str]:
    """The CLI of the interpreter running this script (the project's venv)."""
    script = Path(sys.executable).with_name("notify-conformance")
    return [str(script)] if script.exists() else [sys.executable, "-m", "conformance"]


def _assertion(ref: Reference) -> str:
    creds = ref.credentials
    claims = {
        "iss": creds["api_key"],
        "sub": creds["api_key"],
        "aud": creds["token_url"],
        "exp": int(time.time()) + 300,
        "jti": str(uuid.uuid4()),
    }
    return jwt.encode(claims, ref.private_key, algorithm="RS512", headers={"kid": creds["kid"]})


def _token_request(http: httpx.Client, ref: Reference, assertion: str) -> httpx.Response:
    form = {"grant_type": "client_credentials", "client_assertion_type": JWT_BEARER}
    return http.post(ref.credentials["token_url"], data={**form, "client_assertion": assertion})


def _message(reference: str) -> dict[str, Any]:
    return {
        "messageReference": reference,
        "recipient": {"nhsNumber": VALID_NHS_NUMBER},
        "originator": {"odsCode": "X26"},
    }


def _single(reference: str) -> bytes:
    attributes = {"routingPlanId": GLOBAL_NHSAPP_PLAN, **_message(reference)}
    return json.dumps({"data": {"type": "Message", "attributes": attributes}}).encode()


def _batch(size: int) -> bytes:
    attributes = {
        "routingPlanId": GLOBAL_NHSAPP_PLAN,
        "messageBatchReference": str(uuid.uuid4()),
        "messages": [_message(f"{uuid.uuid4()}") for _ in range(size)],
    }
    return json.dumps({"data": {"type": "MessageBatch", "attributes": attributes}}).encode()


def _spread(items: list[str], count: int) -> Iterator[str]:
    """``count`` items taken evenly from ``items``."""
    if items:
        step = max(1, len(items) // count)
        yield from items[::step][:count]


def quick_run(http: httpx.Client, ref: Reference) -> None:
    """One run's worth of the reference's traffic; raises if an answer is not what the run would get."""
    for _ in range(TOKENS_PER_RUN - 1):
        _check(_token_request(http, ref, _assertion(ref)), 200)
    assertion = _assertion(ref)
    token = _check(_token_request(http, ref, assertion), 200).json()["access_token"]
    _check(_token_request(http, ref, assertion), 400)  # a replayed assertion is refused
    base = ref.credentials["base_url"]
    headers = {"Authorization": f"Bearer {token}", "Content-Type": JSON_API, "Accept": JSON_API}
    created: list[str] = []
    for index in range(SINGLES_PER_RUN):
        body = _single(str(uuid.uuid4()))
        response = _check(http.post(f"{base}/v1/messages", content=body, headers=headers), 201)
        created.append(response.json()["data"]["id"])
        if index == 0:  # the same reference again, at once: 425 (then 422)
            _check(http.post(f"{base}/v1/messages", content=body, headers=headers), 425)
    for index in range(SMALL_BATCHES_PER_RUN):
        body = _batch(SMALL_BATCH_SIZES[index % len(SMALL_BATCH_SIZES)])
        response = _check(http.post(f"{base}/v1/message-batches", content=body, headers=headers), 201)
        created.extend(item["id"] for item in response.json()["data"]["attributes"]["messages"])
    response = http.post(f"{base}/v1/message-batches", content=_batch(LARGE_BATCH), headers=headers)
    large = [item["id"] for item in _check(response, 201).json()["data"]["attributes"]["messages"]]
    del response
    for message_id in [*_spread(created, READS_PER_RUN - 10), *_spread(large, 10)]:
        _check(http.get(f"{base}/v1/messages/{message_id}", headers=headers), 200)
    for _ in range(UNKNOWN_READS_PER_RUN):
        _check(http.get(f"{base}/v1/messages/{uuid.uuid4()}", headers=headers), 404)


def _check(response: httpx.Response, status: int) -> httpx.Response:
    if response.status_code != status:
        raise SystemExit(
            f"{response.request.method} {response.request.url.path} answered {response.status_code}, "
            f"expected {status}: {response.text[:200]}"
        )
    return response


def real_run(ref: Reference, reports: Path) -> int:
    """One ``notify-conformance run --env integration`` against the reference; its exit code."""
    creds = ref.credentials
    env = {
        **os.environ,
        "NOTIFY_API_KEY": creds["api_key"],
        "NOTIFY_KEY_ID": creds["kid"],
        "NOTIFY_PRIVATE_KEY": creds["private_key_path"],
    }
    command = [
        *_command(),
        "run",
        "--env",
        "integration",
        "--base-url",
        creds["base_url"],
        "--token-url",
        creds["token_url"],
        "--rate-limit",
        "off",
        "--reports",
        str(reports),
        "-q",
    ]
    return subprocess.run(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL).returncode


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=100, help="quick replayed runs (default 100)")
    parser.add_argument("--runs-real", type=int, default=0, help="real `run` invocations after them")
    parser.add_argument("--every", type=int, default=10, help="print memory after every Nth run")
    parser.add_argument("--json", action="store_true", help="also print the figures as one JSON line")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="reference-memory-") as folder:
        ref = start_reference(Path(folder))
        samples: list[dict[str, Any]] = []

        def sample(label: str, run: int, seconds: float | None = None) -> None:
            rss, peak = rss_mb(ref.pid)
            samples.append({"after": label, "run": run, "rss_mb": round(rss, 1), "peak_mb": round(peak, 1)})
            timing = "" if seconds is None else f"  ({seconds:.1f} s for the last run)"
            print(f"{label:<16} VmRSS {rss:8.1f} MB   VmHWM {peak:8.1f} MB{timing}", flush=True)

        try:
            sample("start", 0)
            total = args.runs + args.runs_real
            with httpx.Client(timeout=120) as http:
                for run in range(1, args.runs + 1):
                    began = time.perf_counter()
                    quick_run(http, ref)
                    if run == 1 or run % args.every == 0 or run == total:
                        sample(f"run {run} (quick)", run, time.perf_counter() - began)
            for real in range(1, args.runs_real + 1):
                run = args.runs + real
                began = time.perf_counter()
                code = real_run(ref, Path(folder) / "reports")
                sample(f"run {run} (real, exit {code})", run, time.perf_counter() - began)
        finally:
            ref.stop()
    first = next((s for s in samples if s["run"] == 1), samples[0])
    last = samples[-1]
    since_start = last["rss_mb"] - samples[0]["rss_mb"]
    since_first = last["rss_mb"] - first["rss_mb"]
    print(
        f"end: {last['run']} runs; VmRSS {last['rss_mb']} MB, {since_start:+.1f} MB since start, "
        f"{since_first:+.1f} MB since run 1; peak {last['peak_mb']} MB"
    )
    if args.json:
        print(json.dumps({"reference_memory": samples}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
