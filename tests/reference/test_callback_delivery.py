"""The integration reference sends callbacks (ops §1.1-§1.3), end to end on loopback.

Real servers over real sockets: the reference API in integration mode with callbacks configured, and
either the reference receiver or a small receiver of our own that records every request (raw body,
headers, arrival time) and answers as a script says. Signatures are recomputed here with ``hmac`` from
the standard library, independently of both the sender and the receiver. Where a rule is about spacing
(Retry-After, backoff) the assertions compare recorded arrival times with each other, with generous
tolerance: they say what was waited, never how fast anything is.
"""

from __future__ import annotations

import asyncio
import email.utils
import hashlib
import hmac
import itertools
import json
import secrets
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import jsonschema
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from conformance.reference import receiver
from conformance.reference.callback_delivery import CallbackDelivery
from conformance.reference.config import CallbackSettings
from conformance.reference.oauth import generate_client
from conformance.reference.server import ReferenceConfig, RunningReference, start
from conformance.spec import load_spec
from tests.reference.conftest import batch_body, batch_message, fetch_token, message_body
from tests.support import cli
from tests.support.servers import LoopbackServer

MESSAGE_PATH = "/hooks/message-status"
CHANNEL_PATH = "/hooks/channel-status"
NHSAPP_THEN_SMS = "00000000-0000-0000-0000-000000000006"
MESSAGE_STATUSES = ["pending_enrichment", "enriched", "sending", "delivered"]
CHANNEL_STATUSES = ["created", "sending", "delivered"]
#: the longest any one test waits for deliveries to finish
IDLE_TIMEOUT_S = 60.0

Answer = Callable[["Arrival", int], tuple[int, dict[str, str]]]


@dataclass(frozen=True)
class Arrival:
    """One callback request as our receiver got it."""

    path: str
    headers: dict[str, str]
    body: bytes
    at: float

    @property
    def document(self) -> dict[str, Any]:
        parsed = json.loads(self.body)
        assert isinstance(parsed, dict)
        return parsed

    @property
    def item(self) -> dict[str, Any]:
        (item,) = self.document["data"]
        assert isinstance(item, dict)
        return item

    @property
    def key(self) -> str:
        return str(self.item["meta"]["idempotencyKey"])

    @property
    def message_id(self) -> str:
        return str(self.item["attributes"]["messageId"])

    @property
    def status(self) -> str:
        attributes = self.item["attributes"]
        return str(attributes.get("messageStatus", attributes.get("channelStatus")))


def accept(arrival: Arrival, seen: int) -> tuple[int, dict[str, str]]:
    return 202, {}


@dataclass
class RecordingReceiver:
    """A receiver that records everything and answers as ``answer`` says (given the arrival and how
    many times that idempotency key arrived before)."""

    answer: Answer = accept
    #: seconds to wait before answering (without holding up other requests)
    delay_s: Callable[[int], float] = lambda count: 0.0
    arrivals: list[Arrival] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def app(self) -> Starlette:
        async def callback(request: Request) -> Response:
            arrival = Arrival(request.url.path, dict(request.headers), await request.body(), time.monotonic())
            with self._lock:
                seen = sum(1 for before in self.arrivals if before.body == arrival.body)
                self.arrivals.append(arrival)
                count = len(self.arrivals)
            await asyncio.sleep(self.delay_s(count))
            status, headers = self.answer(arrival, seen)
            return Response(status_code=status, headers=headers)

        return Starlette(
            routes=[Route(path, callback, methods=["POST"]) for path in (MESSAGE_PATH, CHANNEL_PATH)]
        )

    def at(self, path: str) -> list[Arrival]:
        with self._lock:
            return [arrival for arrival in self.arrivals if arrival.path == path]

    def with_key(self, key: str) -> list[Arrival]:
        with self._lock:
            return [arrival for arrival in self.arrivals if arrival.key == key]


@dataclass
class Setup:
    reference: RunningReference
    receiver: RecordingReceiver
    settings: CallbackSettings
    token: str

    @property
    def delivery(self) -> CallbackDelivery:
        assert self.reference.callbacks is not None
        return self.reference.callbacks

    def post(self, path: str, body: object) -> dict[str, Any]:
        response = httpx.post(
            self.reference.base_url + path,
            json=body,
            headers={"Authorization": f"Bearer {self.token}", "Accept": "application/vnd.api+json"},
        )
        assert response.status_code == 201, response.text
        document = response.json()
        assert isinstance(document, dict)
        return document

    def create(self, **attributes: object) -> str:
        return str(self.post("/v1/messages", message_body(**attributes))["data"]["id"])

    def get(self, message_id: str) -> dict[str, Any]:
        response = httpx.get(
            f"{self.reference.base_url}/v1/messages/{message_id}",
            headers={"Authorization": f"Bearer {self.token}"},
        )
        assert response.status_code == 200, response.text
        data = response.json()["data"]
        assert isinstance(data, dict)
        return data

    def finish(self) -> None:
        assert self.delivery.wait_idle(IDLE_TIMEOUT_S), f"deliveries still pending: {self.delivery.counts()}"


@pytest.fixture
def setup_for(tmp_path: Path) -> Iterator[Callable[..., Setup]]:
    """Start a recording receiver and a reference sending to it; keyword arguments tune the delivery."""
    stack: list[LoopbackServer | RunningReference] = []

    def make(
        answer: Answer = accept,
        *,
        step_s: float = 0.05,
        channel_url: bool = True,
        delay_s: Callable[[int], float] = lambda count: 0.0,
        **settings: Any,
    ) -> Setup:
        recording = RecordingReceiver(answer, delay_s)
        server = LoopbackServer(recording.app(), name="callback-receiver").start()
        stack.append(server)
        callback_settings = CallbackSettings(
            message_status_url=server.origin + MESSAGE_PATH,
            channel_status_url=server.origin + CHANNEL_PATH if channel_url else None,
            api_key=secrets.token_urlsafe(24),
            application_id=f"app-{secrets.token_hex(6)}",
            **{"backoff_initial_s": 0.05, "jitter_s": 0.02, "retry_window_s": 10.0, **settings},
        )
        reference = start(
            ReferenceConfig(
                mode="integration", in_flight_s=0.0, status_step_s=step_s, callbacks=callback_settings
            )
        )
        stack.append(reference)
        token = fetch_token(reference, generate_client(reference.registry, tmp_path))
        return Setup(reference, recording, callback_settings, token)

    yield make
    for server in reversed(stack):
        server.stop()


def _schema(component: str) -> dict[str, Any]:
    schema = load_spec().resolved()["components"]["schemas"][component]
    assert isinstance(schema, dict)
    return schema


def assert_signed(arrival: Arrival, settings: CallbackSettings) -> None:
    """The documented headers, with the signature recomputed here over the raw bytes received."""
    key = f"{settings.application_id}.{settings.api_key}".encode()
    expected = hmac.new(key, arrival.body, hashlib.sha256).hexdigest()
    assert arrival.headers.get("x-hmac-sha256-signature") == expected
    assert arrival.headers.get("x-api-key") == settings.api_key
    assert arrival.headers.get("content-type") == "application/json"


def assert_documented(arrival: Arrival, base_url: str) -> None:
    """The body matches the contract's schema for its URL, and links to the message."""
    component = "MessageStatusCallback" if arrival.path == MESSAGE_PATH else "ChannelStatusCallback"
    jsonschema.validate(arrival.document, _schema(component))
    item = arrival.item
    assert item["type"] == ("MessageStatus" if arrival.path == MESSAGE_PATH else "ChannelStatus")
    assert item["links"]["message"] == f"{base_url}/v1/messages/{arrival.message_id}"
    assert len(arrival.key) == 64 and int(arrival.key, 16) >= 0


def statuses(arrivals: list[Arrival], message_id: str) -> list[str]:
    return [arrival.status for arrival in arrivals if arrival.message_id == message_id]


# ------------------------------------------------------------------------------------------------------
# What arrives


def test_a_message_produces_its_callbacks_signed_in_order_and_each_at_its_own_url(
    setup_for: Callable[..., Setup],
) -> None:
    setup = setup_for()
    message_id = setup.create()
    setup.finish()
    at_message, at_channel = setup.receiver.at(MESSAGE_PATH), setup.receiver.at(CHANNEL_PATH)
    assert statuses(at_message, message_id) == MESSAGE_STATUSES
    assert statuses(at_channel, message_id) == CHANNEL_STATUSES
    assert len(setup.receiver.arrivals) == len(MESSAGE_STATUSES) + len(CHANNEL_STATUSES)
    for arrival in setup.receiver.arrivals:
        assert_signed(arrival, setup.settings)
        assert_documented(arrival, setup.reference.base_url)
    assert len({arrival.key for arrival in setup.receiver.arrivals}) == len(setup.receiver.arrivals)
    delivered = at_channel[-1].item["attributes"]
    assert (delivered["channel"], delivered["cascadeOrder"], delivered["retryCount"]) == ("nhsapp", 1, 0)
    assert at_message[-1].item["attributes"]["channels"] == [{"type": "nhsapp", "channelStatus": "delivered"}]
    counts = setup.delivery.counts()
    assert counts["delivered"] == counts["attempts"] == 7 and counts["pending"] == 0


def test_every_message_of_a_batch_gets_its_own_callbacks_and_nothing_is_lost(
    setup_for: Callable[..., Setup],
) -> None:
    setup = setup_for()
    body = batch_body(messages=[batch_message() for _ in range(3)], routingPlanId=NHSAPP_THEN_SMS)
    created = setup.post("/v1/message-batches", body)
    ids = [message["id"] for message in created["data"]["attributes"]["messages"]]
    setup.finish()
    at_message, at_channel = setup.receiver.at(MESSAGE_PATH), setup.receiver.at(CHANNEL_PATH)
    cascade = [
        ("nhsapp", "created"),
        ("nhsapp", "sending"),
        ("nhsapp", "failed"),
        ("sms", "created"),
        ("sms", "sending"),
        ("sms", "delivered"),
    ]
    for message_id in ids:
        assert statuses(at_message, message_id) == MESSAGE_STATUSES
        seen = [
            (arrival.item["attributes"]["channel"], arrival.status)
            for arrival in at_channel
            if arrival.message_id == message_id
        ]
        assert seen == cascade
    assert {arrival.message_id for arrival in setup.receiver.arrivals} == set(ids)
    assert len(setup.receiver.arrivals) == len(ids) * (len(MESSAGE_STATUSES) + len(cascade))
    for arrival in setup.receiver.arrivals:
        assert_signed(arrival, setup.settings)
        assert_documented(arrival, setup.reference.base_url)
    assert all(outcome.result == "delivered" for outcome in setup.delivery.outcomes())
    for message_id in ids:  # GET ends where the callbacks did: the NHS App failed, the SMS delivered
        attributes = setup.get(message_id)["attributes"]
        assert attributes["messageStatus"] == "delivered"
        assert [(c["type"], c["cascadeOrder"], c["channelStatus"]) for c in attributes["channels"]] == [
            ("nhsapp", 1, "failed"),
            ("sms", 2, "delivered"),
        ]


def test_without_a_channel_url_only_message_statuses_are_sent(setup_for: Callable[..., Setup]) -> None:
    setup = setup_for(channel_url=False)
    message_id = setup.create()
    setup.finish()
    assert setup.receiver.at(CHANNEL_PATH) == []
    assert statuses(setup.receiver.at(MESSAGE_PATH), message_id) == MESSAGE_STATUSES


def test_the_reference_receiver_accepts_every_callback_the_reference_sends(tmp_path: Path) -> None:
    """Both references together, as a supplier would run them: every callback accepted, none twice."""
    api_key, application_id = secrets.token_urlsafe(24), f"app-{secrets.token_hex(6)}"
    with receiver.start(receiver.ReceiverConfig(api_key=api_key, application_id=application_id)) as got:
        settings = CallbackSettings(
            message_status_url=got.message_status_url,
            channel_status_url=got.channel_status_url,
            api_key=api_key,
            application_id=application_id,
        )
        config = ReferenceConfig(mode="integration", status_step_s=0.05, callbacks=settings)
        with start(config) as reference:
            token = fetch_token(reference, generate_client(reference.registry, tmp_path))
            setup = Setup(reference, RecordingReceiver(), settings, token)
            ids = [setup.create()]
            batch = setup.post("/v1/message-batches", batch_body(2))
            ids += [message["id"] for message in batch["data"]["attributes"]["messages"]]
            setup.finish()
        snapshot = got.snapshot()
    assert snapshot["refused"] == {} and snapshot["duplicates"] == 0
    assert snapshot["total"] == len(ids) * (len(MESSAGE_STATUSES) + len(CHANNEL_STATUSES))
    for callback in snapshot["callbacks"]:
        (item,) = callback["items"]
        assert item["messageId"] in ids
        expected_kind = "message-status" if item["type"] == "MessageStatus" else "channel-status"
        assert callback["kind"] == expected_kind


# ------------------------------------------------------------------------------------------------------
# GET shows what the callbacks say


def _rank(status: str) -> int:
    return MESSAGE_STATUSES.index(status)


def test_get_shows_the_progression_the_callbacks_report(setup_for: Callable[..., Setup]) -> None:
    setup = setup_for(step_s=0.15)
    message_id = setup.create()
    message_schema = _schema("MessageResponse")
    polls: list[tuple[int, str]] = []  # (message statuses already received before the GET, GET's status)
    deadline = time.monotonic() + IDLE_TIMEOUT_S
    while time.monotonic() < deadline:
        before = statuses(setup.receiver.at(MESSAGE_PATH), message_id)
        data = setup.get(message_id)
        jsonschema.validate({"data": data}, message_schema)
        polls.append((len(before), data["attributes"]["messageStatus"]))
        if data["attributes"]["messageStatus"] == "delivered":
            break
        time.sleep(0.03)
    setup.finish()
    seen = [status for _, status in polls]
    assert seen[-1] == "delivered" and seen == sorted(seen, key=_rank), seen
    for received, status in polls:  # never behind what was already reported
        assert received == 0 or _rank(status) >= received - 1, polls
    final = setup.get(message_id)["attributes"]
    last_message = setup.receiver.at(MESSAGE_PATH)[-1].item["attributes"]
    assert [
        {"type": c["type"], "channelStatus": c["channelStatus"]} for c in final["channels"]
    ] == last_message["channels"]
    last_channel = setup.receiver.at(CHANNEL_PATH)[-1].item["attributes"]
    (channel,) = final["channels"]
    assert channel["channelStatus"] == last_channel["channelStatus"] == "delivered"
    assert channel["supplierStatus"] == last_channel["supplierStatus"]
    assert channel["timestamps"]["delivered"] == last_channel["timestamp"]
    assert final["timestamps"]["delivered"] == last_message["timestamp"]
    assert final["metadata"][0]["queriedAt"] == last_message["metadata"][0]["queriedAt"]


# ------------------------------------------------------------------------------------------------------
# The delivery rules (ops §1.3)


def _first_event_answers(status: int, headers: Callable[[], dict[str, str]] | None = None) -> Answer:
    """``status`` to the first request ever and every repeat of it; 202 to everything else."""
    first: list[bytes] = []

    def answer(arrival: Arrival, seen: int) -> tuple[int, dict[str, str]]:
        if not first:
            first.append(arrival.body)
        if arrival.body == first[0]:
            return status, headers() if headers else {}
        return 202, {}

    return answer


def _once(status: int, headers: Callable[[], dict[str, str]]) -> Answer:
    """``status`` with ``headers`` to the very first request only, 202 to every other."""
    answered: list[bool] = []

    def answer(arrival: Arrival, seen: int) -> tuple[int, dict[str, str]]:
        if not answered:
            answered.append(True)
            return status, headers()
        return 202, {}

    return answer


@pytest.mark.parametrize(
    ("retry_after", "at_least_s"),
    [
        pytest.param(lambda: "2", 1.8, id="seconds"),
        # an HTTP date has whole seconds, so "3 s from now" is between 2 and 3 s away
        pytest.param(lambda: email.utils.formatdate(time.time() + 3, usegmt=True), 1.8, id="http-date"),
    ],
)
def test_a_429_is_retried_no_sooner_than_its_retry_after(
    setup_for: Callable[..., Setup], retry_after: Callable[[], str], at_least_s: float
) -> None:
    setup = setup_for(_once(429, lambda: {"Retry-After": retry_after()}), channel_url=False)
    message_id = setup.create()
    setup.finish()
    first = setup.receiver.arrivals[0]
    repeats = setup.receiver.with_key(first.key)
    assert len(repeats) == 2, "a 429 is retried once its Retry-After has passed"
    assert (
        repeats[1].body == first.body
        and repeats[1].headers["x-hmac-sha256-signature"] == (first.headers["x-hmac-sha256-signature"])
    )
    waited = repeats[1].at - first.at
    assert waited >= at_least_s, f"retried {waited:.2f} s after a 429 asking for {at_least_s}+ s"
    assert statuses(setup.receiver.at(MESSAGE_PATH), message_id) == [MESSAGE_STATUSES[0], *MESSAGE_STATUSES]


def test_a_429_asking_for_longer_than_the_retry_window_is_given_up(setup_for: Callable[..., Setup]) -> None:
    setup = setup_for(_first_event_answers(429, lambda: {"Retry-After": "3600"}), channel_url=False)
    setup.create()
    setup.finish()
    first = setup.receiver.arrivals[0]
    assert len(setup.receiver.with_key(first.key)) == 1
    (outcome,) = [o for o in setup.delivery.outcomes() if o.idempotency_key == first.key]
    assert outcome.result == "given up"


def test_a_500_is_retried_with_growing_spacing_inside_the_window_then_given_up(
    setup_for: Callable[..., Setup],
) -> None:
    initial_s, window_s = 0.1, 2.5
    setup = setup_for(
        _first_event_answers(500),
        channel_url=False,
        backoff_initial_s=initial_s,
        jitter_s=0.05,
        retry_window_s=window_s,
    )
    message_id = setup.create()
    setup.finish()
    first = setup.receiver.arrivals[0]
    tries = setup.receiver.with_key(first.key)
    assert len(tries) >= 4, f"only {len(tries)} attempts in a {window_s} s window"
    gaps = [later.at - earlier.at for earlier, later in itertools.pairwise(tries)]
    for number, gap in enumerate(gaps, start=1):  # stamina's backoff: initial × 2^(n−1), plus jitter
        assert gap >= initial_s * 2 ** (number - 1) * 0.9, gaps
    assert gaps[-1] > 2 * gaps[0], gaps
    # no attempt starts once the window is over, except the one after the last backoff began
    assert tries[-2].at - first.at < window_s, gaps
    (outcome,) = [o for o in setup.delivery.outcomes() if o.idempotency_key == first.key]
    assert outcome.result == "given up" and outcome.attempts == len(tries)
    assert setup.delivery.attempts()[len(tries) - 1].verdict == "given up"
    # the message's later statuses are still delivered, in order
    assert statuses(setup.receiver.at(MESSAGE_PATH), message_id)[len(tries) :] == MESSAGE_STATUSES[1:]


@pytest.mark.parametrize("status", [401, 403, 400])
def test_a_refusal_other_than_429_gets_exactly_one_attempt(
    setup_for: Callable[..., Setup], status: int
) -> None:
    setup = setup_for(_first_event_answers(status), channel_url=False)
    message_id = setup.create()
    setup.finish()  # every event has ended: nothing more will be sent
    first = setup.receiver.arrivals[0]
    assert len(setup.receiver.with_key(first.key)) == 1
    (outcome,) = [o for o in setup.delivery.outcomes() if o.idempotency_key == first.key]
    assert outcome.result == "permanent" and outcome.attempts == 1
    assert statuses(setup.receiver.at(MESSAGE_PATH), message_id) == MESSAGE_STATUSES


def test_a_receiver_that_answers_too_late_is_retried(setup_for: Callable[..., Setup]) -> None:
    # the first request is answered after 1 s, longer than the sender's timeout below
    setup = setup_for(channel_url=False, timeout_s=0.3, delay_s=lambda count: 1.0 if count == 1 else 0.0)
    setup.create()
    setup.finish()
    first = setup.delivery.attempts()[0]
    assert first.error == "timeout" and first.verdict == "retry"
    assert len(setup.receiver.with_key(setup.receiver.arrivals[0].key)) == 2


# ------------------------------------------------------------------------------------------------------
# Bounded, stoppable


def test_callbacks_beyond_the_pending_cap_are_dropped_and_counted(setup_for: Callable[..., Setup]) -> None:
    # four message statuses each, a second apart: the second message's would go over while the first's wait
    setup = setup_for(channel_url=False, max_pending=5, step_s=1.0)
    first, second = setup.create(), setup.create()
    setup.finish()
    assert statuses(setup.receiver.arrivals, first) == MESSAGE_STATUSES
    assert statuses(setup.receiver.arrivals, second) == []
    assert setup.delivery.counts()["dropped"] == len(MESSAGE_STATUSES)


def test_stopping_the_reference_abandons_what_still_waits(setup_for: Callable[..., Setup]) -> None:
    setup = setup_for(step_s=30.0, channel_url=False)
    setup.create()
    deadline = time.monotonic() + IDLE_TIMEOUT_S
    while not setup.receiver.arrivals and time.monotonic() < deadline:  # step 0 is sent at once
        time.sleep(0.02)
    setup.reference.stop()
    counts = setup.delivery.counts()
    assert counts["delivered"] == 1 and counts["abandoned"] == len(MESSAGE_STATUSES) - 1
    assert counts["pending"] == 0


def test_the_reference_shows_its_deliveries_without_the_secrets(setup_for: Callable[..., Setup]) -> None:
    setup = setup_for(channel_url=False)
    setup.create()
    setup.finish()
    response = httpx.get(setup.reference.callbacks_url)
    assert response.status_code == 200
    shown = response.json()
    assert shown["counts"]["delivered"] == len(MESSAGE_STATUSES)
    assert [attempt["status"] for attempt in shown["attempts"]] == MESSAGE_STATUSES
    assert setup.settings.api_key not in response.text and setup.settings.application_id not in response.text


def test_a_reference_without_callbacks_has_no_deliveries_page() -> None:
    with start(ReferenceConfig(mode="integration")) as reference:
        assert reference.callbacks is None
        assert httpx.get(reference.callbacks_url).status_code == 404


def test_unused_reference_keeps_messages_pending_enrichment(tmp_path: Path) -> None:
    """Without a step, statuses stay put (our exact-answer tests rely on it)."""
    with start(ReferenceConfig(mode="integration")) as reference:
        token = fetch_token(reference, generate_client(reference.registry, tmp_path))
        settings = CallbackSettings(None, "http://127.0.0.1:9/", api_key="k" * 8, application_id="a" * 8)
        setup = Setup(reference, RecordingReceiver(), settings, token)
        message_id = setup.create(messageReference=str(uuid.uuid4()))
        time.sleep(0.3)
        assert setup.get(message_id)["attributes"]["messageStatus"] == "pending_enrichment"


# ------------------------------------------------------------------------------------------------------
# serve --mode integration --callback-url


def test_serve_sends_callbacks_with_generated_credentials_it_never_prints(tmp_path: Path) -> None:
    recording = RecordingReceiver()
    out = tmp_path / "reference.json"
    with LoopbackServer(recording.app(), name="callback-receiver").start() as server:
        served = cli.serve(
            "--mode", "integration", "--no-throttle", "--credentials-out", str(out),
            "--callback-url", server.origin + MESSAGE_PATH, "--channel-callback-url", server.origin + CHANNEL_PATH,
        )  # fmt: skip
        try:
            written = json.loads(out.read_text())
            callbacks = written["callbacks"]
            settings = CallbackSettings(
                callbacks["message_status_url"],
                callbacks["channel_status_url"],
                api_key=callbacks["api_key"],
                application_id=callbacks["application_id"],
            )
            assert callbacks["environment"] == {
                "NOTIFY_CALLBACK_API_KEY": settings.api_key,
                "NOTIFY_APPLICATION_ID": settings.application_id,
            }
            assert out.stat().st_mode & 0o777 == 0o600
            token = _token_from_file(written)
            response = httpx.post(
                served.base_url + "/v1/messages",
                json=message_body(),
                headers={"Authorization": f"Bearer {token}", "Accept": "application/vnd.api+json"},
            )
            assert response.status_code == 201, response.text
            message_id = response.json()["data"]["id"]
            deadline = time.monotonic() + IDLE_TIMEOUT_S
            expected = len(MESSAGE_STATUSES) + len(CHANNEL_STATUSES)
            while len(recording.arrivals) < expected and time.monotonic() < deadline:
                time.sleep(0.05)
            shown = httpx.get(callbacks["deliveries_url"]).json()
        finally:
            stopped = cli.interrupt(served.process)
    assert statuses(recording.at(MESSAGE_PATH), message_id) == MESSAGE_STATUSES
    assert statuses(recording.at(CHANNEL_PATH), message_id) == CHANNEL_STATUSES
    for arrival in recording.arrivals:
        assert_signed(arrival, settings)
    assert shown["counts"]["delivered"] == expected
    assert stopped.returncode == 0, stopped.tail()
    assert f"callbacks: {expected} delivered" in stopped.stdout
    printed = served.banner + stopped.output
    assert "callbacks to " + server.origin + MESSAGE_PATH in printed
    assert settings.api_key not in printed and settings.application_id not in printed


def _token_from_file(written: dict[str, Any]) -> str:
    from conformance.reference.oauth import ClientCredentials
    from tests.reference.conftest import client_assertion

    credentials = ClientCredentials(
        api_key=written["api_key"], kid=written["kid"], private_key_path=Path(written["private_key_path"])
    )
    response = httpx.post(
        written["token_url"],
        data={
            "grant_type": "client_credentials",
            "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
            "client_assertion": client_assertion(credentials, written["token_url"]),
        },
    )
    assert response.status_code == 200, response.text
    return str(response.json()["access_token"])


@pytest.mark.parametrize(
    ("args", "env", "says"),
    [
        (("--callback-url", "http://127.0.0.1:9/x"), {}, "give --credentials-out FILE"),
        (
            ("--callback-url", "http://127.0.0.1:9/x"),
            {"NOTIFY_CALLBACK_API_KEY": "only-the-key"},
            "NOTIFY_APPLICATION_ID as well",
        ),
        (("--callback-url", "ftp://127.0.0.1/x", "--credentials-out", "x.json"), {}, "http:// or https://"),
        (("--mode", "sandbox", "--callback-url", "http://127.0.0.1:9/x"), {}, "only to --mode integration"),
        (
            ("--mode", "receiver", "--channel-callback-url", "http://127.0.0.1:9/x"),
            {},
            "only to --mode integration",
        ),
    ],
)
def test_serve_callback_usage_errors(
    args: tuple[str, ...], env: dict[str, str], says: str, tmp_path: Path
) -> None:
    mode = () if "--mode" in args else ("--mode", "integration")
    done = cli.run_cli("serve", *mode, *args, env=env, cwd=tmp_path, timeout=60)
    assert done.returncode == 2, done.tail()
    assert len(done.error_lines) == 1 and says in done.stderr, done.tail()
    assert "only-the-key" not in done.output
