"""Load and faults against a real gunicorn, on the database the suite runs on (bench/load_faults.py, short form).

One run per suite: a fresh database of its own (a SQLite file in a temporary directory, or a database created
on the suite's PostgreSQL cluster and dropped afterwards), gunicorn with four sync workers on 127.0.0.1, 50 staff
sessions on five hot cases, then reports with evidence while workers are killed with SIGKILL. The figures are
printed; `python bench/load_faults.py --seconds 60` is the long form.
"""

import os

import pytest

from bench.load_faults import fresh_database, run_database

pytestmark = pytest.mark.slow

LOAD_SECONDS = float(os.environ.get("CASEWORK_LOAD_SECONDS", "25"))
FAULT_SECONDS = float(os.environ.get("CASEWORK_FAULT_SECONDS", "12"))


@pytest.fixture(scope="module")
def run():
    """Both parts, once: (load result, fault result)."""
    url = os.environ.get("CASEWORK_DATABASE_URL", "")
    database = "postgresql" if url.startswith("postgresql") else "sqlite"
    lines = []
    with fresh_database(database, url) as database_url:
        load, faults = run_database(
            database,
            database_url,
            seconds=LOAD_SECONDS,
            fault_seconds=FAULT_SECONDS,
            sessions=50,
            workers=4,
            reporters=4,
            log=lines.append,
        )
    print("\n".join([*lines, load.summary(), faults.summary()]))
    return load, faults


def test_fifty_staff_sessions_on_five_hot_cases_lose_no_update_and_meet_conflicts_as_409s(run, capsys):
    load, _faults = run
    with capsys.disabled():
        print(f"\n{load.summary()}")
    assert load.successes > 0 and load.conflicts > 0, "the sessions did contend"
    assert load.lost_updates == 0
    assert load.phantom_updates == 0
    assert load.server_errors == 0
    assert load.problems == []  # other statuses, a broken chain of states, "database is locked" in the log, …


def test_a_worker_killed_mid_report_leaves_every_case_whole_and_the_audit_chain_verifying(run, capsys):
    _load, faults = run
    with capsys.disabled():
        print(f"\n{faults.summary()}")
    assert faults.kills > 0 and faults.sent > 0
    assert faults.problems == []  # half-written cases, files missing or altered, orphan rows, `audit verify` failing
