"""What one callback is (a :class:`Delivery`: body, headers, what the receiver should answer) and what
happened when it was sent (an :class:`Attempt`: the exchange, or why there was none, and the latency)."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum

from conformance.callbacks.schema import Kind
from conformance.exchange import Exchange

#: how a genuine signature is made, as reports say it (the signature itself is never shown)
GENUINE_NOTE = "HMAC-SHA256 of the body as sent, with the agreed key"


class Expect(Enum):
    """What the receiver should answer (behaviour §5, ops §1.3)."""

    #: a valid callback: 2xx (202 documented; the sender counts any 2xx as delivered)
    ACCEPT = "accept"
    #: valid, with a member in an object the contract closes: 2xx expected, a 4xx only a deviation
    TOLERATE = "tolerate"
    #: the API key is missing or wrong
    KEY_REJECTED = "key-rejected"
    #: the signature is wrong
    SIGNATURE_REJECTED = "signature-rejected"

    @property
    def shown(self) -> str:
        """The expected answer in a table's few characters."""
        return {"key-rejected": "401", "signature-rejected": "403"}.get(self.value, "2xx (202)")

    @property
    def valid(self) -> bool:
        """The callback is one NHS Notify could really send."""
        return self in (Expect.ACCEPT, Expect.TOLERATE)


class NoAnswer(Enum):
    """Why an attempt got no HTTP answer."""

    CONNECT = "connect"
    TIMEOUT = "timeout"
    PROTOCOL = "protocol"


@dataclass(frozen=True)
class Delivery:
    """One callback to send. ``headers`` carry the API key and signature: never shown unredacted."""

    check: str
    kind: Kind
    #: what makes this one different from the others of its check, in a few words
    label: str
    body: bytes
    headers: tuple[tuple[str, str], ...] = field(repr=False)
    expect: Expect = Expect.ACCEPT
    #: for a wrong signature: how it was made (shown in reports instead of the signature itself)
    signature_note: str = GENUINE_NOTE


@dataclass(frozen=True)
class Attempt:
    """One send of a delivery: its exchange (None when no HTTP answer came) and how long it took."""

    delivery: Delivery
    url: str
    latency_ms: float
    exchange: Exchange | None = None
    no_answer: NoAnswer | None = None
    #: what went wrong when there was no answer ("timed out after 30 s", "connection refused")
    problem: str = ""
    #: 1 for the first send; 2, 3 for resends after a 429
    number: int = 1

    @property
    def status(self) -> int | None:
        return None if self.exchange is None else self.exchange.status
