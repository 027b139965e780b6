"""What may be sent to an environment. The transport asks this policy about every request before a
single byte leaves, so a test (or a generated case) that would message a real patient in production is
refused in one place, whatever code built the request.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from conformance.errors import BudgetSpent, SafetyRefusal

_READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def _normalise_path(path: str) -> str:
    while "//" in path:
        path = path.replace("//", "/")
    return path.rstrip("/") or "/"


def _is_create(method: str, path: str) -> bool:
    return create_kind(method, path) is not None


def create_kind(method: str, url_or_path: str) -> str | None:
    """``"message"`` or ``"batch"`` for a request that creates messages for patients, else None."""
    if method.upper() != "POST":
        return None
    path = _normalise_path(urlsplit(url_or_path).path)
    if path.endswith("/v1/message-batches"):
        return "batch"
    if path.endswith("/v1/messages"):
        return "message"
    return None


def _recipients(body: object) -> Iterator[object]:
    """Yield every recipient object in a create-message or create-batch body."""
    if not isinstance(body, dict):
        raise ValueError("body is not a JSON object")
    data = body.get("data")
    attributes = data.get("attributes") if isinstance(data, dict) else None
    if not isinstance(attributes, dict):
        raise ValueError("body has no data.attributes object")
    if "messages" in attributes:
        messages = attributes["messages"]
        if not isinstance(messages, list):
            raise ValueError("messages is not a list")
        for message in messages:
            if not isinstance(message, dict):
                raise ValueError("a message is not an object")
            yield message.get("recipient")
    else:
        yield attributes.get("recipient")


@dataclass
class SafetyPolicy:
    """Rules for one environment; ``check`` raises :class:`SafetyRefusal` for a forbidden request."""

    name: str
    allow_writes: bool = True
    test_patient: str | None = None
    token_url: str | None = None
    request_budget: int | None = None
    #: production: at most this many create-message and this many create-batch requests, each batch
    #: of at most this many messages (``--max-creates``)
    max_creates: int | None = None
    refusals: list[str] = field(default_factory=list)
    _sent: int = 0
    _created: dict[str, int] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    @classmethod
    def open(cls) -> SafetyPolicy:
        """Non-production: everything may be sent."""
        return cls(name="open")

    @classmethod
    def production(
        cls,
        *,
        test_patient: str | None,
        token_url: str | None,
        request_budget: int | None,
        max_creates: int = 1,
    ) -> SafetyPolicy:
        """Read-mostly: creates only for the named test patient and within ``max_creates``, no
        PUT/PATCH/DELETE, a request budget."""
        return cls(
            name="production-smoke",
            allow_writes=False,
            test_patient=test_patient,
            token_url=token_url,
            request_budget=request_budget,
            max_creates=max_creates,
        )

    @property
    def sent(self) -> int:
        return self._sent

    @property
    def created(self) -> dict[str, int]:
        """Creates allowed so far, by kind (``message``, ``batch``)."""
        with self._lock:
            return dict(self._created)

    def check(self, method: str, url: str, body: bytes) -> None:
        """Refuse (raise) or count the request. Called by the transport before sending."""
        reason = self._reason(method.upper(), url, body)
        kind = create_kind(method, url) if not self.allow_writes else None
        with self._lock:
            spent = None
            if reason is None and self.request_budget is not None and self._sent >= self.request_budget:
                spent = f"the request budget of {self.request_budget} requests is spent"
            if reason is None and kind is not None and self.max_creates is not None:
                if self._created.get(kind, 0) >= self.max_creates:
                    spent = f"the budget of {self.max_creates} {kind} create(s) is spent (--max-creates)"
            if reason is not None or spent is not None:
                message = f"{method.upper()} {urlsplit(url).path}: {reason or spent}"
                self.refusals.append(message)
                error = SafetyRefusal if reason is not None else BudgetSpent
                raise error(f"refused by the {self.name} safety policy: {message}")
            self._sent += 1
            if kind is not None:
                self._created[kind] = self._created.get(kind, 0) + 1

    def _reason(self, method: str, url: str, body: bytes) -> str | None:
        if self.allow_writes:
            return None
        if self.token_url is not None and url.split("?")[0] == self.token_url and method == "POST":
            return None
        if method in _READ_METHODS:
            return None
        path = urlsplit(url).path
        if not _is_create(method, path):
            return f"{method} is not sent to production (read-mostly environment)"
        if self.test_patient is None:
            return "no production test patient was named (--test-patient), so no message may be created"
        try:
            recipients = list(_recipients(json.loads(body)))
        except ValueError as error:
            return f"cannot prove the body addresses only the test patient ({error})"
        if self.max_creates is not None and len(recipients) > self.max_creates:
            return f"a batch of {len(recipients)} messages is more than --max-creates {self.max_creates}"
        for recipient in recipients:
            if not isinstance(recipient, dict) or recipient.get("nhsNumber") != self.test_patient:
                return "a recipient is not the named production test patient"
            if recipient.get("contactDetails"):
                return "contact details could reach a real person and are never sent to production"
        return None
