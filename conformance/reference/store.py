"""Integration-mode state: messages by id, and the references each client has already used.

One lock guards everything; a reference is claimed and its messages stored in one step, so two
concurrent requests with the same reference cannot both succeed. A claim remembers when it was made:
a repeat within ``in_flight_s`` finds the first request "still being processed" (live answers 425
then, behaviour §3.9 rule 9), a later repeat is a plain duplicate (422).

State is bounded, so a reference left running for days does not grow with use. Each accepted create
(one message, or one batch) is remembered as a unit: its messages and the reference that made them are
forgotten together, ``retention_s`` after they were stored, or earlier, oldest first, once more than
``max_messages`` are kept (the newest create is always kept whole, so a GET of any message of the
batch just sent works). Until then a repeated reference is refused; afterwards it may be used again
and GET gives 404. Defaults: :data:`~.config.DEFAULT_MESSAGE_RETENTION_S`,
:data:`~.config.DEFAULT_MAX_STORED_MESSAGES`.

Messages are kept packed (``marshal``), not as dicts: a batch's messages differ only in ``id`` and
``messageReference``, so a batch keeps one template and, for each message, only its reference. The
integration backend hands a batch over that way (a :class:`UniformBatch`), so no dict per message is
built at all; a batch of ordinary dicts is packed the same way when its messages allow. A large batch
goes further: its ids and references are kept end to end in two strings, with no object per message,
so a 40,000-message batch costs about 3 MB instead of the ~50 MB of its dicts, and nothing of its
request body outlives the answer.
"""

from __future__ import annotations

import array
import enum
import marshal
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from conformance.reference.config import (
    DEFAULT_MAX_STORED_MESSAGES,
    DEFAULT_MESSAGE_RETENTION_S,
    ReferenceConfig,
)


class Claim(enum.Enum):
    """What claiming a reference found."""

    #: never used: the messages were stored
    NEW = "new"
    #: used less than ``in_flight_s`` ago: the first request is still in flight
    IN_FLIGHT = "in flight"
    #: used before that
    USED = "used"


_Claims = dict[tuple[str, str], float]
#: batches at least this large are kept as a :class:`_PackedBatch` (smaller ones, an entry per message)
PACKED_BATCH_MIN = 1_000


@dataclass(frozen=True, slots=True)
class _PackedBatch:
    """A large batch's ids, sorted and end to end in one string (they are all ``width`` long), and its
    messages' references end to end in another, in the same order, each ending at ``ends[i]``."""

    width: int
    ids: str
    references: str
    ends: array.array[int]

    @classmethod
    def of(cls, ids: Sequence[str], references: Sequence[str]) -> _PackedBatch | None:
        """None unless every id has the same length and none repeats."""
        width = len(ids[0]) if ids else 0
        if not width or any(len(message_id) != width for message_id in ids) or len(set(ids)) != len(ids):
            return None
        order = sorted(range(len(ids)), key=ids.__getitem__)
        ends, end = array.array("Q"), 0
        for index in order:
            end += len(references[index])
            ends.append(end)
        joined_ids = "".join([ids[index] for index in order])
        return cls(width, joined_ids, "".join([references[index] for index in order]), ends)

    def reference(self, message_id: str) -> str | None:
        """The reference of ``message_id``, by binary search; None when the batch has no such id."""
        width, ids = self.width, self.ids
        if len(message_id) != width:
            return None
        low, high = 0, len(self.ends)
        while low < high:
            middle = (low + high) // 2
            if ids[middle * width : (middle + 1) * width] < message_id:
                low = middle + 1
            else:
                high = middle
        if low == len(self.ends) or ids[low * width : (low + 1) * width] != message_id:
            return None
        start = self.ends[low - 1] if low else 0
        return self.references[start : self.ends[low]]


@dataclass(eq=False, slots=True)
class _Create:
    """One accepted create: who made it, when, the reference it claimed and the messages it stored."""

    owner: str
    stored_at: float
    #: the claims table its reference is in, and its key there
    claims: _Claims
    key: tuple[str, str]
    #: how many messages it stored
    count: int
    #: the ids of those with an entry of their own in the store's index (all, unless ``packed``)
    message_ids: list[str] = field(default_factory=list)
    #: a batch's first message, packed: the rest of the batch differs from it only in id and reference
    template: bytes | None = None
    packed: _PackedBatch | None = None


@dataclass(eq=False, slots=True, frozen=True)
class _Entry:
    """One stored message."""

    create: _Create
    #: bytes: the whole ``data``, packed; str: only its ``messageReference`` (the rest is the template)
    part: bytes | str


def _shared_part(data: dict[str, Any]) -> dict[str, Any] | None:
    """``data`` with what varies between a batch's messages blanked; None when it lacks either."""
    attributes = data.get("attributes")
    if not isinstance(data.get("id"), str) or not isinstance(attributes, dict):
        return None
    if not isinstance(attributes.get("messageReference"), str):
        return None
    return {**data, "id": None, "attributes": {**attributes, "messageReference": None}}


def _packed_batch(messages: Sequence[dict[str, Any]]) -> tuple[bytes | None, list[bytes | str]]:
    """The batch's template and each message's part (its reference when it fits the template)."""
    shared = _shared_part(messages[0]) if messages else None
    if shared is None:
        return None, [marshal.dumps(data) for data in messages]
    parts: list[bytes | str] = [
        data["attributes"]["messageReference"] if _shared_part(data) == shared else marshal.dumps(data)
        for data in messages
    ]
    return marshal.dumps(messages[0]), parts


@dataclass(frozen=True, slots=True)
class UniformBatch:
    """A batch whose messages are all ``template`` but for their ``id`` and
    ``attributes.messageReference`` (``ids[i]`` and ``references[i]``): how the integration backend
    hands a batch to :meth:`MessageStore.add_batch` without building a dict per message."""

    template: dict[str, Any]
    ids: Sequence[str]
    references: Sequence[str]

    def __post_init__(self) -> None:
        if len(self.ids) != len(self.references):
            raise ValueError("a uniform batch needs one reference per id")
        if not isinstance(self.template.get("attributes"), dict):
            raise ValueError("a uniform batch's template needs an attributes object")

    def __len__(self) -> int:
        return len(self.ids)

    def __iter__(self) -> Iterator[dict[str, Any]]:
        """Each message's ``data``, built when it is reached."""
        template = marshal.dumps(self.template)
        for message_id, reference in zip(self.ids, self.references, strict=True):
            yield _filled(marshal.loads(template), message_id, reference)


def _filled(data: dict[str, Any], message_id: str, reference: str) -> dict[str, Any]:
    data["id"] = message_id
    data["attributes"]["messageReference"] = reference
    return data


def _unpacked(create: _Create, part: bytes | str, message_id: str) -> dict[str, Any]:
    """A fresh copy of the message's ``data``."""
    if isinstance(part, bytes):
        data: dict[str, Any] = marshal.loads(part)
        return data
    if create.template is None:  # parts are strings only when the batch has a template
        raise RuntimeError("a stored message refers to a template its batch does not have")
    return _filled(marshal.loads(create.template), message_id, part)


class MessageStore:
    """Messages created through the integration API; each visible only to the client that sent it.

    ``data`` handed in must be JSON-like (dicts, lists, strings, numbers, booleans, None).
    """

    def __init__(
        self,
        in_flight_s: float = 0.0,
        clock: Callable[[], float] = time.monotonic,
        *,
        retention_s: float = DEFAULT_MESSAGE_RETENTION_S,
        max_messages: int = DEFAULT_MAX_STORED_MESSAGES,
    ) -> None:
        if retention_s <= 0 or max_messages < 1:
            raise ValueError("the retention must be positive and the message cap at least 1")
        self.in_flight_s = in_flight_s
        self.retention_s = retention_s
        self.max_messages = max_messages
        self._clock = clock
        self._lock = threading.Lock()
        #: the index of every message outside a packed batch
        self._messages: dict[str, _Entry] = {}
        #: messages stored, packed batches included
        self._count = 0
        #: (owner, reference) -> when it was claimed
        self._message_references: _Claims = {}
        self._batch_references: _Claims = {}
        #: accepted creates, oldest first (the order they are forgotten in); those packed, apart
        self._creates: deque[_Create] = deque()
        self._packed: list[_Create] = []

    @classmethod
    def for_config(cls, config: ReferenceConfig) -> MessageStore:
        return cls(
            config.in_flight_s,
            retention_s=config.message_retention_s,
            max_messages=config.max_stored_messages,
        )

    def _claim(self, claims: _Claims, key: tuple[str, str], now: float) -> Claim:
        """Claim ``key`` (caller holds the lock); a repeat keeps the first claim's time."""
        claimed_at = claims.get(key)
        if claimed_at is None:
            claims[key] = now
            return Claim.NEW
        return Claim.IN_FLIGHT if now - claimed_at < self.in_flight_s else Claim.USED

    def _forget(self, create: _Create) -> None:
        """Drop one create's messages and its claim (caller holds the lock)."""
        for message_id in create.message_ids:
            entry = self._messages.get(message_id)
            if entry is not None and entry.create is create:
                del self._messages[message_id]
        if create.packed is not None:
            self._packed.remove(create)
        self._count -= create.count
        create.claims.pop(create.key, None)

    def _forget_expired(self, now: float) -> None:
        creates = self._creates
        while creates and now - creates[0].stored_at >= self.retention_s:
            self._forget(creates.popleft())

    def _forget_over_cap(self) -> None:
        creates = self._creates
        while self._count > self.max_messages and len(creates) > 1:
            self._forget(creates.popleft())

    def _store(
        self,
        claims: _Claims,
        owner: str,
        reference: str,
        ids: list[str],
        parts: list[bytes | str],
        template: bytes | None = None,
        packed: _PackedBatch | None = None,
    ) -> Claim:
        with self._lock:
            now = self._clock()
            self._forget_expired(now)
            key = (owner, reference)
            claim = self._claim(claims, key, now)
            if claim is Claim.NEW:
                create = _Create(owner, now, claims, key, len(ids), [] if packed else ids, template, packed)
                self._creates.append(create)
                self._count += create.count
                if packed is not None:
                    self._packed.append(create)
                else:
                    for message_id, part in zip(ids, parts, strict=True):
                        self._messages[message_id] = _Entry(create, part)
                self._forget_over_cap()
            return claim

    def add_message(self, owner: str, reference: str, data: dict[str, Any]) -> Claim:
        """Store one message unless ``owner`` already used ``reference`` (then say how recently)."""
        return self._store(self._message_references, owner, reference, [data["id"]], [marshal.dumps(data)])

    def add_batch(
        self, owner: str, batch_reference: str, messages: UniformBatch | Sequence[dict[str, Any]]
    ) -> Claim:
        """Store a batch's messages unless ``owner`` already used ``batch_reference``."""
        # packed outside the lock: GETs need not wait for it
        template: bytes | None
        parts: list[bytes | str]
        if isinstance(messages, UniformBatch):
            ids, references = list(messages.ids), list(messages.references)
            template, parts = marshal.dumps(messages.template), list(references)
        else:
            template, parts = _packed_batch(messages)
            ids = [data["id"] for data in messages]
            references = [part for part in parts if isinstance(part, str)]
        packed = None
        if len(ids) >= PACKED_BATCH_MIN and len(references) == len(ids):  # every message fits the template
            packed = _PackedBatch.of(ids, references)
        return self._store(self._batch_references, owner, batch_reference, ids, parts, template, packed)

    def message(self, owner: str, message_id: str) -> dict[str, Any] | None:
        """A copy of the stored ``data``; None when unknown, forgotten or another client's (live gives
        404 for all of them)."""
        with self._lock:
            self._forget_expired(self._clock())
            found = self._find(message_id)
        if found is None or found[0].owner != owner:
            return None
        return _unpacked(*found, message_id)

    def _find(self, message_id: str) -> tuple[_Create, bytes | str] | None:
        """The create that stored ``message_id`` and the message's part (caller holds the lock)."""
        entry = self._messages.get(message_id)
        if entry is not None:
            return entry.create, entry.part
        for create in reversed(self._packed):
            if create.packed is not None and (reference := create.packed.reference(message_id)) is not None:
                return create, reference
        return None

    def __len__(self) -> int:
        with self._lock:
            return self._count
