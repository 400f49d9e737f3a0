"""Options of the server (what ``depthhand serve`` parses into)."""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from depthhand.pipeline import PipelineOptions

DEFAULT_SOURCE = "synthetic://topdown"
"""What ``depthhand serve`` and ``demo`` run when no source is given: the full pipeline on the synthetic table."""


MIN_TOKEN_CHARS = 16
MIN_TOKEN_DISTINCT = 8


def token_problem(token: str) -> str | None:
    """Why ``token`` is too weak to protect the server, or ``None`` when it is acceptable.

    A token needs at least :data:`MIN_TOKEN_CHARS` characters, no whitespace, and at least
    :data:`MIN_TOKEN_DISTINCT` distinct characters (sixteen ``a`` are refused).
    """
    if len(token) < MIN_TOKEN_CHARS:
        return f"the API token must have at least {MIN_TOKEN_CHARS} characters"
    if any(c.isspace() for c in token):
        return "the API token must not contain whitespace"
    if len(set(token)) < MIN_TOKEN_DISTINCT:
        return f"the API token is too predictable: it needs at least {MIN_TOKEN_DISTINCT} distinct characters"
    return None


def token_from_env() -> tuple[str, str]:
    """The API token and where it came from: ``$DEPTHHAND_TOKEN``, the file ``$DEPTHHAND_TOKEN_FILE``, or generated.

    Returns:
        ``(token, origin)``; origin is ``"DEPTHHAND_TOKEN"``, the file's path, or ``""`` for a generated token.

    Raises:
        ValueError: ``DEPTHHAND_TOKEN_FILE`` names a file that cannot be read.
    """
    env = os.environ.get("DEPTHHAND_TOKEN")
    if env:
        return env, "DEPTHHAND_TOKEN"
    file = os.environ.get("DEPTHHAND_TOKEN_FILE")
    if file:
        try:
            text = Path(file).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise ValueError(f"DEPTHHAND_TOKEN_FILE {file}: cannot read the token ({exc})") from None
        return text.strip(), file
    return secrets.token_urlsafe(24), ""


def default_data_dir() -> Path:
    """``$DEPTHHAND_DATA`` or ``~/.local/share/depthhand/serve``: SQLite database, calibration, recordings."""
    env = os.environ.get("DEPTHHAND_DATA")
    return Path(env) if env else Path.home() / ".local" / "share" / "depthhand" / "serve"


@dataclass(frozen=True, slots=True)
class ServeOptions:
    """Server options.

    Attributes:
        host: Interface to listen on.
        port: TCP port.
        source: Source URL (:func:`depthhand.capture.sources.open_source`; ``scripted://demo``,
            ``synthetic://topdown``, a folder, a recording, a sensor).
        pipeline: How the pipeline is assembled (pose model, detector, backend, test-time views, …); ``None``: the
            defaults.
        mode: ``embedded`` (pipeline + web in one process), ``worker`` (pipeline only) or ``web`` (web only).
        redis_url: Redis channel layer and state store (required for ``worker`` / ``web``).
        token: API token (``DEPTHHAND_TOKEN``, the file ``DEPTHHAND_TOKEN_FILE``, or generated); weak tokens are
            refused (:func:`token_problem`).
        secret_key: Django SECRET_KEY (``DEPTHHAND_SECRET_KEY`` or generated per run).
        data_dir: Database, calibration file and recordings.
        production: HTTPS-only cookies, HSTS, SSL redirect (passes ``manage.py check --deploy``).
        debug: Django DEBUG (never with ``production``).
        allowed_hosts: Extra host names the server answers to.
        window: Unacknowledged frames per WebSocket client before newer frames replace older ones.
        depth_every: Send a depth preview every this many frames (0 = never).
        fit_plane_on_start: Fit the table plane from the first frames when the calibration has none yet.
        public_read: Let the REST reads (``GET /api/status``, ``/api/config``, ``/api/calibration*``) answer
            without the token (writes and the WebSocket still need it).
        admin: Serve Django's ``/admin/`` (off unless asked for).
        osc: ``HOST:PORT`` to send every frame to as an OSC bundle (:mod:`depthhand.output.osc`), or ``None``.
        tuio: ``HOST:PORT`` to send the touches to as TUIO 1.1 cursors (:mod:`depthhand.output.tuio`), or ``None``.
    """

    host: str = "127.0.0.1"
    port: int = 8000
    source: str = DEFAULT_SOURCE
    pipeline: PipelineOptions | None = None
    mode: str = "embedded"
    redis_url: str | None = None
    token: str = field(default_factory=lambda: token_from_env()[0])
    secret_key: str = field(default_factory=lambda: os.environ.get("DEPTHHAND_SECRET_KEY") or secrets.token_urlsafe(50))
    data_dir: Path = field(default_factory=default_data_dir)
    production: bool = False
    debug: bool = False
    allowed_hosts: tuple[str, ...] = ()
    window: int = 4
    depth_every: int = 6
    fit_plane_on_start: bool = False
    public_read: bool = False
    admin: bool = False
    osc: str | None = None
    tuio: str | None = None

    def __post_init__(self) -> None:
        if self.mode not in ("embedded", "worker", "web"):
            raise ValueError(f"mode must be embedded, worker or web, got {self.mode!r}")
        if self.mode != "embedded" and not self.redis_url:
            raise ValueError(f"--{self.mode}-only needs --redis URL (the processes talk through Redis)")
        if not 0 <= self.port <= 65535:
            raise ValueError(f"port must be in 0..65535, got {self.port}")
        problem = token_problem(self.token)
        if problem:
            raise ValueError(f"{problem} (set DEPTHHAND_TOKEN or DEPTHHAND_TOKEN_FILE)")
        if self.production and self.debug:
            raise ValueError("production and debug are mutually exclusive")
        if not 1 <= self.window <= 100:
            raise ValueError(f"window must be in 1..100, got {self.window}")
        from depthhand.output.udp import parse_target

        for option, target in (("--osc", self.osc), ("--tuio", self.tuio)):
            if target is None:
                continue
            if self.mode == "web":
                raise ValueError(f"{option} sends what the pipeline finds: give it to the --worker-only process")
            parse_target(option, target)
