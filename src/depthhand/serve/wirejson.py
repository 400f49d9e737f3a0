"""Compact JSON text of the wire messages: orjson when installed (the ``serve`` extra), else the standard library.

Both give the same text for depthhand's messages: no spaces, keys in insertion order (the frame's head ``type``,
``v``, ``seq``, ``t_send_us`` first, as the load benchmark reads it), the shortest round-trip float repr. Non-finite
numbers never reach the encoder: the message builders write them as ``null``
(:func:`depthhand.structures.json_floats`; should one slip through, orjson writes ``null``, the fallback ``NaN`` as
the server did before). What orjson does not take (a non-``str`` key, an integer beyond 64 bits) goes to the
fallback.
``depthhand bench serve.encode`` measures both (BENCHMARKS.md).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from functools import cache
from typing import Any


def json_dumps(obj: Any) -> str:
    """The standard library's compact JSON (the encoder of the server before orjson)."""
    return json.dumps(obj, separators=(",", ":"))


@cache
def _encoder() -> tuple[str, Callable[[Any], str]]:
    try:
        import orjson
    except ImportError:
        return "json", json_dumps

    def dumps(obj: Any) -> str:
        try:
            return orjson.dumps(obj).decode()
        except TypeError:  # a non-str key, an int beyond 64 bits, a type orjson does not know
            return json_dumps(obj)

    return "orjson", dumps


def backend() -> str:
    """``"orjson"`` or ``"json"``: what :func:`dumps` uses."""
    return _encoder()[0]


def dumps(obj: Any) -> str:
    """``obj`` as compact JSON text (see the module docstring).

    Raises:
        TypeError: An object neither encoder can write.
    """
    return _encoder()[1](obj)
