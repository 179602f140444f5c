"""`flask` commands: accounts, the demo data set, case deadlines, workflows, the audit trail, retention,
notifications."""

import time
from pathlib import Path

import click
from flask import Flask, current_app
from sqlalchemy import func, select

from casework.extensions import db


def register(app: Flask) -> None:
    app.cli.add_command(users)
    app.cli.add_command(demo)
    app.cli.add_command(cases)
    app.cli.add_command(workflow)
    app.cli.add_command(retention)
    app.cli.add_command(notify)
    app.cli.add_command(audit_group)
    app.cli.add_command(search)
    app.cli.add_command(dashboard)


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


@click.group(help="Case work: deadlines.")
def cases() -> None:
    pass


@cases.command("overdue")
def cases_overdue() -> None:
    """Print every overdue case (reference, state, office, due date, days overdue) for a daily job."""
    from casework.cases.queries import overdue_cases
    from casework.clock import local_today
    from casework.flows import workflow_for

    today = local_today()
    rows = overdue_cases(today)
    if not rows:
        click.echo(f"No overdue cases on {today.isoformat()}.")
        return
    click.echo(f"{'reference':<15} {'state':<28} {'office':<8} {'due':<10} days overdue")
    for case in rows:
        state = workflow_for(case).state_label(case.status)
        days = (today - case.due_on).days
        click.echo(f"{case.reference:<15} {state:<28} {case.office:<8} {case.due_on.isoformat():<10} {days:>12}")
    click.echo(f"{len(rows):,} overdue case{'' if len(rows) == 1 else 's'} on {today.isoformat()}.")


@click.group(help="Workflow definitions.")
def workflow() -> None:
    pass


@workflow.command("graph")
@click.option("--name", default=None, help="Workflow name (default: the default workflow).")
@click.option("--version", "version", type=int, default=None, help="Version (default: the latest).")
def workflow_graph(name: str | None, version: int | None) -> None:
    """Print a workflow as a Mermaid state diagram (the README shows the default one)."""
    from casework.flows import registry
    from workflows import WorkflowError

    try:
        if name is None and version is None:
            definition = registry().default()
        elif version is None:
            definition = registry().latest(name)
        else:
            definition = registry().get(name or registry().default().name, version)
    except WorkflowError as error:
        raise click.ClickException(str(error)) from error
    click.echo(definition.mermaid(), nl=False)


@click.group(help="Retention: purge the personal data of expired cases; legal holds.")
def retention() -> None:
    pass


@retention.command("purge")
@click.option("--dry-run", is_flag=True, help="List the cases that would be purged and what they hold; change nothing.")
def retention_purge(dry_run: bool) -> None:
    """Remove personal data and evidence of closed cases past their retention period (not on legal hold)."""
    from casework import retention as service
    from casework.models import Case

    try:
        policy = service.current_policy()
    except service.ConfigurationError as error:
        raise click.ClickException(str(error)) from error
    ids = list(db.session.scalars(service.expired_cases(policy=policy).with_only_columns(Case.id)))
    if dry_run:
        for case_id in ids:
            case = db.session.get(Case, case_id)
            counts = service.purge_counts(case)
            click.echo(
                f"{case.reference}  parties={counts.parties} notes={counts.notes} messages={counts.messages}"
                f" evidence={counts.evidence} files={counts.files}"
            )
        click.echo(f"{len(ids)} case(s) would be purged (dry run: nothing changed).")
        return
    files = 0
    for case_id in ids:
        case = db.session.get(Case, case_id)
        keys = service.purge_case(case, "system")
        db.session.commit()  # one case per transaction: a failure leaves every case whole or purged
        files += service.delete_stored_files(keys)
        click.echo(f"Purged {case.reference}.")
    click.echo(f"{len(ids)} case(s) purged; {files} evidence file(s) deleted.")


@retention.command("sweep-files")
@click.option("--dry-run", is_flag=True, help="Count the files that would be deleted; change nothing.")
def retention_sweep_files(dry_run: bool) -> None:
    """Delete stored evidence files that no case names any more (left by an interrupted purge or upload)."""
    from casework import retention as service

    keys = service.unreferenced_files()
    if dry_run:
        click.echo(f"{len(keys)} stored file(s) are named by no evidence (dry run: nothing deleted).")
        return
    service.record_sweep(keys)
    db.session.commit()
    removed = service.delete_stored_files(keys)
    click.echo(f"{removed} stored file(s) named by no evidence deleted.")


@retention.command("hold")
@click.argument("reference")
@click.option("--on/--off", "on", required=True, help="Put the case on legal hold, or release it.")
def retention_hold(reference: str, on: bool) -> None:
    """Put a case on legal hold (it is never purged) or release it."""
    from casework import retention as service
    from casework.models import Case

    case = db.session.scalar(select(Case).where(Case.reference == reference.strip().upper()))
    if case is None:
        raise click.ClickException(f"No case {reference}.")
    try:
        changed = service.set_legal_hold("system", case, on)
    except service.RetentionError as error:
        raise click.ClickException(str(error)) from error
    db.session.commit()
    state = "on legal hold" if on else "not on legal hold"
    click.echo(f"{case.reference} is {state}." if changed else f"{case.reference} was already {state}.")


@click.group(help="Email notifications (sent only when CASEWORK_NOTIFY=1).")
def notify() -> None:
    pass


@notify.command("deadlines")
@click.option("--days", type=click.IntRange(min=0), help="Warn about deadlines within this many days.")
def notify_deadlines(days: int | None) -> None:
    """Email the people responsible for open cases whose deadline is near (run daily from cron)."""
    from casework import notify as service

    cases = service.cases_with_deadline_approaching(days)
    sent = service.notify_deadline_approaching(cases)
    db.session.commit()  # notifications go out after the commit
    if not current_app.config["NOTIFY"]:
        click.echo(f"{len(cases)} case(s) with a deadline approaching; notifications are off (CASEWORK_NOTIFY).")
    else:
        click.echo(f"{len(cases)} case(s) with a deadline approaching; {sent} message(s) queued.")


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


@click.group(help="The dashboard's figures.")
def dashboard() -> None:
    pass


@dashboard.command("recount")
def dashboard_recount() -> None:
    """Rebuild the tallies behind the dashboard's open counts, platforms and behaviours from the cases (the
    triggers keep them)."""
    from casework.reports.tallies import recount

    started = time.perf_counter()
    cases, reports = recount()
    db.session.commit()
    click.echo(
        f"Counted the cases into {cases:,} tallies and their platforms and behaviours into {reports:,} weekly "
        f"tallies in {time.perf_counter() - started:.1f} s."
    )
