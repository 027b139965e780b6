"""The checks of a receiver: what each sends and what it expects back.

Each :class:`Check` is a named list of :class:`~conformance.callbacks.deliveries.Delivery` objects, built
before anything is sent, for both kinds of callback (message status to one URL, channel status to the
other). The example checks are fixed; the two generated checks take what is left of the callback budget
(``--max-callbacks``), so the whole run never sends more than that budget.
"""

from __future__ import annotations

import functools
import secrets
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from conformance.callbacks import strategies
from conformance.callbacks.deliveries import GENUINE_NOTE, Delivery, Expect
from conformance.callbacks.payloads import (
    RESERIALISATIONS,
    UNLISTED_SUPPLIER_STATUSES,
    Builder,
    Document,
    document,
    serialise,
    unknown_member_places,
)
from conformance.callbacks.schema import JSON, Kind, enum, example_document
from conformance.callbacks.signing import API_KEY_HEADER, SIGNATURE_HEADER, sign, signing_key
from conformance.errors import UsageError
from conformance.spec import JSON_API

KINDS = (Kind.MESSAGE_STATUS, Kind.CHANNEL_STATUS)
#: the share of the budget kept back for resends after a 429, at least this many callbacks
_RESERVE_SHARE = 0.05
_RESERVE_MIN = 5
#: the generated checks need at least this many callbacks of each kind to be worth running
_GENERATED_MIN = 1


@dataclass(frozen=True)
class Credentials:
    """The application id and the agreed API key; their repr never shows them."""

    application_id: str = field(repr=False)
    api_key: str = field(repr=False)

    @property
    def key(self) -> bytes:
        return signing_key(self.application_id, self.api_key)


@dataclass(frozen=True)
class Check:
    """One named check: what it sends, what it expects, where that behaviour is documented."""

    name: str
    sends: str
    expects: str
    cites: str
    made: tuple[Delivery, ...] = ()
    #: builds the deliveries when they are first needed (the generated checks: generating takes seconds,
    #: and an unreachable receiver should be found before that)
    make: Callable[[], tuple[Delivery, ...]] | None = field(default=None, repr=False, compare=False)

    @functools.cached_property
    def deliveries(self) -> tuple[Delivery, ...]:
        return self.make() if self.make is not None else self.made

    @property
    def generated(self) -> bool:
        return self.make is not None


@dataclass(frozen=True)
class Plan:
    checks: tuple[Check, ...]
    seed: int
    max_callbacks: int

    @property
    def callbacks(self) -> int:
        return sum(len(check.deliveries) for check in self.checks)

    def check(self, name: str) -> Check:
        return next(check for check in self.checks if check.name == name)


#: a header value meaning "the genuine one": the agreed key, or the true signature of the body
GENUINE = "<genuine>"
#: a way to sign a body: returns the header value, or None to leave the header out
SignatureOf = Callable[[bytes], str | None]


class _Signer:
    """Headers for one body: the agreed key and the true signature unless told otherwise."""

    def __init__(self, credentials: Credentials) -> None:
        self._credentials = credentials
        self._key = credentials.key

    def signature(self, body: bytes) -> str:
        return sign(body, self._key)

    def headers(
        self,
        body: bytes,
        *,
        content_type: str = JSON_API,
        api_key: str | None = GENUINE,
        signature: str | None = GENUINE,
    ) -> tuple[tuple[str, str], ...]:
        """``GENUINE`` means the agreed key / the true signature; None leaves the header out."""
        pairs = [("content-type", content_type)]
        if api_key is not None:
            pairs.append((API_KEY_HEADER, self._credentials.api_key if api_key == GENUINE else api_key))
        if signature is not None:
            pairs.append((SIGNATURE_HEADER, self.signature(body) if signature == GENUINE else signature))
        return tuple(pairs)


def _signed_with(secret: str) -> SignatureOf:
    return lambda body: sign(body, secret.encode("utf-8"))


def _wrong_key() -> str:
    return "not-the-agreed-key-" + secrets.token_hex(8)


class _Planner:
    def __init__(self, credentials: Credentials) -> None:
        self.credentials = credentials
        self.signer = _Signer(credentials)
        self.build = Builder()

    def valid(
        self,
        check: str,
        kind: Kind,
        label: str,
        doc: Any,
        *,
        content_type: str = JSON_API,
        expect: Expect = Expect.ACCEPT,
    ) -> Delivery:
        body = serialise(doc)
        return Delivery(
            check, kind, label, body, self.signer.headers(body, content_type=content_type), expect=expect
        )

    def items(self, kind: Kind, count: int) -> list[Document]:
        return [self.build.item(kind) for _ in range(count)]

    # --- accepted callbacks ------------------------------------------------------------------------------

    def valid_example(self) -> Check:
        return Check(
            "valid-example",
            "the contract's example callback of each kind, signed, as application/vnd.api+json",
            "2xx; 202 is documented (another 2xx is a deviation)",
            "behaviour §5",
            tuple(
                self.valid("valid-example", kind, "the contract's example", example_document(kind))
                for kind in KINDS
            ),
        )

    def plain_json(self) -> Check:
        return Check(
            "plain-json",
            "a valid callback of each kind as application/json, the content type the delivery engine sends",
            "2xx, the same as for application/vnd.api+json",
            "ops §1.1",
            tuple(
                self.valid(
                    "plain-json",
                    kind,
                    "Content-Type: application/json",
                    document(*self.items(kind, 1)),
                    content_type=JSON,
                )
                for kind in KINDS
            ),
        )

    def every_status(self) -> Check:
        deliveries = [
            self.valid("every-status", kind, label, document(item))
            for kind in KINDS
            for label, item in self.build.every_status(kind)
        ]
        return Check(
            "every-status",
            "one callback per status value: every messageStatus; every channel, channelStatus, "
            "supplierStatus and cascadeType between them",
            "2xx for each",
            "behaviour §5",
            tuple(deliveries),
        )

    def optional_members(self) -> Check:
        deliveries = []
        for kind in KINDS:
            deliveries.append(
                self.valid(
                    "optional-members", kind, "every optional member present", document(self.build.item(kind))
                )
            )
            deliveries.append(
                self.valid(
                    "optional-members",
                    kind,
                    "only the members the contract requires",
                    document(self.build.item(kind, optional=False)),
                )
            )
        return Check(
            "optional-members",
            "each kind with every optional member, and with only the required ones",
            "2xx for both",
            "behaviour §5",
            tuple(deliveries),
        )

    def several_items(self) -> Check:
        return Check(
            "several-items",
            "one request holding three items of different messages",
            "2xx (the delivery engine sends one item, the contract allows several)",
            "ops §1.2",
            tuple(
                self.valid("several-items", kind, "3 items in data", document(*self.items(kind, 3)))
                for kind in KINDS
            ),
        )

    def duplicate(self) -> Check:
        deliveries = []
        for kind in KINDS:
            body = serialise(document(self.build.item(kind)))
            headers = self.signer.headers(body)
            deliveries.append(Delivery("duplicate", kind, "first delivery", body, headers))
            deliveries.append(
                Delivery("duplicate", kind, "the same callback again (same idempotencyKey)", body, headers)
            )
        return Check(
            "duplicate",
            "the same callback twice, byte for byte, with the same meta.idempotencyKey",
            "2xx both times (a receiver drops the repeat itself, using the idempotencyKey)",
            "ops §1.3",
            tuple(deliveries),
        )

    def out_of_order(self) -> Check:
        deliveries = [
            self.valid("out-of-order", kind, f"{position}: {label}", document(item))
            for kind in KINDS
            for position, (label, item) in enumerate(self.build.out_of_order(kind), start=1)
        ]
        return Check(
            "out-of-order",
            "one message's statuses latest first (delivered before sending before created)",
            "2xx for each",
            "ops §1.3",
            tuple(deliveries),
        )

    def unknown_members(self) -> Check:
        deliveries = [
            self.valid(
                "unknown-members",
                kind,
                f"unknown member in {where}",
                doc,
                expect=Expect.TOLERATE if closed else Expect.ACCEPT,
            )
            for kind in KINDS
            for where, closed, doc in unknown_member_places(kind, self.build)
        ]
        return Check(
            "unknown-members",
            "a member the contract does not define, in each place one can appear",
            "2xx (NHS Notify may add members without notice); a 4xx where the contract closes the object "
            "(routingPlan, metadata) is a deviation",
            "ops §1.2",
            tuple(deliveries),
        )

    def unlisted_values(self) -> Check:
        listed = set(enum(Kind.CHANNEL_STATUS, "supplierStatus"))
        deliveries = [
            self.valid(
                "unlisted-values",
                Kind.CHANNEL_STATUS,
                f"supplierStatus={value}",
                document(self.build.channel_status("sending", channel="letter", supplier_status=value)),
            )
            for value in UNLISTED_SUPPLIER_STATUSES
            if value not in listed
        ]
        return Check(
            "unlisted-values",
            "letter supplier statuses the sender already uses but the contract does not list yet "
            "(dispatched, printed, returned, virus_scan_failed, ...)",
            "2xx for each",
            "ops §1.2",
            tuple(deliveries),
        )

    # --- refused callbacks -------------------------------------------------------------------------------

    def _refused(
        self, check: str, expect: Expect, variants: Iterable[tuple[str, str | None, SignatureOf, str]]
    ) -> tuple[Delivery, ...]:
        """``variants``: (label, x-api-key value or GENUINE or None, how to sign, how it was signed)."""
        deliveries = []
        for kind in KINDS:
            for label, api_key, signature_of, note in variants:
                body = serialise(document(self.build.item(kind)))
                headers = self.signer.headers(body, api_key=api_key, signature=signature_of(body))
                deliveries.append(
                    Delivery(check, kind, label, body, headers, expect=expect, signature_note=note)
                )
        return tuple(deliveries)

    def api_key_missing(self) -> Check:
        return Check(
            "api-key-missing",
            "a correctly signed callback without x-api-key",
            "401",
            "behaviour §5",
            self._refused(
                "api-key-missing",
                Expect.KEY_REJECTED,
                [("no x-api-key header", None, self.signer.signature, GENUINE_NOTE)],
            ),
        )

    def api_key_wrong(self) -> Check:
        return Check(
            "api-key-wrong",
            "a correctly signed callback whose x-api-key is not the agreed key",
            "401",
            "behaviour §5",
            self._refused(
                "api-key-wrong",
                Expect.KEY_REJECTED,
                [("x-api-key is another key", _wrong_key(), self.signer.signature, GENUINE_NOTE)],
            ),
        )

    def signature_wrong_secret(self) -> Check:
        app, key, other = self.credentials.application_id, self.credentials.api_key, _wrong_key()
        variants = [
            (
                "signed with another API key",
                GENUINE,
                _signed_with(f"{app}.{other}"),
                "<application id>.<another key>",
            ),
            (
                "signed with the API key alone",
                GENUINE,
                _signed_with(key),
                "the API key alone, no application id",
            ),
            (
                "signed with key and id swapped",
                GENUINE,
                _signed_with(f"{key}.{app}"),
                "<API key>.<application id>",
            ),
        ]
        return Check(
            "signature-wrong-secret",
            "callbacks signed with the wrong secret: another key, the API key alone, key and id swapped",
            "403",
            "behaviour §5",
            self._refused("signature-wrong-secret", Expect.SIGNATURE_REJECTED, variants),
        )

    def signature_body_changed(self) -> Check:
        deliveries = []
        for kind in KINDS:
            item = self.build.item(kind)
            reference = item["attributes"]["messageReference"]
            body = serialise(document(item))
            headers = self.signer.headers(body)
            changed = reference[:-1] + ("0" if reference[-1] != "0" else "1")
            tampered = body.replace(reference.encode(), changed.encode(), 1)
            deliveries.append(
                Delivery(
                    "signature-body-changed",
                    kind,
                    "one byte of messageReference changed after signing",
                    tampered,
                    headers,
                    expect=Expect.SIGNATURE_REJECTED,
                    signature_note="genuine signature of the body before one byte was changed",
                )
            )
        return Check(
            "signature-body-changed",
            "a genuine signature over a body that then had one byte changed",
            "403",
            "behaviour §5",
            tuple(deliveries),
        )

    def signature_reserialised(self) -> Check:
        deliveries = []
        for kind in KINDS:
            for how, reserialise in RESERIALISATIONS.items():
                doc = document(self.build.item(kind))
                body = serialise(doc)
                signature = self.signer.signature(reserialise(doc))
                deliveries.append(
                    Delivery(
                        "signature-reserialised",
                        kind,
                        f"signature of a copy with {how}",
                        body,
                        self.signer.headers(body, signature=signature),
                        expect=Expect.SIGNATURE_REJECTED,
                        signature_note=f"the agreed key over a re-serialised copy ({how})",
                    )
                )
        return Check(
            "signature-reserialised",
            "the compact body sent, signed over a re-serialised copy (keys sorted, spaces, indentation)",
            "403 (the signature covers the exact bytes received)",
            "ops §1.1",
            tuple(deliveries),
        )

    def signature_empty(self) -> Check:
        return Check(
            "signature-empty",
            "a callback whose x-hmac-sha256-signature header is empty",
            "403",
            "behaviour §5",
            self._refused(
                "signature-empty",
                Expect.SIGNATURE_REJECTED,
                [("empty signature", GENUINE, lambda _: "", "empty")],
            ),
        )

    def signature_missing(self) -> Check:
        return Check(
            "signature-missing",
            "a callback without x-hmac-sha256-signature",
            "403",
            "behaviour §5",
            self._refused(
                "signature-missing",
                Expect.SIGNATURE_REJECTED,
                [("no signature header", GENUINE, lambda _: None, "no header")],
            ),
        )

    # --- generated callbacks -----------------------------------------------------------------------------

    def generated(self, kind: Kind, count: int, run_seed: int) -> Check:
        name = f"generated-{kind.value}"

        def make() -> tuple[Delivery, ...]:
            docs = strategies.draw(
                strategies.documents(kind), count, run_seed + (kind is Kind.CHANNEL_STATUS)
            )
            return tuple(
                self.valid(name, kind, f"generated #{number} ({len(doc['data'])} item(s))", doc)
                for number, doc in enumerate(docs, start=1)
            )

        return Check(
            name,
            f"{count} {kind.words} callbacks generated from the contract's schema: any enum value, optional "
            "members present and absent, one to four items",
            "2xx for each",
            "behaviour §5",
            make=make,
        )

    def examples(self) -> list[Check]:
        return [
            self.valid_example(),
            self.plain_json(),
            self.every_status(),
            self.optional_members(),
            self.several_items(),
            self.duplicate(),
            self.out_of_order(),
            self.unknown_members(),
            self.unlisted_values(),
            self.api_key_missing(),
            self.api_key_wrong(),
            self.signature_wrong_secret(),
            self.signature_body_changed(),
            self.signature_reserialised(),
            self.signature_empty(),
            self.signature_missing(),
        ]


def reserve(max_callbacks: int) -> int:
    """Callbacks kept back for resends after a 429."""
    return max(_RESERVE_MIN, int(max_callbacks * _RESERVE_SHARE))


def minimum_callbacks(credentials: Credentials) -> int:
    """The smallest ``--max-callbacks`` that runs every check."""
    examples = sum(len(check.deliveries) for check in _Planner(credentials).examples())
    return examples + _GENERATED_MIN * len(KINDS) + _RESERVE_MIN


def build_plan(credentials: Credentials, max_callbacks: int, run_seed: int) -> Plan:
    """Every check, the generated ones sized so the plan plus the reserve fits ``max_callbacks``.

    Raises:
        UsageError: the budget is too small for the example checks and one generated callback of each kind.
    """
    planner = _Planner(credentials)
    examples = planner.examples()
    fixed = sum(len(check.deliveries) for check in examples)
    left = max_callbacks - fixed - reserve(max_callbacks)
    if left < _GENERATED_MIN * len(KINDS):
        raise UsageError(
            f"--max-callbacks {max_callbacks} is too few: the checks need at least "
            f"{fixed + _GENERATED_MIN * len(KINDS) + reserve(max_callbacks)}"
        )
    share = [left // len(KINDS) + (1 if index < left % len(KINDS) else 0) for index in range(len(KINDS))]
    generated = [planner.generated(kind, count, run_seed) for kind, count in zip(KINDS, share, strict=True)]
    return Plan(tuple([*examples, *generated]), run_seed, max_callbacks)
