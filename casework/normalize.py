"""Normalising handles so the same account is matched across cases."""

import re
import unicodedata

# Characters people swap to dodge a block: Cyrillic and Greek look-alikes and digits for letters.
LOOKALIKES = str.maketrans(
    {
        "а": "a",
        "е": "e",
        "о": "o",
        "р": "p",
        "с": "c",
        "у": "y",
        "х": "x",
        "і": "i",
        "ј": "j",
        "ѕ": "s",
        "ο": "o",
        "α": "a",
        "ε": "e",
        "ι": "i",
        "κ": "k",
        "ν": "v",
        "ρ": "p",
        "τ": "t",
        "0": "o",
        "1": "l",
        "3": "e",
        "4": "a",
        "5": "s",
        "7": "t",
        "$": "s",
        "@": "",
    }
)
STRIP = re.compile(r"[\s._\-]+")


def normalize_handle(handle: str | None) -> str | None:
    """'@Real_Talk.0' and 'realtalko' match: case, '@', spaces, separators and look-alikes folded."""
    if not handle:
        return None
    text = unicodedata.normalize("NFKC", handle).casefold().strip()
    text = STRIP.sub("", text.translate(LOOKALIKES))
    return text or None
