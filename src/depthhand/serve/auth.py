"""Token authentication for the WebSocket and the REST API.

REST writes take the token from the ``Authorization: Bearer …`` header only (a token in a URL ends up in logs and
browser history); REST reads and the WebSocket also accept ``?token=…``. Comparison is constant-time.
"""

from __future__ import annotations

import hmac
from collections.abc import Iterable
from urllib.parse import parse_qs


def token_matches(given: str | None, expected: str) -> bool:
    """Constant-time comparison; ``None`` or empty never matches."""
    if not given:
        return False
    return hmac.compare_digest(given.encode(), expected.encode())


def header_token(headers: Iterable[tuple[str, str]]) -> str | None:
    """The token of an ``Authorization: Bearer`` header, or ``None``."""
    for name, value in headers:
        if name.lower() == "authorization" and value.lower().startswith("bearer "):
            return value[7:].strip()
    return None


def token_from_parts(query_string: str, headers: Iterable[tuple[str, str]]) -> str | None:
    """The token from an ``Authorization: Bearer`` header or else the query string (header names any case)."""
    given = header_token(headers)
    if given is not None:
        return given
    values = parse_qs(query_string).get("token")
    return values[0] if values else None


def scope_token(scope: dict[str, object]) -> str | None:
    """The token of an ASGI connection scope."""
    raw_headers = scope.get("headers") or []
    headers = [(k.decode("latin1"), v.decode("latin1")) for k, v in raw_headers]  # type: ignore[attr-defined]
    qs = scope.get("query_string", b"")
    return token_from_parts(qs.decode("latin1") if isinstance(qs, bytes) else str(qs), headers)
