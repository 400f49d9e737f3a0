"""Django settings, built from :class:`~depthhand.serve.options.ServeOptions` (never at import time)."""

from __future__ import annotations

from typing import Any

from depthhand.serve.options import ServeOptions

FRAME_GROUP = "hands"


def channel_layers(options: ServeOptions) -> dict[str, Any]:
    """Small capacity and expiry: a slow consumer drops frames instead of building a backlog."""
    if options.redis_url:
        return {
            "default": {
                "BACKEND": "channels_redis.core.RedisChannelLayer",
                "CONFIG": {"hosts": [options.redis_url], "capacity": 16, "expiry": 2, "group_expiry": 86400},
            }
        }
    return {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer", "CONFIG": {"capacity": 16, "expiry": 2}}}


def build_settings(options: ServeOptions) -> dict[str, Any]:
    """The keyword arguments for ``django.conf.settings.configure``."""
    hosts = ["localhost", "127.0.0.1", "[::1]", *options.allowed_hosts]
    if options.host not in ("0.0.0.0", "::") and options.host not in hosts:
        hosts.append(options.host)
    s: dict[str, Any] = {
        "SECRET_KEY": options.secret_key,
        "DEBUG": options.debug,
        "ALLOWED_HOSTS": hosts,
        "INSTALLED_APPS": [
            "django.contrib.admin",
            "django.contrib.auth",
            "django.contrib.contenttypes",
            "django.contrib.sessions",
            "django.contrib.messages",
            "django.contrib.staticfiles",
            "ninja",  # its templates and static files: /api/docs (Swagger UI) works without a CDN
            "channels",
            "depthhand.serve.apps.ServeConfig",
        ],
        "MIDDLEWARE": [
            "depthhand.serve.api.json_method_not_allowed",
            "django.middleware.security.SecurityMiddleware",
            "django.contrib.sessions.middleware.SessionMiddleware",
            "django.middleware.common.CommonMiddleware",
            "django.middleware.csrf.CsrfViewMiddleware",
            "django.contrib.auth.middleware.AuthenticationMiddleware",
            "django.contrib.messages.middleware.MessageMiddleware",
            "django.middleware.clickjacking.XFrameOptionsMiddleware",
        ],
        "ROOT_URLCONF": "depthhand.serve.urls",
        "ASGI_APPLICATION": "depthhand.serve.asgi.application",
        "TEMPLATES": [
            {
                "BACKEND": "django.template.backends.django.DjangoTemplates",
                "APP_DIRS": True,
                "OPTIONS": {
                    "context_processors": [
                        "django.template.context_processors.request",
                        "django.contrib.auth.context_processors.auth",
                        "django.contrib.messages.context_processors.messages",
                    ]
                },
            }
        ],
        "DATABASES": {
            "default": {"ENGINE": "django.db.backends.sqlite3", "NAME": str(options.data_dir / "db.sqlite3")}
        },
        "DEFAULT_AUTO_FIELD": "django.db.models.BigAutoField",
        "CHANNEL_LAYERS": channel_layers(options),
        "STATIC_URL": "/static/",
        "STATIC_ROOT": str(options.data_dir / "static"),
        "USE_TZ": True,
        "SECURE_CONTENT_TYPE_NOSNIFF": True,
        "X_FRAME_OPTIONS": "DENY",
        "SECURE_REFERRER_POLICY": "same-origin",
        # bodies are bounded before Django (asgi.RequestGuard); this is the second line
        "DATA_UPLOAD_MAX_MEMORY_SIZE": 1024 * 1024,
        "FILE_UPLOAD_MAX_MEMORY_SIZE": 1024 * 1024,
        "LOGGING": {
            "version": 1,
            "disable_existing_loggers": False,
            "formatters": {"plain": {"format": "%(asctime)s %(name)s %(levelname)s: %(message)s"}},
            "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
            "loggers": {
                "depthhand": {"handlers": ["console"], "level": "INFO"},
                # unhandled exceptions in views (500s) with their traceback; 4xx answers are not logged
                "django.request": {"handlers": ["console"], "level": "ERROR"},
            },
        },
    }
    if options.production:
        s.update(
            SECURE_SSL_REDIRECT=True,
            SESSION_COOKIE_SECURE=True,
            CSRF_COOKIE_SECURE=True,
            SECURE_HSTS_SECONDS=31536000,
            SECURE_HSTS_INCLUDE_SUBDOMAINS=True,
            SECURE_HSTS_PRELOAD=True,
            SECURE_PROXY_SSL_HEADER=("HTTP_X_FORWARDED_PROTO", "https"),
        )
    return s
