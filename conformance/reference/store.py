"""Integration-mode state: messages by id, and the references each client has already used.

One lock guards everything; a reference is claimed and its messages stored in one step, so two
concurrent requests with the same reference cannot both succeed. A claim remembers when it was made:
a repeat within ``in_flight_s`` finds the first request "still being processed" (live answers 425
then, behaviour §3.9 rule 9), a later repeat is a plain duplicate (422).
"""

from __future__ import annotations

import copy
import enum
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any


class Claim(enum.Enum):
    """What claiming a reference found."""

    #: never used: the messages were stored
    NEW = "new"
    #: used less than ``in_flight_s`` ago: the first request is still in flight
    IN_FLIGHT = "in flight"
    #: used before that
    USED = "used"


@dataclass(frozen=True)
class StoredMessage:
    owner: str
    #: the GET body's ``data`` without ``links`` (added per request from the request URL)
    data: dict[str, Any]


class MessageStore:
    """Messages created through the integration API; each visible only to the client that sent it."""

    def __init__(self, in_flight_s: float = 0.0, clock: Callable[[], float] = time.monotonic) -> None:
        self.in_flight_s = in_flight_s
        self._clock = clock
        self._lock = threading.Lock()
        self._messages: dict[str, StoredMessage] = {}
        #: (owner, reference) -> when it was claimed
        self._message_references: dict[tuple[str, str], float] = {}
        self._batch_references: dict[tuple[str, str], float] = {}

    def _claim(self, claims: dict[tuple[str, str], float], key: tuple[str, str]) -> Claim:
        """Claim ``key`` (caller holds the lock); a repeat keeps the first claim's time."""
        now = self._clock()
        claimed_at = claims.get(key)
        if claimed_at is None:
            claims[key] = now
            return Claim.NEW
        return Claim.IN_FLIGHT if now - claimed_at < self.in_flight_s else Claim.USED

    def add_message(self, owner: str, reference: str, data: dict[str, Any]) -> Claim:
        """Store one message unless ``owner`` already used ``reference`` (then say how recently)."""
        with self._lock:
            claim = self._claim(self._message_references, (owner, reference))
            if claim is Claim.NEW:
                self._messages[data["id"]] = StoredMessage(owner, data)
            return claim

    def add_batch(self, owner: str, batch_reference: str, messages: Sequence[dict[str, Any]]) -> Claim:
        """Store a batch's messages unless ``owner`` already used ``batch_reference``."""
        with self._lock:
            claim = self._claim(self._batch_references, (owner, batch_reference))
            if claim is Claim.NEW:
                for data in messages:
                    self._messages[data["id"]] = StoredMessage(owner, data)
            return claim

    def message(self, owner: str, message_id: str) -> dict[str, Any] | None:
        """A copy of the stored ``data``; None when unknown or another client's (live gives 404 for both)."""
        with self._lock:
            stored = self._messages.get(message_id)
        if stored is None or stored.owner != owner:
            return None
        return copy.deepcopy(stored.data)

    def __len__(self) -> int:
        with self._lock:
            return len(self._messages)
