"""Evidence: uploaded files (hashed at upload, the start of the chain of custody) and links."""

from datetime import datetime

from sqlalchemy import BigInteger, CheckConstraint, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from casework.models.base import Base, utcnow


class Evidence(Base):
    __tablename__ = "evidence"
    __table_args__ = (
        CheckConstraint("kind IN ('file', 'link')", name="kind_known"),
        CheckConstraint("source IN ('reporter', 'staff')", name="source_known"),
        CheckConstraint(
            "(kind = 'file' AND sha256 IS NOT NULL AND storage_key IS NOT NULL) OR (kind = 'link' AND url IS NOT NULL)",
            name="file_has_hash_link_has_url",
        ),
        Index("ix_evidence_case_created", "case_id", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(8))
    file_name: Mapped[str | None] = mapped_column(String(255))
    media_type: Mapped[str | None] = mapped_column(String(100))
    size: Mapped[int | None] = mapped_column(BigInteger)
    sha256: Mapped[str | None] = mapped_column(String(64))
    storage_key: Mapped[str | None] = mapped_column(String(128))
    url: Mapped[str | None] = mapped_column(Text)
    description: Mapped[str | None] = mapped_column(Text)
    source: Mapped[str] = mapped_column(String(16), default="reporter")
    uploaded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
