"""Follow-up keys: random, shown to the reporter once, stored only as an argon2 hash."""

from __future__ import annotations

import re
import secrets
from functools import cache

from argon2.exceptions import InvalidHashError, VerificationError

from casework.auth.passwords import hasher

# Crockford base32: no I, L, O or U, so a key read aloud or copied by hand survives.
ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
GROUPS = 4
GROUP_LENGTH = 4  # 16 characters x 5 bits = 80 bits of randomness
KEY_LENGTH = GROUPS * GROUP_LENGTH
_LOOKALIKES = str.maketrans({"O": "0", "I": "1", "L": "1"})
_SEPARATORS = re.compile(r"[\s\-_.]+")


def generate_key() -> str:
    """A new follow-up key in groups, e.g. 7K3F-92QX-MP4D-8WZT."""
    raw = "".join(secrets.choice(ALPHABET) for _ in range(KEY_LENGTH))
    return "-".join(raw[i : i + GROUP_LENGTH] for i in range(0, KEY_LENGTH, GROUP_LENGTH))


def canonical_key(text: str | None) -> str | None:
    """The key as hashed: upper case, separators dropped, look-alike letters folded; None if malformed."""
    if not text or len(text) > 64:
        return None
    raw = _SEPARATORS.sub("", text).upper().translate(_LOOKALIKES)
    if len(raw) != KEY_LENGTH or any(ch not in ALPHABET for ch in raw):
        return None
    return raw


def hash_key(key: str) -> str:
    canonical = canonical_key(key)
    if canonical is None:
        raise ValueError("not a follow-up key")
    return hasher().hash(canonical)


@cache
def _dummy_hash(_params: tuple) -> str:
    return hasher().hash(canonical_key(generate_key()))


def dummy_hash() -> str:
    """A hash no key matches, verified when a reference is unknown so both paths cost the same."""
    h = hasher()
    return _dummy_hash((h.time_cost, h.memory_cost, h.parallelism))


def verify_key(key_hash: str, key: str | None) -> bool:
    """Constant-time check of a typed key against a stored hash (malformed keys still cost a verify)."""
    canonical = canonical_key(key) or "-"
    try:
        return hasher().verify(key_hash, canonical)
    except (VerificationError, InvalidHashError):
        return False
