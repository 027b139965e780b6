"""The ``local`` environment: the embedded reference API on loopback, in both modes, with freshly
generated clients, and the reference callback receiver with a freshly generated API key and application
id (the callbacks area). This is the one place outside the CLI's ``serve`` that starts the reference; the
suite itself never imports it. By default the servers run in one child process
(:mod:`conformance.local_servers`, started and stopped from here) that hands back the environment as
plain data, so that they do not share the test process's GIL.

The self-test's deliberate faults (``--fault``) go to the server whose bank names them: the reference
API's (:mod:`conformance.reference.faults`) or the receiver's (:mod:`conformance.reference.receiver_faults`).
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import selectors
import shutil
import subprocess
import sys
import threading
from collections import deque
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import IO, TYPE_CHECKING

from conformance import redaction
from conformance._resources import child_environment
from conformance.environments import (
    CallbackReceiver,
    ClientLimits,
    Credentials,
    Data,
    Environment,
    Options,
    Target,
    budget_for,
    environment_from_data,
    options_to_data,
    scratch_dir,
    validate,
)
from conformance.errors import ConformanceError
from conformance.safety import SafetyPolicy

if TYPE_CHECKING:
    from conformance.reference.oauth import ClientCredentials, ClientRegistry
    from conformance.reference.server import RunningReference

#: the answer time the local receiver is held to: a third of the sender's 30 s (ops §1.3), so that the
#: self-test's slow receiver fault costs seconds; a receiver on loopback answers in milliseconds
LOCAL_CALLBACK_TIMEOUT_S = 10.0
#: the callbacks the local area may send: every example check and some 60 generated callbacks
LOCAL_MAX_CALLBACKS = 150
#: the receiver's throttling fault pushes back every this many callbacks (each costs a second's wait)
LOCAL_THROTTLE_EVERY = 40
#: the sandbox's upstream timeout (live: 10 s): a /_timeout asking for longer gets its 504 after this
LOCAL_UPSTREAM_TIMEOUT_S = 0.5
#: seconds between a created message's status changes at the API that sends the receiver callbacks
LOCAL_STATUS_STEP_S = 0.05
#: the ``throttled`` client's own limits: a quota of 3 a minute and a spike arrest of one request per
#: 0.25 s (240 a minute), so both 429s come within a second or two and back-to-back requests are a spike
LOCAL_THROTTLED_QUOTA_PER_MINUTE = 3
LOCAL_THROTTLED_SPIKE_PER_MINUTE = 240
#: the ``short_lived`` client's token lifetime (whole seconds, as ``expires_in`` states it)
LOCAL_SHORT_LIVED_TOKEN_S = 1
#: the most the servers' child process may take to answer with its environment (it takes about a second)
CHILD_START_TIMEOUT_S = 30.0
#: how long the child gets to stop after its stdin is closed, and again after SIGTERM, before SIGKILL
CHILD_STOP_TIMEOUT_S = 5.0

#: the child's program: :mod:`conformance.local_servers`, named (not imported: it imports this module),
#: found where this copy of the package was imported from (``_resources.child_environment``)
_CHILD_PROGRAM = "from conformance.local_servers import main; raise SystemExit(main())"


def _credentials(generated: ClientCredentials) -> Credentials:
    """The suite's view of a client the reference generated (the two sides share no types)."""
    return Credentials(
        api_key=generated.api_key, kid=generated.kid, private_key_path=generated.private_key_path
    )


def _special_clients(registry: ClientRegistry, keys: Path) -> dict[str, Credentials]:
    """The special-purpose clients the suite's ``extra_client`` tests need, made by the reference's own
    ``generate_special_clients`` with the timings above, which the suite is told."""
    from conformance.reference.oauth import generate_special_clients
    from conformance.reference.throttle import Limits

    limits = Limits(LOCAL_THROTTLED_QUOTA_PER_MINUTE, LOCAL_THROTTLED_SPIKE_PER_MINUTE)
    made = generate_special_clients(
        registry, keys, throttled_limits=limits, short_lived_token_s=LOCAL_SHORT_LIVED_TOKEN_S
    )
    return {
        "short_lived": replace(_credentials(made["short_lived"]), token_lifetime_s=LOCAL_SHORT_LIVED_TOKEN_S),
        "not_onboarded": _credentials(made["not_onboarded"]),
        "throttled": replace(
            _credentials(made["throttled"]),
            limits=ClientLimits(limits.quota_per_minute, limits.spike_interval_s),
        ),
    }


def _integration_target(
    server: RunningReference, client: Credentials, extra: dict[str, Credentials] | None = None
) -> Target:
    """An integration-mode reference server as the suite reaches it: signed-JWT auth, stored state."""
    return Target(
        kind="integration",
        base_url=server.base_url,
        token_url=server.token_url,
        credentials=client,
        extra_clients=extra or {},
        auth_required=True,
        stateful=True,
    )


@contextlib.contextmanager
def _reference_receiver(
    faults: frozenset[str], api_faults: frozenset[str], keys: Path
) -> Iterator[CallbackReceiver]:
    """Start the reference receiver (with ``faults``) and a reference API in integration mode (with
    ``api_faults``, so a fault in how it sends callbacks is seen) whose status callbacks go to it,
    both with credentials made for this run; yield how to reach both."""
    from conformance.reference.config import CallbackSettings, ReferenceConfig
    from conformance.reference.oauth import generate_client
    from conformance.reference.receiver import ReceiverConfig, start
    from conformance.reference.server import start as start_reference

    api_key, application_id = secrets.token_urlsafe(24), f"app-{secrets.token_hex(8)}"
    redaction.register(api_key, f"{application_id}.{api_key}")
    config = ReceiverConfig(
        api_key=api_key,
        application_id=application_id,
        faults=faults,
        slow_s=LOCAL_CALLBACK_TIMEOUT_S + 2,
        throttle_every=LOCAL_THROTTLE_EVERY,
    )
    with start(config) as receiver:
        delivery = CallbackSettings(
            receiver.message_status_url, receiver.channel_status_url, api_key, application_id
        )
        sending = ReferenceConfig(
            mode="integration",
            faults=api_faults,
            throttle=False,
            status_step_s=LOCAL_STATUS_STEP_S,
            callbacks=delivery,
        )
        with start_reference(sending) as api:
            client = _credentials(generate_client(api.registry, keys))
            yield CallbackReceiver(
                receiver.message_status_url,
                receiver.channel_status_url,
                application_id,
                api_key,
                timeout_s=LOCAL_CALLBACK_TIMEOUT_S,
                max_callbacks=LOCAL_MAX_CALLBACKS,
                owner="the reference receiver",
                sending_api=_integration_target(api, client),
                received_url=receiver.received_url,
                sent_url=api.callbacks_url,
            )


@contextlib.contextmanager
def servers_in_process(options: Options, keys: Path) -> Iterator[Environment]:
    """Start the reference API (sandbox and integration modes) and the reference receiver in this
    process, the clients' keys written to ``keys``, and yield the environment using them."""
    from conformance.reference.oauth import generate_client
    from conformance.reference.receiver_faults import FAULTS as RECEIVER_FAULTS
    from conformance.reference.server import ReferenceConfig, start

    options = validate(options, {})
    # the self-test's deliberate faults, none in a normal run: each goes to the server it belongs to
    receiver_faults = frozenset(name for name in options.faults if name in RECEIVER_FAULTS)
    faults = frozenset(options.faults) - receiver_faults
    with (
        start(
            ReferenceConfig(mode="sandbox", upstream_timeout_s=LOCAL_UPSTREAM_TIMEOUT_S, faults=faults)
        ) as sandbox,
        # throttling off: the suite sends far faster over loopback than live's limits allow; the
        # ``throttled`` client carries limits of its own for the rate-limit tests
        start(ReferenceConfig(mode="integration", faults=faults, throttle=False)) as integration,
        _reference_receiver(receiver_faults, faults, keys) as receiver,
    ):
        registry = integration.registry
        main = _credentials(generate_client(registry, keys))
        extra = _special_clients(registry, keys)
        targets = (
            Target(kind="sandbox", base_url=sandbox.base_url, scenarios=True),
            _integration_target(integration, main, extra),
        )
        yield Environment("local", targets, SafetyPolicy.open(), budget_for(options), receiver)


def _stderr_tail(stream: IO[str]) -> tuple[deque[str], threading.Thread]:
    """The child's last few stderr lines, kept by a thread that drains the pipe (so it never fills)
    until the child has gone."""
    tail: deque[str] = deque(maxlen=20)

    def drain() -> None:
        for line in stream:
            tail.append(line.rstrip())

    thread = threading.Thread(target=drain, name="local-servers-stderr", daemon=True)
    thread.start()
    return tail, thread


def _first_line(process: subprocess.Popen[str], tail: deque[str], drain: threading.Thread) -> Data:
    """The child's answer: its environment, or why it could not start; a one-line error otherwise."""
    assert process.stdout is not None
    with selectors.DefaultSelector() as selector:
        selector.register(process.stdout, selectors.EVENT_READ)
        ready = selector.select(CHILD_START_TIMEOUT_S)
    line = process.stdout.readline() if ready else ""
    if not line:
        process.kill()  # only ever our own child, by its handle
        process.wait()  # so that the exit code is known (the caller's _stop then closes the pipes)
        drain.join(CHILD_STOP_TIMEOUT_S)  # its last words, a traceback's last line, are in ``tail`` now
        why = (
            f"not ready after {CHILD_START_TIMEOUT_S:g} s" if not ready else f"exit code {process.returncode}"
        )
        last = redaction.redact(tail[-1]) if tail else "no output"
        raise ConformanceError(f"the local reference servers did not start ({why}): {last}")
    answer: Data = json.loads(line)
    if "error" in answer:
        raise ConformanceError(f"the local reference servers did not start: {answer['error']}")
    return answer


def _stop(process: subprocess.Popen[str], drain: threading.Thread) -> None:
    """Close the child's stdin (its signal to stop), give it a few seconds before insisting, then close
    the other pipes once its stderr is drained."""
    with contextlib.suppress(OSError):  # a child already gone has closed its end
        if process.stdin is not None:
            process.stdin.close()
    for insist in (None, process.terminate, process.kill):  # only ever our own child, by its handle
        if insist is not None:
            insist()
        try:
            process.wait(CHILD_STOP_TIMEOUT_S)
            break
        except subprocess.TimeoutExpired:
            continue
    drain.join(CHILD_STOP_TIMEOUT_S)
    for stream in (process.stdout, process.stderr):
        if stream is not None:
            stream.close()


@contextlib.contextmanager
def servers_in_child(options: Options, keys: Path) -> Iterator[Environment]:
    """What :func:`servers_in_process` yields, from one child process
    (:mod:`conformance.local_servers`) that runs the servers, so they never contend for this process's
    GIL. The options go over its stdin, the environment (secrets included) comes back over its stdout;
    closing its stdin stops it."""
    process = subprocess.Popen(
        [sys.executable, "-P", "-c", _CHILD_PROGRAM],  # -P: this installation, not the current folder's
        env=child_environment(os.environ),
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert process.stdin is not None and process.stderr is not None
    tail, drain = _stderr_tail(process.stderr)
    try:
        with contextlib.suppress(OSError):  # a child that died at once is reported by _first_line
            process.stdin.write(json.dumps({"options": options_to_data(options), "keys": str(keys)}) + "\n")
            process.stdin.flush()
        environment = environment_from_data(_first_line(process, tail, drain)["environment"])
        receiver = environment.callbacks
        if receiver is not None:  # what _reference_receiver registers in the process that runs it
            redaction.register(receiver.api_key, f"{receiver.application_id}.{receiver.api_key}")
        yield environment
    finally:
        _stop(process, drain)


@contextlib.contextmanager
def local_environment(options: Options, *, in_process: bool = False) -> Iterator[Environment]:
    """Start the reference API (sandbox and integration modes) and the reference receiver, in one child
    process (or, ``in_process``, in this one: the self-test's workers, already one process per job), and
    yield the environment using them."""
    options = validate(options, {})
    keys = scratch_dir("notify-conformance-keys-")
    try:
        with (servers_in_process if in_process else servers_in_child)(options, keys) as environment:
            yield environment
    finally:
        shutil.rmtree(keys, ignore_errors=True)
