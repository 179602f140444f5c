"""Data builders for each model (factory_boy), writing through the test's session."""

import factory
from factory.alchemy import SQLAlchemyModelFactory

from casework.extensions import db
from casework.models import (
    Case,
    CaseAccessGrant,
    CaseBehaviour,
    CaseEvent,
    CasePlatform,
    Evidence,
    Message,
    Note,
    Party,
    Recusal,
    Referral,
    ReporterKey,
    User,
    format_reference,
)
from casework.normalize import normalize_handle
from casework.vocabulary import ROLE_OFFICE

TEST_PASSWORD = "correct-horse-battery-2026"
_HASHES: dict[str, str] = {}


def _password_hash() -> str:
    from casework.auth.passwords import hash_password

    if "hash" not in _HASHES:
        _HASHES["hash"] = hash_password(TEST_PASSWORD)
    return _HASHES["hash"]


class Base(SQLAlchemyModelFactory):
    class Meta:
        abstract = True
        sqlalchemy_session_factory = lambda: db.session  # noqa: E731
        sqlalchemy_session_persistence = "flush"


class UserFactory(Base):
    class Meta:
        model = User

    email = factory.Sequence(lambda n: f"staff{n}@casework.example.edu")
    display_name = factory.Sequence(lambda n: f"Staff Member {n}")
    role = "intake"
    office = factory.LazyAttribute(lambda o: ROLE_OFFICE.get(o.role))
    password_hash = factory.LazyFunction(_password_hash)


class CaseFactory(Base):
    class Meta:
        model = Case

    reference = factory.Sequence(lambda n: format_reference(2026, 90000 + n))
    workflow_name = "online_harassment"
    workflow_version = 1
    status = "received"
    office = "eoa"
    narrative = "Someone keeps posting my photos on a fake profile and messaging my friends."
    channel = "web"
    anonymous = True


class PartyFactory(Base):
    class Meta:
        model = Party

    case = factory.SubFactory(CaseFactory)
    kind = "respondent"
    name = "Jordan Example"
    handle = "@fake_profile_01"
    handle_normalized = factory.LazyAttribute(lambda o: normalize_handle(o.handle))
    platform = "instagram"
    affiliation = "student"


class CasePlatformFactory(Base):
    class Meta:
        model = CasePlatform

    case_id = factory.LazyAttribute(lambda o: CaseFactory().id)
    platform = "instagram"


class CaseBehaviourFactory(Base):
    class Meta:
        model = CaseBehaviour

    case_id = factory.LazyAttribute(lambda o: CaseFactory().id)
    behaviour = "impersonation"


class ReferralFactory(Base):
    class Meta:
        model = Referral

    case_id = factory.LazyAttribute(lambda o: CaseFactory().id)
    office = "conduct"
    reason = "Respondent is a student."

    @classmethod
    def _create(cls, model_class, *args, **kwargs):
        """Through Case.refer, as the application refers a case (the office may see it from then on)."""
        referral = model_class(*args, **kwargs)
        db.session.get(Case, referral.case_id).refer(referral)
        db.session.flush()
        return referral


class RecusalFactory(Base):
    class Meta:
        model = Recusal

    case_id = factory.LazyAttribute(lambda o: CaseFactory().id)
    user_id = factory.LazyAttribute(lambda o: UserFactory().id)


class CaseAccessGrantFactory(Base):
    class Meta:
        model = CaseAccessGrant

    case_id = factory.LazyAttribute(lambda o: CaseFactory().id)
    user_id = factory.LazyAttribute(lambda o: UserFactory().id)


class EvidenceFactory(Base):
    class Meta:
        model = Evidence

    case_id = factory.LazyAttribute(lambda o: CaseFactory().id)
    kind = "link"
    url = "https://www.instagram.com/fake_profile_01/"


class NoteFactory(Base):
    class Meta:
        model = Note

    case_id = factory.LazyAttribute(lambda o: CaseFactory().id)
    author_id = factory.LazyAttribute(lambda o: UserFactory(role="investigator").id)
    office = "eoa"
    visibility = "office"
    body = "Called the reporter; they will send more screenshots."


class MessageFactory(Base):
    class Meta:
        model = Message

    case_id = factory.LazyAttribute(lambda o: CaseFactory().id)
    direction = "from_reporter"
    body = "I have more screenshots from last night."


class CaseEventFactory(Base):
    class Meta:
        model = CaseEvent

    case_id = factory.LazyAttribute(lambda o: CaseFactory().id)
    kind = "intake"
    to_state = "received"
    actor_kind = "reporter"


class ReporterKeyFactory(Base):
    class Meta:
        model = ReporterKey

    case_id = factory.LazyAttribute(lambda o: CaseFactory().id)
    key_hash = "not-a-real-hash"


def enrol_second_factor(user: User) -> User:
    """Give a user a confirmed TOTP second factor (no recovery codes)."""
    import pyotp

    from casework.models import utcnow

    user.totp_secret = pyotp.random_base32()
    user.totp_enabled_at = utcnow()
    user.totp_last_step = None
    db.session.flush()
    return user


def totp_code(user: User) -> str:
    """The current code of the user's app. Forgets the last used step, so a test may sign in again at once."""
    import pyotp

    user.totp_last_step = None
    db.session.flush()
    return pyotp.TOTP(user.totp_secret).now()
