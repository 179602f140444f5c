"""Evidence file storage under STORAGE_DIR (never the web root).

Files are checked by their content (magic bytes), not their name, hashed with SHA-256 as
they are written (the start of the chain of custody) and kept under random keys.

Inside a database transaction, `save(..., session=...)` writes to a temporary file; the file
moves to its final place as the session commits (just before the database commit, so that a
process killed at any moment never leaves a committed row without its file) and is removed if
the transaction rolls back, so the side effect follows the one commit.
"""

from __future__ import annotations

import hashlib
import os
import re
import secrets
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from flask import current_app
from sqlalchemy import event
from sqlalchemy.orm import Session

CHUNK = 64 * 1024
MB = 1024 * 1024
SNIFF_BYTES = 2048
KEY_PATTERN = re.compile(r"^[0-9a-f]{40}$")
PENDING = "casework.storage.pending"
PROMOTED = "casework.storage.promoted"

MEDIA_TYPES = {
    "png": "image/png",
    "jpeg": "image/jpeg",
    "webp": "image/webp",
    "pdf": "application/pdf",
    "text": "text/plain",
}
KIND_LABELS = {
    "png": "a PNG image",
    "jpeg": "a JPEG image",
    "webp": "a WebP image",
    "pdf": "a PDF document",
    "text": "a plain-text file",
}
EXTENSIONS = {
    ".png": "png",
    ".jpg": "jpeg",
    ".jpeg": "jpeg",
    ".jfif": "jpeg",
    ".webp": "webp",
    ".pdf": "pdf",
    ".txt": "text",
    ".text": "text",
}
IMAGES = frozenset({"png", "jpeg", "webp"})
ACCEPTED_DESCRIPTION = "PNG, JPEG or WebP screenshots, PDF documents and plain-text (.txt) files"
HTML_START = re.compile(rb"^\s*<(!doctype\s+html|html|head|body|script|svg|\?xml|iframe|meta)\b", re.IGNORECASE)


class FileRefused(ValueError):
    """An upload we do not keep; the message says why, in plain words, naming the file."""


@dataclass(frozen=True)
class StoredFile:
    key: str
    sha256: str
    size: int
    media_type: str


def megabytes(value: float) -> int:
    """A size limit given in MB (configuration), in bytes."""
    return int(value * MB)


def storage_root() -> Path:
    return Path(current_app.config["STORAGE_DIR"])


def path_for(key: str) -> Path:
    """Where the file with `key` lives; refuses anything that is not one of our keys."""
    if not KEY_PATTERN.match(key or ""):
        raise FileNotFoundError("not a storage key")
    return storage_root() / "objects" / key[:2] / key


def sniff(head: bytes) -> str | None:
    """The kind of file the first bytes show (png, jpeg, webp, pdf), or None."""
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if head.startswith(b"\xff\xd8\xff"):
        return "jpeg"
    if len(head) >= 12 and head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "webp"
    if head.startswith(b"%PDF-"):
        return "pdf"
    return None


def looks_like_html(head: bytes) -> bool:
    text = head.lstrip(b"\xef\xbb\xbf")
    return bool(HTML_START.match(text))


def is_plain_text(path: Path) -> bool:
    """UTF-8 (or UTF-16 with a byte-order mark) without NUL bytes or markup at the start."""
    data = path.read_bytes()
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            data = data.decode("utf-16").encode()
        except UnicodeDecodeError:
            return False
    if b"\x00" in data or looks_like_html(data[:SNIFF_BYTES]):
        return False
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def kind_from_name(filename: str) -> str | None:
    return EXTENSIONS.get(Path(filename or "").suffix.lower())


def _describe_content(head: bytes) -> str:
    if looks_like_html(head):
        return "its content is a web page (HTML)"
    found = sniff(head)
    return f"its content is {KIND_LABELS[found]}" if found else "its content is not a kind of file we accept"


def check_kind(filename: str, head: bytes, path: Path) -> str:
    """The kind to store the file as; FileRefused when name and content do not fit together."""
    display = display_name(filename)
    named = kind_from_name(filename)
    if named is None:
        raise FileRefused(f"{display} was not accepted: we accept only {ACCEPTED_DESCRIPTION}.")
    found = sniff(head)
    if named in IMAGES and found in IMAGES:
        return found  # a JPEG saved as .png is common with screenshots; the content decides
    if named == "text":
        if found is None and is_plain_text(path):
            return "text"
        reason = _describe_content(head) if found or looks_like_html(head) else "its content is not plain text"
        raise FileRefused(f"{display} was not accepted: the name says {KIND_LABELS[named]} but {reason}.")
    if found == named:
        return found
    raise FileRefused(f"{display} was not accepted: the name says {KIND_LABELS[named]} but {_describe_content(head)}.")


def display_name(filename: str) -> str:
    """A file's name as we repeat it back: its last path part, printable, at most 120 characters."""
    name = (filename or "").replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(ch for ch in name if ch.isprintable()).strip()
    if len(name) > 120:
        name = name[:100] + "…" + name[-19:]
    return name or "The file"


def _copy(stream: BinaryIO, target: Path, max_bytes: int, display: str) -> tuple[str, int, bytes]:
    digest = hashlib.sha256()
    size = 0
    head = b""
    with open(target, "xb") as out:
        while chunk := stream.read(CHUNK):
            size += len(chunk)
            if size > max_bytes:
                raise FileRefused(f"{display} was not accepted: it is larger than {round(max_bytes / MB, 2):g} MB.")
            if len(head) < SNIFF_BYTES:
                head += chunk[: SNIFF_BYTES - len(head)]
            digest.update(chunk)
            out.write(chunk)
    if size == 0:
        raise FileRefused(f"{display} was not accepted: the file is empty.")
    return digest.hexdigest(), size, head


def receive(stream: BinaryIO, filename: str, target: Path, *, max_bytes: int) -> tuple[str, int, str]:
    """Write `stream` to `target` while hashing and checking it: (sha256, size, media type).

    On refusal nothing is left at `target`.
    """
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        sha256, size, head = _copy(stream, target, max_bytes, display_name(filename))
        kind = check_kind(filename, head, target)
    except BaseException:
        target.unlink(missing_ok=True)
        raise
    return sha256, size, MEDIA_TYPES[kind]


def save(
    stream: BinaryIO, filename: str, *, max_bytes: int | None = None, session: Session | None = None
) -> StoredFile:
    """Check, hash and keep a file; with a session, it lands only when that session commits."""
    max_bytes = max_bytes or megabytes(current_app.config["MAX_FILE_MB"])
    key = secrets.token_hex(20)
    final = path_for(key)
    target = storage_root() / "tmp" / key if session is not None else final
    sha256, size, media_type = receive(stream, filename, target, max_bytes=max_bytes)
    if session is not None:
        session.info.setdefault(PENDING, []).append((target, final))
    return StoredFile(key=key, sha256=sha256, size=size, media_type=media_type)


def open_file(key: str) -> BinaryIO:
    """Open a stored file for reading."""
    return open(path_for(key), "rb")  # noqa: SIM115 - the caller closes it


def delete(key: str) -> None:
    path_for(key).unlink(missing_ok=True)


def sha256_of(key: str) -> str:
    """Hash a stored file again, to check it is the one received."""
    digest = hashlib.sha256()
    with open_file(key) as handle:
        for chunk in iter(lambda: handle.read(CHUNK), b""):
            digest.update(chunk)
    return digest.hexdigest()


def purge_temporary(max_age_seconds: float, now: float | None = None) -> int:
    """Remove temporary files a crashed worker left behind (never committed); returns how many went."""
    now = time.time() if now is None else now
    removed = 0
    for path in (storage_root() / "tmp").glob("*"):
        if path.is_file() and now - path.stat().st_mtime > max_age_seconds:
            path.unlink(missing_ok=True)
            removed += 1
    return removed


def stored_keys(min_age_seconds: float, now: float | None = None) -> Iterator[str]:
    """The keys of the kept files (not the temporary ones) last changed more than `min_age_seconds` ago."""
    now = time.time() if now is None else now
    for path in (storage_root() / "objects").glob("*/*"):
        if KEY_PATTERN.match(path.name) and path.is_file() and now - path.stat().st_mtime > min_age_seconds:
            yield path.name


def _take_pending(session: Session) -> Iterator[tuple[Path, Path]]:
    yield from session.info.pop(PENDING, [])


@event.listens_for(Session, "before_commit")
def _promote_pending(session: Session) -> None:
    # Before the commit, not after: a worker killed between the commit and the move would leave an evidence
    # row whose file is still a temporary one, which purge_temporary() later sweeps away as abandoned.
    # Killed before the commit, it leaves a file no row names: garbage, but no evidence lost.
    for temporary, final in _take_pending(session):
        final.parent.mkdir(parents=True, exist_ok=True)
        os.replace(temporary, final)
        session.info.setdefault(PROMOTED, []).append(final)


@event.listens_for(Session, "after_commit")
def _forget_promoted(session: Session) -> None:
    session.info.pop(PROMOTED, None)


@event.listens_for(Session, "after_soft_rollback")
def _drop_pending(session: Session, previous_transaction) -> None:
    if previous_transaction.nested:
        return  # a savepoint: the outer transaction may still commit
    for temporary, _final in _take_pending(session):
        temporary.unlink(missing_ok=True)
    for final in session.info.pop(PROMOTED, []):  # moved in place, but the commit failed
        final.unlink(missing_ok=True)
