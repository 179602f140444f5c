"""A realistic demo: one account per role and N cases across states, offices and platforms.

Cases are written with bulk inserts in chunks, so a million cases take minutes, not hours.
"""

from __future__ import annotations

import random
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import func, insert, select

from casework import audit
from casework.auth import service as accounts
from casework.extensions import db
from casework.models import (
    Case,
    CaseBehaviour,
    CaseEvent,
    CasePlatform,
    Note,
    Party,
    ReferenceCounter,
    Referral,
    format_reference,
    utcnow,
)
from casework.normalize import normalize_handle
from casework.vocabulary import BEHAVIOURS, DISPOSITIONS, PLATFORMS
from workflows import add_business_days

DEMO_ACCOUNTS = (
    ("admin@demo.example.edu", "Ada Admin", "admin"),
    ("intake@demo.example.edu", "Imani Intake", "intake"),
    ("investigator@demo.example.edu", "Ivan Investigator", "investigator"),
    ("conduct@demo.example.edu", "Cora Conduct", "conduct_officer"),
    ("police@demo.example.edu", "Paolo Police", "police_liaison"),
    ("auditor@demo.example.edu", "Aud Auditor", "auditor"),
)
EXTRA_STAFF = (
    ("investigator2@demo.example.edu", "Ines Investigator", "investigator"),
    ("conduct2@demo.example.edu", "Carl Conduct", "conduct_officer"),
)
WORKFLOW = ("online_harassment", 1)
STATE_MIX = (
    ("received", 8),
    ("triaged", 10),
    ("referred_eoa", 15),
    ("referred_conduct", 10),
    ("referred_umpd", 5),
    ("closed", 52),
)
DEADLINE_DAYS = {"received": 2, "triaged": 5, "referred_eoa": 3, "referred_conduct": 3, "referred_umpd": 3}
CHUNK = 5000

FIRST = [
    "Alex",
    "Jordan",
    "Sam",
    "Taylor",
    "Riley",
    "Morgan",
    "Casey",
    "Jamie",
    "Avery",
    "Quinn",
    "Priya",
    "Wei",
    "Olga",
    "Tomás",
    "Fatima",
    "Kenji",
    "Amara",
    "Noor",
]
LAST = [
    "Smith",
    "Nguyen",
    "Garcia",
    "Kim",
    "Patel",
    "Okafor",
    "Rossi",
    "Müller",
    "Kowalski",
    "Haddad",
    "Silva",
    "Chen",
    "Ivanova",
    "Tanaka",
    "Brown",
    "Lee",
]
HANDLE_WORDS = [
    "shadow",
    "real_talk",
    "campus",
    "anon",
    "truth",
    "night",
    "wolf",
    "umass_gossip",
    "rate_my",
    "hot_takes",
    "tea",
    "spill",
]
OPENINGS = (
    "Since the start of the semester, an account has been posting about me",
    "After I spoke at the student senate meeting, I started receiving messages",
    "Someone created a fake profile using my photos and name",
    "A classmate keeps sending me messages late at night even though I asked them to stop",
    "An anonymous account commented on my posts with slurs about my background",
    "My home address was shared in a group chat with people from my residence hall",
    "A former partner has been contacting my friends and posting private pictures",
    "After an article about my research was published, I received threatening emails",
)
DETAILS = (
    "The posts mention my classes and where I live, which makes me feel unsafe walking on campus.",
    "I blocked the account but a new one appeared within a day with almost the same name.",
    "Friends told me the messages were shared in a Discord server for our department.",
    "Some of the comments say I should be hurt, and one mentioned the building where I work.",
    "I have screenshots of most of the messages and have saved the links.",
    "I reported the profile to the platform twice but nothing has happened yet.",
    "It is affecting my sleep and I have missed classes because of it.",
    "I think I know who it is because of details only someone in my lab would know.",
)
NOTES = (
    "Spoke with the reporter by phone; they would like supportive measures while we review.",
    "Platform report filed for the impersonating profile; awaiting their response.",
    "Respondent appears in another open case; check the related cases before interviews.",
    "Reporter sent additional screenshots; added to the evidence list.",
    "Discussed interim measures with housing; no-contact directive under consideration.",
)


@dataclass
class DemoStaff:
    by_role: dict[str, list[int]] = field(default_factory=lambda: defaultdict(list))


DEMO_PASSWORD = "casework-demo-2026"  # noqa: S105 - the demo is refused in production


def demo_password(role: str) -> str:
    """A fixed demo password, so `make run` can always say how to sign in (never in production)."""
    return DEMO_PASSWORD


def ensure_demo_accounts() -> DemoStaff:
    """Create the demo accounts that do not exist yet; return staff ids by role."""
    staff = DemoStaff()
    for email, name, role in DEMO_ACCOUNTS + EXTRA_STAFF:
        user = accounts.find_user_by_email(email)
        if user is None:
            user, _ = accounts.create_user(
                "system", email=email, display_name=name, role=role, password=demo_password(role)
            )
        staff.by_role[user.role].append(user.id)
    db.session.flush()
    return staff


def _narrative(rng: random.Random) -> str:
    parts = [rng.choice(OPENINGS) + "."] + rng.sample(DETAILS, rng.randint(2, 4))
    return " ".join(parts)


def _person(rng: random.Random) -> str:
    return f"{rng.choice(FIRST)} {rng.choice(LAST)}"


class Seeder:
    """Builds rows for N cases and writes them in chunks."""

    def __init__(self, count: int, staff: DemoStaff, seed: int = 2026) -> None:
        self.count = count
        self.staff = staff
        self.rng = random.Random(seed)
        self.now = utcnow()
        span_days = 365 * 3 if count <= 10_000 else 365 * 10
        self.start = self.now - timedelta(days=span_days)
        self.step = timedelta(days=span_days) / max(count, 1)
        self.next_id = (db.session.scalar(select(func.max(Case.id))) or 0) + 1
        self.counters = {row.year: row.last_number for row in db.session.scalars(select(ReferenceCounter))}
        self.states = [s for s, weight in STATE_MIX for _ in range(weight)]
        self.handles = [f"@{rng_word}{n}" for n, rng_word in enumerate(HANDLE_WORDS * 20)]

    def run(self) -> int:
        made = 0
        while made < self.count:
            size = min(CHUNK, self.count - made)
            self._write_chunk(size, made)
            made += size
        self._save_counters()
        return made

    def _write_chunk(self, size: int, offset: int) -> None:
        rows: dict[type, list[dict]] = defaultdict(list)
        for i in range(size):
            self._case_rows(offset + i, rows)
        for model in (Case, Party, CasePlatform, CaseBehaviour, Referral, CaseEvent, Note):
            if rows[model]:
                db.session.execute(insert(model), rows[model])

    def _reference(self, created: datetime) -> str:
        number = self.counters.get(created.year, 0) + 1
        self.counters[created.year] = number
        return format_reference(created.year, number)

    def _case_rows(self, index: int, rows: dict[type, list[dict]]) -> None:
        rng, case_id = self.rng, self.next_id
        self.next_id += 1
        created = self.start + self.step * index + timedelta(seconds=rng.randint(0, 3600))
        status = rng.choice(self.states)
        office = {"referred_conduct": "conduct", "referred_umpd": "umpd"}.get(status, "eoa")
        if status == "closed":
            office = rng.choice(("eoa", "eoa", "conduct", "umpd"))
        anonymous = rng.random() < 0.4
        urgent = rng.random() < 0.06
        respondent_is_student = office == "conduct" or rng.random() < 0.5
        entered = min(created + timedelta(days=rng.randint(0, 20)), self.now)
        closed_at = entered + timedelta(days=rng.randint(5, 60)) if status == "closed" else None
        assignee = None
        if status != "received":
            role = {"conduct": "conduct_officer", "umpd": "police_liaison"}.get(office, "investigator")
            assignee = rng.choice(self.staff.by_role[role]) if rng.random() < 0.8 else None
        rows[Case].append(
            {
                "id": case_id,
                "reference": self._reference(created),
                "workflow_name": WORKFLOW[0],
                "workflow_version": WORKFLOW[1],
                "status": status,
                "office": office,
                "assignee_id": assignee,
                "risk_level": None
                if status == "received"
                else rng.choice(("low", "medium", "medium", "high", "urgent")),
                "urgent": urgent,
                "in_danger": urgent and rng.random() < 0.5,
                "anonymous": anonymous,
                "reporter_name": None if anonymous else _person(rng),
                "reporter_email": None if anonymous else f"reporter{case_id}@students.example.edu",
                "reporter_phone": None if anonymous or rng.random() < 0.5 else f"413-555-{case_id % 10000:04d}",
                "reporter_affiliation": None if anonymous else rng.choice(("student", "student", "staff", "faculty")),
                "reporter_contact_preference": None if anonymous else "email",
                "consent_share_identity": not anonymous and rng.random() < 0.5,
                "narrative": _narrative(rng),
                "began_on": (created - timedelta(days=rng.randint(1, 90))).date(),
                "began_approximate": rng.random() < 0.5,
                "ongoing": rng.random() < 0.6,
                "connected_to_content": rng.random() < 0.3,
                "connection_details": None,
                "channel": rng.choice(("web", "web", "web", "phone", "walk_in", "email")),
                "due_on": add_business_days(entered.date(), DEADLINE_DAYS[status]) if status in DEADLINE_DAYS else None,
                "deadline_label": None if status == "closed" else ("triage" if status == "received" else "acknowledge"),
                "disposition": rng.choice(list(DISPOSITIONS)) if status == "closed" else None,
                "closing_summary": "Closed after review with the reporter." if status == "closed" else None,
                "created_at": created,
                "updated_at": closed_at or entered,
                "closed_at": closed_at,
                "version": 1,
            }
        )
        self._children(case_id, created, entered, status, office, assignee, respondent_is_student, rows)

    def _children(self, case_id, created, entered, status, office, assignee, student, rows) -> None:
        rng = self.rng
        platforms = rng.sample(list(PLATFORMS), rng.randint(1, 3))
        for n in range(rng.randint(1, 2)):
            handle = rng.choice(self.handles)
            rows[Party].append(
                {
                    "case_id": case_id,
                    "kind": "respondent" if n == 0 else "witness",
                    "name": _person(rng) if rng.random() < 0.6 else None,
                    "handle": handle,
                    "handle_normalized": normalize_handle(handle),
                    "platform": platforms[0],
                    "affiliation": "student" if (n == 0 and student) else rng.choice(("staff", "other", "unknown")),
                    "relationship_to_reporter": rng.choice(("classmate", "former partner", "unknown", "co-worker")),
                }
            )
        rows[CasePlatform] += [{"case_id": case_id, "platform": p} for p in platforms]
        rows[CaseBehaviour] += [
            {"case_id": case_id, "behaviour": b} for b in rng.sample(list(BEHAVIOURS)[:-1], rng.randint(1, 2))
        ]
        events = [("intake", None, None, "received", created)]
        if status != "received":
            events.append(("transition", "triage", "received", "triaged", created + (entered - created) / 2))
        referred_to = office if status.startswith("referred") or (status == "closed" and office != "eoa") else None
        if referred_to:
            events.append(("transition", f"refer_{referred_to}", "triaged", f"referred_{referred_to}", entered))
            rows[Referral].append(
                {
                    "case_id": case_id,
                    "office": referred_to,
                    "reason": "Within this office's remit.",
                    "referred_by_id": self.staff.by_role["intake"][0],
                    "referred_at": entered,
                }
            )
        if status == "closed":
            events.append(("transition", "close", events[-1][3], "closed", rows[Case][-1]["closed_at"]))
        for kind, trigger, source, dest, at in events:
            rows[CaseEvent].append(
                {
                    "case_id": case_id,
                    "kind": kind,
                    "trigger": trigger,
                    "from_state": source,
                    "to_state": dest,
                    "actor_kind": "reporter" if kind == "intake" else "user",
                    "actor_id": None if kind == "intake" else self.staff.by_role["intake"][0],
                    "reason": None,
                    "data": {},
                    "created_at": at,
                }
            )
        if assignee and rng.random() < 0.5:
            rows[Note].append(
                {
                    "case_id": case_id,
                    "author_id": assignee,
                    "office": office,
                    "visibility": rng.choice(("office", "shared")),
                    "body": rng.choice(NOTES),
                    "created_at": entered,
                }
            )

    def _save_counters(self) -> None:
        for year, last in self.counters.items():
            counter = db.session.get(ReferenceCounter, year)
            if counter is None:
                db.session.add(ReferenceCounter(year=year, last_number=last))
            else:
                counter.last_number = last


def iter_demo_accounts() -> Iterator[tuple[str, str, str]]:
    """(role, email, password) for each demo account."""
    for email, _name, role in DEMO_ACCOUNTS:
        yield role, email, demo_password(role)


def seed_demo(cases: int) -> int:
    """Create the demo accounts and `cases` cases; the caller commits."""
    staff = ensure_demo_accounts()
    made = Seeder(cases, staff).run()
    audit.record("demo.seeded", "system", details={"cases": made})
    return made
