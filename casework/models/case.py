"""The case aggregate: a report and everything the offices record about it."""

from __future__ import annotations

from datetime import date, datetime
from typing import TYPE_CHECKING

from sqlalchemy import (
    CheckConstraint,
    ForeignKey,
    Index,
    String,
    Text,
    UniqueConstraint,
    false,
    func,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from casework.models.base import Base, utcnow
from casework.models.user import User, _in
from casework.vocabulary import CHANNELS, OFFICES, PARTY_KINDS

if TYPE_CHECKING:
    from casework.models.evidence import Evidence
    from casework.models.timeline import CaseEvent, Message, Note

REFERENCE_PREFIX = "OH"


def format_reference(year: int, number: int) -> str:
    """A case's public reference, e.g. OH-2026-00042."""
    return f"{REFERENCE_PREFIX}-{year}-{number:05d}"


# The offices that see only the cases ever referred to them (Case.refer), and the flags saying so.
REFERRAL_OFFICES = ("conduct", "umpd")
REFERRAL_FLAGS = tuple(f"referred_{office}" for office in REFERRAL_OFFICES)
# What access.visibility_clause reads of a case (besides its id and, for Conduct and UMPD, a referral flag),
# so an index holding them answers the dashboard's counts without visiting the table.
VISIBILITY_COLUMNS = ("restricted", "assignee_id", "office", "status")
# What an EOA investigator sees, restrictions aside (access._role_scope; a test holds the two together).
INVESTIGATOR_SCOPE = "office = 'eoa' OR status IN ('received', 'triaged')"
# The columns of the queues' capped counts and of the dashboard's pass over open cases.
QUEUE_COLUMNS = ("status", "office", "due_on", "id", "restricted", "assignee_id", "acknowledged_at")
REFERRAL_CREATED_COLUMNS = ("created_at", "id", "status", "office", "restricted", "assignee_id")
REFERRAL_STATE_CREATED_COLUMNS = ("status", "created_at", "id")


class Case(Base):
    __tablename__ = "cases"
    __table_args__ = (
        CheckConstraint(
            "(status = 'closed' AND closed_at IS NOT NULL AND disposition IS NOT NULL)"
            " OR (status <> 'closed' AND closed_at IS NULL AND disposition IS NULL)",
            name="closed_has_date_and_disposition",
        ),
        CheckConstraint(
            "NOT anonymous OR (reporter_name IS NULL AND reporter_email IS NULL AND reporter_phone IS NULL)",
            name="anonymous_has_no_contact",
        ),
        CheckConstraint(_in("office", OFFICES), name="office_known"),
        CheckConstraint(_in("channel", CHANNELS), name="channel_known"),
        # With the referral flags, a state's newest cases that Conduct or UMPD see are found without visiting
        # the others (a police liaison's "New reports" walks every new report and finds none).
        Index("ix_cases_status_created", "status", "created_at", "id", *REFERRAL_FLAGS),
        Index("ix_cases_office_status_created", "office", "status", "created_at", "id"),
        Index("ix_cases_assignee_status", "assignee_id", "status"),
        # Newest first for every list; the visibility columns make the dashboard's weekly counts index-only.
        Index("ix_cases_created", "created_at", "id", *VISIBILITY_COLUMNS),
        # One per filter and sort of the case list (reports.case_list), newest first within each.
        Index("ix_cases_due", "due_on", "id"),
        # Due-date order within a state or an assignee: the filters that can match few cases with a deadline.
        Index("ix_cases_status_due", "status", "due_on", "id"),
        Index("ix_cases_assignee_due", "assignee_id", "due_on", "id"),
        Index("ix_cases_assignee_created", "assignee_id", "created_at", "id"),
        Index("ix_cases_risk_created", "risk_level", "created_at", "id"),
        Index("ix_cases_urgent_created", "urgent", "created_at", "id"),
        Index("ix_cases_disposition_created", "disposition", "created_at", "id"),
        # Covers the dashboard's pass over open cases (counts, overdue, awaiting acknowledgement) without
        # reading the table, and the capped counts of the queues; and the due-date order within a state and office.
        Index("ix_cases_status_office_due", *QUEUE_COLUMNS),
        # The same for the cases of each office that sees only those referred to it: a conduct officer's or
        # police liaison's queue tabs count among them alone, however few of all cases they are.
        *(
            Index(
                f"ix_cases_{office}_status_office_due",
                *QUEUE_COLUMNS,
                sqlite_where=text(f"referred_{office} = 1"),
                postgresql_where=text(f"referred_{office}"),
            )
            for office in REFERRAL_OFFICES
        ),
        # And their newest first, for a tab or list of them in that order (the office's open cases among its
        # quarter of all cases, not sorted from a state's index).
        *(
            Index(
                f"ix_cases_{office}_created",
                *REFERRAL_CREATED_COLUMNS,
                sqlite_where=text(f"referred_{office} = 1"),
                postgresql_where=text(f"referred_{office}"),
            )
            for office in REFERRAL_OFFICES
        ),
        # And one state's newest first among them (the New tab, a list of one state): SQLite looked for the
        # office's received cases among all received cases (10 ms on a million cases; migration 0015).
        *(
            Index(
                f"ix_cases_{office}_status_created",
                *REFERRAL_STATE_CREATED_COLUMNS,
                sqlite_where=text(f"referred_{office} = 1"),
                postgresql_where=text(f"referred_{office}"),
            )
            for office in REFERRAL_OFFICES
        ),
        # And for an EOA investigator's cases (a third of all): the tabs are counted among them (their values
        # written in, cases.queries._counts_sql), not by walking the other offices' cases too.
        Index(
            "ix_cases_investigator_status_office_due",
            *QUEUE_COLUMNS,
            sqlite_where=text(INVESTIGATOR_SCOPE),
            postgresql_where=text(INVESTIGATOR_SCOPE),
        ),
        # Whether a user has a restricted case assigned (access.sees_as_role, on every dashboard view): restricted
        # cases are few, while a case worker may be assigned tens of thousands.
        Index(
            "ix_cases_restricted_assignee",
            "assignee_id",
            sqlite_where=text("restricted = 1"),
            postgresql_where=text("restricted"),
        ),
        # The dashboard's times to triage and to close, read from the index alone.
        Index("ix_cases_triaged", "triaged_at", "created_at", *VISIBILITY_COLUMNS, "id", *REFERRAL_FLAGS),
        Index("ix_cases_closed", "closed_at", "created_at", *VISIBILITY_COLUMNS, "id", *REFERRAL_FLAGS),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    reference: Mapped[str] = mapped_column(String(20), unique=True)
    workflow_name: Mapped[str] = mapped_column(String(64))
    workflow_version: Mapped[int]
    status: Mapped[str] = mapped_column(String(32))
    office: Mapped[str] = mapped_column(String(16), default="eoa")
    assignee_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    risk_level: Mapped[str | None] = mapped_column(String(16))
    urgent: Mapped[bool] = mapped_column(default=False)
    in_danger: Mapped[bool] = mapped_column(default=False)

    # The reporter. Anonymous reports carry no contact at all (CHECK above).
    anonymous: Mapped[bool] = mapped_column(default=True)
    reporter_name: Mapped[str | None] = mapped_column(String(200))
    reporter_email: Mapped[str | None] = mapped_column(String(254))
    reporter_phone: Mapped[str | None] = mapped_column(String(40))
    reporter_affiliation: Mapped[str | None] = mapped_column(String(16))
    reporter_contact_preference: Mapped[str | None] = mapped_column(String(16))
    consent_share_identity: Mapped[bool] = mapped_column(default=False)

    # The incident, in the reporter's words.
    narrative: Mapped[str] = mapped_column(Text)
    began_on: Mapped[date | None]
    began_approximate: Mapped[bool] = mapped_column(default=False)
    ongoing: Mapped[bool | None]
    connected_to_content: Mapped[bool] = mapped_column(default=False)
    connection_details: Mapped[str | None] = mapped_column(Text)
    channel: Mapped[str] = mapped_column(String(16), default="web")

    # Workflow bookkeeping.
    due_on: Mapped[date | None]
    deadline_label: Mapped[str | None] = mapped_column(String(32))
    acknowledged_at: Mapped[datetime | None]
    disposition: Mapped[str | None] = mapped_column(String(32))
    closing_summary: Mapped[str | None] = mapped_column(Text)
    restricted: Mapped[bool] = mapped_column(default=False)
    legal_hold: Mapped[bool] = mapped_column(default=False)
    # Ever referred to Conduct / to UMPD: set with the referral (refer), never cleared. Those offices see the
    # cases they were ever referred (access), read from the case row itself, not looked up in its referrals.
    referred_conduct: Mapped[bool] = mapped_column(default=False, server_default=false())
    referred_umpd: Mapped[bool] = mapped_column(default=False, server_default=false())

    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    triaged_at: Mapped[datetime | None]  # when the case was first triaged (kept for the dashboard's timings)
    closed_at: Mapped[datetime | None]
    purged_at: Mapped[datetime | None]
    version: Mapped[int] = mapped_column(default=1)

    __mapper_args__ = {"version_id_col": version}

    assignee: Mapped[User | None] = relationship(foreign_keys=[assignee_id])
    parties: Mapped[list[Party]] = relationship(back_populates="case", order_by="Party.id")
    platforms: Mapped[list[CasePlatform]] = relationship(order_by="CasePlatform.id")
    behaviours: Mapped[list[CaseBehaviour]] = relationship(order_by="CaseBehaviour.id")
    referrals: Mapped[list[Referral]] = relationship(order_by="Referral.id")
    evidence: Mapped[list[Evidence]] = relationship(order_by="Evidence.id")
    events: Mapped[list[CaseEvent]] = relationship(order_by="CaseEvent.id")
    notes: Mapped[list[Note]] = relationship(order_by="Note.id")
    messages: Mapped[list[Message]] = relationship(order_by="Message.id")

    @property
    def is_closed(self) -> bool:
        return self.closed_at is not None

    def refer(self, referral: Referral) -> None:
        """Send the case to the referral's office, which may see it from now on."""
        self.referrals.append(referral)
        if referral.office in REFERRAL_OFFICES:
            setattr(self, f"referred_{referral.office}", True)

    def __repr__(self) -> str:
        return f"<Case {self.reference} {self.status}>"


class Party(Base):
    """A respondent or witness named in a report."""

    __tablename__ = "parties"
    __table_args__ = (
        CheckConstraint(_in("kind", PARTY_KINDS), name="kind_known"),
        Index("ix_parties_handle_match", "handle_normalized", "platform", "kind", "case_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    name: Mapped[str | None] = mapped_column(String(200))
    handle: Mapped[str | None] = mapped_column(String(200))
    handle_normalized: Mapped[str | None] = mapped_column(String(200))
    platform: Mapped[str | None] = mapped_column(String(32))
    affiliation: Mapped[str | None] = mapped_column(String(16))
    relationship_to_reporter: Mapped[str | None] = mapped_column(String(200))

    case: Mapped[Case] = relationship(back_populates="parties")


class CasePlatform(Base):
    __tablename__ = "case_platforms"
    __table_args__ = (
        UniqueConstraint("case_id", "platform"),
        Index("ix_case_platforms_platform_case", "platform", "case_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"))
    platform: Mapped[str] = mapped_column(String(32))
    other_text: Mapped[str | None] = mapped_column(String(200))


class CaseBehaviour(Base):
    __tablename__ = "case_behaviours"
    __table_args__ = (
        UniqueConstraint("case_id", "behaviour"),
        Index("ix_case_behaviours_behaviour_case", "behaviour", "case_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"))
    behaviour: Mapped[str] = mapped_column(String(32))
    other_text: Mapped[str | None] = mapped_column(String(200))


class Referral(Base):
    """A case sent to an office. A case stays visible to an office it was ever referred to."""

    __tablename__ = "referrals"
    __table_args__ = (
        CheckConstraint(_in("office", OFFICES), name="office_known"),
        Index("ix_referrals_office_case", "office", "case_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    office: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str] = mapped_column(Text)
    referred_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    referred_at: Mapped[datetime] = mapped_column(default=utcnow)
    acknowledged_at: Mapped[datetime | None]
    acknowledged_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    returned_at: Mapped[datetime | None]


class Recusal(Base):
    """A user kept away from a case (conflict of interest)."""

    __tablename__ = "recusals"
    __table_args__ = (UniqueConstraint("case_id", "user_id"), Index("ix_recusals_user_case", "user_id", "case_id"))

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    reason: Mapped[str | None] = mapped_column(Text)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class CaseAccessGrant(Base):
    """A named user who may see a restricted case."""

    __tablename__ = "case_access_grants"
    __table_args__ = (
        UniqueConstraint("case_id", "user_id"),
        Index("ix_case_access_grants_user_case", "user_id", "case_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    granted_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class ReferenceCounter(Base):
    """The last reference number handed out in a year."""

    __tablename__ = "reference_counters"

    year: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    last_number: Mapped[int] = mapped_column(default=0)


class ReporterKey(Base):
    """The argon2 hash of a reporter's follow-up key; the key itself is never stored."""

    __tablename__ = "reporter_keys"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), unique=True)
    key_hash: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(default=utcnow, server_default=func.current_timestamp())
    last_used_at: Mapped[datetime | None]


class CaseTally(Base):
    """How many cases share one combination of what the dashboard's open counts tell apart (reports.tallies):
    kept by SQL triggers on cases and referrals, never written by the application."""

    __tablename__ = "case_tallies"
    __table_args__ = (  # the tally a change left empty, found at once to be deleted (reports.tallies.DROP_EMPTY)
        Index("ix_case_tallies_empty", "status", sqlite_where=text("cases = 0"), postgresql_where=text("cases = 0")),
    )

    status: Mapped[str] = mapped_column(String(32), primary_key=True)
    office: Mapped[str] = mapped_column(String(16), primary_key=True)
    due_on: Mapped[date] = mapped_column(primary_key=True)  # tallies.NO_DEADLINE for a case without a deadline
    restricted: Mapped[bool] = mapped_column(primary_key=True)
    unacknowledged: Mapped[bool] = mapped_column(primary_key=True)
    referred_conduct: Mapped[bool] = mapped_column(primary_key=True)
    referred_umpd: Mapped[bool] = mapped_column(primary_key=True)
    cases: Mapped[int]


class ReportTally(Base):
    """How many platforms (or behaviours) of one value the cases reported in one week name, per combination of
    what decides who sees a case (reports.tallies): the dashboard's platforms and behaviours of the last weeks
    are summed from these. Kept by SQL triggers, never written by the application."""

    __tablename__ = "report_tallies"
    __table_args__ = (  # as for case tallies: the tally a change left empty, found at once to be deleted
        Index("ix_report_tallies_empty", "week", sqlite_where=text("cases = 0"), postgresql_where=text("cases = 0")),
    )

    week: Mapped[date] = mapped_column(primary_key=True)  # the Monday (UTC) of the week the case was reported
    kind: Mapped[str] = mapped_column(String(16), primary_key=True)  # "platform" or "behaviour"
    value: Mapped[str] = mapped_column(String(32), primary_key=True)
    status: Mapped[str] = mapped_column(String(32), primary_key=True)
    office: Mapped[str] = mapped_column(String(16), primary_key=True)
    restricted: Mapped[bool] = mapped_column(primary_key=True)
    referred_conduct: Mapped[bool] = mapped_column(primary_key=True)
    referred_umpd: Mapped[bool] = mapped_column(primary_key=True)
    cases: Mapped[int]
