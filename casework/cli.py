"""`flask` commands: accounts, the demo data set, the audit trail."""

import time
from pathlib import Path

import click
from flask import Flask, current_app
from sqlalchemy import func, select

from casework.extensions import db


def register(app: Flask) -> None:
    app.cli.add_command(users)
    app.cli.add_command(demo)
    app.cli.add_command(audit_group)


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


@click.group("audit", help="Verify the audit trail and sign checkpoints of it.")
def audit_group() -> None:
    pass


@audit_group.command("verify")
@click.option(
    "--checkpoint",
    "checkpoint_file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="A checkpoint printed earlier by `audit checkpoint`: also prove the trail still extends it.",
)
@click.option("--no-record", is_flag=True, help="Do not add an audit entry for this verification (read-only use).")
def audit_verify(checkpoint_file: Path | None, no_record: bool) -> None:
    """Walk the whole chain; exit non-zero naming the first bad entry."""
    from casework import audit
    from casework.auditing import service

    checkpoint = None
    if checkpoint_file is not None:
        try:
            checkpoint = audit.load_checkpoint(checkpoint_file.read_text(), current_app.config["AUDIT_CHECKPOINT_KEY"])
        except (audit.CheckpointError, UnicodeDecodeError) as error:
            raise click.ClickException(str(error)) from error
    started = time.perf_counter()
    outcome = service.run_verification("system", checkpoint=checkpoint, source="cli", record=not no_record)
    elapsed = time.perf_counter() - started
    if not no_record:
        db.session.commit()
    result = outcome.verification
    if checkpoint is not None and result.ok:
        click.echo(f"The trail extends the checkpoint of entry #{checkpoint.seq} taken {checkpoint.taken_at}.")
    for name in outcome.missing_guards:
        click.echo(f"Warning: the append-only trigger {name} is missing or disabled.", err=True)
    if not result.ok:
        raise click.ClickException(result.message)
    if outcome.missing_guards:
        raise click.ClickException("The chain is intact, but the database no longer refuses changes to it.")
    rate = f", {result.checked / elapsed:,.0f} entries/s" if result.checked >= 10_000 and elapsed > 0 else ""
    click.echo(f"{result.message} ({elapsed:.2f} s{rate})")
    click.echo(f"Head: #{result.head_seq} {result.head_hash}")


@audit_group.command("checkpoint")
@click.option(
    "--output",
    type=click.Path(dir_okay=False, writable=True, path_type=Path),
    help="Write the checkpoint to this file (readable by its owner only) instead of printing it.",
)
def audit_checkpoint(output: Path | None) -> None:
    """Print the head of the trail signed with CASEWORK_AUDIT_CHECKPOINT_KEY, to keep outside the system."""
    from casework import audit
    from casework.auditing import service

    try:
        checkpoint = service.take_checkpoint("system", current_app.config["AUDIT_CHECKPOINT_KEY"])
    except audit.CheckpointError as error:
        raise click.ClickException(str(error)) from error
    db.session.commit()
    if output is None:
        click.echo(checkpoint.as_json())
        return
    output.write_text(checkpoint.as_json() + "\n")
    output.chmod(0o600)
    click.echo(f"Checkpoint of entry #{checkpoint.seq} written to {output}.")
