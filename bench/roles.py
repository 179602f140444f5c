"""How long each demo role waits for its queue tabs and case lists, on a database seeded by bench/load.py.

    .venv/bin/python bench/roles.py --url sqlite:////tmp/casework-bench/sqlite/casework-1000000.db
    .venv/bin/python bench/roles.py --url postgresql+psycopg://postgres@127.0.0.1:55505/casework_test

bench/load.py drives the intake coordinator's pages under load; what a page costs can depend on who asks (a
police liaison sees the cases ever referred to UMPD, a fifth of all), so this signs in as each demo account in
this process (Flask's test client, no server) and times one request at a time: every queue tab the role has,
and the case list in a few orders and states. Each figure is the median of --runs requests after two to warm
up; the slowest page of each role is named at the end.
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))
from dashboard import ROLES  # noqa: E402

PASSWORD = "casework-demo-2026"  # noqa: S105 - the demo accounts' published password
LISTS = {
    "list: open, newest": "/cases/all?state=open&sort=newest&per_page=50",
    "list: everything, by due date": "/cases/all?sort=due&per_page=50",
    "list: closed, by due date": "/cases/all?state=closed&sort=due&per_page=50",
    "list: assigned to me, by due date": "/cases/all?assignee=me&sort=due&per_page=50",
}


def pages_of(client) -> dict[str, str]:
    """The role's queue tabs (as its queue page links them) and the case lists."""
    queue_page = client.get("/cases/").get_data(as_text=True)
    tabs = dict.fromkeys(re.findall(r'href="/cases/\?queue=([a-z_]+)"', queue_page))
    return {**{f"queue: {tab}": f"/cases/?queue={tab}" for tab in tabs}, **LISTS}


def measure(url: str, runs: int, workdir: Path) -> dict[str, dict[str, float]]:
    """Median milliseconds per page, per role."""
    os.environ["CASEWORK_DATABASE_URL"] = url
    os.environ.setdefault("CASEWORK_INSTANCE_DIR", str(workdir / "instance"))  # as bench/load.py serves it
    os.environ["CASEWORK_LOGIN_RATE_LIMIT"] = "1000 per minute"
    sys.path.insert(0, str(ROOT))
    from casework import create_app

    app = create_app("development")
    medians: dict[str, dict[str, float]] = {}
    for role, email in ROLES.items():
        client = app.test_client()
        form = client.get("/login").get_data(as_text=True)
        token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', form).group(1)
        signed_in = client.post("/login", data={"email": email, "password": PASSWORD, "csrf_token": token})
        if signed_in.status_code != 302 or client.get("/cases/").status_code != 200:  # e.g. a second factor next
            print(f"{role}: not measured (not in this database, or it asks for its second factor)")
            continue
        for name, path in pages_of(client).items():
            times = []
            for run in range(runs + 2):
                started = time.perf_counter()
                status = client.get(path).status_code
                if status != 200:
                    raise RuntimeError(f"{role}: {path} answered {status}")
                if run >= 2:
                    times.append((time.perf_counter() - started) * 1000)
            medians.setdefault(role, {})[name] = statistics.median(times)
    return medians


def report(medians: dict[str, dict[str, float]]) -> list[str]:
    lines = ["median ms per request, one at a time, in process:"]
    for role, pages in medians.items():
        lines.append(f"  {role}")
        lines.extend(f"    {name:<38} {ms:7.1f}" for name, ms in pages.items())
    lines.append("slowest page of each role:")
    for role, pages in medians.items():
        name = max(pages, key=pages.get)
        lines.append(f"  {role:<16} {pages[name]:7.1f} ms  {name}")
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--url", required=True, help="the database URL of a seeded bench database")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/casework-bench"))
    args = parser.parse_args()
    print("\n".join(report(measure(args.url, args.runs, args.workdir))))


if __name__ == "__main__":
    main()
