"""The one parser of source-URL query parameters (``scheme:rest?key=value&...``)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any


def take_params(params: Mapping[str, str], allowed: Mapping[str, Callable[[str], Any]], url: str) -> dict[str, Any]:
    """Convert a URL's query parameters, refusing unknown ones.

    Args:
        params: The raw ``key → value`` strings of the query.
        allowed: ``key → converter`` (``int``, ``float``, ``str`` or any callable that raises ``ValueError``).
        url: The whole URL, for messages.

    Returns:
        ``key → converted value`` for the keys present.

    Raises:
        ValueError: An unknown key (the message lists the accepted ones) or a value its converter refuses (the
            message names the key, the value and the expected type).
    """
    unknown = sorted(set(params) - set(allowed))
    if unknown:
        raise ValueError(f"{url}: unknown parameter(s) {unknown}; accepted: {sorted(allowed) or 'none'}")
    out: dict[str, Any] = {}
    for key, value in params.items():
        convert = allowed[key]
        try:
            out[key] = convert(value)
        except ValueError as exc:
            kind = convert.__name__ if convert in (int, float) else "value"
            raise ValueError(f"{url}: parameter {key}={value!r} is not a valid {kind}: {exc}") from exc
    return out
