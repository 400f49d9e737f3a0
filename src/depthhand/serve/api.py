"""The REST API on django-ninja: token auth, strict JSON bodies, JSON errors, OpenAPI, its docs page, the wire schema.

:func:`build_api` makes the :class:`ninja.NinjaAPI` mounted at ``/api/`` (the endpoints are in
:mod:`depthhand.serve.views`). ninja validates request bodies against :mod:`depthhand.serve.schemas` and builds
``/api/openapi.json`` (public, as before) from them; ``/api/docs`` is its Swagger UI, served from ninja's own static
files (no CDN: it works without internet) and behind the read rule. ``/api/schema/ws.json`` is the JSON Schema of the
WebSocket messages (:mod:`depthhand.serve.wire`).

Auth: writes need ``Authorization: Bearer <token>`` (the header only: a token in a URL ends up in logs); reads
need the token too (header, or else ``?token=``) unless the server runs with ``--public-read``. Every answer of
``/api/`` is JSON, errors included (``{"error": "..."}``): ninja's own error bodies (422 with a list, plain 405) are
replaced by one message naming the field and what was expected, status 400 (see :func:`error_message`).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from django.http import HttpRequest, HttpResponse, JsonResponse
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, HttpError, ValidationError, ValidationErrorContext
from ninja.openapi.docs import Swagger
from ninja.parser import Parser
from ninja.security import APIKeyQuery, HttpBearer
from pydantic import ValidationError as PydanticValidationError

from depthhand.serve import runtime
from depthhand.serve.auth import header_token, token_from_parts, token_matches
from depthhand.serve.schemas import ErrorOut, error_message

MAX_JSON_BYTES = 65536
"""Largest JSON body an endpoint parses (the request guard refuses more than 1 MiB before Django)."""
WRITE_METHODS = ("POST", "PUT", "PATCH", "DELETE")
WRITE_REFUSED = "missing or wrong token (send Authorization: Bearer <token>)"
READ_REFUSED = "missing or wrong token (send Authorization: Bearer <token> or ?token=)"
DESCRIPTION = (
    "Live hand tracking status, interaction settings, projector calibration and recording. The token is needed for "
    "writes (Authorization: Bearer <token> only) and reads (header or ?token=, unless the server runs with "
    '--public-read). Bodies are limited to 1 MiB (413). Errors are JSON: {"error": "..."} naming the field and '
    "what was expected. WebSocket: /ws/hands?token=… (messages: hello, frame, depth, touch_*/hover_*/pinch_* events, "
    "source (its state changed), pong, error; their JSON Schema: /api/schema/ws.json); acknowledge frames with "
    '{"type": "ack", "seq": N}.'
)


class ApiError(HttpError):
    """A client error with an HTTP status (400 unless told), answered as ``{"error": message}``."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(status, message)
        self.status = status


class BodyInvalid(ValidationError):
    """A request body that failed its schema: :attr:`message` names the first problem."""

    def __init__(self, message: str, errors: list[dict[str, Any]]) -> None:
        super().__init__(errors)
        self.message = message


def _read_allowed(request: HttpRequest) -> bool:
    options = runtime.get().options
    if options.public_read:
        return True
    given = token_from_parts(request.META.get("QUERY_STRING", ""), request.headers.items())
    return token_matches(given, options.token)


class BearerToken(HttpBearer):
    """``Authorization: Bearer <token>``; for reads (``reads=True``) also ``?token=`` or ``--public-read``."""

    def __init__(self, reads: bool) -> None:
        super().__init__()
        self.reads = reads

    def __call__(self, request: HttpRequest) -> bool:
        """Whether the request may pass (the header takes precedence over the query, as for the WebSocket)."""
        if self.reads:
            return _read_allowed(request)
        return token_matches(header_token(request.headers.items()), runtime.get().options.token)

    def authenticate(self, request: HttpRequest, token: str) -> bool:  # pragma: no cover - __call__ decides
        """Unused: :meth:`__call__` reads the header itself."""
        return token_matches(token, runtime.get().options.token)


class QueryToken(APIKeyQuery):
    """``?token=`` (reads only; documents the alternative, decides as :class:`BearerToken` for reads)."""

    param_name = "token"

    def __call__(self, request: HttpRequest) -> bool:
        """The read rule."""
        return _read_allowed(request)

    def authenticate(self, request: HttpRequest, key: str | None) -> bool:  # pragma: no cover - __call__ decides
        """Unused: :meth:`__call__` decides."""
        return _read_allowed(request)


READ = [BearerToken(reads=True), QueryToken()]
"""The auth of read endpoints (the token unless ``--public-read``; header or ``?token=``)."""
WRITE = [BearerToken(reads=False)]
"""The auth of write endpoints (the token in the ``Authorization`` header)."""


def parse_json(raw: bytes) -> Any:
    """A request body as JSON (empty: ``{}``).

    Raises:
        ApiError: 413 above :data:`MAX_JSON_BYTES`, 400 for invalid JSON or nesting too deep for the parser.
    """
    if not raw:
        return {}
    if len(raw) > MAX_JSON_BYTES:
        raise ApiError("request body too large (max 64 KiB)", 413)
    try:
        return json.loads(raw)
    except RecursionError:
        raise ApiError("body is nested too deeply (expected a JSON object of the documented fields)") from None
    except ValueError as exc:  # JSONDecodeError, UnicodeDecodeError, integers of more than 4300 digits
        raise ApiError(f"body is not valid JSON: {str(exc)[:200]}") from None


class JsonBodyParser(Parser):
    """ninja's body parser with our limits and messages (ninja wraps what it raises; the handler unwraps it)."""

    def parse_body(self, request: HttpRequest) -> Any:
        """The body as JSON (see :func:`parse_json`)."""
        return parse_json(request.body)


class DepthhandAPI(NinjaAPI):
    """:class:`ninja.NinjaAPI` whose validation errors are one message naming the field (not ninja's 422 list)."""

    def get_content_type(self) -> str:
        """``application/json`` as before (JSON is UTF-8 by definition: RFC 8259 defines no charset parameter)."""
        return "application/json"

    def validation_error_from_error_contexts(
        self, error_contexts: list[ValidationErrorContext[Any]]
    ) -> ValidationError:
        """The first error of the first failed parameter as :class:`BodyInvalid`."""
        context = error_contexts[0]
        errors = context.pydantic_validation_error.errors(include_url=False)
        first = errors[0]
        source = str(context.model.__ninja_param_source__ or "request")
        loc = tuple(first["loc"])
        single = getattr(context.model, "__read_from_single_attr__", None)
        if source == "body" and single and loc[:1] == (single,):
            loc = loc[1:]
            if not loc and first["type"] == "missing":  # an empty body: say what {} lacks
                schema = context.model.model_fields[single].annotation
                try:
                    schema.model_validate({})
                except PydanticValidationError as exc:
                    first = exc.errors(include_url=False)[0]
                    loc = tuple(first["loc"])
        first["loc"] = loc
        message = error_message(first, source)
        return BodyInvalid(message, [{"loc": [source, *loc], "msg": message, "type": first["type"]}])


class LocalSwagger(Swagger):
    """Swagger UI from ninja's own static files; ``?token=`` also authorises "Try it out"."""

    template = "depthhand_serve/api_docs.html"


def _error(api: NinjaAPI, request: HttpRequest, message: str, status: int) -> HttpResponse:
    return api.create_response(request, {"error": message}, status=status)


def _install_error_handlers(api: NinjaAPI) -> None:
    def validation(request: HttpRequest, exc: ValidationError) -> HttpResponse:
        message = exc.message if isinstance(exc, BodyInvalid) else f"invalid request: {exc.errors}"[:500]
        return _error(api, request, message, 400)

    def http_error(request: HttpRequest, exc: HttpError) -> HttpResponse:
        cause = exc.__cause__  # the parser's ApiError, wrapped by ninja as "Cannot parse request body"
        if isinstance(cause, ApiError):
            exc = cause
        if isinstance(exc, AuthenticationError):
            return _error(api, request, WRITE_REFUSED if request.method in WRITE_METHODS else READ_REFUSED, 401)
        return _error(api, request, str(exc), exc.status_code)

    def unexpected(request: HttpRequest, exc: Exception) -> HttpResponse:
        raise exc  # Django logs it (django.request) and answers with the JSON 500 handler

    api.exception_handler(ValidationError)(validation)
    api.exception_handler(HttpError)(http_error)
    api.exception_handler(Exception)(unexpected)


def json_method_not_allowed(get_response: Callable[[HttpRequest], HttpResponse]) -> Callable[[HttpRequest], Any]:
    """Django middleware: ninja's plain-text 405 under ``/api/`` becomes JSON naming the allowed methods."""

    def middleware(request: HttpRequest) -> HttpResponse:
        response = get_response(request)
        if response.status_code == 405 and request.path.startswith("/api/"):
            allowed = response.get("Allow", "")
            expected = ", ".join(sorted(m.strip() for m in allowed.split(",") if m.strip()))
            error = f"method {request.method} not allowed (expected {expected})"
            return JsonResponse({"error": error}, status=405, headers={"Allow": allowed})
        return response

    return middleware


def build_api() -> NinjaAPI:
    """The API mounted at ``/api/`` (endpoints of :mod:`depthhand.serve.views`, docs, the wire schema)."""
    from depthhand.serve import views, wire

    api = DepthhandAPI(
        title="depthhand live server",
        version="1",
        description=DESCRIPTION,
        urls_namespace="depthhand-api",
        docs=LocalSwagger(),
        docs_url=None,  # /api/docs below: behind the read rule, while /api/openapi.json stays public
        parser=JsonBodyParser(),
    )
    _install_error_handlers(api)
    api.add_router("/", views.router)

    @api.get("/docs", auth=READ, include_in_schema=False)
    def docs(request: HttpRequest) -> HttpResponse:
        """Swagger UI of this API (its scripts and styles from ``/static/ninja/``, never a CDN)."""
        return api.docs.render_page(request, api)

    @api.get(
        "/schema/ws.json",
        auth=READ,
        response={200: dict[str, Any], 401: ErrorOut},
        summary="JSON Schema of the WebSocket messages (/ws/hands)",
    )
    def ws_schema(request: HttpRequest) -> dict[str, Any]:
        """Every message the server sends (``oneOf``, by ``type``); the client's ``ack`` / ``ping`` in ``$defs``."""
        return wire.ws_json_schema()

    return api
