"""Integration-mode state: messages by id, and the references each client has already used.

One lock guards everything; a reference is claimed and its messages stored in one step, so two
concurrent requests with the same reference cannot both succeed.
"""

from __future__ import annotations

import copy
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class StoredMessage:
    owner: str
    #: the GET body's ``data`` without ``links`` (added per request from the request URL)
    data: dict[str, Any]


class MessageStore:
    """Messages created through the integration API; each visible only to the client that sent it."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._messages: dict[str, StoredMessage] = {}
        self._message_references: set[tuple[str, str]] = set()
        self._batch_references: set[tuple[str, str]] = set()

    def add_message(self, owner: str, reference: str, data: dict[str, Any]) -> bool:
        """Store one message unless ``owner`` already used ``reference``; False means duplicate."""
        with self._lock:
            key = (owner, reference)
            if key in self._message_references:
                return False
            self._message_references.add(key)
            self._messages[data["id"]] = StoredMessage(owner, data)
            return True

    def add_batch(self, owner: str, batch_reference: str, messages: Sequence[dict[str, Any]]) -> bool:
        """Store a batch's messages unless ``owner`` already used ``batch_reference``."""
        with self._lock:
            key = (owner, batch_reference)
            if key in self._batch_references:
                return False
            self._batch_references.add(key)
            for data in messages:
                self._messages[data["id"]] = StoredMessage(owner, data)
            return True

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
