"""The local environment's servers in their child process (conformance.local_servers): its environment
reaches real servers, and the child goes away however it is told to (the context ends, its stdin closes,
SIGTERM), and a child that cannot start says why at once."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import jwt
import pytest

from conformance.environments import (
    Credentials,
    Environment,
    Options,
    environment_from_data,
    environment_to_data,
    options_to_data,
)
from conformance.errors import ConformanceError
from conformance.local_env import local_environment, servers_in_child

JWT_BEARER = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
CHILD = [sys.executable, "-m", "conformance.local_servers"]
#: generous: the child stops in well under a second; this only bounds a broken test
GONE_WITHIN_S = 15.0


def _children() -> set[int]:
    """This test process's live ``conformance.local_servers`` children, from /proc."""
    found = set()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            cmdline = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        state, ppid = stat.rpartition(")")[2].split()[:2]
        if int(ppid) == os.getpid() and state != "Z" and b"conformance.local_servers" in cmdline:
            found.add(int(entry.name))
    return found


def _origins(env: Environment) -> set[str]:
    urls = [t.base_url for t in env.targets]
    if env.callbacks is not None:
        urls += [env.callbacks.message_status_url]
        urls += [env.callbacks.sending_api.base_url] if env.callbacks.sending_api else []
    return {urlsplit(url).netloc for url in urls}


def _refused(netloc: str) -> bool:
    host, _, port = netloc.rpartition(":")
    try:
        socket.create_connection((host, int(port)), timeout=2).close()
    except ConnectionRefusedError:
        return True
    return False


def _wait_until(condition: object, what: str) -> None:
    deadline = time.monotonic() + GONE_WITHIN_S
    while not condition():  # type: ignore[operator]
        assert time.monotonic() < deadline, what
        time.sleep(0.05)


def _token(token_url: str, client: Credentials) -> str:
    now = int(time.time())
    claims = {"iss": client.api_key, "sub": client.api_key, "aud": token_url, "jti": str(uuid.uuid4())}
    assertion = jwt.encode(
        {**claims, "exp": now + 60}, client.private_key_path.read_bytes(), "RS512", {"kid": client.kid}
    )
    response = httpx.post(
        token_url,
        data={
            "grant_type": "client_credentials",
            "client_assertion_type": JWT_BEARER,
            "client_assertion": assertion,
        },
    )
    assert response.status_code == 200, response.text
    token = response.json()["access_token"]
    assert isinstance(token, str)
    return token


@pytest.fixture
def child_env() -> Iterator[Environment]:
    with local_environment(Options()) as env:
        yield env


def test_the_childs_environment_reaches_its_servers(child_env: Environment) -> None:
    assert len(_children()) == 1
    sandbox, integration = child_env.target("sandbox"), child_env.target("integration")
    assert sandbox is not None and integration is not None
    assert integration.credentials is not None and integration.token_url is not None
    answer = httpx.get(f"{sandbox.base_url}/v1/messages/2WL3qFTEFM0qMY8xjRbt1LIKCzM")
    assert answer.status_code == 200, answer.text
    token = _token(integration.token_url, integration.credentials)  # for a client assertion signed RS512
    created = httpx.get(
        f"{integration.base_url}/v1/messages/{uuid.uuid4()}", headers={"Authorization": f"Bearer {token}"}
    )
    assert created.status_code == 404, created.text  # authorised, and no such message
    throttled = integration.extra_clients["throttled"]
    assert throttled.limits is not None and integration.extra_clients["short_lived"].token_lifetime_s == 1
    assert _token(integration.token_url, integration.extra_clients["short_lived"])
    receiver = child_env.callbacks
    assert receiver is not None and receiver.sending_api is not None and receiver.received_url is not None
    assert httpx.get(receiver.received_url).status_code == 200


def test_the_child_and_the_in_process_servers_make_the_same_environment(child_env: Environment) -> None:
    def shape(env: Environment) -> object:
        """The environment with what differs run by run (ports, generated keys and ids) left out."""
        data = json.dumps(environment_to_data(env))
        for netloc in _origins(env):
            data = data.replace(netloc, "HOST")
        data = json.loads(data)
        for target in [*data["targets"], data["callbacks"]["sending_api"]]:
            for client in [target["credentials"], *target["extra_clients"].values()]:
                if client is not None:
                    client.update(api_key="K", kid="I", private_key_path="P")
        data["callbacks"].update(api_key="K", application_id="A")
        return data

    with local_environment(Options(), in_process=True) as in_process:
        assert shape(in_process) == shape(child_env)


def test_leaving_the_context_stops_the_child() -> None:
    with local_environment(Options()) as env:
        (child,) = _children()
        keys = env.targets[1].credentials.private_key_path.parent  # type: ignore[union-attr]
        assert keys.is_dir()
    assert child not in _children()
    assert all(_refused(netloc) for netloc in _origins(env))
    assert not keys.exists()  # the parent removed the scratch key folder


def _start_raw(keys: Path, signal_instead: bool = False) -> tuple[subprocess.Popen[str], Environment]:
    child = subprocess.Popen(CHILD, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    assert child.stdin is not None and child.stdout is not None
    child.stdin.write(json.dumps({"options": options_to_data(Options()), "keys": str(keys)}) + "\n")
    child.stdin.flush()
    return child, environment_from_data(json.loads(child.stdout.readline())["environment"])


def test_closing_its_stdin_stops_the_child(tmp_path: Path) -> None:
    child, env = _start_raw(tmp_path)
    assert child.stdin is not None
    child.stdin.close()  # what the parent's death does too
    assert child.wait(GONE_WITHIN_S) == 0
    child.stdout.close()  # type: ignore[union-attr]
    _wait_until(lambda: all(_refused(netloc) for netloc in _origins(env)), "a port still answers")


def test_sigterm_stops_the_child(tmp_path: Path) -> None:
    child, env = _start_raw(tmp_path)
    child.terminate()
    assert child.wait(GONE_WITHIN_S) == 0
    for pipe in (child.stdin, child.stdout):
        pipe.close()  # type: ignore[union-attr]
    assert all(_refused(netloc) for netloc in _origins(env))


def test_a_child_that_cannot_start_says_why(tmp_path: Path) -> None:
    """An unknown fault, past the parent's own validation, refused by the child's."""
    with pytest.raises(ConformanceError, match=r"did not start: NC001: .*no-such-fault"):
        with servers_in_child(Options(faults=("no-such-fault",)), tmp_path):
            pass
    _wait_until(lambda: not _children(), "the child is still there")
