"""What an environment is: its addresses, whether it needs auth or keeps state, which tests apply,
its safety policy and its generation budget. This module is the only place that knows.

``local`` starts the embedded reference API (both modes) on loopback with freshly generated clients;
the other environments point at NHS addresses (overridable with ``--base-url``/``--token-url``) and take
credentials from environment variables only.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

from conformance import nhs_number
from conformance.auth import load_private_key
from conformance.errors import ConfigurationError, CredentialsError, UsageError
from conformance.pacing import RateLimit
from conformance.safety import SafetyPolicy

#: the plain-data form of an environment (JSON-able: str, int, float, bool, list, dict, None)
Data = dict[str, Any]

EnvName = Literal["local", "sandbox", "integration", "production-smoke"]
TargetKind = Literal["sandbox", "integration"]
ENVIRONMENTS: tuple[EnvName, ...] = ("local", "sandbox", "integration", "production-smoke")

SANDBOX_URL = "https://sandbox.api.service.nhs.uk/comms"
INTEGRATION_URL = "https://int.api.service.nhs.uk/comms"
INTEGRATION_TOKEN_URL = "https://int.api.service.nhs.uk/oauth2/token"
PRODUCTION_URL = "https://api.service.nhs.uk/comms"
PRODUCTION_TOKEN_URL = "https://api.service.nhs.uk/oauth2/token"

#: The global free-text NHS App routing plan, valid in every environment.
GLOBAL_NHSAPP_PLAN = "00000000-0000-0000-0000-000000000001"

ENV_API_KEY = "NOTIFY_API_KEY"
ENV_PRIVATE_KEY = "NOTIFY_PRIVATE_KEY"
ENV_KEY_ID = "NOTIFY_KEY_ID"
ENV_PASSPHRASE = "NOTIFY_PRIVATE_KEY_PASSPHRASE"

#: ``--workers auto`` uses at most this many test processes: the local reference servers answer from one
#: process of their own, so more test processes than this only wait for it
MAX_AUTO_WORKERS = 4

#: client-side pacing by environment, well inside the live per-application limits (a quota of 1,200 a
#: minute, a spike arrest of 6,000 a minute smoothed to one request per 10 ms); local is not paced
DEFAULT_RATE_LIMITS: dict[str, RateLimit | None] = {
    "local": None,
    "sandbox": RateLimit(per_second=10, per_minute=900),
    "integration": RateLimit(per_second=10, per_minute=900),
    "production-smoke": RateLimit(per_second=2, per_minute=60),
}


@dataclass(frozen=True)
class ClientLimits:
    """A client's own rate limits, as the environment that registered it knows them (behaviour §3.10)."""

    #: accepted requests in any 60 s
    quota_per_minute: int
    #: the smallest gap the smoothed spike arrest allows between two requests
    spike_interval_s: float


@dataclass(frozen=True)
class Credentials:
    """A client registered for signed-JWT auth. The private key stays on disk; only its path is held.

    ``limits`` and ``token_lifetime_s`` are what the environment knows of a special client it made
    (the local reference's ``throttled`` and ``short_lived``), so tests wait for its timings, not guesses.
    """

    api_key: str
    kid: str
    private_key_path: Path
    passphrase: str | None = None
    limits: ClientLimits | None = None
    #: seconds an access token issued to this client is valid
    token_lifetime_s: float | None = None

    def __repr__(self) -> str:  # never let the API key reach a log line or an assertion message
        return f"Credentials(kid={self.kid!r}, private_key_path={str(self.private_key_path)!r})"


@dataclass(frozen=True)
class Target:
    """One API deployment the tests talk to, and what it can do."""

    kind: TargetKind
    base_url: str
    token_url: str | None = None
    credentials: Credentials | None = None
    #: special-purpose clients (``short_lived``, ``not_onboarded``, ``throttled``): local reference only
    extra_clients: Mapping[str, Credentials] = field(default_factory=dict)
    auth_required: bool = False
    stateful: bool = False
    scenarios: bool = False
    routing_plan_id: str = GLOBAL_NHSAPP_PLAN

    @property
    def origin(self) -> str:
        parts = urlsplit(self.base_url)
        return f"{parts.scheme}://{parts.netloc}"


@dataclass(frozen=True)
class Budget:
    """How much property-based generation an environment gets."""

    max_examples: int
    negative: bool = True
    coverage_phase: bool = True
    undeclared_methods: bool = True
    request_budget: int | None = None


@dataclass(frozen=True)
class CallbackReceiver:
    """A callback receiver the ``callbacks`` area sends to, as NHS Notify would: its two URLs, the agreed
    credentials (the signing key is ``<application id>.<API key>``), and how the area sends to it."""

    message_status_url: str
    channel_status_url: str
    application_id: str = field(repr=False)
    api_key: str = field(repr=False)
    #: the answer time the receiver is held to (the sender's own is 30 s, ops §1.3)
    timeout_s: float = 30.0
    #: pacing of the callbacks (None: not paced, loopback)
    rate_limit: RateLimit | None = None
    #: the most callbacks the area sends, resends included
    max_callbacks: int = 300
    #: who runs it, as the report names it
    owner: str = "the supplier's receiver"
    #: local only: a reference API (integration mode) that sends its status callbacks to this receiver
    sending_api: Target | None = None
    #: local only: where the reference receiver shows what it received (GET)
    received_url: str | None = None
    #: local only: where ``sending_api`` shows the callbacks it sent and how each ended (GET)
    sent_url: str | None = None


@dataclass(frozen=True)
class Environment:
    """A resolved environment: its targets, safety policy and budget."""

    name: EnvName
    targets: tuple[Target, ...]
    safety: SafetyPolicy
    budget: Budget
    #: the callback receiver the ``callbacks`` area checks (None: the area is not run)
    callbacks: CallbackReceiver | None = None

    def target(self, kind: TargetKind) -> Target | None:
        return next((t for t in self.targets if t.kind == kind), None)


def _check_url(option: str, url: str) -> str:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise UsageError(f"{option} must be an absolute http(s) URL, got {url!r}")
    try:
        parts.port  # noqa: B018 - urlsplit checks the port only when asked
    except ValueError:
        raise UsageError(f"{option} has an invalid port (0-65535): {url!r}") from None
    if parts.query or parts.fragment:
        raise UsageError(f"{option} must not carry a query or fragment, got {url!r}")
    return url.rstrip("/")


def credentials_from_env(environ: Mapping[str, str]) -> Credentials:
    """Read the client from NOTIFY_API_KEY, NOTIFY_PRIVATE_KEY (a PEM path), NOTIFY_KEY_ID and, for an
    encrypted key, NOTIFY_PRIVATE_KEY_PASSPHRASE; the key is loaded and checked here, before anything
    is sent."""
    missing = [name for name in (ENV_API_KEY, ENV_PRIVATE_KEY, ENV_KEY_ID) if not environ.get(name)]
    if missing:
        raise CredentialsError(f"missing environment variable(s): {', '.join(missing)}")
    key_path = Path(environ[ENV_PRIVATE_KEY]).expanduser()
    if not key_path.is_file():
        raise CredentialsError(f"{ENV_PRIVATE_KEY} does not name a readable file: {key_path}")
    passphrase = environ.get(ENV_PASSPHRASE) or None
    load_private_key(key_path, passphrase)
    return Credentials(
        api_key=environ[ENV_API_KEY],
        kid=environ[ENV_KEY_ID],
        private_key_path=key_path,
        passphrase=passphrase,
    )


@dataclass(frozen=True)
class Options:
    """The user's choices that shape an environment (from the CLI or pytest options)."""

    env: EnvName = "local"
    base_url: str | None = None
    token_url: str | None = None
    max_examples: int | None = None
    test_patient: str | None = None
    routing_plan_id: str | None = None
    #: local only, for the self-test: deliberate faults the reference servers start with
    faults: tuple[str, ...] = ()
    #: ``--rate-limit`` as given (None: the environment's default)
    rate_limit: str | None = None
    timeout_s: float | None = None
    max_duration_s: float | None = None
    #: production-smoke: how many messages (and batches of one) a run may create
    max_creates: int | None = None
    #: the property-test seed (None: drawn at random and reported)
    seed: int | None = None
    #: contract drift (undocumented members, headers, values, statuses) fails the tests that see it
    strict_contract: bool = False
    #: a remote run's callbacks area: the supplier's message status (and channel status) callback URL
    callback_receiver_url: str | None = None
    channel_callback_receiver_url: str | None = None
    #: local: test processes sharing the run (None: ``--workers auto``, see :attr:`test_processes`)
    workers: int | None = None

    @property
    def test_processes(self) -> int:
        """How many processes run the tests: one for a remote target, whose pacing and budgets one
        process keeps; for ``local``, ``--workers``, or one per CPU core this process may use."""
        if self.env != "local":
            return 1
        if self.workers is not None:
            return self.workers
        return max(1, min(_usable_cpus(), MAX_AUTO_WORKERS))

    @property
    def pacing(self) -> RateLimit | None:
        """The client-side rate limit this run uses."""
        if self.rate_limit is not None:
            return RateLimit.parse(self.rate_limit)
        return DEFAULT_RATE_LIMITS[self.env]


def _usable_cpus() -> int:
    """The CPU cores this process may run on (all of them where the system cannot say)."""
    affinity = getattr(os, "sched_getaffinity", None)
    return len(affinity(0)) if affinity is not None else (os.cpu_count() or 1)


def validate(options: Options, environ: Mapping[str, str] | None = None) -> Options:
    """Check the options without sending anything; raise a one-line error on the first problem."""
    environ = os.environ if environ is None else environ
    if options.env not in ENVIRONMENTS:
        raise UsageError(f"unknown environment {options.env!r}; choose one of {', '.join(ENVIRONMENTS)}")
    base_url = _check_url("--base-url", options.base_url) if options.base_url else None
    token_url = _check_url("--token-url", options.token_url) if options.token_url else None
    if options.env == "local" and (base_url or token_url):
        raise UsageError("--base-url/--token-url do not apply to --env local (it starts its own server)")
    if options.env == "sandbox" and token_url:
        raise UsageError("--token-url does not apply to --env sandbox (sandbox needs no token)")
    if options.max_examples is not None and options.max_examples < 1:
        raise UsageError("--max-examples must be a positive whole number")
    if options.test_patient is not None:
        if options.env != "production-smoke":
            raise UsageError("--test-patient applies only to --env production-smoke")
        if not nhs_number.is_valid(options.test_patient):
            raise UsageError("--test-patient is not a valid NHS number (10 digits, Modulus 11 check digit)")
    if options.faults:
        _check_faults(options)
    if options.rate_limit is not None:
        RateLimit.parse(options.rate_limit)
    if options.timeout_s is not None and not 0 < options.timeout_s <= 600:
        raise UsageError("--timeout must be more than 0 and at most 600 seconds")
    if options.max_duration_s is not None and options.max_duration_s <= 0:
        raise UsageError("--max-duration must be more than 0 seconds")
    if options.max_creates is not None:
        if options.env != "production-smoke":
            raise UsageError("--max-creates applies only to --env production-smoke")
        if options.max_creates < 0:
            raise UsageError("--max-creates must be 0 or more")
    if options.workers is not None and options.workers > 1 and options.env != "local":
        raise UsageError(
            "--workers applies only to --env local: a remote target is paced and counted by one process"
        )
    if options.env in ("integration", "production-smoke"):
        credentials_from_env(environ)
    _check_callback_receiver(options, environ)
    return replace(options, base_url=base_url, token_url=token_url)


def _check_callback_receiver(options: Options, environ: Mapping[str, str]) -> None:
    if options.channel_callback_receiver_url and not options.callback_receiver_url:
        raise UsageError("--channel-callback-receiver-url needs --callback-receiver-url as well")
    if not options.callback_receiver_url:
        return
    if options.env == "local":
        raise UsageError(
            "--callback-receiver-url does not apply to --env local (it starts its own reference receiver)"
        )
    callback_receiver(options, environ)


def callback_receiver(options: Options, environ: Mapping[str, str]) -> CallbackReceiver | None:
    """The supplier's receiver of a remote run (None without ``--callback-receiver-url``): its URLs
    checked, the credentials read from NOTIFY_CALLBACK_API_KEY and NOTIFY_APPLICATION_ID only."""
    if not options.callback_receiver_url:
        return None
    from conformance.callbacks.command import DEFAULT_RATE_LIMIT, check_url, credentials_from

    message_url = check_url("--callback-receiver-url", options.callback_receiver_url)
    channel_url = check_url(
        "--channel-callback-receiver-url", options.channel_callback_receiver_url or message_url
    )
    application_id, api_key = credentials_from(environ)
    return CallbackReceiver(
        message_url, channel_url, application_id, api_key, rate_limit=RateLimit.parse(DEFAULT_RATE_LIMIT)
    )


def _check_faults(options: Options) -> None:
    if options.env != "local":
        raise UsageError("--fault applies only to --env local (the embedded reference API)")
    from conformance.reference.faults import check_known  # only when asked: the bank is the reference's
    from conformance.reference.receiver_faults import FAULTS as RECEIVER_FAULTS

    try:  # a fault of the reference API, or of the reference receiver (the callbacks area)
        check_known(name for name in options.faults if name not in RECEIVER_FAULTS)
    except ValueError as error:
        raise UsageError(str(error)) from None


_DEFAULT_EXAMPLES: dict[EnvName, int] = {
    "local": 25,
    "sandbox": 15,
    "integration": 25,
    "production-smoke": 5,
}


def budget_for(options: Options) -> Budget:
    examples = options.max_examples or _DEFAULT_EXAMPLES[options.env]
    if options.env == "production-smoke":
        return Budget(
            max_examples=examples,
            negative=False,
            coverage_phase=False,
            undeclared_methods=False,
            request_budget=200,
        )
    return Budget(max_examples=examples)


def resolve_remote(options: Options, environ: Mapping[str, str] | None = None) -> Environment:
    """Validate ``options`` and build a non-local environment (no request is sent here)."""
    environ = os.environ if environ is None else environ
    return remote_environment(validate(options, environ), environ)


def remote_environment(options: Options, environ: Mapping[str, str]) -> Environment:
    """A non-local environment from options :func:`validate` has passed (no request is sent here)."""
    budget = budget_for(options)
    if options.env == "sandbox":
        target = Target(kind="sandbox", base_url=options.base_url or SANDBOX_URL, scenarios=True)
        return Environment(
            "sandbox", (target,), SafetyPolicy.open(), budget, callback_receiver(options, environ)
        )
    if options.env == "local":
        raise ConfigurationError("the local environment is resolved by conformance.local_env")
    production = options.env == "production-smoke"
    default_base, default_token = (
        (PRODUCTION_URL, PRODUCTION_TOKEN_URL) if production else (INTEGRATION_URL, INTEGRATION_TOKEN_URL)
    )
    target = Target(
        kind="integration",
        base_url=options.base_url or default_base,
        token_url=options.token_url or default_token,
        credentials=credentials_from_env(environ),
        auth_required=True,
        stateful=True,
        routing_plan_id=options.routing_plan_id or GLOBAL_NHSAPP_PLAN,
    )
    if production:
        safety = SafetyPolicy.production(
            test_patient=options.test_patient,
            token_url=target.token_url,
            request_budget=budget.request_budget,
            max_creates=1 if options.max_creates is None else options.max_creates,
        )
    else:
        safety = SafetyPolicy.open()
    return Environment(options.env, (target,), safety, budget, callback_receiver(options, environ))


def scratch_dir(prefix: str) -> Path:
    """A private temporary folder (mode 0700) for generated keys."""
    return Path(tempfile.mkdtemp(prefix=prefix))


# The plain-data form of an environment: JSON-able only, so a resolved environment can cross a process
# boundary (the local servers' child process hands its environment to the run; pytest-xdist workers).
# Every field travels, secrets included: the data is for a pipe to our own process, never for a file.


def environment_to_data(env: Environment) -> Data:
    """``env`` as plain data that :func:`environment_from_data` turns back into an equal environment."""
    callbacks = env.callbacks
    return {
        "name": env.name,
        "targets": [asdict(target, dict_factory=_plain) for target in env.targets],
        "safety": _safety_to_data(env.safety),
        "budget": asdict(env.budget),
        "callbacks": None if callbacks is None else asdict(callbacks, dict_factory=_plain),
    }


def options_to_data(options: Options) -> Data:
    """``options`` as plain data for :func:`options_from_data`."""
    return {**asdict(options), "faults": list(options.faults)}


def options_from_data(data: Data) -> Options:
    return Options(**{**data, "faults": tuple(data["faults"])})


def environment_from_data(data: Data) -> Environment:
    """The environment :func:`environment_to_data` described."""
    callbacks = data["callbacks"]
    return Environment(
        name=data["name"],
        targets=tuple(_target_from_data(target) for target in data["targets"]),
        safety=_safety_from_data(data["safety"]),
        budget=Budget(**data["budget"]),
        callbacks=None if callbacks is None else _receiver_from_data(callbacks),
    )


def _plain(fields: list[tuple[str, Any]]) -> Data:
    """``asdict``'s mapping of a dataclass's fields, with paths as text (JSON has no path)."""
    return {name: str(value) if isinstance(value, Path) else value for name, value in fields}


def _credentials_from_data(data: Data) -> Credentials:
    limits = data["limits"]
    return Credentials(
        **{
            **data,
            "private_key_path": Path(data["private_key_path"]),
            "limits": None if limits is None else ClientLimits(**limits),
        }
    )


def _target_from_data(data: Data) -> Target:
    credentials = data["credentials"]
    return Target(
        **{
            **data,
            "credentials": None if credentials is None else _credentials_from_data(credentials),
            "extra_clients": {name: _credentials_from_data(c) for name, c in data["extra_clients"].items()},
        }
    )


def _receiver_from_data(data: Data) -> CallbackReceiver:
    rate_limit, sending_api = data["rate_limit"], data["sending_api"]
    return CallbackReceiver(
        **{
            **data,
            "rate_limit": None if rate_limit is None else RateLimit(**rate_limit),
            "sending_api": None if sending_api is None else _target_from_data(sending_api),
        }
    )


def _safety_to_data(policy: SafetyPolicy) -> Data:
    """The policy's rules and what it has counted and refused so far."""
    return {
        "name": policy.name,
        "allow_writes": policy.allow_writes,
        "test_patient": policy.test_patient,
        "token_url": policy.token_url,
        "request_budget": policy.request_budget,
        "max_creates": policy.max_creates,
        "refusals": list(policy.refusals),
        "sent": policy.sent,
        "created": policy.created,
    }


def _safety_from_data(data: Data) -> SafetyPolicy:
    return SafetyPolicy(
        name=data["name"],
        allow_writes=data["allow_writes"],
        test_patient=data["test_patient"],
        token_url=data["token_url"],
        request_budget=data["request_budget"],
        max_creates=data["max_creates"],
        refusals=list(data["refusals"]),
        _sent=data["sent"],
        _created=dict(data["created"]),
    )
