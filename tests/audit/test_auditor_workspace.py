"""The auditor's workspace: browse and filter the trail, a case's history, verification, exports."""

import csv
import html
import io
import json
import re
import subprocess
import sys
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select, text

from casework import ROOT, audit
from casework.auditing import service
from casework.models import AuditEntry, utcnow
from tests import factories
from tests.audit.helpers import append_bulk, triggers_bypassed

VERIFIER = ROOT / "tools" / "verify_audit_export.py"


def _last(db, action):
    return db.session.scalars(
        select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.seq.desc())
    ).first()


def test_auditor_browses_the_trail_newest_first_and_the_search_is_recorded(client, login_as, db):
    auditor = login_as("auditor")
    audit.record("test.older", "system")
    audit.record("test.newer", "system")
    page = client.get("/audit/").get_data(as_text=True)
    assert page.index("test.newer") < page.index("test.older")
    entry = _last(db, "audit.trail_viewed")
    assert entry.actor_id == auditor.id and entry.details == {}


def test_filters_narrow_the_trail_and_are_recorded_without_free_text(client, login_as, make_user, db):
    login_as("auditor")
    case = factories.CaseFactory()
    investigator = make_user("investigator")
    audit.record("case.view", investigator, case_id=case.id, object_type="case", object_id=case.id)
    audit.record("case.view", make_user("investigator"), case_id=factories.CaseFactory().id)
    page = client.get(
        "/audit/", query_string={"case": case.reference.lower(), "actor": f"user:{investigator.id}", "action": "case."}
    ).get_data(as_text=True)
    assert page.count('<td class="mono">case.view</td>') == 1
    assert case.reference in page and investigator.display_name in page
    details = _last(db, "audit.trail_viewed").details
    assert details == {"case_id": case.id, "actor": f"user:{investigator.id}", "action": "case."}


def test_a_purged_case_is_still_found_in_the_trail_by_its_number(client, login_as, db):
    login_as("auditor")
    audit.record("case.purged", "system", case_id=424242, object_type="case", object_id=424242)
    page = client.get("/audit/", query_string={"case": "#424242"}).get_data(as_text=True)
    assert "case.purged" in page and "case #424242" in page


def test_a_date_range_and_bad_filters_get_clear_messages(client, login_as):
    login_as("auditor")
    today = utcnow().date()
    response = client.get("/audit/", query_string={"date_from": today.isoformat(), "date_to": (today - timedelta(1))})
    assert "The end date is before the start date." in response.get_data(as_text=True)
    response = client.get("/audit/", query_string={"action": "DROP TABLE"})
    assert response.status_code == 200 and "Use an action such as case.view" in response.get_data(as_text=True)
    response = client.get("/audit/", query_string={"case": "OH-2026-99999"})
    assert "No case has that reference." in response.get_data(as_text=True)


def test_keyset_pages_walk_the_whole_trail_without_gaps_or_repeats(client, login_as, db):
    login_as("auditor")
    append_bulk(db.session, 120, action="test.page")
    seen, url = [], "/audit/?action=test.page"
    for _ in range(5):
        page = client.get(url).get_data(as_text=True)
        rows = [int(part.split("<")[0]) for part in page.split('<td class="num">')[1:]]
        seen.extend(rows)
        older = re.search(r'href="([^"]+)">Older entries', page)
        if older is None:
            break
        url = html.unescape(older.group(1))
    assert len(seen) == 120 and seen == sorted(set(seen), reverse=True)


def test_a_case_history_shows_timeline_and_audit_entries_side_by_side(client, login_as, db):
    auditor = login_as("auditor")
    case = factories.CaseFactory()
    factories.CaseEventFactory(
        case_id=case.id, kind="transition", trigger="triage", from_state="received", to_state="triaged"
    )
    audit.record("case.transitioned", "system", case_id=case.id, details={"trigger": "triage"})
    page = client.get(f"/audit/cases/{case.reference}").get_data(as_text=True)
    assert "Timeline" in page and "Audit entries" in page
    assert "triage" in page and "case.transitioned" in page
    assert _last(db, "audit.case_history_viewed").case_id == case.id and auditor


def test_a_recused_auditor_cannot_open_the_case_history(client, login_as):
    auditor = login_as("auditor")
    case = factories.CaseFactory()
    factories.RecusalFactory(case_id=case.id, user_id=auditor.id)
    assert client.get(f"/audit/cases/{case.reference}").status_code == 404


def test_verification_from_the_workspace_shows_the_result_and_records_it(client, login_as, db):
    auditor = login_as("auditor")
    audit.record("test.entry", "system")
    page = client.post("/audit/verification").get_data(as_text=True)
    assert "The audit trail is intact" in page
    entry = _last(db, "audit.verified")
    assert entry.actor_id == auditor.id and entry.details["ok"] is True and entry.details["source"] == "web"
    assert "Intact" in client.get("/audit/verification").get_data(as_text=True)


def test_verification_from_the_workspace_names_the_first_bad_entry(client, login_as, db):
    login_as("auditor")
    seq = audit.record("test.entry", "system").seq
    audit.record("test.entry", "system")
    with triggers_bypassed(db.session):
        db.session.execute(text("UPDATE audit_entries SET object_id = 'x' WHERE seq = :s"), {"s": seq})
    page = client.post("/audit/verification").get_data(as_text=True)
    assert f"broken at entry #{seq}" in page
    assert _last(db, "audit.verified").details["first_bad_seq"] == seq


def test_verification_with_a_pasted_checkpoint(client, login_as, app):
    login_as("auditor")
    checkpoint = audit.make_checkpoint(app.config["AUDIT_CHECKPOINT_KEY"]).as_json()
    page = client.post("/audit/verification", data={"checkpoint": checkpoint}).get_data(as_text=True)
    assert "The trail extends the checkpoint" in page
    page = client.post("/audit/verification", data={"checkpoint": checkpoint.replace('"seq"', '"seqq"')}).get_data(
        as_text=True
    )
    assert "The checkpoint cannot be read" in page


def _export(client, **query):
    response = client.get("/audit/export", query_string=query)
    assert response.status_code == 200, response.get_data(as_text=True)[:500]
    return response


@pytest.mark.parametrize("fmt", ["", "   ", "xml"])
def test_an_export_in_no_known_format_is_refused_with_a_message(client, login_as, fmt):
    login_as("auditor")
    response = client.get("/audit/export", query_string={"format": fmt})
    assert response.status_code == 400
    assert "Choose CSV or JSON lines." in response.get_data(as_text=True)


def test_an_export_is_named_by_the_institutions_date_not_the_servers(client, login_as, app, monkeypatch):
    zone = next(
        z for z in ("Pacific/Kiritimati", "Pacific/Pago_Pago") if datetime.now(ZoneInfo(z)).date() != date.today()
    )
    monkeypatch.setitem(app.config, "TIMEZONE", zone)
    login_as("auditor")
    disposition = _export(client, format="csv").headers["Content-Disposition"]
    assert f"audit-trail-full-{datetime.now(ZoneInfo(zone)):%Y%m%d}-" in disposition


def test_a_full_export_verifies_offline_in_both_formats(client, login_as, db, tmp_path, monkeypatch):
    monkeypatch.setattr(service, "EXPORT_BATCH", 7)  # many batches: the export is read in short transactions
    login_as("auditor")
    append_bulk(db.session, 300)
    for fmt in ("csv", "jsonl"):
        response = _export(client, format=fmt)
        assert "attachment" in response.headers["Content-Disposition"]
        path = tmp_path / f"trail.{fmt}"
        path.write_bytes(response.data)
        result = subprocess.run([sys.executable, str(VERIFIER), str(path)], capture_output=True, text=True)
        assert result.returncode == 0, result.stdout + result.stderr
        assert f"({int(response.headers['X-Audit-Entries']):,})" in result.stdout
        assert "Full export intact" in result.stdout
    assert _last(db, "audit.exported").details["format"] == "jsonl"


def test_a_filtered_export_checks_each_entry_and_each_run_and_says_so(client, login_as, db, tmp_path):
    login_as("auditor")
    case = factories.CaseFactory()
    for i in range(6):
        audit.record("case.view", "system", case_id=case.id if i % 3 else None)
    path = tmp_path / "part.csv"
    path.write_bytes(_export(client, format="csv", case=case.reference).data)
    rows = list(csv.DictReader(io.StringIO(path.read_text())))
    assert len(rows) == 4 and all(r["case_id"] == str(case.id) for r in rows)
    result = subprocess.run([sys.executable, str(VERIFIER), str(path)], capture_output=True, text=True)
    assert result.returncode == 0 and "Partial export: 4 entries" in result.stdout and "2 run(s)" in result.stdout


def test_the_offline_verifier_finds_a_changed_entry_in_an_export(client, login_as, db, tmp_path):
    login_as("auditor")
    append_bulk(db.session, 50)
    lines = _export(client, format="jsonl").get_data(as_text=True).splitlines()
    entry = json.loads(lines[20])
    entry["action"] = "test.changed"
    lines[20] = json.dumps(entry)
    path = tmp_path / "changed.jsonl"
    path.write_text("\n".join(lines) + "\n")
    result = subprocess.run([sys.executable, str(VERIFIER), str(path)], capture_output=True, text=True)
    assert result.returncode == 1 and f"entry #{entry['seq']}" in result.stdout


def test_the_offline_verifier_checks_a_checkpoint_and_its_signature(client, login_as, db, tmp_path, app):
    login_as("auditor")
    append_bulk(db.session, 20)
    checkpoint = tmp_path / "checkpoint.json"
    checkpoint.write_text(audit.make_checkpoint(app.config["AUDIT_CHECKPOINT_KEY"]).as_json())
    export = tmp_path / "trail.jsonl"
    export.write_bytes(_export(client, format="jsonl").data)
    env = {"CW_KEY": app.config["AUDIT_CHECKPOINT_KEY"], "PATH": "/usr/bin:/bin"}
    ok = subprocess.run(
        [sys.executable, str(VERIFIER), str(export), "--checkpoint", str(checkpoint), "--key-env", "CW_KEY"],
        capture_output=True,
        text=True,
        env=env,
    )
    assert ok.returncode == 0 and "contains the checkpoint's entry" in ok.stdout
    env["CW_KEY"] = "wrong"
    bad = subprocess.run(
        [sys.executable, str(VERIFIER), str(export), "--checkpoint", str(checkpoint), "--key-env", "CW_KEY"],
        capture_output=True,
        text=True,
        env=env,
    )
    assert bad.returncode == 2 and "signature does not match" in bad.stderr


def test_the_verifier_can_be_downloaded_from_the_export_page(client, login_as):
    login_as("auditor")
    assert "verify_audit_export.py" in client.get("/audit/export").get_data(as_text=True)
    response = client.get("/audit/export/verify_audit_export.py")
    assert response.status_code == 200 and b"def verify(" in response.data


@pytest.mark.parametrize(
    "query",
    [
        {"date_from": "0001-01-01", "date_to": "9999-12-31"},
        {"date_from": "2026-02-30"},
        {"case": "#" + "9" * 30},
        {"case": "x" * 5000},
        {"case": "OH-2026\x00"},
        {"actor": "user:99999999999999999999"},
        {"action": "case.view\x00"},
        {"before": "9" * 40, "after": "-1"},
        {"format": "xml"},
    ],
)
def test_odd_filters_get_an_answer_never_an_error(client, login_as, query):
    login_as("auditor")
    for url in ("/audit/", "/audit/export"):
        assert client.get(url, query_string=query).status_code in (200, 400)


def test_a_whitespace_only_actor_filter_means_anyone_not_a_server_error(client, login_as):
    login_as("auditor")
    response = client.get("/audit/", query_string={"actor": "\n" * 300})
    assert response.status_code == 200
    assert b"Audit trail" in response.data
