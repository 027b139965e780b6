"""How one reference server is configured (re-exported by :mod:`conformance.reference.server`)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Mode = Literal["sandbox", "integration"]

TEN_MIB = 10 * 1024 * 1024


@dataclass(frozen=True)
class ReferenceConfig:
    """Mode, address and the few limits worth changing; ``faults`` names deliberate misbehaviours."""

    mode: Mode
    host: str = "127.0.0.1"
    port: int = 0  # 0 = pick a free port
    faults: frozenset[str] = frozenset()
    #: integration mode: valid bodies above this get 413 CM_TOO_LARGE (the live backend's 6 MB limit);
    #: the sandbox backend, like the real one, accepts anything up to the gateway's 10 MiB
    max_body_bytes: int = 6 * 1024 * 1024
    #: /_timeout?sleep=ms longer than this gives 504 CM_TIMEOUT (the sandbox target's 10 s io timeout)
    upstream_timeout_s: float = 10.0
    #: access-token lifetime for clients registered without their own (integration mode)
    token_lifetime_s: int = 600
    #: the ``apikey`` header /_status wants; None draws a random one (see RunningReference.status_key)
    status_key: str | None = None
