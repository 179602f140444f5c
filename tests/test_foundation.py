"""Configuration, commands, and the home page each role sees."""

import pytest
from sqlalchemy import func, select

from casework.models import AuditEntry, Case, User
from config import ConfigurationError, ProductionConfig


def test_production_refuses_to_start_without_a_secret_key(monkeypatch):
    monkeypatch.delenv("CASEWORK_SECRET_KEY", raising=False)
    monkeypatch.setattr(ProductionConfig, "SECRET_KEY", None)
    with pytest.raises(ConfigurationError, match="CASEWORK_SECRET_KEY"):
        ProductionConfig.init()


def test_development_keeps_a_generated_secret_key_in_instance(tmp_path, monkeypatch):
    import config

    monkeypatch.setattr(config, "INSTANCE_DIR", tmp_path)
    first = config.instance_secret_key()
    assert first == config.instance_secret_key() and len(first) > 40
    assert (tmp_path / "secret_key").stat().st_mode & 0o077 == 0


def test_users_create_prints_a_generated_password(runner, db):
    result = runner.invoke(
        args=["users", "create", "--email", "Lead@casework.example.edu", "--role", "auditor", "--generate-password"]
    )
    assert result.exit_code == 0, result.output
    assert "Password (shown once):" in result.output
    user = db.session.scalar(select(User).where(User.email == "lead@casework.example.edu"))
    assert user.role == "auditor"


def test_users_create_refuses_a_weak_prompted_password(runner, db):
    result = runner.invoke(
        args=["users", "create", "--email", "w@casework.example.edu", "--role", "intake"],
        input="password1234\npassword1234\n",
    )
    assert result.exit_code != 0 and "too common" in result.output


def test_demo_seeds_accounts_and_cases_and_prints_how_to_sign_in(runner, db):
    result = runner.invoke(args=["demo", "--cases", "40"])
    assert result.exit_code == 0, result.output
    assert "intake@demo.example.edu" in result.output
    assert db.session.scalar(select(func.count()).select_from(Case)) >= 40
    roles = set(db.session.scalars(select(User.role)))
    assert roles >= {"admin", "intake", "investigator", "conduct_officer", "police_liaison", "auditor"}
    assert db.session.scalar(select(AuditEntry).where(AuditEntry.action == "demo.seeded")) is not None
    closed = db.session.scalars(select(Case).where(Case.status == "closed")).all()
    assert all(c.closed_at and c.disposition for c in closed)
    for case in db.session.scalars(select(Case)):  # the first triage is kept on the case, as the timeline has it
        triaged = [e.created_at for e in case.events if e.to_state == "triaged"]
        assert case.triaged_at == (min(triaged) if triaged else None)


def test_demo_if_empty_adds_nothing_to_a_database_with_cases(runner, db):
    runner.invoke(args=["demo", "--cases", "5"])
    before = db.session.scalar(select(func.count()).select_from(Case))
    result = runner.invoke(args=["demo", "--cases", "5", "--if-empty"])
    assert "no demo data added" in result.output
    assert db.session.scalar(select(func.count()).select_from(Case)) == before


def test_demo_is_refused_under_production(app, runner):
    app.config["DEMO_ALLOWED"] = False
    try:
        result = runner.invoke(args=["demo", "--cases", "1"])
    finally:
        app.config["DEMO_ALLOWED"] = True
    assert result.exit_code != 0 and "refused under the production" in result.output


@pytest.mark.parametrize(
    ("role", "expected", "absent"),
    [
        ("admin", "Running the system", "Open your queues"),
        ("auditor", "You change nothing", "Running the system"),
        ("intake", "New reports to triage", "Running the system"),
        ("investigator", "EOA cases", "Running the system"),
        ("conduct_officer", "Cases referred to Student Conduct", "Running the system"),
        ("police_liaison", "Cases referred to the campus police", "Running the system"),
    ],
)
def test_each_role_sees_a_home_page_fitted_to_it(client, login_as, role, expected, absent):
    login_as(role)
    page = client.get("/").get_data(as_text=True)
    assert expected in page and absent not in page


def test_administrator_navigation_shows_accounts_and_case_workers_do_not_see_it(client, login_as, app):
    login_as("admin")
    assert 'href="/admin/users"' in client.get("/").get_data(as_text=True)
    other = app.test_client()
    from tests.conftest import TEST_PASSWORD
    from tests.factories import UserFactory

    user = UserFactory(role="intake")
    other.post("/login", data={"email": user.email, "password": TEST_PASSWORD})
    assert 'href="/admin/users"' not in other.get("/").get_data(as_text=True)


def test_unknown_page_is_a_friendly_404(client):
    response = client.get("/no/such/page")
    assert response.status_code == 404 and b"Page not found" in response.data


def test_a_worker_compiles_every_page_template_before_serving(app, client, login_as):
    from casework.templating import compile_templates

    names = compile_templates(app)
    assert {"base.html", "cases/case.html", "reports/dashboard.html", "errors/error.html"} <= set(names)
    assert not [name for name in names if name.startswith("pdf/")]  # the PDF renderer has its own environment
    compiled = {key[1] for key in app.jinja_env.cache}
    assert set(names) <= compiled
    login_as("intake")
    assert client.get("/cases/").status_code == 200  # served from the compiled templates
