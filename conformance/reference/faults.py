"""Deliberate faults: each one makes the reference API break exactly one documented behaviour.

They exist to prove the suite works. ``notify-conformance selftest`` runs the suite against the clean
reference (nothing may fail) and then against each fault (something in the fault's area must fail); a
fault nobody notices is a check that has gone blind.

A fault is hooked in by :func:`install` in one of four places, chosen to keep it surgical:

* ``stages``: wraps a named gateway stage (``Gateway.stages`` holds ``(name, stage)`` pairs);
* ``patch``: changes the gateway itself (stage order, body validation, the backend's store);
* ``token``: wraps the token endpoint's handler (integration mode);
* ``rewrite``: edits the finished response just before it is sent (see ``responses.finalise``).

A fault names the modes it applies to; on a server of another mode it does nothing, so one list of
faults can be given to both servers of the ``local`` environment.

One entry is drift, not a break: ``created-extra-attribute`` adds a member the contract does not
document. The API may add members without notice (behaviour ops §1.2), so a default run reports it as
contract drift and passes; only a ``--strict-contract`` run fails on it. It is marked
``strict_contract``, and the self-test runs it with ``--strict-contract``, which proves the drift is
seen at all (our own tests prove the default run passes and reports it).
"""

from __future__ import annotations

import email.utils
import functools
import json
import re
import uuid
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import parse_qs

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa

from conformance.reference import nhsapp
from conformance.reference.catalogue import (
    FORBIDDEN,
    INVALID_NHS_NUMBER,
    INVALID_REQUEST,
    INVALID_VALUE,
    NOT_ALLOWED,
    NOT_FOUND,
    UNSUPPORTED_MEDIA,
    Problem,
)
from conformance.reference.config import Mode, ReferenceConfig
from conformance.reference.context import RequestContext
from conformance.reference.gateway import Gateway, Stage, Validator
from conformance.reference.integration import IntegrationBackend
from conformance.reference.negotiation import JSON, JSON_API, content_type_is_supported
from conformance.reference.oauth import ClientRecord, ClientRegistry, bearer_token
from conformance.reference.responses import Outgoing, Reply, Rewrite, encode_json, problem_reply
from conformance.reference.routing import MESSAGE_ID_PREFIX
from conformance.reference.store import Claim, MessageStore
from conformance.spec import OperationId

Handler = Callable[[RequestContext], Awaitable[Reply]]
StageWrapper = Callable[[Gateway, Stage], Stage]
TokenWrapper = Callable[[Handler, ClientRegistry], Handler]

BOTH: tuple[Mode, ...] = ("sandbox", "integration")
SANDBOX: tuple[Mode, ...] = ("sandbox",)
INTEGRATION: tuple[Mode, ...] = ("integration",)
_CREATES = (OperationId.CREATE_MESSAGE, OperationId.CREATE_MESSAGE_BATCH)
_KSUID = re.compile(r"[a-zA-Z0-9]{27}")
_BAD_PAGE = "page must be a positive non-zero integer"


@dataclass(frozen=True)
class Fault:
    """One deliberate misbehaviour: what it breaks, where the suite should notice, how it is done."""

    name: str
    #: the suite areas expected to catch it (at least one failing test must be in one of them)
    areas: tuple[str, ...]
    modes: tuple[Mode, ...]
    #: the documented behaviour it breaks, in one line
    breaks: str
    #: where docs/behaviour.md documents that behaviour, as a citation: "behaviour §3.2", "upstream §1.9"
    section: str
    stages: Mapping[str, StageWrapper] = field(default_factory=dict)
    patch: Callable[[Gateway], None] | None = None
    token: TokenWrapper | None = None
    rewrite: Rewrite | None = None
    #: drift rather than a break: caught only by a ``--strict-contract`` run (the default run reports it)
    strict_contract: bool = False


# ------------------------------------------------------------------------------------------------------
# Building blocks


def _passes(gateway: Gateway, stage: Stage) -> Stage:
    """The stage never answers: whatever it guards is let through."""

    async def wrapped(ctx: RequestContext) -> Reply | None:
        return None

    return wrapped


def _restatus(status: int) -> StageWrapper:
    """The stage answers as before, but with another HTTP status (error objects agree with it)."""

    def wrap(gateway: Gateway, stage: Stage) -> Stage:
        async def wrapped(ctx: RequestContext) -> Reply | None:
            reply = await stage(ctx)
            if reply is not None:
                reply.status = status
                for error in _error_list(reply.body):
                    error["status"] = str(status)
            return reply

        return wrapped

    return wrap


def _move_after(names: Iterable[str], anchor: str) -> Callable[[Gateway], None]:
    """Reorder the pipeline: the named stages run right after ``anchor``."""
    moving = tuple(names)

    def patch(gateway: Gateway) -> None:
        taken = [pair for pair in gateway.stages if pair[0] in moving]
        rest = [pair for pair in gateway.stages if pair[0] not in moving]
        at = next(index for index, (name, _) in enumerate(rest) if name == anchor) + 1
        gateway.stages[:] = rest[:at] + taken + rest[at:]

    return patch


def _error_list(body: Any) -> list[dict[str, Any]]:
    if isinstance(body, dict) and isinstance(body.get("errors"), list):
        return [error for error in body["errors"] if isinstance(error, dict)]
    return []


def _success_data(out: Outgoing, ctx: RequestContext, *operations: OperationId) -> dict[str, Any] | None:
    """The ``data`` object of a 2xx answer to one of ``operations``, else None."""
    if ctx.operation not in operations or not 200 <= out.status < 300 or not isinstance(out.body, dict):
        return None
    data = out.body.get("data")
    return data if isinstance(data, dict) else None


def _is_preflight(ctx: RequestContext) -> bool:
    return (
        ctx.method == "OPTIONS"
        and ctx.origin is not None
        and ctx.header("access-control-request-method") is not None
    )


@functools.cache
def _anonymous_client() -> ClientRecord:
    """Who an unauthenticated request is taken to be when auth is not enforced."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=1024).public_key()
    return ClientRecord(
        api_key="anonymous", kid="anonymous", public_key=key, onboarded=True, token_lifetime_s=0
    )


# ------------------------------------------------------------------------------------------------------
# Negotiation and media type


def _empty_accept_allowed(gateway: Gateway, stage: Stage) -> Stage:
    async def wrapped(ctx: RequestContext) -> Reply | None:
        if ctx.accept is not None and not ctx.accept.strip():
            return None
        return await stage(ctx)

    return wrapped


def _media_type_only_for_post(gateway: Gateway, stage: Stage) -> Stage:
    async def wrapped(ctx: RequestContext) -> Reply | None:
        return await stage(ctx) if ctx.method == "POST" else None

    return wrapped


def _media_type_on_reads(gateway: Gateway, stage: Stage) -> Stage:
    async def wrapped(ctx: RequestContext) -> Reply | None:
        content_type = ctx.header("content-type")
        if ctx.method == "GET" and content_type is not None:
            if not content_type_is_supported("POST", content_type):
                return problem_reply(ctx, Problem(UNSUPPORTED_MEDIA))
        return await stage(ctx)

    return wrapped


def _json_answered_as_json_api(out: Outgoing, ctx: RequestContext) -> None:
    if ctx.suffix is not None and ctx.accept == JSON and out.headers.get("content-type") == JSON:
        out.headers["content-type"] = JSON_API


def _content_type_with_charset(out: Outgoing, ctx: RequestContext) -> None:
    if ctx.suffix is not None and "content-type" in out.headers:
        out.headers["content-type"] += "; charset=utf-8"


# ------------------------------------------------------------------------------------------------------
# Auth and the token endpoint


def _auth_not_enforced(gateway: Gateway, stage: Stage) -> Stage:
    async def wrapped(ctx: RequestContext) -> Reply | None:
        if await stage(ctx) is not None:
            ctx.client = _anonymous_client()
        return None

    return wrapped


def _expired_token_accepted(gateway: Gateway, stage: Stage) -> Stage:
    async def wrapped(ctx: RequestContext) -> Reply | None:
        token = bearer_token(ctx.header("authorization"))
        # judged at the epoch, every token the registry ever issued is still within its lifetime
        client = gateway.registry.client_for_token(token, now=0.0) if token is not None else None
        if client is None:
            return await stage(ctx)
        ctx.client = client
        return None

    return wrapped


def _mock_token_ignored(gateway: Gateway, stage: Stage) -> Stage:
    async def wrapped(ctx: RequestContext) -> Reply | None:
        if ctx.header("authorization") == "Bearer InvalidMockToken" and ctx.header("prefer") is None:
            return None
        return await stage(ctx)

    return wrapped


def _token_despite(refusal: str) -> TokenWrapper:
    """The token endpoint issues a token although the assertion was refused for ``refusal`` (only that)."""

    def wrap(handler: Handler, registry: ClientRegistry) -> Handler:
        async def wrapped(ctx: RequestContext) -> Reply:
            reply = await handler(ctx)
            description = reply.body.get("error_description") if isinstance(reply.body, dict) else None
            if reply.status != 400 or not isinstance(description, str) or refusal not in description:
                return reply
            client = _assertion_client(registry, await ctx.request.body())
            if client is None:
                return reply
            token = registry.issue_token(client)
            body = {"access_token": token, "expires_in": str(client.token_lifetime_s), "token_type": "Bearer"}
            return Reply(status=200, body=body, content_type=JSON)

        return wrapped

    return wrap


def _assertion_client(registry: ClientRegistry, form: bytes) -> ClientRecord | None:
    """The client whose ``kid`` an (unverified) client assertion names."""
    assertion = parse_qs(form.decode("utf-8", "replace")).get("client_assertion", [""])[0]
    try:
        kid = jwt.get_unverified_header(assertion).get("kid")
    except jwt.PyJWTError:
        return None
    return registry.client_for_kid(kid) if isinstance(kid, str) else None


def _service_ban_as_forbidden(out: Outgoing, ctx: RequestContext) -> None:
    for error in _error_list(out.body):
        if error.get("code") == "CM_SERVICE_BAN":
            error.update(code=FORBIDDEN.code, title=FORBIDDEN.title, detail=FORBIDDEN.detail)


# ------------------------------------------------------------------------------------------------------
# Headers and CORS


def _correlation_id_not_echoed(out: Outgoing, ctx: RequestContext) -> None:
    if "x-correlation-id" in out.headers:
        out.headers["x-correlation-id"] = ctx.message_id


def _correlation_id_missing_on_errors(out: Outgoing, ctx: RequestContext) -> None:
    if out.status >= 400:
        out.headers.pop("x-correlation-id", None)


def _amz_header_leaked(out: Outgoing, ctx: RequestContext) -> None:
    out.headers["x-amzn-requestid"] = str(uuid.uuid4())


def _drop_header(name: str) -> Rewrite:
    def rewrite(out: Outgoing, ctx: RequestContext) -> None:
        out.headers.pop(name, None)

    return rewrite


def _allow_origin_missing(out: Outgoing, ctx: RequestContext) -> None:
    if not _is_preflight(ctx):
        out.headers.pop("access-control-allow-origin", None)


def _preflight_allows_credentials(out: Outgoing, ctx: RequestContext) -> None:
    if _is_preflight(ctx):
        out.headers["access-control-allow-credentials"] = "true"


def _retry_after_missing(out: Outgoing, ctx: RequestContext) -> None:
    out.headers.pop("retry-after", None)


def _throttle_retry_after(value: str | None) -> StageWrapper:
    """The rate limiter still answers 429, but its Retry-After is ``value`` (None: no header at all)."""

    def wrap(gateway: Gateway, stage: Stage) -> Stage:
        async def wrapped(ctx: RequestContext) -> Reply | None:
            reply = await stage(ctx)
            if reply is not None:
                for name in [name for name in reply.headers if name.lower() == "retry-after"]:
                    del reply.headers[name]
                if value is not None:
                    reply.headers["Retry-After"] = value
            return reply

        return wrapped

    return wrap


# ------------------------------------------------------------------------------------------------------
# Routing


def _not_allowed_as_not_found(gateway: Gateway, stage: Stage) -> Stage:
    async def wrapped(ctx: RequestContext) -> Reply | None:
        reply = await stage(ctx)
        if reply is not None and reply.status == NOT_ALLOWED.status:
            return problem_reply(ctx, Problem(NOT_FOUND))
        return reply

    return wrapped


def _trailing_slash_routed(gateway: Gateway, stage: Stage) -> Stage:
    async def wrapped(ctx: RequestContext) -> Reply | None:
        if ctx.method == "POST" and ctx.path.endswith("/") and ctx.suffix not in (None, "", "/"):
            ctx.path = ctx.path.rstrip("/")
        return await stage(ctx)

    return wrapped


def _double_slash_kept(gateway: Gateway, stage: Stage) -> Stage:
    async def wrapped(ctx: RequestContext) -> Reply | None:
        raw_path = ctx.url_without_query.split("://", 1)[-1].partition("/")[2]
        if "//" in "/" + raw_path:
            return problem_reply(ctx, Problem(NOT_FOUND))
        return await stage(ctx)

    return wrapped


def _head_not_allowed(gateway: Gateway, stage: Stage) -> Stage:
    async def wrapped(ctx: RequestContext) -> Reply | None:
        if ctx.method == "HEAD" and (ctx.suffix or "").startswith(MESSAGE_ID_PREFIX):
            return problem_reply(ctx, Problem(NOT_ALLOWED))
        return await stage(ctx)

    return wrapped


# ------------------------------------------------------------------------------------------------------
# Creating messages and batches


def _nhs_numbers_unchecked(gateway: Gateway) -> None:
    validate: Validator = gateway.validate

    def lenient(raw: bytes, *, batch: bool) -> tuple[Any, list[Problem]]:
        body, problems = validate(raw, batch=batch)
        return body, [problem for problem in problems if problem.kind is not INVALID_NHS_NUMBER]

    gateway.validate = lenient


class _ForgetfulStore(MessageStore):
    """A store that forgets which message (or batch) references a client has used."""

    def __init__(self, inner: MessageStore, *, messages: bool) -> None:
        super().__init__()
        self.inner = inner
        self.forget_messages = messages

    def add_message(self, owner: str, reference: str, data: dict[str, Any]) -> Claim:
        if self.forget_messages:
            reference = f"{reference}\0{uuid.uuid4()}"
        return self.inner.add_message(owner, reference, data)

    def add_batch(self, owner: str, batch_reference: str, messages: Any) -> Claim:
        if not self.forget_messages:
            batch_reference = f"{batch_reference}\0{uuid.uuid4()}"
        return self.inner.add_batch(owner, batch_reference, messages)

    def message(self, owner: str, message_id: str) -> dict[str, Any] | None:
        return self.inner.message(owner, message_id)


def _forget_references(*, messages: bool) -> Callable[[Gateway], None]:
    def patch(gateway: Gateway) -> None:
        backend = gateway.backend
        if isinstance(backend, IntegrationBackend):
            backend.store = _ForgetfulStore(backend.store, messages=messages)

    return patch


def _callbacks_signed_reserialised(gateway: Gateway) -> None:
    """The sender signs a pretty-printed copy of each callback body but sends the compact bytes, the
    mistake of a receiver that verifies a re-parsed body, made on the sending side."""
    backend = gateway.backend
    delivery = backend.delivery if isinstance(backend, IntegrationBackend) else None
    if delivery is None:
        return
    honest = delivery.signature

    def reserialised(body: bytes) -> str:
        return honest(json.dumps(json.loads(body), indent=2).encode("utf-8"))

    delivery.signature = reserialised  # type: ignore[method-assign]


def _created_as_ok(out: Outgoing, ctx: RequestContext) -> None:
    if ctx.operation in _CREATES and out.status == 201:
        out.status = 200


def _location_missing(out: Outgoing, ctx: RequestContext) -> None:
    if ctx.operation is OperationId.CREATE_MESSAGE:
        out.headers.pop("location", None)


def _created_self_link_missing(out: Outgoing, ctx: RequestContext) -> None:
    data = _success_data(out, ctx, OperationId.CREATE_MESSAGE)
    if data is not None:
        data.pop("links", None)


def _created_status_undocumented(out: Outgoing, ctx: RequestContext) -> None:
    data = _success_data(out, ctx, OperationId.CREATE_MESSAGE)
    if data is not None and isinstance(data.get("attributes"), dict):
        data["attributes"]["messageStatus"] = "queued"


def _created_timestamp_not_iso(out: Outgoing, ctx: RequestContext) -> None:
    data = _success_data(out, ctx, OperationId.CREATE_MESSAGE)
    timestamps = data.get("attributes", {}).get("timestamps") if data is not None else None
    if isinstance(timestamps, dict) and isinstance(timestamps.get("created"), str):
        created = datetime.fromisoformat(timestamps["created"])
        timestamps["created"] = email.utils.format_datetime(created, usegmt=True)


def _created_extra_attribute(out: Outgoing, ctx: RequestContext) -> None:
    data = _success_data(out, ctx, OperationId.CREATE_MESSAGE)
    if data is not None and isinstance(data.get("attributes"), dict):
        data["attributes"]["priority"] = "normal"


def _batch_message_missing(out: Outgoing, ctx: RequestContext) -> None:
    data = _success_data(out, ctx, OperationId.CREATE_MESSAGE_BATCH)
    messages = data.get("attributes", {}).get("messages") if data is not None else None
    if isinstance(messages, list) and messages:
        messages.pop()


def _bad_request_as_server_error(out: Outgoing, ctx: RequestContext) -> None:
    if ctx.operation in _CREATES and out.status == 400:
        out.status = 500
        for error in _error_list(out.body):
            error["status"] = "500"


def _too_many_items_as_bad_request(out: Outgoing, ctx: RequestContext) -> None:
    errors = _error_list(out.body)
    if errors and errors[0].get("code") == "CM_TOO_MANY_ITEMS":
        out.status = 400
        errors[0]["status"] = "400"


def _pointer_without_data(out: Outgoing, ctx: RequestContext) -> None:
    if ctx.operation not in _CREATES:
        return
    for error in _error_list(out.body):
        source = error.get("source")
        pointer = source.get("pointer") if isinstance(source, dict) else None
        if isinstance(pointer, str) and pointer.startswith("/data/"):
            source["pointer"] = pointer.removeprefix("/data")  # type: ignore[index]


def _source_dropped(out: Outgoing, ctx: RequestContext) -> None:
    if ctx.operation not in _CREATES:
        return
    for error in _error_list(out.body):
        error.pop("source", None)


def _errors_reversed(out: Outgoing, ctx: RequestContext) -> None:
    errors = _error_list(out.body)
    if len(errors) > 1:
        ids = [error.get("id") for error in errors]
        errors.reverse()
        for error, error_id in zip(errors, ids, strict=True):
            error["id"] = error_id
        out.body["errors"] = errors


def _nhs_number_link_missing(out: Outgoing, ctx: RequestContext) -> None:
    for error in _error_list(out.body):
        links = error.get("links")
        if error.get("code") == INVALID_NHS_NUMBER.code and isinstance(links, dict):
            links.pop("nhsNumbers", None)


# ------------------------------------------------------------------------------------------------------
# Reading messages and NHS App accounts


def _message_id_checked(gateway: Gateway, stage: Stage) -> Stage:
    async def wrapped(ctx: RequestContext) -> Reply | None:
        if ctx.operation is OperationId.GET_MESSAGE:
            message_id = (ctx.suffix or "")[len(MESSAGE_ID_PREFIX) :]
            if not _KSUID.fullmatch(message_id):
                return problem_reply(ctx, Problem(INVALID_VALUE))
        return await stage(ctx)

    return wrapped


def _message_id_missing(out: Outgoing, ctx: RequestContext) -> None:
    data = _success_data(out, ctx, OperationId.GET_MESSAGE)
    if data is not None:
        data.pop("id", None)


def _message_self_link_missing(out: Outgoing, ctx: RequestContext) -> None:
    data = _success_data(out, ctx, OperationId.GET_MESSAGE)
    if data is not None:
        data.pop("links", None)


def _channel_type_undocumented(out: Outgoing, ctx: RequestContext) -> None:
    data = _success_data(out, ctx, OperationId.GET_MESSAGE)
    channels = data.get("attributes", {}).get("channels") if data is not None else None
    for channel in channels if isinstance(channels, list) else []:
        if isinstance(channel, dict) and channel.get("type") == "nhsapp":
            channel["type"] = "app"


def _practice_code_case_sensitive(gateway: Gateway, stage: Stage) -> Stage:
    async def wrapped(ctx: RequestContext) -> Reply | None:
        code = ctx.request.query_params.get("ods-organisation-code")
        if ctx.operation is OperationId.GET_NHSAPP_ACCOUNT_DETAILS and code and code != code.upper():
            return problem_reply(ctx, Problem(INVALID_REQUEST, detail="Invalid ODS Code"))
        return await stage(ctx)

    return wrapped


def _invalid_page_is_first(gateway: Gateway, stage: Stage) -> Stage:
    async def wrapped(ctx: RequestContext) -> Reply | None:
        reply = await stage(ctx)
        if reply is None or not any(error.get("detail") == _BAD_PAGE for error in _error_list(reply.body)):
            return reply
        query = {name: value for name, value in ctx.request.query_params.items() if name != "page"}
        outcome = nhsapp.accounts(query, f"{ctx.public_base}/channels/nhsapp/accounts")
        return (
            problem_reply(ctx, outcome) if isinstance(outcome, Problem) else Reply(status=200, body=outcome)
        )

    return wrapped


def _next_link_missing(out: Outgoing, ctx: RequestContext) -> None:
    if _success_data(out, ctx, OperationId.GET_NHSAPP_ACCOUNT_DETAILS) is not None:
        links = out.body.get("links")
        if isinstance(links, dict):
            links.pop("next", None)


def _accounts_type_missing(out: Outgoing, ctx: RequestContext) -> None:
    data = _success_data(out, ctx, OperationId.GET_NHSAPP_ACCOUNT_DETAILS)
    if data is not None:
        data.pop("type", None)


# ------------------------------------------------------------------------------------------------------
# JSON:API documents


def _error_status_number(out: Outgoing, ctx: RequestContext) -> None:
    for error in _error_list(out.body):
        if isinstance(error.get("status"), str) and error["status"].isdigit():
            error["status"] = int(error["status"])


def _data_beside_errors(out: Outgoing, ctx: RequestContext) -> None:
    if _error_list(out.body):
        out.body["data"] = None


def _unknown_top_level_member(out: Outgoing, ctx: RequestContext) -> None:
    if ctx.suffix is not None and out.status < 300 and isinstance(out.body, dict) and "data" in out.body:
        out.body["debug"] = {"served-by": "notify-reference"}


def _error_ids_random(out: Outgoing, ctx: RequestContext) -> None:
    for error in _error_list(out.body):
        error["id"] = str(uuid.uuid4())


def _about_link_missing(out: Outgoing, ctx: RequestContext) -> None:
    for error in _error_list(out.body):
        links = error.get("links")
        if isinstance(links, dict):
            links.pop("about", None)
            if not links:
                del error["links"]


def _error_body_truncated(out: Outgoing, ctx: RequestContext) -> None:
    if _error_list(out.body):
        out.content = encode_json(out.body)[:-1]


# ------------------------------------------------------------------------------------------------------
# The bank


def _fault(
    name: str, areas: str | tuple[str, ...], modes: tuple[Mode, ...], section: str, breaks: str, **how: Any
) -> Fault:
    """A bank entry; ``areas`` may be one area name."""
    named = (areas,) if isinstance(areas, str) else areas
    return Fault(name=name, areas=named, modes=modes, section=section, breaks=breaks, **how)


# fmt: off
_BANK = (
    # negotiation
    _fault("406-ignored", "negotiation", BOTH, "behaviour §3.2",
           "An Accept header the API cannot serve gets 406 CM_NOT_ACCEPTABLE",
           stages={"not-acceptable": _passes}),
    _fault("406-as-400", "negotiation", BOTH, "behaviour §3.2",
           "An unservable Accept is refused with status 406 (not 400)",
           stages={"not-acceptable": _restatus(400)}),
    _fault("empty-accept-allowed", "negotiation", BOTH, "behaviour §3.2",
           "An empty Accept header counts as present and gets 406",
           stages={"not-acceptable": _empty_accept_allowed}),
    _fault("json-accept-answered-as-vnd", "negotiation", BOTH, "behaviour §1.7",
           "Accept: application/json is answered with Content-Type application/json",
           rewrite=_json_answered_as_json_api),
    _fault("content-type-with-charset", ("negotiation", "headers"), BOTH, "behaviour §1.7",
           "The response Content-Type is exactly the media type, without parameters",
           rewrite=_content_type_with_charset),
    # media type
    _fault("415-ignored", "media type", BOTH, "behaviour §3.3",
           "A POST/PUT/PATCH whose Content-Type is not a JSON media type gets 415 CM_UNSUPPORTED_MEDIA",
           stages={"unsupported-media": _passes}),
    _fault("415-as-400", "media type", BOTH, "behaviour §3.3",
           "An unsupported Content-Type is refused with status 415 (not 400)",
           stages={"unsupported-media": _restatus(400)}),
    _fault("415-only-for-post", "media type", BOTH, "behaviour §3.3",
           "PUT and PATCH are checked for their Content-Type too, not only POST",
           stages={"unsupported-media": _media_type_only_for_post}),
    _fault("415-on-get", "media type", BOTH, "behaviour §3.3",
           "GET requests are never refused for their Content-Type",
           stages={"unsupported-media": _media_type_on_reads}),
    _fault("415-before-406", "media type", BOTH, "behaviour §3.1",
           "Content negotiation (406) is decided before the Content-Type check (415)",
           patch=_move_after(["not-acceptable"], "unsupported-media")),
    _fault("415-after-routing", "media type", BOTH, "behaviour §3.1",
           "415 applies on any path, before the route check (404/405)",
           patch=_move_after(["unsupported-media"], "route")),
    # auth
    _fault("auth-not-enforced", "auth", INTEGRATION, "behaviour §3.4",
           "A missing or invalid access token gets 401 CM_DENIED",
           stages={"access-token": _auth_not_enforced}),
    _fault("expired-token-accepted", "auth", INTEGRATION, "behaviour §3.4",
           "An expired access token gets 401 CM_DENIED",
           stages={"access-token": _expired_token_accepted}),
    _fault("401-as-403", "auth", INTEGRATION, "behaviour §3.4",
           "A missing or invalid access token is refused with status 401 (not 403)",
           stages={"access-token": _restatus(403)}),
    _fault("not-onboarded-allowed", "auth", INTEGRATION, "behaviour §3.4",
           "A client that is not onboarded gets 403 CM_FORBIDDEN",
           stages={"onboarding": _passes}),
    _fault("auth-after-routing", "auth", INTEGRATION, "behaviour §3.1",
           "The access token is checked before content negotiation and routing",
           patch=_move_after(["access-token", "onboarding"], "route")),
    _fault("token-accepts-foreign-signature", "auth", INTEGRATION, "behaviour §6",
           "The token endpoint refuses a client assertion not signed by the registered key",
           token=_token_despite("signature does not verify")),
    _fault("token-accepts-expired-assertion", "auth", INTEGRATION, "behaviour §6",
           "The token endpoint refuses a client assertion whose exp has passed",
           token=_token_despite("has expired")),
    _fault("token-accepts-replayed-jti", "auth", INTEGRATION, "behaviour §6",
           "The token endpoint refuses a client assertion whose jti was used before",
           token=_token_despite("has already been used")),
    _fault("mock-token-trigger-ignored", "auth", SANDBOX, "behaviour §4.1",
           "Authorization: Bearer InvalidMockToken gets 401 CM_DENIED in the sandbox",
           stages={"prefer-triggers": _mock_token_ignored}),
    _fault("service-ban-as-forbidden", "auth", SANDBOX, "behaviour §3.4, §4.2",
           "A service ban is reported as 403 CM_SERVICE_BAN, not CM_FORBIDDEN",
           rewrite=_service_ban_as_forbidden),
    # headers
    _fault("correlation-id-not-echoed", "headers", BOTH, "behaviour §3.6",
           "The client's X-Correlation-Id is echoed unchanged",
           rewrite=_correlation_id_not_echoed),
    _fault("correlation-id-missing-on-errors", "headers", BOTH, "behaviour §3.6",
           "Error responses carry X-Correlation-Id too",
           rewrite=_correlation_id_missing_on_errors),
    _fault("x-amz-header-leaked", "headers", BOTH, "behaviour §1.7",
           "No header starting x-amz reaches the client",
           rewrite=_amz_header_leaked),
    _fault("cache-control-missing", "headers", BOTH, "behaviour §1.7",
           "Every response carries Cache-Control: no-cache, no-store, must-revalidate",
           rewrite=_drop_header("cache-control")),
    _fault("nosniff-missing", "headers", BOTH, "behaviour §1.7",
           "Every response carries X-Content-Type-Options: nosniff",
           rewrite=_drop_header("x-content-type-options")),
    _fault("cors-allow-origin-missing", "headers", BOTH, "behaviour §3.5",
           "A request with Origin gets Access-Control-Allow-Origin echoing it",
           rewrite=_allow_origin_missing),
    _fault("cors-preflight-allows-credentials", "headers", BOTH, "behaviour §3.5",
           "A CORS preflight answer has no Access-Control-Allow-Credentials",
           rewrite=_preflight_allows_credentials),
    _fault("cors-preflight-needs-auth", "headers", INTEGRATION, "behaviour §3.1, §3.5",
           "A CORS preflight is answered before auth, so it needs no access token",
           patch=_move_after(["cors-preflight"], "onboarding")),
    _fault("retry-after-missing", "messages", SANDBOX, "behaviour §3.10, §4.1",
           "429 CM_QUOTA and 425 CM_RETRY_TOO_EARLY carry Retry-After",
           rewrite=_retry_after_missing),
    _fault("throttle-429-without-retry-after", "messages", INTEGRATION, "behaviour §3.10",
           "A throttled request gets 429 CM_QUOTA with a usable Retry-After (60 for the quota, 1 for "
           "the spike arrest)",
           stages={"rate-limit": _throttle_retry_after(None)}),
    _fault("throttle-429-malformed-retry-after", "messages", INTEGRATION, "behaviour §3.10",
           "A throttled request's Retry-After is a whole number of seconds (RFC 9110), not free text",
           stages={"rate-limit": _throttle_retry_after("soon")}),
    # routing
    _fault("405-as-404", "routing", BOTH, "behaviour §3.7",
           "A known path with a method it does not allow gets 405 CM_NOT_ALLOWED",
           stages={"route": _not_allowed_as_not_found}),
    _fault("trailing-slash-routed", "routing", BOTH, "behaviour §3.7",
           "Routes match exactly: a trailing slash on the POST routes is not the same route",
           stages={"route": _trailing_slash_routed}),
    _fault("double-slash-not-collapsed", "routing", BOTH, "upstream §1.9",
           "A doubled slash in the path is treated as one",
           stages={"route": _double_slash_kept}),
    _fault("head-not-allowed", "routing", BOTH, "behaviour §3.7",
           "HEAD is allowed wherever GET is on /v1/messages/{id}",
           stages={"route": _head_not_allowed}),
    # messages and batches
    _fault("invalid-nhs-number-accepted", ("messages", "batches"), BOTH, "behaviour §1.6, §3.8",
           "An NHS number with a wrong pattern or check digit gets 400 CM_INVALID_NHS_NUMBER",
           patch=_nhs_numbers_unchecked),
    _fault("duplicate-message-accepted", "messages", INTEGRATION, "behaviour §1.2",
           "A second message with the same messageReference gets 422 CM_DUPLICATE_REQUEST",
           patch=_forget_references(messages=True)),
    _fault("duplicate-batch-accepted", "batches", INTEGRATION, "behaviour §1.3",
           "A second batch with the same messageBatchReference gets 422 CM_DUPLICATE_REQUEST",
           patch=_forget_references(messages=False)),
    _fault("201-as-200", ("messages", "batches"), BOTH, "behaviour §1.2, §1.3",
           "A created message or batch is answered 201 Created",
           rewrite=_created_as_ok),
    _fault("location-missing", "messages", BOTH, "behaviour §1.2",
           "A created message's answer carries Location: /v1/messages/<id>",
           rewrite=_location_missing),
    _fault("created-links-self-missing", "messages", BOTH, "behaviour §1.2",
           "A created message's answer has data.links.self",
           rewrite=_created_self_link_missing),
    _fault("created-status-undocumented", "messages", BOTH, "behaviour §1.2",
           "A created message has messageStatus 'created' (a documented enum value)",
           rewrite=_created_status_undocumented),
    _fault("created-timestamp-not-iso", "messages", BOTH, "behaviour §1.2",
           "timestamps.created is an ISO 8601 date-time",
           rewrite=_created_timestamp_not_iso),
    _fault("created-extra-attribute", ("properties", "messages"), BOTH, "behaviour §1.2, ops §1.2",
           "A created message's attributes hold only the documented members (drift: only "
           "--strict-contract fails it)",
           rewrite=_created_extra_attribute, strict_contract=True),
    _fault("batch-message-missing", "batches", BOTH, "behaviour §1.3",
           "A created batch lists every message it was sent, each with its new id",
           rewrite=_batch_message_missing),
    _fault("400-as-500", ("messages", "batches"), BOTH, "behaviour §3.8",
           "A request body that fails validation gets 400, not a server error",
           rewrite=_bad_request_as_server_error),
    _fault("too-many-items-as-400", "batches", BOTH, "behaviour §3.8",
           "More than 45 000 messages in a batch gets 413 CM_TOO_MANY_ITEMS",
           rewrite=_too_many_items_as_bad_request),
    _fault("error-pointer-wrong", ("messages", "batches"), BOTH, "behaviour §3.8",
           "A validation error's source.pointer names the offending field from the document root",
           rewrite=_pointer_without_data),
    _fault("error-source-missing", ("messages", "batches"), BOTH, "behaviour §3.8",
           "A validation error names the offending field in source.pointer",
           rewrite=_source_dropped),
    _fault("errors-out-of-order", ("messages", "batches"), BOTH, "behaviour §3.8",
           "Validation errors are reported in the documented order",
           rewrite=_errors_reversed),
    _fault("nhs-number-link-missing", ("messages", "batches"), BOTH, "behaviour §2",
           "CM_INVALID_NHS_NUMBER carries links.nhsNumbers",
           rewrite=_nhs_number_link_missing),
    # get message
    _fault("message-id-format-checked", "get message", BOTH, "behaviour §1.4",
           "The gateway does not check the message id's format: any unknown id gets 404",
           stages={"operation": _message_id_checked}),
    _fault("message-id-missing", "get message", BOTH, "behaviour §1.4, §2",
           "A message resource has its id",
           rewrite=_message_id_missing),
    _fault("message-links-self-missing", "get message", BOTH, "behaviour §1.4",
           "A message resource has data.links.self, the request URL",
           rewrite=_message_self_link_missing),
    _fault("channel-type-undocumented", "get message", SANDBOX, "behaviour §1.4",
           "A channel's type is one of nhsapp, email, sms, letter",
           rewrite=_channel_type_undocumented),
    # NHS App accounts
    _fault("practice-code-case-sensitive", "NHS App accounts", BOTH, "behaviour §1.5, §4.6",
           "The ods-organisation-code is case-insensitive",
           stages={"operation": _practice_code_case_sensitive}),
    _fault("invalid-page-accepted", "NHS App accounts", BOTH, "behaviour §1.5, §4.6",
           "A page that is not a positive number gets 400 CM_INVALID_REQUEST",
           stages={"operation": _invalid_page_is_first}),
    _fault("pagination-next-missing", "NHS App accounts", BOTH, "behaviour §1.5",
           "Every page but the last has links.next",
           rewrite=_next_link_missing),
    _fault("accounts-type-missing", "NHS App accounts", BOTH, "behaviour §1.5, §2",
           "The accounts resource has type NhsAppAccounts",
           rewrite=_accounts_type_missing),
    # JSON:API documents
    _fault("error-status-number", "routing", BOTH, "behaviour §2",
           "An error object's status is a string",
           rewrite=_error_status_number),
    _fault("data-and-errors-together", "routing", BOTH, "behaviour §2",
           "An error document has errors and no data",
           rewrite=_data_beside_errors),
    _fault("unknown-top-level-member", ("get message", "messages"), BOTH, "behaviour §1.2, §1.4",
           "A success document has only JSON:API top-level members",
           rewrite=_unknown_top_level_member),
    _fault("error-id-not-positional", ("routing", "messages"), BOTH, "behaviour §2",
           "An error's id is the gateway message id followed by .<position>",
           rewrite=_error_ids_random),
    _fault("about-link-missing", "routing", BOTH, "behaviour §2, §3.12",
           "Every error carries links.about",
           rewrite=_about_link_missing),
    _fault("error-body-truncated", "routing", BOTH, "behaviour §2",
           "An error body is a complete JSON document",
           rewrite=_error_body_truncated),
    # callbacks the reference API sends (only a server given receiver URLs sends any)
    _fault("callbacks-signed-reserialised", "callbacks", INTEGRATION, "ops §1.1",
           "A status callback is signed over the exact bytes sent",
           patch=_callbacks_signed_reserialised),
)
# fmt: on

#: Every fault by name, in the order above.
FAULTS: Mapping[str, Fault] = {fault.name: fault for fault in _BANK}


def unknown(names: Iterable[str]) -> list[str]:
    """The names that are not faults, in the order given."""
    return [name for name in names if name not in FAULTS]


def check_known(names: Iterable[str]) -> None:
    """Refuse the first name that is not a fault (ValueError), in the one wording every command shows:
    ``serve``, ``run --fault`` and ``selftest --fault`` each turn it into their usage error."""
    if missing := unknown(names):
        raise ValueError(f"unknown fault {missing[0]!r} (see 'notify-conformance serve --list-faults')")


def applicable(names: Iterable[str], mode: Mode) -> list[Fault]:
    """The named faults that apply to a server in ``mode`` (ValueError for an unknown name)."""
    names = list(names)
    if missing := unknown(names):
        raise ValueError(f"unknown fault(s): {', '.join(missing)}")
    return [FAULTS[name] for name in sorted(set(names)) if mode in FAULTS[name].modes]


@dataclass(frozen=True)
class Injection:
    """The faults installed on one server: the response rewrite and the token-endpoint wrapper."""

    rewrites: tuple[Rewrite, ...] = ()
    token_wrappers: tuple[TokenWrapper, ...] = ()

    @property
    def rewrite(self) -> Rewrite | None:
        if not self.rewrites:
            return None
        rewrites = self.rewrites

        def apply(out: Outgoing, ctx: RequestContext) -> None:
            for rewrite in rewrites:
                rewrite(out, ctx)

        return apply

    def wrap_token(self, handler: Handler, registry: ClientRegistry) -> Handler:
        for wrap in self.token_wrappers:
            handler = wrap(handler, registry)
        return handler


def install(config: ReferenceConfig, gateway: Gateway) -> Injection:
    """Apply ``config.faults`` to ``gateway``; return what the app must hook in at its edges."""
    active = applicable(config.faults, config.mode)
    for fault in active:
        for stage_name, wrap in fault.stages.items():
            index = next(i for i, (name, _) in enumerate(gateway.stages) if name == stage_name)
            gateway.stages[index] = (stage_name, wrap(gateway, gateway.stages[index][1]))
        if fault.patch is not None:
            fault.patch(gateway)
    return Injection(
        rewrites=tuple(fault.rewrite for fault in active if fault.rewrite is not None),
        token_wrappers=tuple(fault.token for fault in active if fault.token is not None),
    )
