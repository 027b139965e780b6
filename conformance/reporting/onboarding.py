"""Onboarding evidence: every message the run created and every token it obtained, as one table a supplier
can hand to NHS Notify's onboarding team or quote when asking for help (date and time, routing plan id,
message reference and id, the X-Correlation-Id sent and the one the gateway answered with; for a token,
the time and the key id, never the token or the assertion).

:class:`OnboardingEvidence` is a :class:`~conformance.transport.Recorder` listener (it sees every final
answer, the auth flow's token requests and the property tests' creates included) and a pytest plugin (it
notes which test sent what). It keeps only the exchanges of targets that enforce signed-JWT auth: the
integration and production-smoke environments, and the local reference's integration-mode target, whose
table shows what an integration run will show (the local sandbox target has no application, so nothing
it answers is onboarding evidence). It writes ``onboarding.json`` (for machines), ``onboarding.md`` (for
people) and, in the Allure results, two CSV tables the HTML shows on its *Run* page.

Bounded by :mod:`conformance.limits`: a 40,000-message batch is one batch row listing its first few
messages, and past a run-wide number of rows the rest are counted, not listed.
"""

from __future__ import annotations

import csv
import io
import json
import threading
import uuid
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import jwt

from conformance import limits, redaction
from conformance.checks.drift import operation_of
from conformance.environments import Environment, Target
from conformance.exchange import Exchange
from conformance.spec import OperationId, Spec, SpecError, load_spec
from conformance.transport import Recorder

ONBOARDING_JSON = "onboarding.json"
ONBOARDING_MD = "onboarding.md"
PLUGIN_NAME = "notify-conformance-onboarding"
#: the Allure (HTML) names of the two tables, shown on the report's Run page
MESSAGES_TABLE = "Onboarding evidence: messages created"
TOKENS_TABLE = "Onboarding evidence: tokens obtained"
CORRELATION = "x-correlation-id"
#: shown for a value the exchange did not carry
ABSENT = "-"


def _moment() -> str:
    """Now, in UTC to the millisecond (``2026-12-01T22:07:47.123Z``): when the answer arrived."""
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


@dataclass(frozen=True)
class CreatedMessage:
    """One message the API said it created (201), alone or as a member of a batch."""

    time: str
    target: str
    routing_plan_id: str | None
    message_reference: str | None
    message_id: str
    correlation_id_sent: str | None
    correlation_id_received: str | None
    #: the API's own ``timestamps.created`` (single creates only; a batch's answer carries none)
    created_at: str | None = None
    batch_id: str | None = None
    test: str | None = None


@dataclass(frozen=True)
class CreatedBatch:
    """One batch the API said it created, with how many messages it held."""

    time: str
    target: str
    routing_plan_id: str | None
    batch_reference: str | None
    batch_id: str
    messages: int
    correlation_id_sent: str | None
    correlation_id_received: str | None
    test: str | None = None


@dataclass(frozen=True)
class ObtainedToken:
    """One access token the token endpoint issued: when, to which key id (the token itself is never kept)."""

    time: str
    target: str
    kid: str | None
    expires_in_s: str | None
    test: str | None = None


@dataclass(frozen=True)
class _Answer:
    """What every create's row repeats: when, where, which plan, the correlation ids, which test."""

    time: str
    target: str
    routing_plan_id: str | None
    correlation_id_sent: str | None
    correlation_id_received: str | None
    test: str | None

    def message(
        self, reference: str | None, message_id: str, created_at: str | None, batch_id: str | None = None
    ) -> CreatedMessage:
        return CreatedMessage(
            time=self.time,
            target=self.target,
            routing_plan_id=self.routing_plan_id,
            message_reference=reference,
            message_id=message_id,
            correlation_id_sent=self.correlation_id_sent,
            correlation_id_received=self.correlation_id_received,
            created_at=created_at,
            batch_id=batch_id,
            test=self.test,
        )


@dataclass(eq=False)  # a plugin object: pluggy keeps plugins in sets
class OnboardingEvidence:
    """Collects the run's creates and tokens from its authenticated targets (see the module).

    ``environment`` returns the run's resolved environment (None until a test resolved it); exchanges
    seen before that, or sent to a target without auth, are not evidence."""

    environment: Callable[[], Environment | None] = lambda: None
    spec: Spec | None = None
    messages_listed: int = limits.ONBOARDING_MESSAGES_LISTED
    batch_messages_listed: int = limits.ONBOARDING_BATCH_MESSAGES_LISTED
    tokens_listed: int = limits.ONBOARDING_TOKENS_LISTED
    messages: list[CreatedMessage] = field(default_factory=list)
    batches: list[CreatedBatch] = field(default_factory=list)
    tokens: list[ObtainedToken] = field(default_factory=list)
    #: every message created (listed or not), every batch and every token obtained
    messages_created: int = 0
    batches_created: int = 0
    tokens_obtained: int = 0
    #: answers this collector could not read (a bug of ours, never the API's: counted, not raised)
    unread: int = 0
    _current: str | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    # -- the Recorder listener ---------------------------------------------------------------------------
    def __call__(self, exchange: Exchange) -> None:
        environment = self.environment()
        if environment is None or exchange.method.upper() != "POST":
            return
        try:
            for target in environment.targets:
                if not target.auth_required:
                    continue
                if target.token_url is not None and _same_url(exchange.url, target.token_url):
                    self._token(exchange, target)
                    return
                if exchange.url.startswith(target.base_url + "/"):
                    self._create(exchange, target)
                    return
        except (SpecError, ValueError, TypeError, KeyError, AttributeError):
            with self._lock:
                self.unread += 1

    def _token(self, exchange: Exchange, target: Target) -> None:
        payload = exchange.response_json
        if exchange.status != 200 or not isinstance(payload, dict):
            return
        if not isinstance(payload.get("access_token"), str) or not payload["access_token"]:
            return
        expires = payload.get("expires_in")
        row = ObtainedToken(
            time=_moment(),
            target=target.kind,
            kid=_kid_of(exchange.request_body),
            expires_in_s=None if expires is None else str(expires),
            test=self._current,
        )
        with self._lock:
            self.tokens_obtained += 1
            if len(self.tokens) < self.tokens_listed:
                self.tokens.append(row)

    def _create(self, exchange: Exchange, target: Target) -> None:
        if exchange.status != 201:
            return
        operation = operation_of(exchange, self.spec or load_spec())
        if operation is None or operation.id not in (
            OperationId.CREATE_MESSAGE,
            OperationId.CREATE_MESSAGE_BATCH,
        ):
            return
        payload = exchange.response_json
        data = payload.get("data") if isinstance(payload, dict) else None
        if not isinstance(data, dict) or not isinstance(data.get("id"), str):
            return
        attributes = _attributes(payload)
        plan = _routing_plan_id(attributes, _attributes(exchange.request_json))
        answer = _Answer(
            time=_moment(),
            target=target.kind,
            routing_plan_id=plan,
            correlation_id_sent=exchange.request_headers.get(CORRELATION),
            correlation_id_received=exchange.response_headers.get(CORRELATION),
            test=self._current,
        )
        if operation.id == OperationId.CREATE_MESSAGE:
            timestamps = attributes.get("timestamps")
            created = timestamps.get("created") if isinstance(timestamps, dict) else None
            message = answer.message(_text(attributes.get("messageReference")), data["id"], _text(created))
            with self._lock:
                self._add_messages([message])
            return
        members = attributes.get("messages")
        members = [m for m in members if isinstance(m, dict)] if isinstance(members, list) else []
        batch = CreatedBatch(
            time=answer.time,
            target=answer.target,
            routing_plan_id=answer.routing_plan_id,
            batch_reference=_text(attributes.get("messageBatchReference")),
            batch_id=data["id"],
            messages=len(members),
            correlation_id_sent=answer.correlation_id_sent,
            correlation_id_received=answer.correlation_id_received,
            test=answer.test,
        )
        listed = [
            answer.message(_text(m.get("messageReference")), str(m.get("id")), None, batch_id=data["id"])
            for m in members[: self.batch_messages_listed]
        ]
        with self._lock:
            self.batches_created += 1
            if len(self.batches) < self.messages_listed:
                self.batches.append(batch)
            self._add_messages(listed, unlisted=len(members) - len(listed))

    def _add_messages(self, rows: Sequence[CreatedMessage], unlisted: int = 0) -> None:
        """(The caller holds the lock.)"""
        self.messages_created += len(rows) + unlisted
        room = max(0, self.messages_listed - len(self.messages))
        self.messages.extend(rows[:room])

    def merge(
        self,
        messages: list[CreatedMessage],
        batches: list[CreatedBatch],
        tokens: list[ObtainedToken],
        messages_created: int,
        batches_created: int,
        tokens_obtained: int,
        unread: int,
    ) -> None:
        """Add what another process of the same run collected (a pytest-xdist worker's share): the
        counts add up, and the lists, in time order, keep to their limits."""
        with self._lock:
            self.messages = sorted(self.messages + messages, key=_time)[: self.messages_listed]
            self.batches = sorted(self.batches + batches, key=_time)[: self.messages_listed]
            self.tokens = sorted(self.tokens + tokens, key=_time)[: self.tokens_listed]
            self.messages_created += messages_created
            self.batches_created += batches_created
            self.tokens_obtained += tokens_obtained
            self.unread += unread

    # -- pytest hooks --------------------------------------------------------------------------------------
    def pytest_runtest_logstart(self, nodeid: str) -> None:
        self._current = nodeid

    def pytest_runtest_logfinish(self) -> None:
        self._current = None

    # -- what was found ------------------------------------------------------------------------------------
    def applies(self) -> bool:
        """Whether the run had a target that enforces auth (only then is there onboarding evidence)."""
        environment = self.environment()
        return environment is not None and any(t.auth_required for t in environment.targets)

    def kids(self) -> list[str]:
        return sorted({token.kid for token in self.tokens if token.kid})

    def summary(self) -> str:
        """``3 messages created (1 batch), 2 tokens obtained (key id k1)``."""
        messages = _count(self.messages_created, "message")
        batches = f" ({_count(self.batches_created, 'batch', 'batches')})" if self.batches_created else ""
        kids = self.kids()
        kid_text = f" (key id {', '.join(kids)})" if kids else ""
        return f"{messages} created{batches}, {_count(self.tokens_obtained, 'token')} obtained{kid_text}"

    def as_dict(self) -> dict[str, Any]:
        environment = self.environment()
        return {
            "onboarding_evidence_version": 1,
            "environment": environment.name if environment is not None else None,
            "summary": self.summary(),
            "messages_created": self.messages_created,
            "messages_listed": len(self.messages),
            "batches_created": self.batches_created,
            "tokens_obtained": self.tokens_obtained,
            "tokens_listed": len(self.tokens),
            "kids": self.kids(),
            "messages": [asdict(row) for row in self.messages],
            "batches": [asdict(row) for row in self.batches],
            "tokens": [asdict(row) for row in self.tokens],
            "unread_answers": self.unread,
        }

    def markdown(self) -> str:
        environment = self.environment()
        name = environment.name if environment is not None else "unknown"
        lines = [
            "# Onboarding evidence",
            "",
            f"Environment: `{name}`. {self.summary()}.",
        ]
        if name == "local":
            lines += [
                "",
                "A local run talks to the embedded reference API, not to NHS Notify: these rows show what an "
                "integration run will show, and are no evidence of a connection to NHS Notify.",
            ]
        lines += [
            "",
            "When asking NHS Notify for help about a message, quote its time, routing plan id, message id "
            "and the X-Correlation-Id received (the gateway's request id when none was sent). Times are "
            "UTC, when the answer arrived.",
            "",
            "## Messages created",
            "",
        ]
        lines += _markdown_table(_message_rows(self.messages)) or ["None."]
        lines += _more(self.messages_created - len(self.messages), "message", ONBOARDING_JSON)
        if self.batches:
            lines += ["", "## Batches created", ""]
            lines += _markdown_table(_batch_rows(self.batches))
            lines += [
                "",
                f"Each batch lists at most {self.batch_messages_listed} of its messages above; the batch's "
                "answer holds every id.",
            ]
        lines += [
            "",
            "## Tokens obtained",
            "",
            "The key id (kid) each token was issued to; never the token.",
            "",
        ]
        lines += _markdown_table(_token_rows(self.tokens)) or ["None."]
        lines += _more(self.tokens_obtained - len(self.tokens), "token", ONBOARDING_JSON)
        return redaction.redact("\n".join(lines) + "\n")

    def write(self, reports: Path) -> list[Path]:
        """``onboarding.json`` and ``onboarding.md`` in ``reports`` (nothing when the run had no
        authenticated target); the written paths."""
        if not self.applies():
            return []
        from conformance.reporting.scrubbing import redacted_json

        document = reports / ONBOARDING_JSON
        document.write_text(redacted_json(self.as_dict()) + "\n", encoding="utf-8")
        readable = reports / ONBOARDING_MD
        readable.write_text(self.markdown(), encoding="utf-8")
        return [document, readable]

    def write_allure(self, results: Path) -> Path | None:
        """The two tables as CSV attachments of the run (Allure's globals: the HTML's *Run* page lists
        them and shows each as a table); the globals file, or None when there is no evidence."""
        if not self.applies():
            return None
        attachments = []
        for name, rows in (
            (MESSAGES_TABLE, _message_rows(self.messages)),
            (TOKENS_TABLE, _token_rows(self.tokens)),
        ):
            source = f"{uuid.uuid4()}-attachment.csv"
            (results / source).write_text(redaction.redact(_csv(rows)), encoding="utf-8")
            attachments.append({"name": name, "source": source, "type": "text/csv"})
        path = results / f"{uuid.uuid4()}-globals.json"
        path.write_text(json.dumps({"attachments": attachments, "errors": []}) + "\n", encoding="utf-8")
        return path


def _time(row: CreatedMessage | CreatedBatch | ObtainedToken) -> str:
    return row.time


def _same_url(url: str, other: str) -> bool:
    left, right = urlsplit(url), urlsplit(other)
    return (left.scheme, left.netloc, left.path.rstrip("/")) == (
        right.scheme,
        right.netloc,
        right.path.rstrip("/"),
    )


def _kid_of(body: bytes) -> str | None:
    """The ``kid`` header of the client assertion in a token request's form body (read, not verified;
    the assertion itself goes no further)."""
    try:
        form = parse_qs(body.decode("ascii"))
    except UnicodeDecodeError:
        return None
    assertion = next(iter(form.get("client_assertion", [])), "")
    if not assertion:
        return None
    try:
        kid = jwt.get_unverified_header(assertion).get("kid")
    except jwt.PyJWTError:
        return None
    return kid if isinstance(kid, str) else None


def _attributes(document: Any) -> dict[str, Any]:
    data = document.get("data") if isinstance(document, dict) else None
    attributes = data.get("attributes") if isinstance(data, dict) else None
    return attributes if isinstance(attributes, dict) else {}


def _routing_plan_id(answered: dict[str, Any], sent: dict[str, Any]) -> str | None:
    """The routing plan the answer names, else the one the request asked for."""
    plan = answered.get("routingPlan")
    if isinstance(plan, dict) and plan.get("id"):
        return str(plan["id"])
    return _text(sent.get("routingPlanId"))


def _text(value: Any) -> str | None:
    return None if value is None else str(value)


def _count(number: int, singular: str, plural: str | None = None) -> str:
    return f"{number:,} {singular if number == 1 else (plural or singular + 's')}"


def _more(unlisted: int, what: str, where: str) -> list[str]:
    if unlisted <= 0:
        return []
    return [
        "",
        f"... and {_count(unlisted, 'more ' + what)}, counted but not listed (the counts are in {where}).",
    ]


Row = dict[str, str]


def _cell(value: str | None) -> str:
    return ABSENT if value in (None, "") else str(value)


def _message_rows(messages: Sequence[CreatedMessage]) -> list[Row]:
    return [
        {
            "Time (UTC)": m.time,
            "Target": m.target,
            "Routing plan id": _cell(m.routing_plan_id),
            "Message reference": _cell(m.message_reference),
            "Message id": m.message_id,
            "Batch id": _cell(m.batch_id),
            "X-Correlation-Id sent": _cell(m.correlation_id_sent),
            "X-Correlation-Id received": _cell(m.correlation_id_received),
            "Test": _cell(m.test),
        }
        for m in messages
    ]


def _batch_rows(batches: Sequence[CreatedBatch]) -> list[Row]:
    return [
        {
            "Time (UTC)": b.time,
            "Target": b.target,
            "Routing plan id": _cell(b.routing_plan_id),
            "Batch reference": _cell(b.batch_reference),
            "Batch id": b.batch_id,
            "Messages": f"{b.messages:,}",
            "X-Correlation-Id sent": _cell(b.correlation_id_sent),
            "X-Correlation-Id received": _cell(b.correlation_id_received),
            "Test": _cell(b.test),
        }
        for b in batches
    ]


def _token_rows(tokens: Sequence[ObtainedToken]) -> list[Row]:
    return [
        {
            "Time (UTC)": t.time,
            "Target": t.target,
            "Key id (kid)": _cell(t.kid),
            "Expires in (s)": _cell(t.expires_in_s),
            "Test": _cell(t.test),
        }
        for t in tokens
    ]


def _markdown_table(rows: Sequence[Row]) -> list[str]:
    if not rows:
        return []

    def cell(value: str) -> str:
        return value.replace("|", "\\|").replace("\n", " ")

    header = list(rows[0])
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(cell(row[name]) for name in header) + " |" for row in rows]
    return lines


def _csv(rows: Sequence[Row]) -> str:
    out = io.StringIO()
    if rows:
        writer = csv.DictWriter(out, fieldnames=list(rows[0]), lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
    else:
        out.write("None\n")
    return out.getvalue()


def install(
    config: Any, recorder: Recorder, environment: Callable[[], Environment | None]
) -> OnboardingEvidence | None:
    """Connect the command's :class:`OnboardingEvidence` (registered as a plugin by the runner) to the
    session's recorder; under plain pytest there is none, and nothing is collected."""
    found = [p for _, p in config.pluginmanager.list_name_plugin() if isinstance(p, OnboardingEvidence)]
    if not found:
        return None
    collector = found[0]
    collector.environment = environment
    if all(listener is not collector for listener in recorder.listeners):
        recorder.listeners.append(collector)
    return collector
