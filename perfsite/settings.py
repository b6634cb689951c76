"""Perfsite settings: every value comes from the environment, with development defaults.

DJANGO_DEBUG unset means on (``runserver`` on localhost). Production sets DJANGO_DEBUG=0, a real
DJANGO_SECRET_KEY and DJANGO_ALLOWED_HOSTS; see the README's "Security and operations".
"""

import os
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent


def env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None or value.strip() == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_list(name: str, default: str) -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


DEBUG = env_bool("DJANGO_DEBUG", True)

DEV_SECRET_KEY = "django-insecure-perfsite-development-key-do-not-use-in-production"
SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY", DEV_SECRET_KEY)
if not DEBUG and SECRET_KEY == DEV_SECRET_KEY:
    raise ImproperlyConfigured(
        "DJANGO_DEBUG=0 needs a real DJANGO_SECRET_KEY; the development key is public."
    )

ALLOWED_HOSTS = env_list("DJANGO_ALLOWED_HOSTS", "localhost,127.0.0.1,[::1]" if DEBUG else "")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django_htmx",
    "template_partials",
    "records",
    "dashboard",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "dashboard.security.SecurityHeadersMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
]

ROOT_URLCONF = "perfsite.urls"
WSGI_APPLICATION = "perfsite.wsgi.application"
ASGI_APPLICATION = "perfsite.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# --- Database -----------------------------------------------------------------------------------
# SQLite in data/ (git-ignored) by default; DATABASE_URL switches to PostgreSQL.
DATA_DIR = Path(os.environ.get("PERFSITE_DATA_DIR", BASE_DIR / "data"))
# How long one statement waits for another writer's lock before a lock error: SQLite's busy
# timeout, PostgreSQL's lock_timeout (seconds). And how long one write may wait and retry in all
# before it gives up (records.recording.retry): the HTTP API then answers 503 with Retry-After.
# Both stay well under gunicorn's --timeout 60, which would kill the worker and drop the answer.
DATABASE_LOCK_TIMEOUT = 20
PERFSITE_WRITE_TIMEOUT = float(os.environ.get("PERFSITE_WRITE_TIMEOUT", "30"))
SQLITE_OPTIONS = {
    # WAL lets readers run beside the writer; IMMEDIATE takes the write lock at BEGIN so that two
    # writers queue on the busy timeout instead of failing on lock upgrade.
    "transaction_mode": "IMMEDIATE",
    "timeout": DATABASE_LOCK_TIMEOUT,
    "init_command": (
        "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; "
        f"PRAGMA busy_timeout={DATABASE_LOCK_TIMEOUT * 1000}; "
        "PRAGMA foreign_keys=ON; PRAGMA temp_store=MEMORY;"
    ),
}
if os.environ.get("DATABASE_URL"):
    # No persistent connections: under ASGI (the production server) every request runs its sync
    # code on a thread of its own, so a connection kept for later would stay open on a thread
    # nobody reuses, and they pile up towards PostgreSQL's max_connections (Django's docs say to
    # disable them under ASGI). Each request opens one and closes it when it finishes.
    DATABASES = {"default": dj_database_url.parse(os.environ["DATABASE_URL"], conn_max_age=0)}
    if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
        # Without a lock_timeout a write waits for a held lock for ever (until gunicorn kills it).
        options = DATABASES["default"].setdefault("OPTIONS", {})
        lock_timeout = f"-c lock_timeout={DATABASE_LOCK_TIMEOUT * 1000}"
        options["options"] = f"{options.get('options', '')} {lock_timeout}".strip()
else:
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": DATA_DIR / "perfsite.sqlite3",
        }
    }
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATA_DIR.mkdir(parents=True, exist_ok=True)
    DATABASES["default"].setdefault("OPTIONS", {}).update(SQLITE_OPTIONS)
    # Tests use a file too (not shared-cache memory), so a live server's threads get their own
    # connections with WAL and the busy timeout, as in production.
    DATABASES["default"].setdefault("TEST", {}).setdefault(
        "NAME", str(DATA_DIR / "test_perfsite.sqlite3")
    )

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = os.environ.get("PERFSITE_TIME_ZONE", "UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
# Where `collectstatic` gathers the files whitenoise serves in production (DJANGO_DEBUG=0).
STATIC_ROOT = Path(os.environ.get("DJANGO_STATIC_ROOT", BASE_DIR / "staticfiles"))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG
            else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        )
    },
}

LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "/"
LOGOUT_REDIRECT_URL = "/"

# --- Security -----------------------------------------------------------------------------------
# Production (DJANGO_DEBUG=0) is secure by default; behind a TLS-terminating proxy set
# DJANGO_SECURE_PROXY_SSL_HEADER=1 so Django trusts X-Forwarded-Proto, and keep the redirect on.
SECURE_SSL_REDIRECT = env_bool("DJANGO_SECURE_SSL_REDIRECT", not DEBUG)
if env_bool("DJANGO_SECURE_PROXY_SSL_HEADER", False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SESSION_COOKIE_SECURE = env_bool("DJANGO_SECURE_COOKIES", not DEBUG)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
SESSION_COOKIE_HTTPONLY = True
SECURE_HSTS_SECONDS = int(
    os.environ.get("DJANGO_SECURE_HSTS_SECONDS", "0" if DEBUG else "31536000")
)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("DJANGO_SECURE_HSTS_INCLUDE_SUBDOMAINS", not DEBUG)
SECURE_HSTS_PRELOAD = env_bool("DJANGO_SECURE_HSTS_PRELOAD", not DEBUG)
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
CSRF_TRUSTED_ORIGINS = env_list("DJANGO_CSRF_TRUSTED_ORIGINS", "")
# No inline script or style anywhere in Perfsite's pages (chart data travels by json_script).
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "font-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'none'; "
    "form-action 'self'; frame-ancestors 'none'"
)

# --- Perfsite -----------------------------------------------------------------------------------
# Fallback model name for records that do not say which model ran them.
# Fallback model name for records that name none; PERFSITE_MODEL / ANTHROPIC_MODEL in the
# environment are read at record time (see records.rules.names.default_model_name).
PERFSITE_MODEL = os.environ.get("PERFSITE_MODEL", "")
PERFSITE_REQUIRE_LOGIN = env_bool("PERFSITE_REQUIRE_LOGIN", False)

# --- Alerts (docs/alerts.md) -------------------------------------------------------------------
# Webhooks carry X-Perfsite-Signature: sha256=HMAC-SHA256(body) with this secret (unsigned when
# empty). PERFSITE_BASE_URL (https://perfsite.example) makes the links in notifications absolute.
PERFSITE_WEBHOOK_SECRET = os.environ.get("PERFSITE_WEBHOOK_SECRET", "")
PERFSITE_BASE_URL = os.environ.get("PERFSITE_BASE_URL", "")
# Each notification: up to this many attempts, waiting BACKOFF, 2x, 4x... seconds between them,
# each network call giving up after TIMEOUT seconds.
PERFSITE_ALERT_ATTEMPTS = int(os.environ.get("PERFSITE_ALERT_ATTEMPTS", "4"))
PERFSITE_ALERT_BACKOFF = float(os.environ.get("PERFSITE_ALERT_BACKOFF", "2"))
PERFSITE_ALERT_TIMEOUT = float(os.environ.get("PERFSITE_ALERT_TIMEOUT", "10"))


def email_settings(environ) -> dict:
    """Django's email settings from EMAIL_URL (smtp://user:password@host:port, smtp+tls://,
    smtps://, console://) or the separate EMAIL_HOST, EMAIL_PORT... variables."""
    from urllib.parse import parse_qs, unquote, urlsplit

    found = {
        "EMAIL_HOST": environ.get("EMAIL_HOST", "localhost"),
        "EMAIL_PORT": int(environ.get("EMAIL_PORT", "25")),
        "EMAIL_HOST_USER": environ.get("EMAIL_HOST_USER", ""),
        "EMAIL_HOST_PASSWORD": environ.get("EMAIL_HOST_PASSWORD", ""),
        "EMAIL_USE_TLS": env_bool("EMAIL_USE_TLS", False),
        "EMAIL_USE_SSL": env_bool("EMAIL_USE_SSL", False),
        "EMAIL_BACKEND": "django.core.mail.backends.smtp.EmailBackend",
    }
    url = environ.get("EMAIL_URL", "").strip()
    if url:
        parts = urlsplit(url)
        schemes = {"smtp": (False, False), "smtp+tls": (True, False), "smtps": (False, True)}
        if parts.scheme == "console":
            found["EMAIL_BACKEND"] = "django.core.mail.backends.console.EmailBackend"
        elif parts.scheme in schemes:
            query = parse_qs(parts.query)
            tls, ssl = schemes[parts.scheme]
            tls = tls or query.get("tls", [""])[0].lower() in {"1", "true", "yes", "on"}
            found.update(
                EMAIL_HOST=parts.hostname or "localhost",
                EMAIL_PORT=parts.port or (465 if ssl else 587 if tls else 25),
                EMAIL_HOST_USER=unquote(parts.username or ""),
                EMAIL_HOST_PASSWORD=unquote(parts.password or ""),
                EMAIL_USE_TLS=tls,
                EMAIL_USE_SSL=ssl,
            )
        else:
            raise ImproperlyConfigured(
                f"EMAIL_URL: unknown scheme {parts.scheme!r}; use smtp, smtp+tls, smtps or console."
            )
    return found


_EMAIL = email_settings(os.environ)
EMAIL_BACKEND = _EMAIL["EMAIL_BACKEND"]
EMAIL_HOST = _EMAIL["EMAIL_HOST"]
EMAIL_PORT = _EMAIL["EMAIL_PORT"]
EMAIL_HOST_USER = _EMAIL["EMAIL_HOST_USER"]
EMAIL_HOST_PASSWORD = _EMAIL["EMAIL_HOST_PASSWORD"]
EMAIL_USE_TLS = _EMAIL["EMAIL_USE_TLS"]
EMAIL_USE_SSL = _EMAIL["EMAIL_USE_SSL"]
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "perfsite@localhost")
SERVER_EMAIL = DEFAULT_FROM_EMAIL

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("PERFSITE_LOG_LEVEL", "WARNING")},
}
