"""The case tallies behind the dashboard's open counts: kept in step by triggers with every change of a case,
and giving each role the counts its cases give."""

import importlib
from collections import Counter
from datetime import date, datetime, timedelta

import pytest
from sqlalchemy import create_engine, delete, inspect, literal, select, text

from casework import access
from casework.audit import PG_AUDIT_LOCK_KEY
from casework.cases import service
from casework.models import Case, CaseBehaviour, CasePlatform, CaseTally, Referral, ReportTally, utcnow
from casework.reports import dashboard, tallies
from tests.factories import CaseBehaviourFactory, CaseFactory, CasePlatformFactory, PartyFactory, ReferralFactory

TRIAGE = {"risk_level": "high", "jurisdiction_note": "Respondent is an enrolled student."}
CLOSE = {"disposition": "resolved", "closing_summary": "Resolved with the reporter."}


def kept(db) -> dict:
    """The tallies as the triggers kept them."""
    db.session.flush()
    return {tuple(getattr(t, k) for k in tallies.KEY): t.cases for t in db.session.scalars(select(CaseTally))}


def counted(db) -> Counter:
    """The tallies counted afresh from the cases and their referrals."""
    db.session.flush()
    referred = set(db.session.execute(select(Referral.case_id, Referral.office)))
    return Counter(
        (
            case.status,
            case.office,
            case.due_on or tallies.NO_DEADLINE,
            case.restricted,
            case.acknowledged_at is None,
            (case.id, "conduct") in referred,
            (case.id, "umpd") in referred,
        )
        for case in db.session.scalars(select(Case))
    )


def reported(db) -> dict:
    """The report tallies as the triggers kept them."""
    db.session.flush()
    rows = db.session.scalars(select(ReportTally))
    return {tuple(getattr(t, k) for k in tallies.REPORT_KEY): t.cases for t in rows}


def reported_afresh(db) -> dict:
    """The report tallies counted afresh from the cases, their platforms, behaviours and referrals."""
    db.session.flush()
    referred = set(db.session.execute(select(Referral.case_id, Referral.office)))
    parts = [
        *db.session.execute(select(CasePlatform.case_id, literal("platform"), CasePlatform.platform)),
        *db.session.execute(select(CaseBehaviour.case_id, literal("behaviour"), CaseBehaviour.behaviour)),
    ]
    cases = {case.id: case for case in db.session.scalars(select(Case))}
    counts = Counter()
    for case_id, kind, value in parts:
        case = cases[case_id]
        week = case.created_at.date() - timedelta(days=case.created_at.weekday())
        referrals = ((case_id, "conduct") in referred, (case_id, "umpd") in referred)
        counts[(week, kind, value, case.status, case.office, case.restricted, *referrals)] += 1
    return dict(counts)


def assert_in_step(db):
    """The tallies count the cases (and their platforms and behaviours), and no tally is left without cases."""
    assert kept(db) == dict(counted(db))
    assert reported(db) == reported_afresh(db)


def fire(db, case, trigger, actor, data=None):
    service.transition(case, trigger, actor, data or {}, case.version)
    assert_in_step(db)


def test_the_tallies_follow_a_case_through_its_whole_workflow(db, make_user):
    intake, officer, liaison = make_user("intake"), make_user("conduct_officer"), make_user("police_liaison")
    other = CaseFactory(status="received")
    case = CaseFactory(status="received", due_on=date.today() + timedelta(days=2))
    PartyFactory(case=case, affiliation="student")
    for reported_case, platform in ((case, "instagram"), (case, "x"), (other, "instagram")):
        CasePlatformFactory(case_id=reported_case.id, platform=platform)
    CaseBehaviourFactory(case_id=case.id, behaviour="threats")
    db.session.refresh(case)
    assert_in_step(db)

    fire(db, case, "triage", intake, TRIAGE)
    fire(db, case, "refer_conduct", intake, {"reason": "A student respondent."})
    fire(db, case, "acknowledge", officer)
    fire(db, case, "return_to_triage", officer, {"reason": "Not a student matter after all."})
    fire(db, case, "refer_umpd", intake, {"reason": "A threat of violence."})
    fire(db, case, "acknowledge", liaison)
    fire(db, case, "close", liaison, CLOSE)
    fire(db, case, "reopen", intake, {"reason": "New messages arrived."})
    access.set_restricted(intake, case, True)
    assert_in_step(db)
    assert kept(db)[("received", "eoa", other.due_on or tallies.NO_DEADLINE, False, True, False, False)] == 1


def test_the_tallies_follow_referrals_and_cases_deleted_outside_the_application(db):
    twice = CaseFactory(status="referred_conduct", office="conduct")
    first, second = (
        ReferralFactory(case_id=twice.id, office="conduct"),
        ReferralFactory(case_id=twice.id, office="conduct"),
    )
    ReferralFactory(case_id=twice.id, office="umpd")
    gone = CaseFactory(status="referred_umpd", office="umpd", created_at=utcnow() - timedelta(days=10))
    ReferralFactory(case_id=gone.id, office="umpd")
    for reported_case in (twice, gone):
        CasePlatformFactory(case_id=reported_case.id, platform="tiktok")
        CaseBehaviourFactory(case_id=reported_case.id, behaviour="doxxing")
    assert_in_step(db)

    db.session.execute(delete(Referral).where(Referral.id == first.id))
    assert_in_step(db)  # still referred to Conduct once
    db.session.execute(delete(Referral).where(Referral.id == second.id))
    assert_in_step(db)
    db.session.execute(delete(Case).where(Case.id == gone.id))  # its referral goes with it
    db.session.expunge_all()
    assert_in_step(db)


def test_recount_rebuilds_the_tallies_from_the_cases(db, runner):
    CaseFactory(status="received", restricted=True)
    CaseFactory(status="triaged", due_on=date(2026, 1, 5))
    CasePlatformFactory(case_id=CaseFactory(status="received", created_at=utcnow() - timedelta(days=30)).id)
    db.session.flush()
    db.session.execute(delete(CaseTally))
    db.session.execute(delete(ReportTally))
    assert tallies.recount() == (len(counted(db)), len(reported_afresh(db)))
    assert_in_step(db)
    db.session.execute(delete(CaseTally))
    db.session.execute(delete(ReportTally))
    result = runner.invoke(args=["dashboard", "recount"])
    assert (
        result.exit_code == 0
        and "Counted the cases into 3 tallies and their platforms and behaviours into 1 weekly" in result.output
    )
    assert_in_step(db)


@pytest.mark.parametrize("role", ["intake", "investigator", "conduct_officer", "police_liaison", "auditor", "admin"])
def test_each_role_gets_the_same_dashboard_counts_from_the_tallies_as_from_its_cases(db, make_user, role):
    today = date.today()
    for n, (status, office, referred) in enumerate(
        [
            ("received", "eoa", ()),
            ("triaged", "eoa", ()),
            ("referred_eoa", "eoa", ("eoa",)),
            ("referred_conduct", "conduct", ("conduct",)),
            ("referred_umpd", "umpd", ("umpd",)),
            ("triaged", "eoa", ("conduct",)),  # returned by Conduct
            ("referred_eoa", "eoa", ("umpd", "eoa")),
            ("closed", "conduct", ("conduct",)),
        ]
    ):
        for restricted in (False, True):
            case = CaseFactory(
                status=status,
                office=office,
                restricted=restricted,
                due_on=[None, today - timedelta(days=1), today, today + timedelta(days=3)][n % 4],
                acknowledged_at=None if n % 3 else utcnow(),
                **({"closed_at": utcnow(), "disposition": "resolved"} if status == "closed" else {}),
                created_at=utcnow() - timedelta(weeks=[0, 3, 30][n % 3]),  # the last one before the 26 weeks
            )
            for office_referred in referred:
                ReferralFactory(case_id=case.id, office=office_referred)
            CasePlatformFactory(case_id=case.id, platform=["instagram", "x", "tiktok"][n % 3])
            CaseBehaviourFactory(case_id=case.id, behaviour=["threats", "doxxing"][n % 2])
    user = make_user(role)
    db.session.flush()
    assert access.sees_as_role(user)
    visible = access.visibility_clause(user)
    since = datetime.combine(today - timedelta(days=today.weekday(), weeks=dashboard.WEEKS - 1), datetime.min.time())

    from_tallies = dashboard._open_counts(visible, today, role), dashboard._parts_reported(visible, since, role)
    from_cases = dashboard._open_counts(visible, today, None), dashboard._parts_reported(visible, since, None)
    assert sorted(from_tallies[0]) == sorted(from_cases[0])
    assert sum(row[2] for row in from_cases[0]) > 0
    for kind in ("platform", "behaviour"):
        assert sorted(from_tallies[1][kind]) == sorted(from_cases[1][kind])
    if role in ("auditor", "admin"):  # every case, the 30-week-old ones left out
        assert sum(n for _, n in from_cases[1]["platform"]) == 16 - 4


def test_the_migrations_hold_the_same_tally_sql_as_the_module():
    created = importlib.import_module("migrations.versions.0009_case_tallies")
    changed = importlib.import_module("migrations.versions.0010_empty_tallies_go")  # SQLite triggers, the move
    assert tallies.trigger_statements("sqlite") == changed.SQLITE_TRIGGERS
    assert tallies.recount_statements("sqlite") == created.SQLITE_RECOUNT
    move = changed.PG_MOVE_FUNCTION.replace("CREATE OR REPLACE FUNCTION", "CREATE FUNCTION")
    assert [move if "FUNCTION case_tallies_move" in f else f for f in created.PG_FUNCTIONS] == tallies.PG_FUNCTIONS
    assert tallies.trigger_statements("postgresql") == created.PG_TRIGGERS
    assert tallies.recount_statements("postgresql") == created.PG_RECOUNT
    assert created.PG_DROP_FUNCTIONS == tallies.PG_DROP_FUNCTIONS
    reports = importlib.import_module("migrations.versions.0011_report_tallies")
    assert tallies.report_trigger_statements("sqlite") == reports.SQLITE_TRIGGERS
    assert tallies.report_recount_statements("sqlite") == reports.SQLITE_RECOUNT
    assert reports.PG_FUNCTIONS == tallies.PG_REPORT_FUNCTIONS
    assert tallies.report_trigger_statements("postgresql") == reports.PG_TRIGGERS
    assert tallies.report_recount_statements("postgresql") == reports.PG_RECOUNT
    assert reports.PG_DROP_FUNCTIONS == tallies.PG_REPORT_DROP_FUNCTIONS


def test_the_demo_seed_ends_with_the_tallies_counted_and_the_triggers_back(runner, db):
    assert runner.invoke(args=["demo", "--cases", "30"]).exit_code == 0
    assert_in_step(db)
    CaseFactory(status="received")
    assert_in_step(db)


def test_on_postgresql_counting_a_case_takes_the_audit_append_lock_first(db):
    if db.session.get_bind().dialect.name != "postgresql":
        pytest.skip("advisory locks exist on PostgreSQL only (SQLite has one writer at a time)")
    held = text("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND objid = :key AND pid = pg_backend_pid()")
    assert db.session.scalar(held, {"key": PG_AUDIT_LOCK_KEY}) == 0
    CaseFactory(status="received")
    db.session.flush()
    assert db.session.scalar(held, {"key": PG_AUDIT_LOCK_KEY}) == 1  # no two transactions hold each other's tallies


def test_a_tally_a_case_leaves_empty_goes(db):
    case = CaseFactory(status="triaged", due_on=date(2026, 1, 1))
    for day in range(2, 12):  # ten deadlines come and go
        case.due_on = date(2026, 1, day)
        db.session.flush()
    assert kept(db) == {("triaged", case.office, date(2026, 1, 11), False, True, False, False): 1}
    db.session.delete(case)
    db.session.flush()
    assert kept(db) == {}


def test_the_migration_deletes_the_empty_tallies_and_goes_back(app, tmp_path):
    if app.config["SQLALCHEMY_DATABASE_URI"].startswith("postgresql"):
        pytest.skip("a fresh database to migrate up and down is made on SQLite (the session shares PostgreSQL's)")
    from flask_migrate import downgrade, upgrade

    from casework import create_app

    created = importlib.import_module("migrations.versions.0009_case_tallies")
    url = f"sqlite:///{tmp_path / 'tallies.db'}"
    fresh = create_app("testing", {"SQLALCHEMY_DATABASE_URI": url})
    engine = create_engine(url)
    triggers = text("SELECT sql FROM sqlite_master WHERE type = 'trigger' AND name LIKE 'case_tallies%' ORDER BY name")
    empty = "INSERT INTO case_tallies VALUES ('triaged', 'eoa', '2026-01-01', 0, 1, 0, 0, 0)"
    try:
        with fresh.app_context():
            upgrade(revision="0009")
            with engine.begin() as connection:
                connection.execute(text(empty))
            upgrade()
            with engine.connect() as connection:
                assert connection.scalar(text("SELECT count(*) FROM case_tallies")) == 0
                assert sorted(connection.scalars(triggers)) == sorted(tallies.trigger_statements("sqlite"))
            downgrade(revision="0009")
            with engine.connect() as connection:
                assert sorted(connection.scalars(triggers)) == sorted(created.SQLITE_TRIGGERS)
                indexes = {index["name"] for index in inspect(connection).get_indexes("case_tallies")}
                assert "ix_case_tallies_empty" not in indexes
    finally:
        engine.dispose()
