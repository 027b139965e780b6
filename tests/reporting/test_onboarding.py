"""The onboarding evidence (``onboarding.json``, ``onboarding.md``, the HTML's Run page) and the evidence
bundle (``evidence.zip``) with the manifest that covers it.

The end-to-end test runs ``notify-conformance run --env integration`` in a subprocess against the
reference API in this process, with a freshly generated client, and compares the table with what the
reference stored and the tokens it issued. The quick tests feed the collector real exchanges built by hand.
"""

from __future__ import annotations

import hashlib
import io
import json
import re
import shutil
import zipfile
from pathlib import Path
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from conformance.environments import Budget, Environment, Target
from conformance.exchange import Exchange
from conformance.reporting.bundle import BUNDLE_NAME, BUNDLED
from conformance.reporting.onboarding import MESSAGES_TABLE, TOKENS_TABLE, OnboardingEvidence
from conformance.safety import SafetyPolicy
from tests.reporting.conftest import CHROMIUM, chromium, embedded_files
from tests.suite.conftest import cli
from tests.support.targets import ReferenceTarget

#: the suite's creates, a single message and a batch each, both media types
CREATES = "test_valid_message_is_created or test_valid_batch_is_created"
BASE = "https://api.example.test/comms"
TOKEN_URL = "https://api.example.test/oauth2/token"


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("node") is None, reason="the HTML report needs Node.js and npm")
def test_an_integration_run_shows_each_message_created_and_each_token(tmp_path: Path) -> None:
    issued: list[str] = []
    with ReferenceTarget("integration") as target:
        issue = target.registry.issue_token

        def recording(client: Any, now: float | None = None) -> str:
            token = issue(client, now)
            issued.append(token)
            return token

        target.registry.issue_token = recording  # type: ignore[method-assign]
        client = target.client_env(tmp_path)
        reports = tmp_path / "reports"
        run = cli(
            "run", "--env", "integration", "--base-url", target.base_url, "--token-url", target.token_url,
            "-k", CREATES, "--reports", str(reports), "-q",
            env=client,
        )  # fmt: skip
        assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-2000:]
        stored = {
            row["message_id"]: target.store.message(client["NOTIFY_API_KEY"], row["message_id"])
            for row in json.loads((reports / "onboarding.json").read_text())["messages"]
        }
        stored_count = len(target.store)
    evidence = json.loads((reports / "onboarding.json").read_text())
    assert evidence["environment"] == "integration"

    # one row per message the reference stored, each naming what the reference stored
    rows = evidence["messages"]
    assert stored_count > 0 and len(rows) == stored_count == evidence["messages_created"]
    assert len(stored) == len(rows), "a message id is listed twice"
    for row in rows:
        kept = stored[row["message_id"]]
        assert kept is not None, f"{row['message_id']} is not a message the reference stored"
        assert row["message_reference"] == kept["attributes"]["messageReference"]
        assert row["routing_plan_id"] == kept["attributes"]["routingPlan"]["id"]
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", row["time"]), row["time"]
        assert row["correlation_id_received"], row
        assert row["correlation_id_sent"] in (None, row["correlation_id_received"]), row
        assert row["target"] == "integration" and row["test"]
    assert {row["batch_id"] is None for row in rows} == {True, False}  # single creates and batch members
    assert [b["messages"] for b in evidence["batches"]] == [3, 3]

    # token rows: the generated client's key id, and no token anywhere in the evidence
    assert issued and evidence["tokens_obtained"] == len(issued)
    assert {row["kid"] for row in evidence["tokens"]} == {client["NOTIFY_KEY_ID"]}
    readable = (reports / "onboarding.md").read_text()
    assert client["NOTIFY_KEY_ID"] in readable and all(row["message_id"] in readable for row in rows)
    for text in (readable, (reports / "onboarding.json").read_text()):
        assert not any(token in text for token in issued)
        assert client["NOTIFY_API_KEY"] not in text
        assert not re.search(r"eyJ[\w-]{5,}\.eyJ[\w-]{5,}\.", text)

    # the bundle: the listed files, byte for byte, and the manifest covers it
    manifest = json.loads((reports / "manifest.json").read_text())
    bundle = (reports / BUNDLE_NAME).read_bytes()
    described = manifest["evidence_bundle"]
    assert described["sha256"] == _sha256(bundle) and described["bytes"] == len(bundle)
    listed = {entry["path"]: entry["sha256"] for entry in manifest["artefacts"]}
    assert listed[BUNDLE_NAME] == _sha256(bundle)
    with zipfile.ZipFile(io.BytesIO(bundle)) as archive:
        members = archive.namelist()
        assert members == list(BUNDLED) == described["files"]
        inside = archive.read("manifest.json")
        assert _sha256(inside) == described["manifest_sha256"]
        inner = {entry["path"]: entry["sha256"] for entry in json.loads(inside)["artefacts"]}
        assert BUNDLE_NAME not in inner  # the manifest inside was written before the bundle
        for name in members:
            if name != "manifest.json":
                data = archive.read(name)
                assert _sha256(data) == inner[name] == listed[name], name
                assert data == (reports / name).read_bytes(), name

    # the HTML: the first page sums it up, the Run page lists both tables, and they hold the rows
    page = (reports / "html" / "index.html").read_text(encoding="utf-8")
    embedded = embedded_files(page)
    environment = json.loads(embedded["widgets/environment.json"])
    row_names = [item["name"] for item in environment]
    assert "Onboarding evidence" in row_names
    assert row_names.index("Onboarding evidence") < next(
        i for i, name in enumerate(row_names) if name.startswith("Area: ")
    )
    tables = {a["name"]: a["source"] for a in json.loads(embedded["widgets/globals.json"])["attachments"]}
    messages_csv = embedded[f"data/attachments/{tables[MESSAGES_TABLE]}"].decode()
    assert all(row["message_id"] in messages_csv for row in rows)
    assert client["NOTIFY_KEY_ID"] in embedded[f"data/attachments/{tables[TOKENS_TABLE]}"].decode()
    if CHROMIUM.exists():  # the Run page as a person sees it
        shown = chromium((reports / "html" / "index.html").as_uri() + "#run", tmp_path / "chrome")
        assert MESSAGES_TABLE in shown and TOKENS_TABLE in shown


# -- the collector on its own, with exchanges built by hand -------------------------------------------


def _environment(*, auth: bool = True) -> Environment:
    target = Target(
        kind="integration" if auth else "sandbox",
        base_url=BASE,
        token_url=TOKEN_URL if auth else None,
        auth_required=auth,
        stateful=auth,
    )
    return Environment(
        name="integration" if auth else "sandbox",
        targets=(target,),
        safety=SafetyPolicy(name="test"),
        budget=Budget(max_examples=1),
    )


def _batch_answer(count: int) -> Exchange:
    messages = [{"messageReference": f"ref-{i}", "id": f"id-{i}"} for i in range(count)]
    body = {
        "data": {
            "type": "MessageBatch",
            "id": "batch-1",
            "attributes": {
                "messageBatchReference": "b-1",
                "routingPlan": {"id": "plan-1"},
                "messages": messages,
            },
        }
    }
    return Exchange.build(
        method="POST",
        url=BASE + "/v1/message-batches",
        status=201,
        request_headers={"X-Correlation-Id": "mine-1"},
        response_headers={"X-Correlation-Id": "mine-1"},
        response_body=json.dumps(body).encode(),
    )


def _token_answer(kid: str) -> tuple[Exchange, str]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    assertion = jwt.encode({"iss": "k", "sub": "k"}, key, algorithm="RS512", headers={"kid": kid})
    token = "issued-token-" + hashlib.sha256(assertion.encode()).hexdigest()[:20]
    exchange = Exchange.build(
        method="POST",
        url=TOKEN_URL,
        status=200,
        request_body=f"grant_type=client_credentials&client_assertion={assertion}".encode(),
        response_body=json.dumps({"access_token": token, "expires_in": "599"}).encode(),
    )
    return exchange, token


def test_a_forty_thousand_message_batch_is_one_batch_row_and_a_few_messages() -> None:
    environment = _environment()
    collector = OnboardingEvidence(environment=lambda: environment)
    collector(_batch_answer(40_000))
    assert collector.messages_created == 40_000 and collector.batches_created == 1
    assert len(collector.messages) == collector.batch_messages_listed
    assert collector.batches[0].messages == 40_000
    assert collector.messages[0].correlation_id_sent == "mine-1"
    assert "39,995 more messages" in collector.markdown()


def test_a_token_row_holds_the_kid_and_never_the_token(tmp_path: Path) -> None:
    environment = _environment()
    collector = OnboardingEvidence(environment=lambda: environment)
    exchange, token = _token_answer("kid-under-test")
    collector(exchange)
    assert [(t.kid, t.expires_in_s) for t in collector.tokens] == [("kid-under-test", "599")]
    written = collector.write(tmp_path)
    globals_file = collector.write_allure(tmp_path)
    assert globals_file is not None
    tables = json.loads(globals_file.read_text())["attachments"]
    tokens_csv = tmp_path / next(t["source"] for t in tables if t["name"] == TOKENS_TABLE)
    for path in [*written, tokens_csv]:
        text = path.read_text()
        assert "kid-under-test" in text and token not in text and "client_assertion" not in text, path


def test_a_target_without_auth_gives_no_evidence(tmp_path: Path) -> None:
    environment = _environment(auth=False)
    collector = OnboardingEvidence(environment=lambda: environment)
    collector(_batch_answer(3))
    assert collector.messages_created == 0 and not collector.applies()
    assert collector.write(tmp_path) == [] and collector.write_allure(tmp_path) is None
    assert list(tmp_path.iterdir()) == []
