"""Django settings, read from the environment (see docs/operations.md)."""

import contextlib
import os
from pathlib import Path

import dj_database_url
import plotly
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent


def _env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


VAR_DIR = Path(os.environ.get("XINEDAI_VAR_DIR", Path.cwd() / "var")).resolve()

DEBUG = _env_bool("XINEDAI_DEBUG", False)
_INSECURE_KEY = "insecure-development-key-change-me-" + "x" * 30
SECRET_KEY = os.environ.get("XINEDAI_SECRET_KEY", _INSECURE_KEY)
ALLOWED_HOSTS = [
    h.strip() for h in os.environ.get("XINEDAI_ALLOWED_HOSTS", "127.0.0.1,localhost").split(",") if h.strip()
]
CSRF_TRUSTED_ORIGINS = [o.strip() for o in os.environ.get("XINEDAI_CSRF_TRUSTED_ORIGINS", "").split(",") if o.strip()]

# Production behind TLS: secure cookies, HSTS and redirects. Off for the local demo on plain http.
HTTPS = _env_bool("XINEDAI_HTTPS", False)
if HTTPS:
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_SSL_REDIRECT = _env_bool("XINEDAI_SSL_REDIRECT", True)
    SECURE_HSTS_SECONDS = int(os.environ.get("XINEDAI_HSTS_SECONDS", "31536000"))
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_AGE = 8 * 3600
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django_htmx",
    "django_tasks",
    "django_tasks_db",
    "xinedai.core",
    "xinedai.org",
    "xinedai.households",
    "xinedai.credit",
    "xinedai.campaigns",
    "xinedai.products",
    "xinedai.lending",
    "xinedai.ledger",
    "xinedai.channel",
    "xinedai.portal",
    "xinedai.servicing",
    "xinedai.monitoring",
    "xinedai.demo",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "xinedai.core.middleware.LanguageMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "xinedai.core.middleware.BusinessErrorMiddleware",
]

ROOT_URLCONF = "xinedai.urls"
WSGI_APPLICATION = "xinedai.wsgi.application"

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
                "django.template.context_processors.i18n",
                "xinedai.org.context_processors.staff",
                "xinedai.credit.context_processors.configuration",
            ],
        },
    },
]

# PostgreSQL: prepare the hot-path statements on each connection (core.statements). Switch off behind a
# pooler in transaction mode that cannot keep prepared statements (e.g. PgBouncer before 1.21).
XINEDAI_PREPARED_STATEMENTS = _env_bool("XINEDAI_PREPARED_STATEMENTS", True)
# Seconds a process reuses an API token's user and the active model, strategy and product terms it read
# (core.reuse): a change made elsewhere applies within this time; 0 reads them on every request.
XINEDAI_API_REUSE_SECONDS = float(os.environ.get("XINEDAI_API_REUSE_SECONDS", "1"))
_default_db = f"sqlite:///{VAR_DIR / 'xinedai.sqlite3'}"
DATABASES = {"default": dj_database_url.parse(os.environ.get("DATABASE_URL", _default_db), conn_max_age=60)}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # SQLite ignores SELECT ... FOR UPDATE: write transactions take the write lock at BEGIN so two
    # requests cannot both pass a check (conventions: transactions and concurrency).
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    DATABASES["default"]["OPTIONS"] = {
        "transaction_mode": "IMMEDIATE",
        "timeout": 30,
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON;",
    }
else:
    # Django's backend with the per-request health check (SELECT 1) run at most once a second per
    # connection (core/postgresql/base.py).
    if DATABASES["default"]["ENGINE"] in ("django.db.backends.postgresql", "django.db.backends.postgresql_psycopg2"):
        DATABASES["default"]["ENGINE"] = "xinedai.core.postgresql"
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
    XINEDAI_DB_HEALTH_CHECK_SECONDS = float(os.environ.get("XINEDAI_DB_HEALTH_CHECK_SECONDS", "1"))
    if XINEDAI_PREPARED_STATEMENTS:
        # The few hot-path reads (core.statements) are prepared once per connection; a generic plan is
        # then kept instead of re-planning with each call's values, which cost more than running them
        # (docs/decisions/0006). Django's own queries bind client-side and are never prepared.
        _options = DATABASES["default"].setdefault("OPTIONS", {})
        _options["options"] = f"{_options.get('options', '')} -c plan_cache_mode=force_generic_plan".strip()
# One transaction per request: a business failure raised anywhere rolls back the whole unit.
DATABASES["default"]["ATOMIC_REQUESTS"] = True
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", "简体中文"), ("en", "English")]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "Asia/Shanghai"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = Path(os.environ.get("XINEDAI_STATIC_ROOT", VAR_DIR / "static"))
WHITENOISE_USE_FINDERS = True
# Plotly's browser bundle ships inside the plotly wheel: served from there, never copied into the repo.
STATICFILES_DIRS = [BASE_DIR / "static", ("plotly", Path(plotly.__file__).parent / "package_data")]
# WhiteNoise warns at start-up when the collected-static folder is missing (the demo never collects).
with contextlib.suppress(OSError):
    STATIC_ROOT.mkdir(parents=True, exist_ok=True)
MEDIA_ROOT = Path(os.environ.get("XINEDAI_MEDIA_ROOT", VAR_DIR / "media"))
MEDIA_URL = "/media/"  # never served directly: documents go through an access-checked view
FILE_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
DATA_UPLOAD_MAX_MEMORY_SIZE = 20 * 1024 * 1024
XINEDAI_DOCUMENT_MAX_BYTES = int(os.environ.get("XINEDAI_DOCUMENT_MAX_BYTES", str(15 * 1024 * 1024)))
# Rosters above this many rows are imported by a background job with progress.
XINEDAI_IMPORT_INLINE_MAX_ROWS = int(os.environ.get("XINEDAI_IMPORT_INLINE_MAX_ROWS", "2000"))

# Where customers' sign-in codes go (xinedai.portal.senders): the console in the demo, the bank's SMS gateway live.
XINEDAI_OTP_SENDER = os.environ.get("XINEDAI_OTP_SENDER", "xinedai.portal.senders.ConsoleSender")

# Channel API (docs/decisions/0009): applications one customer may make a business day through the
# channels, and how long an Idempotency-Key stays "in flight" before a retry may take a crashed claim over.
XINEDAI_CHANNEL_APPLICATIONS_PER_DAY = int(os.environ.get("XINEDAI_CHANNEL_APPLICATIONS_PER_DAY", "3"))
XINEDAI_CHANNEL_INFLIGHT_EXPIRY_SECONDS = int(os.environ.get("XINEDAI_CHANNEL_INFLIGHT_EXPIRY_SECONDS", "300"))
# PostgreSQL: a claim records its connection's backend process; a retry that finds that process gone takes
# the claim over at once (channel.idempotency). 0 behind a pooler, whose process ids are not PostgreSQL's.
XINEDAI_CHANNEL_CLAIM_HOLDER_CHECK = _env_bool("XINEDAI_CHANNEL_CLAIM_HOLDER_CHECK", True)
# Done Idempotency-Key records older than this are purged (xinedai channel-purge-idempotency, daily).
XINEDAI_CHANNEL_IDEMPOTENCY_RETENTION_DAYS = int(os.environ.get("XINEDAI_CHANNEL_IDEMPOTENCY_RETENTION_DAYS", "30"))

TASKS = {
    "default": {
        "BACKEND": os.environ.get("XINEDAI_TASK_BACKEND", "django_tasks_db.DatabaseBackend"),
    }
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": os.environ.get("XINEDAI_LOG_LEVEL", "WARNING")},
}

XINEDAI_BANK_NAME = os.environ.get("XINEDAI_BANK_NAME", _("Qingdao Rural Commercial Bank"))
