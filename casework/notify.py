"""Optional email notifications: off unless CASEWORK_NOTIFY=1.

A message says that something happened and where to look: a link (from CASEWORK_BASE_URL) and the
case reference. It never carries a name, a contact detail or any part of a narrative; staff sign in
to read the case. Messages are queued on the database session and sent only once the transaction
commits, so a change that is rolled back sends nothing (side effects after the one commit).

Call points (after the change, in the same request; the route's commit sends them):
- `notify_new_report(case)`          — a report was received (public form or recorded by staff);
- `notify_referral(case, office)`    — a case was referred to an office;
- `notify_deadline_approaching(cases)` — `flask notify deadlines`, daily from cron.
"""

from __future__ import annotations

import logging
import smtplib
import ssl
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from email.message import EmailMessage
from urllib.parse import quote

from flask import current_app, has_app_context
from sqlalchemy import event, or_, select
from sqlalchemy.orm import Session

from casework.clock import local_today
from casework.extensions import db
from casework.models import Case, User
from casework.vocabulary import OFFICES, ROLE_OFFICE

log = logging.getLogger(__name__)

OUTBOX = "casework_outbox"
FOOTER = (
    "\n\nThis message holds no details of the case: sign in to Casework to read it.\n"
    "You receive it because of your role in Casework.\n"
)


@dataclass(frozen=True)
class Notification:
    recipient: str
    subject: str
    body: str


def enabled() -> bool:
    return bool(current_app.config.get("NOTIFY"))


def case_link(reference: str) -> str:
    """The link to a case page, built from CASEWORK_BASE_URL (never from the request)."""
    return f"{current_app.config['BASE_URL'].rstrip('/')}/cases/{quote(reference)}"


def office_recipients(office: str) -> list[str]:
    """Emails of the active staff who work the office's cases."""
    roles = [role for role, home in ROLE_OFFICE.items() if home == office]
    query = (
        select(User.email)
        .where(User.active.is_(True), User.role.in_(roles), or_(User.office == office, User.office.is_(None)))
        .order_by(User.id)
    )
    return list(db.session.scalars(query))


def _queue(messages: Iterable[Notification]) -> int:
    if not enabled():
        return 0
    messages = list(messages)
    db.session.info.setdefault(OUTBOX, []).extend(messages)
    return len(messages)


def notify_new_report(case: Case) -> int:
    """Tell the office that received it that a new report arrived; returns the number of messages queued."""
    subject = f"[Casework] New report {case.reference}"
    body = f"A new report has been received.\n\nReference: {case.reference}\nOpen the case: {case_link(case.reference)}"
    return _queue(Notification(to, subject, body + FOOTER) for to in office_recipients(case.office))


def notify_referral(case: Case, office: str) -> int:
    """Tell an office a case was referred to it; returns the number of messages queued."""
    subject = f"[Casework] Case {case.reference} referred to {OFFICES.get(office, office)}"
    body = (
        f"A case has been referred to {OFFICES.get(office, office)}.\n\n"
        f"Reference: {case.reference}\nOpen the case: {case_link(case.reference)}"
    )
    return _queue(Notification(to, subject, body + FOOTER) for to in office_recipients(office))


def notify_deadline_approaching(cases: Sequence[Case]) -> int:
    """One message per person responsible (the assignee, or else the case's office) listing cases due soon."""
    due: dict[str, list[Case]] = defaultdict(list)
    for case in cases:
        assignee = case.assignee
        recipients = [assignee.email] if assignee is not None and assignee.active else office_recipients(case.office)
        for email in recipients:
            due[email].append(case)
    messages = []
    for email, their_cases in due.items():
        lines = [
            f"- {case.reference}, due {case.due_on.isoformat() if case.due_on else 'soon'}: {case_link(case.reference)}"
            for case in sorted(their_cases, key=lambda c: (c.due_on or date.max, c.reference))
        ]
        subject = f"[Casework] {len(their_cases)} case deadline(s) approaching"
        body = "These cases have a deadline today, soon, or already past:\n\n" + "\n".join(lines)
        messages.append(Notification(email, subject, body + FOOTER))
    return _queue(messages)


def cases_with_deadline_approaching(days: int | None = None) -> list[Case]:
    """Open cases whose deadline is within `days` (NOTIFY_DEADLINE_DAYS by default) or already past.

    A system job, not a staff read: it lists references and due dates only.
    """
    days = current_app.config["NOTIFY_DEADLINE_DAYS"] if days is None else days
    horizon = local_today() + timedelta(days=days)
    query = (
        select(Case)
        .where(Case.closed_at.is_(None), Case.purged_at.is_(None), Case.due_on.is_not(None), Case.due_on <= horizon)
        .order_by(Case.due_on, Case.id)
    )
    return list(db.session.scalars(query))


def _message(notification: Notification, sender: str) -> EmailMessage:
    message = EmailMessage()
    message["From"] = sender
    message["To"] = notification.recipient
    message["Subject"] = notification.subject
    message.set_content(notification.body)
    return message


def send(notifications: Sequence[Notification]) -> int:
    """Send messages through the configured SMTP server; returns how many were accepted.

    A failure is logged without recipients or content and never breaks the request that caused it.
    """
    if not notifications:
        return 0
    config = current_app.config
    security = (config.get("SMTP_SECURITY") or "starttls").lower()
    host, port, timeout = config["SMTP_HOST"], config["SMTP_PORT"], config["SMTP_TIMEOUT"]
    sent = 0
    try:
        if security == "ssl":
            smtp = smtplib.SMTP_SSL(host, port, timeout=timeout, context=ssl.create_default_context())
        else:
            smtp = smtplib.SMTP(host, port, timeout=timeout)
        with smtp:
            if security == "starttls":
                smtp.starttls(context=ssl.create_default_context())
            if config.get("SMTP_USER"):
                smtp.login(config["SMTP_USER"], config.get("SMTP_PASSWORD") or "")
            for notification in notifications:
                try:
                    smtp.send_message(_message(notification, config["SMTP_FROM"]))
                    sent += 1
                except smtplib.SMTPException as error:
                    log.error("notify: a message was refused (%s)", type(error).__name__)
    except (OSError, smtplib.SMTPException) as error:
        log.error("notify: could not send %d message(s) (%s)", len(notifications) - sent, type(error).__name__)
    return sent


@event.listens_for(Session, "after_commit")
def _send_after_commit(session: Session) -> None:
    outbox = session.info.pop(OUTBOX, None)
    if outbox and has_app_context():
        send(outbox)


@event.listens_for(Session, "after_rollback")
def _discard_after_rollback(session: Session) -> None:
    session.info.pop(OUTBOX, None)
