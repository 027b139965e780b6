"""KSUIDs: the 27-character, base62, time-ordered ids the backend gives messages and batches."""

from __future__ import annotations

import os
import time

_EPOCH = 1_400_000_000
_ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
_LENGTH = 27
_PAYLOAD_BYTES = 16


_PAIRS = [a + b for a in _ALPHABET for b in _ALPHABET]  # two base62 digits per divmod halves the work
_PAIR_BASE = 62 * 62


def _encode(value: int) -> str:
    pairs = []
    for _ in range(_LENGTH // 2 + 1):
        value, remainder = divmod(value, _PAIR_BASE)
        pairs.append(_PAIRS[remainder])
    return "".join(reversed(pairs))[-_LENGTH:]


def new_ksuid(now: float | None = None) -> str:
    """One KSUID: a 32-bit timestamp (seconds since the KSUID epoch) and 128 random bits."""
    return new_ksuids(1, now)[0]


def new_ksuids(count: int, now: float | None = None) -> list[str]:
    """``count`` KSUIDs sharing one timestamp; drawing the randomness in one call keeps big batches fast."""
    stamp = (int(now if now is not None else time.time()) - _EPOCH) & 0xFFFFFFFF
    high = stamp << (_PAYLOAD_BYTES * 8)
    entropy = os.urandom(_PAYLOAD_BYTES * count)
    return [
        _encode(high | int.from_bytes(entropy[i : i + _PAYLOAD_BYTES], "big"))
        for i in range(0, _PAYLOAD_BYTES * count, _PAYLOAD_BYTES)
    ]
