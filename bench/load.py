"""Load benchmark: Casework's list pages, search and dashboard on a million cases, against the reference server.

    .venv/bin/python bench/load.py --db sqlite            # or pg, or both
    .venv/bin/python bench/load.py --db both --cases 1000000 --duration 10 --repeat 3

What it does, for each database:
1. Seeds (or reuses, under --workdir, default /tmp/casework-bench) a database of --cases demo cases with
   `flask --app wsgi demo --cases N` (the seed ends with the search index built), then VACUUM and ANALYZE, as
   after any bulk load: on SQLite the VACUUM writes each table and index out in order (on the freshly seeded file
   the list pages cost up to 40 % more CPU under load, when each request reads its pages afresh).
   PostgreSQL runs in a throwaway cluster made by scripts/pg_test_cluster.sh (its data is kept for reuse).
2. Generates the reference server's data (/work/shared/baseline/make_data.py; reused when present) and
   serves it with `gunicorn -k sync -w 2`; measures its `/list?status=open` (the reference for list pages).
3. Serves Casework with gunicorn (2 sync workers) on 127.0.0.1, signs in as the intake coordinator
   (session cookie, CSRF token from the form) and drives each page with wrk (a Lua script sets the cookie).
4. Prints requests/s, p50 and p99 per page (with --repeat N, each the median of N runs), and each page's
   throughput as a ratio to the reference.
5. With the server stopped, computes each demo role's dashboard in-process (bench/dashboard.py) and prints
   the fastest and slowest of three: the figure the target of 300 ms is about.

Every case-list request writes an audit entry (searches are audited), so on SQLite writes serialise:
the figures include that cost.

Besides throughput and latency, each row gives the workers' CPU time per request (user + system, read
from /proc during the wrk run) and the reference's CPU per request divided by the page's: on a shared
machine throughput moves with whatever else runs, what a request costs much less.
"""

from __future__ import annotations

import argparse
import html
import http.cookiejar
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BASELINE = Path(os.environ.get("CASEWORK_BASELINE_DIR", ROOT.parent / "shared" / "baseline"))
if not BASELINE.exists():
    BASELINE = Path("/work/shared/baseline")
VENV_BIN = Path(sys.executable).parent
PG_BIN = sorted(Path("/usr/lib/postgresql").glob("*/bin"))[-1] if Path("/usr/lib/postgresql").exists() else None
WRK = shutil.which("wrk") or "/usr/bin/wrk"
DEMO_EMAIL = "intake@demo.example.edu"
DEMO_PASSWORD = "casework-demo-2026"  # noqa: S105 - the demo account's published password


@dataclass
class Result:
    rps: float
    p50_ms: float
    p99_ms: float
    errors: int
    cpu_ms: float = 0.0  # the workers' CPU time per request (user + system): what a page costs, whatever else runs


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(url: str, timeout: float = 120) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            urllib.request.urlopen(url, timeout=5).read()
            return
        except urllib.error.HTTPError:
            return  # it answers
        except OSError:
            time.sleep(0.3)
    raise RuntimeError(f"{url} did not answer within {timeout} s")


# --- wrk ---------------------------------------------------------------------------------------

LUA = """
wrk.headers["Cookie"] = "{cookie}"
"""


def _ms(value: str, unit: str) -> float:
    return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0}[unit]


def worker_cpu_seconds(server: Server) -> float:
    """User + system CPU time of the server's worker processes so far."""
    children = Path(f"/proc/{server.process.pid}/task/{server.process.pid}/children").read_text().split()
    total = 0
    for pid in children:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except FileNotFoundError:
            continue
        total += int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15 of stat)
    return total / os.sysconf("SC_CLK_TCK")


def measure(url: str, cookie: str | None, args, server: Server) -> Result:
    """`args.repeat` wrk runs of the page; each figure is the median of the runs' (a shared machine's throughput
    moves by 15 % from one run to the next, p99 by more)."""
    runs = [run_wrk(url, cookie, args, server) for _ in range(args.repeat)]
    return Result(
        rps=statistics.median(r.rps for r in runs),
        p50_ms=statistics.median(r.p50_ms for r in runs),
        p99_ms=statistics.median(r.p99_ms for r in runs),
        errors=sum(r.errors for r in runs),
        cpu_ms=statistics.median(r.cpu_ms for r in runs),
    )


def run_wrk(url: str, cookie: str | None, args, server: Server) -> Result:
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        script.write(LUA.format(cookie=cookie) if cookie else "")
    command = [WRK, f"-t{args.threads}", f"-c{args.connections}", f"-d{args.duration}s", "--latency", "-s", script.name]
    cpu_before = worker_cpu_seconds(server)
    output = subprocess.run([*command, url], capture_output=True, text=True, check=True).stdout
    cpu = worker_cpu_seconds(server) - cpu_before
    os.unlink(script.name)
    requests = int(re.search(r"(\d+) requests in", output).group(1))
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))
    latency = dict(re.findall(r"^\s+(50|99)%\s+([\d.]+\w+)", output, re.M))

    def parse(v: str) -> float:
        number, unit = re.match(r"([\d.]+)(\w+)", v).groups()
        return _ms(number, unit)

    non2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", output)
    socket_errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output)
    errors = int(non2xx.group(1)) if non2xx else 0
    errors += sum(int(n) for n in socket_errors.groups()) if socket_errors else 0
    return Result(rps, parse(latency["50"]), parse(latency["99"]), errors, cpu * 1000 / max(requests, 1))


# --- servers -----------------------------------------------------------------------------------


class Server:
    def __init__(self, command: list[str], cwd: Path, env: dict[str, str], port: int, probe: str) -> None:
        self.port = port
        self.log = open(Path(tempfile.gettempdir()) / f"bench-gunicorn-{port}.log", "w")  # noqa: SIM115
        self.process = subprocess.Popen(
            command, cwd=cwd, env=env, stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True
        )
        wait_for(f"http://127.0.0.1:{port}{probe}")

    def stop(self) -> None:
        os.killpg(self.process.pid, signal.SIGTERM)
        self.process.wait(timeout=30)
        self.log.close()


def gunicorn(app: str, cwd: Path, env: dict[str, str], probe: str) -> Server:
    port = free_port()
    command = [str(VENV_BIN / "gunicorn"), "-k", "sync", "-w", "2", "-b", f"127.0.0.1:{port}", "--timeout", "300"]
    return Server([*command, app], cwd, env, port, probe)


# --- PostgreSQL clusters -----------------------------------------------------------------------


def as_postgres(command: str) -> None:
    if os.getuid() == 0:
        subprocess.run(["su", "postgres", "-s", "/bin/sh", "-c", command], check=True, stdout=subprocess.DEVNULL)
    else:
        subprocess.run(["sh", "-c", command], check=True, stdout=subprocess.DEVNULL)


def port_open(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) == 0


def casework_cluster(workdir: Path, port: int) -> str:
    """A cluster made by scripts/pg_test_cluster.sh, restarted (with its data) when it already exists."""
    directory = workdir / "pg"
    url = f"postgresql+psycopg://postgres@127.0.0.1:{port}/casework_test"
    if port_open(port):
        return url
    if (directory / "data").exists():
        as_postgres(
            f"{PG_BIN}/pg_ctl -D '{directory}/data' -l '{directory}/log' -w start -o \"-c listen_addresses=127.0.0.1 "
            f"-c port={port} -c unix_socket_directories='{directory}' -c fsync=off -c synchronous_commit=off "
            f'-c full_page_writes=off -c max_connections=100 -c shared_buffers=512MB"'
        )
        return url
    output = subprocess.run(
        [str(ROOT / "scripts" / "pg_test_cluster.sh"), "start", str(directory), str(port)],
        capture_output=True,
        text=True,
        check=True,
    )
    return output.stdout.strip().splitlines()[-1]


def tune_postgres(url: str) -> None:
    """The one setting the README recommends for production on SSDs: random reads cost about what
    sequential ones do, so the planner should look cases up by key rather than scan the table."""
    import psycopg

    with psycopg.connect(url.replace("+psycopg", ""), autocommit=True) as con:
        con.execute("ALTER SYSTEM SET random_page_cost = 1.1")
        con.execute("SELECT pg_reload_conf()")


def stop_cluster(data_dir: Path) -> None:
    as_postgres(f"{PG_BIN}/pg_ctl -D '{data_dir}' -w stop -m fast")


def baseline_cluster(attempts: int = 5) -> str:
    """The reference's cluster on its fixed port 55432, started if it is not running. The port lies in the
    kernel's ephemeral range (32768-60999), which wrk's tens of thousands of connections cycle through, so a
    client socket may hold it for a while: main() starts it before any load, and a start is retried."""
    url = "postgresql://postgres@127.0.0.1:55432/postgres"
    for attempt in range(1, attempts + 1):
        if port_open(55432):
            break
        started = subprocess.run(["sh", str(BASELINE / "pg_start.sh")], stdout=subprocess.DEVNULL, check=False)
        if started.returncode == 0:
            break
        if attempt == attempts:
            raise RuntimeError("the reference's PostgreSQL did not start: see /tmp/basepg/log")
        log(f"the reference's PostgreSQL did not start (port 55432 busy?); retrying in {5 * attempt} s")
        time.sleep(5 * attempt)
    return url


# --- data --------------------------------------------------------------------------------------


def casework_env(url: str, workdir: Path) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        CASEWORK_DATABASE_URL=url,
        CASEWORK_CONFIG="development",
        CASEWORK_INSTANCE_DIR=str(workdir / "instance"),
        CASEWORK_STORAGE_DIR=str(workdir / "storage"),
        CASEWORK_LOGIN_RATE_LIMIT="1000 per minute",
    )
    return env


def flask(env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    command = [str(VENV_BIN / "flask"), "--app", "wsgi", *args]
    return subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, check=True)


def seed_casework(db: str, url: str, workdir: Path, cases: int) -> None:
    env = casework_env(url, workdir)
    marker = workdir / f"{db}-{cases}.seeded"
    upgrade = flask(env, "db", "upgrade")  # a kept database is brought to the current schema too
    if marker.exists() and case_count(db, url) < cases:  # the database was removed or emptied since
        log(f"the {db} database no longer holds its {cases:,} cases: seeding it again")
        marker.unlink()
    if marker.exists():
        log(f"reusing the {db} database with {cases:,} cases")
        if "Running upgrade" in upgrade.stderr:  # new indexes and tables want the planner's statistics
            analyze(db, url)
        return
    log(f"seeding {cases:,} cases into {db} (flask demo) …")
    started = time.perf_counter()
    out = flask(env, "demo", "--cases", str(cases)).stdout
    log(out.splitlines()[0] + f" (wall {time.perf_counter() - started:.0f} s)")
    analyze(db, url)
    marker.write_text(out.splitlines()[0] + "\n")


@contextmanager
def connection(db: str, url: str):
    """A plain driver connection to the benchmark's database, outside any transaction (VACUUM needs that)."""
    if db == "sqlite":
        import sqlite3

        con = sqlite3.connect(url.removeprefix("sqlite:///"), isolation_level=None)
        try:
            yield con
        finally:
            con.close()
    else:
        import psycopg

        with psycopg.connect(url.replace("+psycopg", ""), autocommit=True) as con:
            yield con


def case_count(db: str, url: str) -> int:
    with connection(db, url) as con:
        return con.execute("SELECT count(*) FROM cases").fetchone()[0]


def analyze(db: str, url: str) -> None:
    with connection(db, url) as con:
        con.execute("VACUUM")
        con.execute("ANALYZE")


def seed_baseline(db: str, workdir: Path) -> str:
    if db == "sqlite":
        path = Path("/tmp/base_cases.db")
        if not path.exists():
            log("generating the reference data (SQLite) …")
            subprocess.run([sys.executable, str(BASELINE / "make_data.py"), "sqlite", str(path)], check=True)
        return f"sqlite:///{path}"
    url = baseline_cluster()
    import psycopg

    with psycopg.connect(url, autocommit=True) as con:
        present = con.execute("SELECT to_regclass('public.\"case\"') IS NOT NULL").fetchone()[0]
    if not present:
        log("generating the reference data (PostgreSQL) …")
        subprocess.run([sys.executable, str(BASELINE / "make_data.py"), "pg", url], check=True)
    return url.replace("postgresql://", "postgresql+psycopg://")


# --- a signed-in session -----------------------------------------------------------------------


def sign_in(base: str) -> tuple[http.cookiejar.CookieJar, urllib.request.OpenerDirector]:
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    post_form(opener, f"{base}/login", f"{base}/login", {"email": DEMO_EMAIL, "password": DEMO_PASSWORD})
    if "session" not in cookie_header(jar):
        raise RuntimeError("sign-in failed: no session cookie")
    return jar, opener


def post_form(opener, page_url: str, action: str, data: dict[str, str]) -> str:
    """Post a form of the page at `page_url` (with its CSRF token); the address it leads to."""
    page = opener.open(page_url).read().decode()
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page) or re.search(
        r'value="([^"]+)"[^>]*name="csrf_token"', page
    )
    data = {**data, "csrf_token": token.group(1) if token else ""}
    with opener.open(action, data=urllib.parse.urlencode(data).encode()) as response:
        response.read()
        return response.geturl()


def cookie_header(jar: http.cookiejar.CookieJar) -> str:
    return "; ".join(f"{c.name}={c.value}" for c in jar)


def timed_get(opener, url: str) -> tuple[str, float]:
    started = time.perf_counter()
    body = opener.open(url).read().decode()
    return body, (time.perf_counter() - started) * 1000


def deep_cursor(opener, base: str, query: str, rows: int) -> str:
    """Follow 'next' links from page 1 until `rows` rows are behind; return that page's URL."""
    url = f"{base}/cases/all?{query}"
    walked = 0
    while walked < rows:
        body = opener.open(url).read().decode()
        link = re.search(r'rel="next" href="([^"]+)"', body)
        if not link:
            raise RuntimeError(f"the list ended after {walked} rows")
        url = base + html.unescape(link.group(1))
        walked += 50
    return url


# --- the run -----------------------------------------------------------------------------------

LIST_QUERY = "state=open&sort=newest&per_page=50"
SEARCH = {"q": "umass_gossip7", "per_page": "50"}  # posted: the list's address names the words by a token


def bench_database(db: str, args, workdir: Path) -> dict[str, Result | None]:
    if db == "sqlite":
        (workdir / "sqlite").mkdir(parents=True, exist_ok=True)
        url = f"sqlite:///{workdir / 'sqlite' / f'casework-{args.cases}.db'}"
    else:
        url = casework_cluster(workdir, args.pg_port)
        tune_postgres(url)
    seed_casework(db, url, workdir, args.cases)

    results: dict[str, Result | None] = {}
    base_url = seed_baseline(db, workdir)
    env = dict(os.environ, DB_URL=base_url)
    reference = gunicorn("app:app", BASELINE, env, "/hello")
    try:
        ref = f"http://127.0.0.1:{reference.port}"
        urllib.request.urlopen(f"{ref}/list?status=open").read()
        results["reference /list?status=open"] = measure(f"{ref}/list?status=open", None, args, reference)
        log(f"{db}: reference {results['reference /list?status=open']}")
    finally:
        reference.stop()

    server = gunicorn("wsgi:app", ROOT, casework_env(url, workdir), "/login")
    try:
        results.update(drive_pages(db, server, args))
        server.stop()
        server = None
        results["_dashboard_computed"] = dashboard_computation(url, workdir)  # type: ignore[assignment]
    finally:
        if server is not None:
            server.stop()
        if db == "pg" and not args.keep_pg:
            stop_cluster(workdir / "pg" / "data")
    return results


def dashboard_computation(url: str, workdir: Path) -> list[str]:
    """bench/dashboard.py's lines: each role's dashboard computed in-process, the server stopped."""
    command = [sys.executable, str(ROOT / "bench" / "dashboard.py"), "--url", url, "--workdir", str(workdir)]
    output = subprocess.run(command, env=casework_env(url, workdir), capture_output=True, text=True, check=True)
    return output.stdout.splitlines()


def drive_pages(db: str, server: Server, args) -> dict[str, Result | None]:
    """Sign in, find the pages, time the first dashboard, then drive each page with wrk."""
    results: dict[str, Result | None] = {}
    base = f"http://127.0.0.1:{server.port}"
    jar, opener = sign_in(base)
    searched = post_form(opener, f"{base}/cases/all", f"{base}/cases/all", SEARCH)
    if 'id="results-heading"' not in opener.open(searched).read().decode():
        raise RuntimeError(f"the search gave no results page at {searched}")
    cookie = cookie_header(jar)  # the session now keeps the search's words
    first = f"{base}/cases/all?{LIST_QUERY}"
    body, _ = timed_get(opener, first)
    reference_no = re.search(r"OH-\d{4}-\d{5}", body).group(0)
    deep = deep_cursor(opener, base, LIST_QUERY, 10_000)
    _, cold_dashboard = timed_get(opener, f"{base}/dashboard")
    log(f"{db}: first (uncached) dashboard in one worker: {cold_dashboard:.0f} ms")
    pages = {
        "queue page (/cases/?queue=new)": f"{base}/cases/?queue=new",
        "queue page 1 (state=open, 50 rows)": first,
        "queue 10,000 rows deep (keyset)": deep,
        "case page": f"{base}/cases/{reference_no}",
        "full-text search (umass_gossip7)": searched,
        "dashboard": f"{base}/dashboard",
    }
    for name, page in pages.items():
        try:
            opener.open(page).read()
        except urllib.error.HTTPError as error:
            log(f"{db}: {name}: HTTP {error.code} -> n/a")
            results[name] = None
            continue
        if name == "dashboard":  # fill the per-worker cache of both workers before measuring
            run_wrk(page, cookie, argparse.Namespace(**{**vars(args), "duration": 2}), server)
        results[name] = measure(page, cookie, args, server)
        log(f"{db}: {name}: {results[name]}")
    results["_cold_dashboard_ms"] = cold_dashboard  # type: ignore[assignment]
    return results


def print_table(all_results: dict[str, dict], args) -> None:
    print()
    print(
        f"Casework load benchmark: {args.cases:,} cases, gunicorn 2 sync workers, "
        f"wrk -t{args.threads} -c{args.connections} -d{args.duration}s"
        + (f" (median of {args.repeat} runs)" if args.repeat > 1 else "")
        + f", {os.cpu_count()} CPUs"
    )
    for db, results in all_results.items():
        ref = results["reference /list?status=open"]
        print()
        print(f"{'PostgreSQL' if db == 'pg' else 'SQLite'}")
        head = f"| {'page':<40} | {'req/s':>8} | {'p50 ms':>7} | {'p99 ms':>7} | {'× ref':>6} | {'errors':>6} |"
        print(head + f" {'CPU ms/req':>10} | {'× ref CPU':>9} |")
        print(f"|{'-' * 42}|{'-' * 10}|{'-' * 9}|{'-' * 9}|{'-' * 8}|{'-' * 8}|{'-' * 12}|{'-' * 11}|")
        for name, r in results.items():
            if name.startswith("_"):
                continue
            if r is None:
                print(f"| {name:<40} | {'n/a':>8} | {'':>7} | {'':>7} | {'':>6} | {'':>6} | {'':>10} | {'':>9} |")
                continue
            ratio = r.rps / ref.rps if ref.rps else 0
            cpu_ratio = ref.cpu_ms / r.cpu_ms if r.cpu_ms else 0
            print(
                f"| {name:<40} | {r.rps:>8.0f} | {r.p50_ms:>7.1f} | {r.p99_ms:>7.1f} | {ratio:>6.2f} | {r.errors:>6} |"
                f" {r.cpu_ms:>10.2f} | {cpu_ratio:>9.2f} |"
            )
        first = results.get("queue page 1 (state=open, 50 rows)")
        deep = results.get("queue 10,000 rows deep (keyset)")
        if first and deep:
            print(f"deep/page-1 p50 ratio: {deep.p50_ms / first.p50_ms:.2f} (target ≤ 1.2)")
        print(f"first uncached dashboard page: {results['_cold_dashboard_ms']:.0f} ms (then cached ≤ 60 s)")
        print("\n".join(results.get("_dashboard_computed", [])))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--db", choices=["sqlite", "pg", "both"], default="sqlite")
    parser.add_argument("--cases", type=int, default=1_000_000)
    parser.add_argument("--duration", type=int, default=10, help="seconds per wrk run")
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeat", type=int, default=1, help="wrk runs per page; the median of each figure")
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/casework-bench"))
    parser.add_argument("--pg-port", type=int, default=55505)
    parser.add_argument("--keep-pg", action="store_true", help="leave the Casework PostgreSQL cluster running")
    args = parser.parse_args()
    args.workdir.mkdir(parents=True, exist_ok=True)
    databases = ["sqlite", "pg"] if args.db == "both" else [args.db]
    if "pg" in databases:
        baseline_cluster()  # now, while no load has taken its port (see baseline_cluster)
    all_results = {db: bench_database(db, args, args.workdir) for db in databases}
    print_table(all_results, args)


if __name__ == "__main__":
    main()
