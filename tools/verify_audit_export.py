#!/usr/bin/env python3
"""Check a Casework audit-trail export offline. Python 3 standard library only.

    python3 verify_audit_export.py EXPORT.csv|EXPORT.jsonl [--checkpoint CHECKPOINT.json [--key-env VAR]]

What it checks:
- every entry's own hash: SHA-256 over the canonical serialization
  json.dumps([seq, created_at, actor_kind, actor_id, action, object_type, object_id, case_id, details, prev_hash],
             sort_keys=True, separators=(",", ":"), ensure_ascii=False);
- entries are in increasing sequence order, without duplicates;
- within each run of consecutive sequence numbers, each entry's prev_hash is the hash of the one before;
- a run that starts at entry #1 starts from the genesis hash (64 zeros).
A full export (one run from #1) is thereby verified entirely. A filtered export cannot be chained whole:
the gaps between runs are reported, and only each entry and each run are proven.
With --checkpoint, the export must contain the checkpoint's entry with the same hash (and, given the key
in the environment variable named by --key-env, the checkpoint's signature must match).

Exits 0 when everything checked is intact, 1 naming the first bad entry otherwise, 2 on unreadable input.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import hmac
import json
import os
import sys

GENESIS = "0" * 64
FIELDS = (
    "seq",
    "created_at",
    "actor_kind",
    "actor_id",
    "action",
    "object_type",
    "object_id",
    "case_id",
    "details",
    "prev_hash",
    "hash",
)
INT_FIELDS = ("seq", "actor_id", "case_id")


class Unreadable(Exception):
    pass


def _from_csv(path: str):
    with open(path, newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        if tuple(reader.fieldnames or ()) != FIELDS:
            raise Unreadable(f"{path}: the CSV header is not that of a Casework audit export")
        for line, row in enumerate(reader, start=2):
            try:
                entry = {name: (row[name] if row[name] != "" else None) for name in FIELDS}
                for name in INT_FIELDS:
                    if entry[name] is not None:
                        entry[name] = int(entry[name])
                entry["details"] = json.loads(entry["details"] or "{}")
            except (ValueError, TypeError) as error:
                raise Unreadable(f"{path}, line {line}: {error}") from error
            yield entry


def _from_jsonl(path: str):
    with open(path, encoding="utf-8") as handle:
        for line, text in enumerate(handle, start=1):
            if not text.strip():
                continue
            try:
                entry = json.loads(text)
            except ValueError as error:
                raise Unreadable(f"{path}, line {line}: {error}") from error
            if not isinstance(entry, dict) or set(entry) != set(FIELDS):
                raise Unreadable(f"{path}, line {line}: not a Casework audit entry")
            yield entry


def entry_hash(entry: dict) -> str:
    fields = [entry[name] for name in FIELDS[:-1]]
    payload = json.dumps(fields, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(payload.encode()).hexdigest()


def verify(entries, checkpoint: dict | None = None) -> tuple[bool, str]:
    count, runs, gaps = 0, 0, []
    first_seq = previous = None
    checkpoint_seen = False
    for entry in entries:
        seq = entry["seq"]
        if not isinstance(seq, int):
            return False, f"an entry has no valid sequence number (after #{previous})"
        if entry_hash(entry) != entry["hash"]:
            return False, f"entry #{seq}: its content does not match its hash"
        if previous is None or seq != previous["seq"] + 1:
            if previous is not None and seq <= previous["seq"]:
                return False, f"entry #{seq}: out of order or repeated (after #{previous['seq']})"
            if previous is not None:
                gaps.append((previous["seq"] + 1, seq - 1))
            runs += 1
            if seq == 1 and entry["prev_hash"] != GENESIS:
                return False, "entry #1: it does not start from the genesis hash"
        elif entry["prev_hash"] != previous["hash"]:
            return False, f"entry #{seq}: its previous-hash does not match entry #{previous['seq']}"
        if checkpoint and seq == checkpoint["seq"]:
            if entry["hash"] != checkpoint["hash"]:
                return False, f"entry #{seq}: it differs from the checkpoint (the trail was rewritten)"
            checkpoint_seen = True
        if first_seq is None:
            first_seq = seq
        previous = entry
        count += 1
    if count == 0:
        return True, "The export holds no entries."
    if checkpoint and not checkpoint_seen:
        if checkpoint["seq"] > previous["seq"]:
            return False, f"the export ends at #{previous['seq']}, before the checkpoint's entry #{checkpoint['seq']}"
        return False, f"the export does not contain the checkpoint's entry #{checkpoint['seq']}"
    last = previous["seq"]
    if first_seq == 1 and not gaps:
        message = f"Full export intact: entries #1 to #{last} ({count:,}), every hash and every link verified."
    else:
        message = (
            f"Partial export: {count:,} entries between #{first_seq} and #{last}, in {runs} run(s) of consecutive "
            f"entries. Every entry's own hash and every link within a run verified; "
            f"{len(gaps)} gap(s) and anything outside the export cannot be checked from this file."
        )
    if checkpoint:
        message += f" It contains the checkpoint's entry #{checkpoint['seq']}."
    return True, message


def _load_checkpoint(path: str, key_env: str | None) -> dict:
    with open(path, encoding="utf-8") as handle:
        data = json.load(handle)
    if data.get("kind") != "casework-audit-checkpoint" or data.get("version") != 1:
        raise Unreadable(f"{path}: not a Casework audit checkpoint")
    if key_env:
        key = os.environ.get(key_env)
        if not key:
            raise Unreadable(f"the environment variable {key_env} is not set")
        message = json.dumps(
            ["casework-audit-checkpoint", 1, data["seq"], data["hash"], data["taken_at"]], separators=(",", ":")
        ).encode()
        expected = hmac.new(key.encode(), message, hashlib.sha256).hexdigest()
        if not hmac.compare_digest(expected, str(data.get("hmac_sha256"))):
            raise Unreadable(f"{path}: the checkpoint's signature does not match the key")
    return data


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Check a Casework audit-trail export (CSV or JSON lines).")
    parser.add_argument("export", help="the exported file (.csv or .jsonl)")
    parser.add_argument("--checkpoint", help="a checkpoint file from `flask audit checkpoint`")
    parser.add_argument("--key-env", help="environment variable holding the checkpoint key, to check its signature")
    args = parser.parse_args(argv)
    try:
        checkpoint = _load_checkpoint(args.checkpoint, args.key_env) if args.checkpoint else None
        with open(args.export, encoding="utf-8") as handle:
            first = handle.read(1)
        entries = _from_jsonl(args.export) if first == "{" else _from_csv(args.export)
        ok, message = verify(entries, checkpoint)
    except (OSError, Unreadable, ValueError, KeyError) as error:
        print(f"Cannot check the export: {error}", file=sys.stderr)
        return 2
    print(message if ok else f"BROKEN: {message}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
