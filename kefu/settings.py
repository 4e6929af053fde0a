"""Settings, read from the environment.

Embedded mode (the default) needs nothing: SQLite in ``KEFU_DATA_DIR`` and a secret key generated
on first run and kept there. Production sets ``KEFU_PRODUCTION=1``, ``DATABASE_URL``,
``KEFU_SECRET_KEY`` and ``KEFU_ALLOWED_HOSTS`` (see docs/operations.md).
"""

from __future__ import annotations

import os
import secrets
from email.utils import parseaddr
from pathlib import Path
from typing import Any

import dj_database_url
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent
DATA_DIR = Path(os.environ.get("KEFU_DATA_DIR", BASE_DIR.parent / "var")).resolve()


def _env_bool(name: str, default: bool = False) -> bool:
    return os.environ.get(name, str(default)).strip().lower() in {"1", "true", "yes", "on"}


def _env_list(name: str, default: str) -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


def _embedded_secret_key() -> str:
    """A key generated once per data directory, so sessions survive restarts of the embedded mode."""
    DATA_DIR.mkdir(parents=True, exist_ok=True)
    path = DATA_DIR / "secret_key"
    if not path.exists():
        path.write_text(secrets.token_urlsafe(50))
        path.chmod(0o600)
    return path.read_text().strip()


PRODUCTION = _env_bool("KEFU_PRODUCTION")
DEBUG = _env_bool("KEFU_DEBUG", default=False)
SECRET_KEY = os.environ.get("KEFU_SECRET_KEY") or _embedded_secret_key()
ALLOWED_HOSTS = _env_list("KEFU_ALLOWED_HOSTS", "127.0.0.1,localhost,testserver")
CSRF_TRUSTED_ORIGINS = _env_list("KEFU_CSRF_TRUSTED_ORIGINS", "")
PUBLIC_BASE_URL = os.environ.get("KEFU_PUBLIC_URL", "http://127.0.0.1:8000").rstrip("/")

INSTALLED_APPS = [
    "kefu.core.admin_site.KefuAdminConfig",  # django.contrib.admin with its password change audited
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django_tasks",
    "django_tasks_db",
    "ninja",
    "kefu.core",
    "kefu.accounts",
    "kefu.customers",
    "kefu.tickets",
    "kefu.notifications",
    "kefu.sla",
    "kefu.inbox",
    "kefu.chat",
    "kefu.routing",
    "kefu.knowledge",
    "kefu.bot",
    "kefu.assist",
    "kefu.collaboration",
    "kefu.approvals",
    "kefu.feedback",
    "kefu.quality",
    "kefu.analytics",
    "kefu.api",
    "kefu.web",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "kefu.core.middleware.UserPreferencesMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "kefu.core.middleware.ContentSecurityPolicyMiddleware",
    "kefu.core.middleware.LoginRequiredByDefaultMiddleware",
    "kefu.core.middleware.RejectNulCharactersMiddleware",
    "kefu.web.middleware.AgentActivityMiddleware",
]

ROOT_URLCONF = "kefu.urls"
WSGI_APPLICATION = None
ASGI_APPLICATION = "kefu.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.template.context_processors.tz",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "kefu.web.context.staff_alerts",
            ],
        },
    },
]

DATABASES = {
    "default": dj_database_url.parse(
        # Set but empty (as an env file's `DATABASE_URL=` leaves it) means the embedded database too.
        os.environ.get("DATABASE_URL") or f"sqlite:///{DATA_DIR / 'kefu.sqlite3'}",
        conn_max_age=int(os.environ.get("KEFU_DB_CONN_MAX_AGE", "60")),
        conn_health_checks=True,
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # Under ASGI every request runs its synchronous code in a fresh thread, so persistent per-thread
    # connections pile up until PostgreSQL refuses new clients; a pool per process bounds them.
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    # With a pool, Django's health checks are the pool's check when a connection is taken (one empty round
    # trip): after a database restart a dead pooled connection is replaced instead of failing a request with
    # a 500 (bench/faults.py restarts PostgreSQL under load).
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
    DATABASES["default"].setdefault("OPTIONS", {})["pool"] = {
        "min_size": 1,
        "max_size": int(os.environ.get("KEFU_DB_POOL_SIZE", "8")),
        # How long a request waits for a connection: only a database that cannot be reached makes it wait
        # (one request at a time per process), and requests queued behind a waiting one wait their turn.
        "timeout": float(os.environ.get("KEFU_DB_POOL_TIMEOUT", "5")),
    }
    # Prepared statements on: only kefu.core.prepared.statement_cursor asks for them (hot reads and plain
    # inserts); Django's cursors bind on the client and never prepare. Behind a pooler in transaction
    # mode (PgBouncer before 1.21) set KEFU_DB_PREPARED=0.
    if os.environ.get("KEFU_DB_PREPARED", "1") == "1":
        DATABASES["default"]["OPTIONS"]["prepare_threshold"] = 5
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL lets readers proceed while one writer commits; IMMEDIATE avoids the upgrade deadlock
    # (SQLITE_BUSY) that deferred transactions hit when two requests write at once.
    DATABASES["default"]["ENGINE"] = "kefu.core.sqlite"  # Django's backend plus a connection pool
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    DATABASES["default"]["OPTIONS"] = {
        "init_command": (
            "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA busy_timeout=5000;"
            " PRAGMA cache_size=-64000; PRAGMA temp_store=MEMORY;"
        ),
        "transaction_mode": "IMMEDIATE",
    }
    DATABASES["default"]["TEST"] = {"NAME": os.environ.get("KEFU_TEST_SQLITE_NAME") or None}

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = ["kefu.accounts.backends.EmailOrUsernameBackend"]
LOGIN_URL = "web:login"
LOGIN_REDIRECT_URL = "web:home"
LOGOUT_REDIRECT_URL = "web:login"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = os.environ.get("KEFU_LANGUAGE", "zh-hans")
LANGUAGES = [("zh-hans", _("Simplified Chinese")), ("en", _("English"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = os.environ.get("KEFU_TIME_ZONE", "Asia/Shanghai")
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = DATA_DIR / "static"
STATIC_ROOT.mkdir(parents=True, exist_ok=True)  # WhiteNoise expects it even when serving from the finders
MEDIA_ROOT = DATA_DIR / "media"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if PRODUCTION
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}
WHITENOISE_USE_FINDERS = not PRODUCTION

EMAIL_BACKEND = os.environ.get(
    "KEFU_EMAIL_BACKEND",
    "django.core.mail.backends.smtp.EmailBackend" if PRODUCTION else "django.core.mail.backends.filebased.EmailBackend",
)
EMAIL_FILE_PATH = DATA_DIR / "sent-mail"
EMAIL_HOST = os.environ.get("KEFU_EMAIL_HOST", "localhost")
EMAIL_PORT = int(os.environ.get("KEFU_EMAIL_PORT", "587"))
EMAIL_HOST_USER = os.environ.get("KEFU_EMAIL_USER", "")
EMAIL_HOST_PASSWORD = os.environ.get("KEFU_EMAIL_PASSWORD", "")
EMAIL_USE_TLS = _env_bool("KEFU_EMAIL_TLS", default=True)
DEFAULT_FROM_EMAIL = os.environ.get("KEFU_FROM_EMAIL", "kefu <support@kefu.localhost>")

# Live chat's channel layer: in this process (embedded, one web process) or Redis (several processes).
CHANNEL_LAYERS = {
    "default": {"BACKEND": "channels_redis.core.RedisChannelLayer",
                "CONFIG": {"hosts": [os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")],
                           "prefix": os.environ.get("KEFU_CHANNEL_PREFIX", "kefu")}}
    if os.environ.get("KEFU_CHANNEL_LAYER", "memory") == "redis"
    else {"BACKEND": "channels.layers.InMemoryChannelLayer"}
}

# Routing presence: an online agent with no console activity for this long is away, then offline.
KEFU_AWAY_AFTER_MINUTES = int(os.environ.get("KEFU_AWAY_AFTER_MINUTES", "10"))
KEFU_OFFLINE_AFTER_MINUTES = int(os.environ.get("KEFU_OFFLINE_AFTER_MINUTES", "60"))

TASKS = {
    "default": {
        "BACKEND": os.environ.get("KEFU_TASKS_BACKEND", "django_tasks_db.DatabaseBackend"),
    }
}
if TASKS["default"]["BACKEND"] == "django_tasks_rq.RQBackend":
    # Tasks through Redis (pip install "kefu[redis]"); the workers are `kefu rqworker default`.
    INSTALLED_APPS.append("django_rq")
    RQ_QUEUES = {"default": {"URL": os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")}}
    RQ = {"JOB_CLASS": "django_tasks_rq.backend.Job"}  # the worker must run jobs the way the backend queued them

DATA_UPLOAD_MAX_MEMORY_SIZE = 12 * 1024 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = 2 * 1024 * 1024

SESSION_ENGINE = "kefu.core.sessions"  # Django's database sessions; a database outage answers 503
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
if PRODUCTION:
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_SSL_REDIRECT = _env_bool("KEFU_SSL_REDIRECT", default=True)
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_HSTS_SECONDS = int(os.environ.get("KEFU_HSTS_SECONDS", "31536000"))
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": os.environ.get("KEFU_LOG_LEVEL", "WARNING")},
}

# Product policy knobs (editable per deployment).
KEFU: dict[str, Any] = {
    "CORE_CUSTOMER_ANNUAL_SPEND": os.environ.get("KEFU_CORE_CUSTOMER_ANNUAL_SPEND", "5000"),
    "REEVALUATION_HOURS": int(os.environ.get("KEFU_REEVALUATION_HOURS", "12")),
    # A resolved ticket the customer neither confirms nor objects to is closed after this many days.
    "RESOLVED_AUTO_CLOSE_DAYS": float(os.environ.get("KEFU_RESOLVED_AUTO_CLOSE_DAYS", "7")),
    "ATTACHMENT_MAX_BYTES": int(os.environ.get("KEFU_ATTACHMENT_MAX_BYTES", str(10 * 1024 * 1024))),
    "ATTACHMENT_TYPES": _env_list(
        "KEFU_ATTACHMENT_TYPES",
        "image/png,image/jpeg,image/gif,image/webp,application/pdf,text/plain,text/csv,"
        "application/zip,application/vnd.openxmlformats-officedocument.wordprocessingml.document,"
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    ),
    "VERIFICATION_BY": os.environ.get("KEFU_VERIFICATION_BY", "agent"),  # or "supervisor"
    "MAGIC_LINK_MINUTES": int(os.environ.get("KEFU_MAGIC_LINK_MINUTES", "20")),
    "TICKET_PAGE_SIZE": 25,
    # Outbox deliveries (mail, webhooks): a claimed row waits this long before another attempt may take
    # it (a worker killed mid-send), and failures back off from RETRY_BASE seconds, doubling each time.
    "DELIVERY_LEASE_SECONDS": float(os.environ.get("KEFU_DELIVERY_LEASE_SECONDS", "60")),
    "RETRY_BASE_SECONDS": float(os.environ.get("KEFU_RETRY_BASE_SECONDS", "30")),
    # Email: customers' replies go to a per-ticket address (support+<number>-<signature>@…) built from
    # this one; empty turns per-ticket addresses off (threading then relies on the headers alone).
    "REPLY_ADDRESS": os.environ.get("KEFU_REPLY_ADDRESS", parseaddr(DEFAULT_FROM_EMAIL)[1]),
    # Authentication-Results headers are believed only from these receiving servers (authserv-id); with
    # none listed, only the topmost header (the last hop's) is read.
    "MAIL_TRUSTED_AUTHSERV_IDS": _env_list("KEFU_MAIL_TRUSTED_AUTHSERV_IDS", ""),
    "MAIL_VERIFY_DKIM": _env_bool("KEFU_MAIL_VERIFY_DKIM", default=True),
    # A contact on SMS, WeChat or another app from a customer whose open ticket was touched within this
    # many hours continues that ticket instead of opening a new one.
    # A chat no agent has taken within this many seconds continues as a ticket (by email or SMS).
    "CHAT_WAIT_SECONDS": float(os.environ.get("KEFU_CHAT_WAIT_SECONDS", "300")),
    "SAME_MATTER_WINDOW_HOURS": float(os.environ.get("KEFU_SAME_MATTER_WINDOW_HOURS", "72")),
    # The chatbot answers chats first once it has been trained (`kefu bot train`, or the worker after the
    # knowledge base changes). VIP and core customers go straight to a person unless BOT_VIP_TO_HUMAN is 0.
    "BOT_ENABLED": _env_bool("KEFU_BOT_ENABLED", default=True),
    "BOT_VIP_TO_HUMAN": _env_bool("KEFU_BOT_VIP_TO_HUMAN", default=True),
    "BOT_MODEL_PATH": os.environ.get("KEFU_BOT_MODEL_PATH", ""),  # default: <data dir>/bot/intents.pickle
    "BOT_IDLE_MINUTES": float(os.environ.get("KEFU_BOT_IDLE_MINUTES", "10")),  # no reply after an answer: resolved
    "BOT_MINUTES_PER_CHAT": float(os.environ.get("KEFU_BOT_MINUTES_PER_CHAT", "3")),  # for the wait told at hand-off
    # Optional generative answers (any OpenAI-compatible endpoint), grounded in the knowledge base; off when
    # the URL is empty.
    "BOT_LLM_URL": os.environ.get("KEFU_BOT_LLM_URL", ""),
    "BOT_LLM_MODEL": os.environ.get("KEFU_BOT_LLM_MODEL", ""),
    "BOT_LLM_KEY": os.environ.get("KEFU_BOT_LLM_KEY", ""),
}
