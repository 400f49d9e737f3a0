"""Token authentication for the WebSocket and for every REST write.

Clients pass the token as ``?token=…`` or as ``Authorization: Bearer …``. Comparison is constant-time.
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


def token_from_parts(query_string: str, headers: Iterable[tuple[str, str]]) -> str | None:
    """The token from a query string or an ``Authorization: Bearer`` header (names lower-case)."""
    for name, value in headers:
        if name.lower() == "authorization" and value.lower().startswith("bearer "):
            return value[7:].strip()
    values = parse_qs(query_string).get("token")
    return values[0] if values else None


def scope_token(scope: dict[str, object]) -> str | None:
    """The token of an ASGI connection scope."""
    raw_headers = scope.get("headers") or []
    headers = [(k.decode("latin1"), v.decode("latin1")) for k, v in raw_headers]  # type: ignore[attr-defined]
    qs = scope.get("query_string", b"")
    return token_from_parts(qs.decode("latin1") if isinstance(qs, bytes) else str(qs), headers)
