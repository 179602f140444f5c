"""A short-lived staging area for files accepted on a form that is not sent yet.

When a report comes back with a problem to fix, the files already accepted wait here (listed
on the form, each with a way to remove it) under a random, unguessable token carried in a
hidden field. Staged files expire (STAGING_HOURS); `flask intake purge-staging` and a lazy
sweep on each use remove old ones.
"""

from __future__ import annotations

import json
import re
import secrets
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

from flask import current_app
from werkzeug.datastructures import FileStorage

from casework import storage

TOKEN_PATTERN = re.compile(r"^[A-Za-z0-9_-]{32}$")
FILE_ID_PATTERN = re.compile(r"^[0-9a-f]{16}$")


@dataclass(frozen=True)
class StagedFile:
    id: str
    name: str
    media_type: str
    size: int
    sha256: str
    path: Path

    @property
    def size_label(self) -> str:
        return size_label(self.size)


def size_label(size: int) -> str:
    if size >= 1024 * 1024:
        return f"{size / (1024 * 1024):.1f} MB"
    return f"{max(1, round(size / 1024))} KB"


def new_token() -> str:
    return secrets.token_urlsafe(24)


def valid_token(token: str | None) -> bool:
    return bool(token and TOKEN_PATTERN.match(token))


def _root() -> Path:
    return storage.storage_root() / "staging"


def _max_age() -> float:
    return current_app.config["STAGING_HOURS"] * 3600


def _dir(token: str) -> Path:
    if not valid_token(token):
        raise ValueError("not a staging token")
    return _root() / token


def _expired(directory: Path, now: float) -> bool:
    try:
        return now - directory.stat().st_mtime > _max_age()
    except FileNotFoundError:
        return True


def list_staged(token: str | None) -> list[StagedFile]:
    """The files waiting under `token`, oldest first (none when the token is unknown or expired)."""
    if not valid_token(token):
        return []
    directory = _dir(token)
    if not directory.is_dir():
        return []
    if _expired(directory, time.time()):
        shutil.rmtree(directory, ignore_errors=True)
        return []
    files = []
    for meta_path in sorted(directory.glob("*.json"), key=lambda p: p.stat().st_mtime_ns):
        meta = json.loads(meta_path.read_text())
        data_path = meta_path.with_suffix(".bin")
        if data_path.exists():
            files.append(StagedFile(path=data_path, **meta))
    return files


def stage(token: str, upload: FileStorage) -> StagedFile:
    """Check and keep one upload under `token`; FileRefused says why it was not kept."""
    config = current_app.config
    name = storage.display_name(upload.filename or "")
    existing = list_staged(token)
    if len(existing) >= config["MAX_FILES"]:
        raise storage.FileRefused(f"{name} was not accepted: a report can carry at most {config['MAX_FILES']} files.")
    directory = _dir(token)
    directory.mkdir(parents=True, exist_ok=True)
    directory.touch()  # the staging clock restarts whenever the reporter works on the form
    file_id = secrets.token_hex(8)
    data_path = directory / f"{file_id}.bin"
    sha256, size, media_type = storage.receive(
        upload.stream, upload.filename or "", data_path, max_bytes=storage.megabytes(config["MAX_FILE_MB"])
    )
    total = sum(f.size for f in existing) + size
    if total > storage.megabytes(config["MAX_REPORT_MB"]):
        data_path.unlink(missing_ok=True)
        raise storage.FileRefused(
            f"{name} was not accepted: the files of one report may add up to {config['MAX_REPORT_MB']:g} MB at most."
        )
    meta = {"id": file_id, "name": name, "media_type": media_type, "size": size, "sha256": sha256}
    data_path.with_suffix(".json").write_text(json.dumps(meta))
    return StagedFile(path=data_path, **meta)


def remove(token: str | None, file_id: str | None) -> None:
    """Remove one staged file (nothing happens for an unknown token or id)."""
    if not (valid_token(token) and file_id and FILE_ID_PATTERN.match(file_id)):
        return
    directory = _dir(token)
    (directory / f"{file_id}.bin").unlink(missing_ok=True)
    (directory / f"{file_id}.json").unlink(missing_ok=True)


def discard(token: str | None) -> None:
    """Remove everything staged under `token` (after the report is safely stored)."""
    if valid_token(token):
        shutil.rmtree(_dir(token), ignore_errors=True)


def purge_expired(now: float | None = None) -> int:
    """Remove every staging folder older than STAGING_HOURS; returns how many went."""
    root = _root()
    if not root.is_dir():
        return 0
    now = time.time() if now is None else now
    removed = 0
    for directory in root.iterdir():
        if directory.is_dir() and _expired(directory, now):
            shutil.rmtree(directory, ignore_errors=True)
            removed += 1
    return removed
