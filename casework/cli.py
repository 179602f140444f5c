"""`flask` commands: accounts, the demo data set."""

import time

import click
from flask import Flask, current_app
from sqlalchemy import func, select

from casework.extensions import db


def register(app: Flask) -> None:
    app.cli.add_command(users)
    app.cli.add_command(demo)
    app.cli.add_command(search)


@click.group(help="Manage staff accounts.")
def users() -> None:
    pass


@users.command("create")
@click.option("--email", required=True)
@click.option("--name", "display_name", help="Display name (defaults to the part of the email before @).")
@click.option(
    "--role",
    required=True,
    type=click.Choice(["admin", "intake", "investigator", "conduct_officer", "police_liaison", "auditor"]),
)
@click.option("--office", type=click.Choice(["eoa", "conduct", "umpd"]))
@click.option("--generate-password", is_flag=True, help="Print a generated password instead of prompting.")
def create_user(email: str, display_name: str | None, role: str, office: str | None, generate_password: bool) -> None:
    """Create a staff account, prompting for its password or printing a generated one."""
    from casework.auth import service

    password = None
    if not generate_password:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True, default="", show_default=False)
        password = password or None
    try:
        user, generated = service.create_user(
            "system",
            email=email,
            display_name=display_name or email.split("@")[0],
            role=role,
            office=office,
            password=password,
        )
    except service.AccountError as error:
        raise click.ClickException(str(error)) from error
    db.session.commit()
    click.echo(f"Created {user.email} ({user.role_label}).")
    if generated:
        click.echo(f"Password (shown once): {generated}")


@click.command(help="Seed a realistic demo: one account per role and --cases cases.")
@click.option("--cases", "count", default=200, show_default=True, type=click.IntRange(min=0))
@click.option("--if-empty", is_flag=True, help="Do nothing when the database already holds cases.")
def demo(count: int, if_empty: bool) -> None:
    from casework.demo import iter_demo_accounts, seed_demo
    from casework.models import Case

    if not current_app.config["DEMO_ALLOWED"]:
        raise click.ClickException("The demo data set is refused under the production configuration.")
    if if_empty and db.session.scalar(select(func.count()).select_from(Case)):
        click.echo("The database already holds cases; no demo data added.")
        return
    started = time.perf_counter()
    made = seed_demo(count)
    db.session.commit()
    click.echo(f"Seeded {made:,} demo cases in {time.perf_counter() - started:.1f} s.")
    click.echo("Demo accounts (demo passwords; never use the demo in production):")
    for role, email, password in iter_demo_accounts():
        click.echo(f"  {role:<16} {email:<36} {password}")


@click.group(help="The full-text search index.")
def search() -> None:
    pass


@search.command("reindex")
def search_reindex() -> None:
    """Rebuild the whole full-text search index from the cases, parties and notes."""
    from casework.search import reindex_all

    started = time.perf_counter()
    count = reindex_all()
    db.session.commit()
    click.echo(f"Indexed {count:,} cases in {time.perf_counter() - started:.1f} s.")
