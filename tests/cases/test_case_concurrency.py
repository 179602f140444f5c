"""Two users, one case, two conflicting transitions at once: exactly one wins, the other gets the 409.

These tests commit for real from several threads (each with its own connection), so they do not use the
rolled-back `db` fixture; they delete the rows they made afterwards. The audit entries stay: the trail is
append-only, and they are valid links of the chain.
"""

import itertools
import re
import threading

import pytest
from sqlalchemy import delete, select

from casework import access
from casework.cases import service
from casework.extensions import db, limiter
from casework.models import AuditEntry, Case, CaseEvent, User
from tests.conftest import TEST_PASSWORD
from tests.factories import CaseFactory, UserFactory

CLOSE = {"disposition": "resolved", "closing_summary": "Resolved with the reporter."}
REFER = {"reason": "A matter for the EOA."}


@pytest.fixture
def committed(app):
    """Make committed rows; afterwards delete the cases (their children cascade) and the users."""
    made = {"cases": [], "users": []}
    yield made
    with app.app_context():
        db.session.execute(delete(Case).where(Case.id.in_(made["cases"])))
        db.session.execute(delete(User).where(User.id.in_(made["users"])))
        db.session.commit()
        db.session.remove()


# Far above the ids the other tests use: SQLite hands a deleted highest rowid out again, and the audit
# entries these tests leave behind must never point at another test's case or user.
_IDS = itertools.count(900_000_000)


def setup_case(app, committed, status="triaged"):
    with app.app_context():
        intake = UserFactory(id=next(_IDS), role="intake")
        investigator = UserFactory(id=next(_IDS), role="investigator")
        case = CaseFactory(id=next(_IDS), status=status)
        db.session.commit()
        committed["cases"].append(case.id)
        committed["users"] += [intake.id, investigator.id]
        ids = (case.id, case.reference, intake.id, investigator.id, intake.email, investigator.email)
        db.session.remove()
    return ids


def run_together(*jobs):
    """Start every job at the same moment (a barrier) and collect each result or exception."""
    barrier = threading.Barrier(len(jobs))
    results: list = [None] * len(jobs)

    def run(index, job):
        try:
            barrier.wait(timeout=20)
            results[index] = job()
        except Exception as error:  # reported by the test, not lost in the thread
            results[index] = error

    threads = [threading.Thread(target=run, args=(i, job)) for i, job in enumerate(jobs)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return results


def outcome(app, case_id):
    with app.app_context():
        case = db.session.get(Case, case_id)
        triggers = list(db.session.scalars(select(CaseEvent.trigger).where(CaseEvent.case_id == case_id)))
        audited = list(
            db.session.scalars(
                select(AuditEntry.details).where(AuditEntry.case_id == case_id, AuditEntry.action == "case.transition")
            )
        )
        state = (case.status, case.version, triggers, [d["trigger"] for d in audited])
        db.session.remove()
    return state


def test_two_users_firing_conflicting_transitions_over_http_one_succeeds_and_one_gets_409(app, committed):
    case_id, reference, _, _, intake_email, investigator_email = setup_case(app, committed)
    limiter.reset()
    clients = []
    for email in (intake_email, investigator_email):
        client = app.test_client()
        assert client.post("/login", data={"email": email, "password": TEST_PASSWORD}).status_code == 302
        page = client.get(f"/cases/{reference}").get_data(as_text=True)  # both users have version 1 in their forms
        assert re.search(r'name="close-version" type="hidden" value="1"', page)
        clients.append(client)

    responses = run_together(
        lambda: clients[0].post(
            f"/cases/{reference}/actions/close", data={**_prefixed("close", CLOSE), "close-version": 1}
        ),
        lambda: clients[1].post(
            f"/cases/{reference}/actions/refer_eoa", data={**_prefixed("refer_eoa", REFER), "refer_eoa-version": 1}
        ),
    )

    assert not [r for r in responses if isinstance(r, Exception)], responses
    assert sorted(r.status_code for r in responses) == [302, 409]
    winner = "close" if responses[0].status_code == 302 else "refer_eoa"
    loser_page = next(r for r in responses if r.status_code == 409).get_data(as_text=True)
    assert "Someone else changed this case first" in loser_page
    status, version, triggers, audited = outcome(app, case_id)
    assert status == {"close": "closed", "refer_eoa": "referred_eoa"}[winner]
    assert version == 2 and triggers == [winner] and audited == [winner]


def _prefixed(trigger, data):
    return {f"{trigger}-{key}": value for key, value in data.items()}


@pytest.mark.parametrize("row_lock", [True, False], ids=["select-for-update", "version-column-only"])
def test_on_postgresql_two_sessions_that_loaded_the_same_version_cannot_both_change_it(
    app, committed, monkeypatch, row_lock
):
    if not app.config["SQLALCHEMY_DATABASE_URI"].startswith("postgresql"):
        pytest.skip("SQLite serialises whole write transactions; the HTTP test above covers it")
    if not row_lock:  # without the lock, the version column alone must catch the lost race at flush
        monkeypatch.setattr(service, "_lock_for_change", lambda case: None)
    case_id, reference, intake_id, investigator_id, _, _ = setup_case(app, committed)
    loaded = threading.Barrier(2)

    def work(user_id, trigger, data):
        def job():
            with app.app_context():
                try:
                    user = db.session.get(User, user_id)
                    case = access.load_case(user, reference, record=False)
                    version = case.version
                    loaded.wait(timeout=20)  # both hold version 1 before either writes
                    service.transition(case, trigger, user, data, version)
                    db.session.commit()
                    return "changed"
                except service.StaleCase:
                    db.session.rollback()
                    return "stale"
                finally:
                    db.session.remove()

        return job

    results = run_together(work(intake_id, "close", CLOSE), work(investigator_id, "refer_eoa", REFER))

    assert sorted(map(str, results)) == ["changed", "stale"], results
    status, version, triggers, audited = outcome(app, case_id)
    assert version == 2 and len(triggers) == 1 and audited == triggers, (status, version, triggers, audited)
