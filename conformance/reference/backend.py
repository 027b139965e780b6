"""What the gateway needs from a backend; :mod:`.sandbox` and :mod:`.integration` implement it.

Bodies reach a backend only after gateway validation, so a backend may rely on their shape.
"""

from __future__ import annotations

from typing import Any, Protocol

from conformance.reference.context import RequestContext
from conformance.reference.responses import Reply
from conformance.reference.routing import ScenarioPath


class Backend(Protocol):
    async def create_message(self, ctx: RequestContext, body: dict[str, Any]) -> Reply: ...

    async def create_batch(self, ctx: RequestContext, body: dict[str, Any]) -> Reply: ...

    async def get_message(self, ctx: RequestContext, message_id: str) -> Reply: ...

    async def nhsapp_accounts(self, ctx: RequestContext) -> Reply: ...

    async def scenario_path(self, ctx: RequestContext, path: ScenarioPath) -> Reply: ...
