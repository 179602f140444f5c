"""Configuration classes. Every secret and URL comes from the environment (CASEWORK_*)."""

import os
import secrets
from datetime import timedelta
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent
INSTANCE_DIR = Path(os.environ.get("CASEWORK_INSTANCE_DIR", BASE_DIR / "instance"))


def env(name: str, default: str | None = None) -> str | None:
    return os.environ.get(f"CASEWORK_{name}", default)


def env_int(name: str, default: int) -> int:
    return int(env(name, str(default)))


def env_bool(name: str, default: bool) -> bool:
    return env(name, "1" if default else "0").strip().lower() in {"1", "true", "yes", "on"}


def instance_secret_key() -> str:
    """Development only: generate a secret key once and keep it in instance/."""
    INSTANCE_DIR.mkdir(parents=True, exist_ok=True)
    path = INSTANCE_DIR / "secret_key"
    if not path.exists():
        path.write_text(secrets.token_urlsafe(48))
        path.chmod(0o600)
    return path.read_text().strip()


class ConfigurationError(RuntimeError):
    """A required setting is missing or wrong; the message names the variable."""


class Config:
    SQLALCHEMY_DATABASE_URI = env("DATABASE_URL", f"sqlite:///{INSTANCE_DIR / 'casework.db'}")
    SQLALCHEMY_ENGINE_OPTIONS = {"pool_pre_ping": True}
    SECRET_KEY = env("SECRET_KEY")
    STORAGE_DIR = env("STORAGE_DIR", str(INSTANCE_DIR / "storage"))
    AUDIT_CHECKPOINT_KEY = env("AUDIT_CHECKPOINT_KEY")
    TIMEZONE = env("TIMEZONE", "America/New_York")
    INSTITUTION_NAME = env("INSTITUTION_NAME", "University")

    # Sessions: staff sessions end after 30 idle minutes; no remember-me.
    IDLE_TIMEOUT = timedelta(minutes=env_int("IDLE_TIMEOUT_MINUTES", 30))
    PERMANENT_SESSION_LIFETIME = timedelta(hours=12)
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    SESSION_COOKIE_NAME = "casework_session"
    REMEMBER_COOKIE_DURATION = timedelta(seconds=0)
    REMEMBER_COOKIE_HTTPONLY = True
    REMEMBER_COOKIE_SAMESITE = "Lax"
    SECURITY_HSTS = False

    # Sign-in protection.
    LOGIN_MAX_FAILURES = env_int("LOGIN_MAX_FAILURES", 5)
    LOGIN_LOCKOUT = timedelta(minutes=env_int("LOGIN_LOCKOUT_MINUTES", 15))
    LOGIN_RATE_LIMIT = env("LOGIN_RATE_LIMIT", "20 per 5 minutes")
    RATELIMIT_STORAGE_URI = env("RATELIMIT_STORAGE_URI", "memory://")
    RATELIMIT_HEADERS_ENABLED = False

    # Second factor (TOTP + recovery codes): required for these roles, optional for the others.
    MFA_REQUIRED_ROLES = tuple(r.strip() for r in env("MFA_REQUIRED_ROLES", "admin,auditor").split(",") if r.strip())
    MFA_PENDING_TIMEOUT = timedelta(minutes=env_int("MFA_PENDING_MINUTES", 5))  # password done, code not yet
    MFA_ENROLMENT_TIMEOUT = timedelta(minutes=env_int("MFA_ENROLMENT_MINUTES", 15))
    MFA_ISSUER = env("MFA_ISSUER", "Casework")
    # Account administration, exports and purges ask for the password (and code) again after this long.
    REAUTH_WINDOW = timedelta(minutes=env_int("REAUTH_MINUTES", 10))

    # Retention: years after closing, by disposition ("7", or "7,sanction_applied=10,withdrawn_by_reporter=3").
    RETENTION_YEARS = env("RETENTION_YEARS", "7")

    # Optional email notifications (off unless CASEWORK_NOTIFY=1). Bodies carry a link and a reference only.
    NOTIFY = env_bool("NOTIFY", False)
    BASE_URL = env("BASE_URL", "http://127.0.0.1:5000")
    SMTP_HOST = env("SMTP_HOST", "localhost")
    SMTP_PORT = env_int("SMTP_PORT", 587)
    SMTP_USER = env("SMTP_USER")
    SMTP_PASSWORD = env("SMTP_PASSWORD")
    SMTP_FROM = env("SMTP_FROM", "casework@localhost")
    SMTP_SECURITY = env("SMTP_SECURITY", "starttls")  # starttls, ssl or none
    SMTP_TIMEOUT = env_int("SMTP_TIMEOUT", 10)
    NOTIFY_DEADLINE_DAYS = env_int("NOTIFY_DEADLINE_DAYS", 2)

    WTF_CSRF_TIME_LIMIT = 3600
    MAX_CONTENT_LENGTH = env_int("MAX_REQUEST_MB", 60) * 1024 * 1024

    # Public intake: the report form, evidence uploads, the follow-up portal.
    MAX_FILE_MB = float(env("MAX_FILE_MB", "10"))
    MAX_REPORT_MB = float(env("MAX_REPORT_MB", "40"))
    MAX_FILES = env_int("MAX_FILES", 10)
    # A report request may carry more than MAX_REPORT_MB so that an oversize file is refused
    # with a message beside the form (text kept) instead of an error page.
    MAX_REPORT_REQUEST_MB = env_int("MAX_REPORT_REQUEST_MB", 150)
    STAGING_HOURS = env_int("STAGING_HOURS", 24)
    REPORT_CSRF_TIME_LIMIT = env_int("REPORT_CSRF_HOURS", 24) * 3600
    REPORT_RATE_LIMIT = env("REPORT_RATE_LIMIT", "10 per hour")  # reports actually sent, per IP
    REPORT_POST_RATE_LIMIT = env("REPORT_POST_RATE_LIMIT", "120 per hour")  # any post of the form, per IP
    FOLLOW_UP_RATE_LIMIT = env("FOLLOW_UP_RATE_LIMIT", "20 per 15 minutes")  # failed key attempts, per IP
    FOLLOW_UP_REFERENCE_RATE_LIMIT = env("FOLLOW_UP_REFERENCE_RATE_LIMIT", "5 per 15 minutes")  # per reference
    REPORTER_IDLE_TIMEOUT = timedelta(minutes=env_int("REPORTER_IDLE_MINUTES", 20))

    # What the public pages say. Defaults follow UMass Amherst's published numbers.
    EMERGENCY_NUMBER = env("EMERGENCY_NUMBER", "911")
    CAMPUS_POLICE_EMERGENCY = env("CAMPUS_POLICE_EMERGENCY", "(413) 545-3111")
    CAMPUS_POLICE_NON_EMERGENCY = env("CAMPUS_POLICE_NON_EMERGENCY", "(413) 545-2121")
    CAMPUS_POLICE_TIP_LINE = env("CAMPUS_POLICE_TIP_LINE", "(413) 577-TIPS (8477)")
    INTAKE_OFFICE_NAME = env("INTAKE_OFFICE_NAME", "Equal Opportunity and Access (EOA)")
    INTAKE_OFFICE_PHONE = env("INTAKE_OFFICE_PHONE", "(413) 545-3464")
    # (platform code, label, where to report abuse or a fake profile); override in a subclass or at deployment.
    PLATFORM_REPORT_LINKS = (
        ("facebook", "Facebook", "https://www.facebook.com/help/306643639690823"),
        ("instagram", "Instagram", "https://help.instagram.com/446663175382270"),
        ("x", "X (Twitter)", "https://help.x.com/en/forms/authenticity/impersonation"),
        ("tiktok", "TikTok", "https://support.tiktok.com/en/safety-hc/report-a-problem"),
        ("linkedin", "LinkedIn", "https://www.linkedin.com/help/linkedin/answer/a1338436"),
        ("snapchat", "Snapchat", "https://help.snapchat.com/hc/en-us/articles/7012399221652"),
        ("youtube", "YouTube", "https://support.google.com/youtube/answer/2802027"),
        ("reddit", "Reddit", "https://support.reddithelp.com/hc/en-us/articles/360043479851"),
        ("discord", "Discord", "https://support.discord.com/hc/en-us/articles/360000291932"),
    )
    # (name, how to reach them, what they offer)
    SUPPORT_SERVICES = (
        ("988 Suicide and Crisis Lifeline", "call or text 988", "Free, confidential, 24 hours a day."),
        ("Cyber Civil Rights Initiative helpline", "844-878-2274", "Help when intimate images are shared."),
    )

    DEMO_ALLOWED = True
    TESTING = False


class DevelopmentConfig(Config):
    DEBUG = False

    @classmethod
    def init(cls) -> None:
        cls.SECRET_KEY = cls.SECRET_KEY or instance_secret_key()
        cls.AUDIT_CHECKPOINT_KEY = cls.AUDIT_CHECKPOINT_KEY or cls.SECRET_KEY


class TestingConfig(Config):
    TESTING = True
    SECRET_KEY = "test-secret-key-not-for-production"  # noqa: S105
    AUDIT_CHECKPOINT_KEY = "test-checkpoint-key"
    SQLALCHEMY_DATABASE_URI = env("DATABASE_URL", "sqlite:///" + str(INSTANCE_DIR / "test.db"))
    STORAGE_DIR = env("STORAGE_DIR", str(INSTANCE_DIR / "test-storage"))
    RATELIMIT_ENABLED = True
    WTF_CSRF_ENABLED = False  # tests that check CSRF switch it on
    PASSWORD_HASHER = {"time_cost": 1, "memory_cost": 8192, "parallelism": 1}

    @classmethod
    def init(cls) -> None:
        pass


class ProductionConfig(Config):
    DEMO_ALLOWED = False
    SESSION_COOKIE_SECURE = True
    SESSION_COOKIE_NAME = "__Host-casework_session"
    SESSION_COOKIE_PATH = "/"  # the __Host- prefix needs Path=/ and no Domain
    SESSION_COOKIE_DOMAIN = None
    REMEMBER_COOKIE_SECURE = True
    SECURITY_HSTS = True
    PREFERRED_URL_SCHEME = "https"

    @classmethod
    def init(cls) -> None:
        for name in ("SECRET_KEY", "DATABASE_URL", "AUDIT_CHECKPOINT_KEY"):
            if not env(name):
                raise ConfigurationError(f"CASEWORK_{name} must be set in production.")


CONFIGS = {
    "development": DevelopmentConfig,
    "testing": TestingConfig,
    "production": ProductionConfig,
}
