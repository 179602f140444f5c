"""Staff accounts."""

from datetime import datetime

from flask_login import UserMixin
from sqlalchemy import CheckConstraint, ForeignKey, Index, String, case, func
from sqlalchemy.ext.hybrid import hybrid_property
from sqlalchemy.orm import Mapped, mapped_column, relationship

from casework.models.base import Base, utcnow
from casework.vocabulary import OFFICES, ROLE_OFFICE, ROLES


def _in(column: str, values) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


class User(UserMixin, Base):
    __tablename__ = "users"
    __table_args__ = (
        CheckConstraint(_in("role", ROLES), name="role_known"),
        CheckConstraint(f"office IS NULL OR {_in('office', OFFICES)}", name="office_known"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    display_name: Mapped[str] = mapped_column(String(120))
    role: Mapped[str] = mapped_column(String(32))
    office: Mapped[str | None] = mapped_column(String(16))
    active: Mapped[bool] = mapped_column(default=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    failed_logins: Mapped[int] = mapped_column(default=0)
    locked_until: Mapped[datetime | None]
    session_version: Mapped[int] = mapped_column(default=1)
    # The second factor: a secret is stored when enrolment starts and counts once confirmed (enabled_at set).
    totp_secret: Mapped[str | None] = mapped_column(String(64))
    totp_enabled_at: Mapped[datetime | None]
    totp_last_step: Mapped[int | None]  # the last accepted time step: a code works once
    created_at: Mapped[datetime] = mapped_column(default=utcnow, server_default=func.current_timestamp())
    last_login_at: Mapped[datetime | None]
    password_changed_at: Mapped[datetime | None]

    recovery_codes: Mapped[list["RecoveryCode"]] = relationship(
        back_populates="user", cascade="all, delete-orphan", order_by="RecoveryCode.id"
    )

    @property
    def is_active(self) -> bool:  # Flask-Login refuses inactive users
        return self.active

    def get_id(self) -> str:
        # The session version travels with the id: bumping it ends every session at once.
        return f"{self.id}:{self.session_version}"

    @property
    def role_label(self) -> str:
        return ROLES.get(self.role, self.role)

    @hybrid_property
    def case_office(self) -> str | None:
        """The office whose cases this user works, if any (in a query: the same, worked out by the database)."""
        return self.office or ROLE_OFFICE.get(self.role)

    @case_office.inplace.expression
    @classmethod
    def _case_office_expression(cls):
        return func.coalesce(cls.office, case(ROLE_OFFICE, value=cls.role))

    def has_role(self, *roles: str) -> bool:
        return self.role in roles

    @property
    def second_factor_enabled(self) -> bool:
        return self.totp_enabled_at is not None and self.totp_secret is not None

    def __repr__(self) -> str:
        return f"<User {self.id} {self.role}>"


class RecoveryCode(Base):
    """A one-time recovery code for the second factor, stored as a SHA-256 hash."""

    __tablename__ = "recovery_codes"
    __table_args__ = (Index("ix_recovery_codes_user_hash", "user_id", "code_hash", unique=True),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    code_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    used_at: Mapped[datetime | None]

    user: Mapped[User] = relationship(back_populates="recovery_codes")
