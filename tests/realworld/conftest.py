"""Fixtures: targets (the reference, misbehaving) and plain servers, each stopped after its test."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from starlette.types import ASGIApp

from conformance.reference.config import Mode
from tests.support.servers import LoopbackServer
from tests.support.targets import Misbehaviour, ReferenceTarget, start_app

StartTarget = Callable[..., ReferenceTarget]
StartServer = Callable[..., LoopbackServer]


@pytest.fixture
def reports(tmp_path: Path) -> Path:
    """The report folder a run writes (not created in advance)."""
    return tmp_path / "reports"


@pytest.fixture
def start_target() -> Iterator[StartTarget]:
    """``start_target(mode, misbehaviour=None, faults=...)``: a started reference target."""
    started: list[ReferenceTarget] = []

    def start(
        mode: Mode, misbehaviour: Misbehaviour | None = None, *, faults: frozenset[str] = frozenset()
    ) -> ReferenceTarget:
        target = ReferenceTarget(mode, misbehaviour, faults=faults).start()
        started.append(target)
        return target

    yield start
    for target in reversed(started):
        target.stop()


@pytest.fixture
def start_server() -> Iterator[StartServer]:
    """``start_server(app, name, host="127.0.0.1")``: a started server for an app that is not the API."""
    started: list[LoopbackServer] = []

    def start(app: ASGIApp, name: str, host: str = "127.0.0.1") -> LoopbackServer:
        server = start_app(app, name, host)
        started.append(server)
        return server

    yield start
    for server in reversed(started):
        server.stop()
