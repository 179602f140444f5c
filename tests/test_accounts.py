"""Account administration: list, create, deactivate, re-role, reset passwords."""

import pytest
from sqlalchemy import select

from casework.models import AuditEntry, User
from casework.vocabulary import ROLES


def test_admin_lists_accounts(client, login_as, make_user):
    login_as("admin")
    make_user("auditor", display_name="Alma Auditor")
    page = client.get("/admin/users")
    assert page.status_code == 200 and b"Alma Auditor" in page.data


def test_admin_creates_an_account_and_sees_its_password_once(client, login_as, db):
    login_as("admin")
    response = client.post(
        "/admin/users/new",
        data={
            "email": "New.Person@casework.example.edu",
            "display_name": "New Person",
            "role": "conduct_officer",
            "office": "",
            "active": "y",
        },
    )
    assert response.status_code == 200 and b"shown only once" in response.data
    user = db.session.scalar(select(User).where(User.email == "new.person@casework.example.edu"))
    assert user.role == "conduct_officer" and user.office == "conduct"
    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "account.created"))
    assert entry.object_id == str(user.id) and "New Person" not in str(entry.details)


def test_duplicate_email_keeps_the_form_and_says_why(client, login_as, make_user):
    login_as("admin")
    existing = make_user("intake")
    response = client.post(
        "/admin/users/new", data={"email": existing.email, "display_name": "Someone Typed This", "role": "intake"}
    )
    assert b"already exists" in response.data and b"Someone Typed This" in response.data


def test_role_office_mismatch_is_refused(client, login_as):
    login_as("admin")
    response = client.post(
        "/admin/users/new",
        data={"email": "x@casework.example.edu", "display_name": "X", "role": "police_liaison", "office": "conduct"},
    )
    assert b"belongs to Campus police" in response.data


def test_admin_re_roles_and_deactivates_an_account(client, login_as, make_user, db):
    login_as("admin")
    user = make_user("investigator")
    response = client.post(
        f"/admin/users/{user.id}", data={"display_name": user.display_name, "role": "intake", "office": "eoa"}
    )
    assert response.status_code == 302
    db.session.refresh(user)
    assert user.role == "intake" and user.active is False


def test_admin_cannot_remove_their_own_role(client, login_as, db):
    admin = login_as("admin")
    response = client.post(
        f"/admin/users/{admin.id}", data={"display_name": admin.display_name, "role": "auditor", "active": "y"}
    )
    assert b"cannot change your own role" in response.data


def test_admin_resets_a_password(client, login_as, make_user, db):
    login_as("admin")
    user = make_user("intake")
    version = user.session_version
    response = client.post(f"/admin/users/{user.id}/reset-password")
    assert response.status_code == 200 and b"shown only once" in response.data
    db.session.refresh(user)
    assert user.session_version == version + 1


def test_the_office_whose_cases_a_user_works_is_the_same_in_a_query(db, make_user):
    users = [make_user(role) for role in ROLES]
    users += [make_user("auditor", office="eoa"), make_user("admin", office="umpd")]
    query = select(User.id, User.case_office).where(User.id.in_([user.id for user in users]))
    in_query = dict(db.session.execute(query).all())
    assert in_query == {user.id: user.case_office for user in users}
    assert {user.case_office for user in users} == {"eoa", "conduct", "umpd", None}


def test_unknown_account_is_not_found(client, login_as):
    login_as("admin")
    assert client.get("/admin/users/999999").status_code == 404


@pytest.mark.parametrize("role", ["intake", "investigator", "conduct_officer", "police_liaison", "auditor"])
def test_other_roles_may_not_administer_accounts(client, login_as, role):
    login_as(role)
    assert client.get("/admin/users").status_code == 403
    assert client.post("/admin/users/new", data={}).status_code == 403
