"""What happens on a case over time: timeline events, staff notes, the reporter thread."""

from datetime import datetime
from typing import Any

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from casework.models.base import Base, JSONType, utcnow
from casework.models.user import User, _in
from casework.vocabulary import NOTE_VISIBILITIES, OFFICES

ACTOR_KINDS = ("user", "reporter", "system")


class CaseEvent(Base):
    """One line of a case's timeline: a transition, assignment, note, message or upload."""

    __tablename__ = "case_events"
    __table_args__ = (
        CheckConstraint(_in("actor_kind", ACTOR_KINDS), name="actor_kind_known"),
        Index("ix_case_events_case_created", "case_id", "created_at", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(32))
    trigger: Mapped[str | None] = mapped_column(String(64))
    from_state: Mapped[str | None] = mapped_column(String(32))
    to_state: Mapped[str | None] = mapped_column(String(32))
    actor_kind: Mapped[str] = mapped_column(String(16), default="user")
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    reason: Mapped[str | None] = mapped_column(Text)
    data: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    actor: Mapped[User | None] = relationship()


class Note(Base):
    """A staff note: internal to the author's office, or shared with every office on the case."""

    __tablename__ = "notes"
    __table_args__ = (
        CheckConstraint(_in("visibility", NOTE_VISIBILITIES), name="visibility_known"),
        CheckConstraint(_in("office", OFFICES), name="office_known"),
        Index("ix_notes_case_created", "case_id", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"))
    author_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    office: Mapped[str] = mapped_column(String(16))
    visibility: Mapped[str] = mapped_column(String(16), default="office")
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    author: Mapped[User] = relationship()


class Message(Base):
    """The thread between the reporter and the office, through the follow-up portal."""

    __tablename__ = "messages"
    __table_args__ = (
        CheckConstraint("direction IN ('from_reporter', 'to_reporter')", name="direction_known"),
        Index("ix_messages_case_created", "case_id", "created_at"),
        Index("ix_messages_unread", "direction", "read_at", "case_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"))
    direction: Mapped[str] = mapped_column(String(16))
    author_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # For a reporter's message: when staff first read it. For a staff message: when the reporter did.
    read_at: Mapped[datetime | None]

    author: Mapped[User | None] = relationship()
