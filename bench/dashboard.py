"""How long the dashboard's figures take to compute, for each demo role, on a database seeded by bench/load.py.

    .venv/bin/python bench/dashboard.py --url sqlite:////tmp/casework-bench/sqlite/casework-1000000.db
    .venv/bin/python bench/dashboard.py --url postgresql+psycopg://postgres@127.0.0.1:55505/casework_test

`reports.dashboard.compute_dashboard` is called directly, in this process, past the cache: each role's figures
are computed --runs times (each in its own transaction, as a page would) and the fastest and slowest are
printed. The target is 300 ms. bench/load.py runs this after its load runs, with the server stopped.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ROLES = {  # the demo's accounts (casework/demo.py)
    "intake": "intake@demo.example.edu",
    "investigator": "investigator@demo.example.edu",
    "conduct_officer": "conduct@demo.example.edu",
    "police_liaison": "police@demo.example.edu",
    "auditor": "auditor@demo.example.edu",
    "admin": "admin@demo.example.edu",
}
TARGET_MS = 300


def measure(url: str, runs: int, workdir: Path) -> dict[str, list[float]]:
    """Milliseconds per computation, per role."""
    os.environ["CASEWORK_DATABASE_URL"] = url
    os.environ.setdefault("CASEWORK_INSTANCE_DIR", str(workdir / "instance"))  # as bench/load.py serves it
    sys.path.insert(0, str(ROOT))
    from sqlalchemy import select

    from casework import create_app
    from casework.clock import local_today
    from casework.extensions import db
    from casework.models import User
    from casework.reports.dashboard import compute_dashboard

    app = create_app("development")
    timings: dict[str, list[float]] = {}
    with app.app_context():
        for role, email in ROLES.items():
            user = db.session.scalar(select(User).where(User.email == email))
            if user is None:
                continue
            for _ in range(runs):
                started = time.perf_counter()
                compute_dashboard(user, local_today())
                timings.setdefault(role, []).append((time.perf_counter() - started) * 1000)
                db.session.rollback()
    return timings


def report(timings: dict[str, list[float]]) -> list[str]:
    lines = [f"dashboard computed (ms, fastest / slowest of {max(map(len, timings.values()), default=0)}):"]
    for role, values in timings.items():
        verdict = "ok" if max(values) <= TARGET_MS else f"over {TARGET_MS}"
        lines.append(f"  {role:<16} {min(values):6.0f} / {max(values):4.0f}  {verdict}")
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--url", required=True, help="the database URL of a seeded bench database")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/casework-bench"))
    args = parser.parse_args()
    print("\n".join(report(measure(args.url, args.runs, args.workdir))))


if __name__ == "__main__":
    main()
