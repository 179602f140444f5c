"""Password hashing (argon2id) and the password policy."""

from functools import cache
from pathlib import Path

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask import current_app

MIN_LENGTH = 12
MAX_LENGTH = 256
COMMON_PASSWORDS_FILE = Path(__file__).with_name("common_passwords.txt")


@cache
def _hasher(time_cost: int | None, memory_cost: int | None, parallelism: int | None) -> PasswordHasher:
    options = {
        k: v for k, v in dict(time_cost=time_cost, memory_cost=memory_cost, parallelism=parallelism).items() if v
    }
    return PasswordHasher(**options)


def hasher() -> PasswordHasher:
    """The argon2id hasher configured for this app (cheaper parameters under tests)."""
    options = current_app.config.get("PASSWORD_HASHER", {})
    return _hasher(options.get("time_cost"), options.get("memory_cost"), options.get("parallelism"))


def hash_password(password: str) -> str:
    return hasher().hash(password)


def check_password(password_hash: str, password: str) -> bool:
    """Constant-time argon2 verification; False on any mismatch or malformed hash."""
    try:
        return hasher().verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    return hasher().check_needs_rehash(password_hash)


@cache
def common_passwords() -> frozenset[str]:
    lines = COMMON_PASSWORDS_FILE.read_text().splitlines()
    return frozenset(line.strip().lower() for line in lines if line.strip() and not line.startswith("#"))


def password_problem(password: str, *, email: str = "") -> str | None:
    """Why a new password is refused, or None when it is acceptable."""
    if len(password) < MIN_LENGTH:
        return f"Use at least {MIN_LENGTH} characters."
    if len(password) > MAX_LENGTH:
        return f"Use at most {MAX_LENGTH} characters."
    lowered = password.lower()
    if lowered in common_passwords() or len(set(lowered)) < 4:
        return "That password is too common or too easy to guess. Choose another."
    local = email.split("@")[0].lower()
    if len(local) >= 4 and local in lowered:
        return "Don't use your email address in your password."
    return None
