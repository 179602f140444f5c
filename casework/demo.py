"""A realistic demo: one account per role and N cases across states, offices and platforms.

Cases are written with bulk inserts in chunks, so a million cases take minutes, not hours.
"""

from __future__ import annotations

import random
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import lru_cache

from sqlalchemy import func, select

from casework import audit, search
from casework.auth import service as accounts
from casework.extensions import db
from casework.models import (
    Case,
    ReferenceCounter,
    format_reference,
    utcnow,
)
from casework.normalize import normalize_handle
from casework.reports import tallies
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
CHUNK = 20_000

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


CASE_COLUMNS = (
    "id", "reference", "workflow_name", "workflow_version", "status", "office", "assignee_id", "risk_level",
    "urgent", "in_danger", "anonymous", "reporter_name", "reporter_email", "reporter_phone", "reporter_affiliation",
    "reporter_contact_preference", "consent_share_identity", "narrative", "began_on", "began_approximate", "ongoing",
    "connected_to_content", "channel", "due_on", "deadline_label", "disposition", "closing_summary",
    "restricted", "legal_hold", "referred_conduct", "referred_umpd", "created_at", "updated_at", "triaged_at",
    "closed_at", "version",
)  # fmt: skip
TABLES = {
    "cases": CASE_COLUMNS,
    "parties": ("case_id", "kind", "name", "handle", "handle_normalized", "platform", "affiliation",
                "relationship_to_reporter"),
    "case_platforms": ("case_id", "platform"),
    "case_behaviours": ("case_id", "behaviour"),
    "referrals": ("case_id", "office", "reason", "referred_by_id", "referred_at"),
    "case_events": ("case_id", "kind", "trigger", "from_state", "to_state", "actor_kind", "actor_id", "data",
                    "created_at"),
    "notes": ("case_id", "author_id", "office", "visibility", "body", "created_at"),
}  # fmt: skip
DATETIME_COLUMNS = {"created_at", "updated_at", "triaged_at", "closed_at", "referred_at"}
DATE_COLUMNS = {"began_on", "due_on"}


class _SqliteWriter:
    """executemany on the raw sqlite3 connection, inside the session's transaction."""

    def __init__(self, raw) -> None:
        self.cursor = raw.cursor()
        self.cursor.execute("PRAGMA cache_size=-262144")  # 256 MB: index pages stay in memory

    def write(self, table: str, rows: list[tuple]) -> None:
        columns = TABLES[table]
        dt = [i for i, c in enumerate(columns) if c in DATETIME_COLUMNS]
        d = [i for i, c in enumerate(columns) if c in DATE_COLUMNS]
        if dt or d:
            rows = [_sqlite_values(row, dt, d) for row in rows]
        marks = ", ".join("?" * len(columns))
        self.cursor.executemany(f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})", rows)  # noqa: S608

    def close(self) -> None:
        self.cursor.execute("PRAGMA cache_size=-2000")


def _sqlite_values(row: tuple, datetimes: list[int], dates: list[int]) -> tuple:
    # SQLAlchemy's SQLite DateTime storage format, always with microseconds.
    values = list(row)
    for i in datetimes:
        if values[i] is not None:
            values[i] = values[i].isoformat(" ", "microseconds")
    for i in dates:
        if values[i] is not None:
            values[i] = values[i].isoformat()
    return tuple(values)


class _PostgresWriter:
    """COPY ... FROM STDIN through psycopg 3, inside the session's transaction."""

    def __init__(self, raw) -> None:
        self.cursor = raw.cursor()
        # As a superuser, skip the per-row foreign-key triggers: the seeder's rows are consistent by
        # construction, and COPY is several times quicker without them. Otherwise, keep them.
        self.cursor.execute("SAVEPOINT seed_role")
        try:
            self.cursor.execute("SET LOCAL session_replication_role = replica")
            self.cursor.execute("RELEASE SAVEPOINT seed_role")
        except Exception:  # noqa: BLE001 - not a superuser: load with the checks on
            self.cursor.execute("ROLLBACK TO SAVEPOINT seed_role")

    def write(self, table: str, rows: list[tuple]) -> None:
        with self.cursor.copy(f"COPY {table} ({', '.join(TABLES[table])}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)

    def close(self) -> None:
        self.cursor.execute("SET LOCAL session_replication_role = DEFAULT")
        self.cursor.execute("SELECT setval(pg_get_serial_sequence('cases', 'id'), (SELECT max(id) FROM cases))")


@lru_cache(maxsize=65536)
def _due(entered_on, days: int):
    return add_business_days(entered_on, days)


class Seeder:
    """Builds rows for N cases as plain tuples and writes them in chunks with the driver's bulk path
    (executemany on SQLite, COPY on PostgreSQL): about a million cases a few minutes."""

    def __init__(self, count: int, staff: DemoStaff, seed: int = 2026) -> None:
        self.count = count
        self.staff = staff
        self.rng = random.Random(seed)
        self.now = utcnow()
        span_days = 365 * 3 if count <= 10_000 else 365 * 10
        self.start = self.now - timedelta(days=span_days)
        self.step = timedelta(days=span_days) / max(count, 1)
        self.first_id = self.next_id = (db.session.scalar(select(func.max(Case.id))) or 0) + 1
        self.counters = {row.year: row.last_number for row in db.session.scalars(select(ReferenceCounter))}
        self.states = [s for s, weight in STATE_MIX for _ in range(weight)]
        self.handles = [f"@{rng_word}{n}" for n, rng_word in enumerate(HANDLE_WORDS * 20)]
        self.normalized = {h: normalize_handle(h) for h in self.handles}
        self.narratives = [_narrative(self.rng) for _ in range(min(max(count, 1), 5000))]
        self.people = [f"{first} {last}" for first in FIRST for last in LAST]
        self.intake_id = staff.by_role["intake"][0]
        self.platforms = list(PLATFORMS)
        self.behaviours = list(BEHAVIOURS)[:-1]
        self.dispositions = list(DISPOSITIONS)
        self.assignees = {
            office: staff.by_role[role]
            for office, role in (("eoa", "investigator"), ("conduct", "conduct_officer"), ("umpd", "police_liaison"))
        }

    def run(self) -> int:
        connection = db.session.connection()
        raw = connection.connection.driver_connection
        writer = _PostgresWriter(raw) if connection.dialect.name == "postgresql" else _SqliteWriter(raw)
        made = 0
        try:
            while made < self.count:
                size = min(CHUNK, self.count - made)
                rows: dict[str, list[tuple]] = {table: [] for table in TABLES}
                for i in range(size):
                    self._case_rows(made + i, rows)
                for table, table_rows in rows.items():
                    if table_rows:
                        writer.write(table, table_rows)
                made += size
        finally:
            writer.close()
        self._save_counters()
        return made

    def _reference(self, created: datetime) -> str:
        number = self.counters.get(created.year, 0) + 1
        self.counters[created.year] = number
        return format_reference(created.year, number)

    def _case_rows(self, index: int, rows: dict[str, list[tuple]]) -> None:
        rng, case_id = self.rng, self.next_id
        random_ = rng.random
        self.next_id += 1
        created = self.start + self.step * index + timedelta(seconds=rng.randint(0, 3600))
        status = rng.choice(self.states)
        office = {"referred_conduct": "conduct", "referred_umpd": "umpd"}.get(status, "eoa")
        if status == "closed":
            office = rng.choice(("eoa", "eoa", "conduct", "umpd"))
        anonymous = random_() < 0.4
        urgent = random_() < 0.06
        student = office == "conduct" or random_() < 0.5
        entered = min(created + timedelta(days=rng.randint(0, 20)), self.now)
        closed = status == "closed"
        closed_at = entered + timedelta(days=rng.randint(5, 60)) if closed else None
        triaged_at = None if status == "received" else created + (entered - created) / 2
        assignee = None
        if status != "received" and random_() < 0.8:
            assignee = rng.choice(self.assignees[office])
        days = DEADLINE_DAYS.get(status)
        rows["cases"].append(
            (
                case_id, self._reference(created), WORKFLOW[0], WORKFLOW[1], status, office, assignee,
                None if status == "received" else rng.choice(("low", "medium", "medium", "high", "urgent")),
                urgent, urgent and random_() < 0.5, anonymous,
                None if anonymous else rng.choice(self.people),
                None if anonymous else f"reporter{case_id}@students.example.edu",
                None if anonymous or random_() < 0.5 else f"413-555-{case_id % 10000:04d}",
                None if anonymous else rng.choice(("student", "student", "staff", "faculty")),
                None if anonymous else "email",
                not anonymous and random_() < 0.5,
                rng.choice(self.narratives),
                (created - timedelta(days=rng.randint(1, 90))).date(),
                random_() < 0.5, random_() < 0.6, random_() < 0.3,
                rng.choice(("web", "web", "web", "phone", "walk_in", "email")),
                _due(entered.date(), days) if days else None,
                None if closed else ("triage" if status == "received" else "acknowledge"),
                rng.choice(self.dispositions) if closed else None,
                "Closed after review with the reporter." if closed else None,
                False, False, office == "conduct", office == "umpd",  # referred there (see _children)
                created, closed_at or entered, triaged_at, closed_at, 1,
            )
        )  # fmt: skip
        self._children(case_id, created, triaged_at, entered, closed_at, status, office, assignee, student, rows)

    def _children(
        self, case_id, created, triaged_at, entered, closed_at, status, office, assignee, student, rows
    ) -> None:
        rng = self.rng
        platforms = rng.sample(self.platforms, rng.randint(1, 3))
        parties = rows["parties"]
        for n in range(rng.randint(1, 2)):
            handle = rng.choice(self.handles)
            parties.append(
                (
                    case_id, "respondent" if n == 0 else "witness",
                    rng.choice(self.people) if rng.random() < 0.6 else None,
                    handle, self.normalized[handle], platforms[0],
                    "student" if (n == 0 and student) else rng.choice(("staff", "other", "unknown")),
                    rng.choice(("classmate", "former partner", "unknown", "co-worker")),
                )
            )  # fmt: skip
        rows["case_platforms"].extend((case_id, p) for p in platforms)
        rows["case_behaviours"].extend((case_id, b) for b in rng.sample(self.behaviours, rng.randint(1, 2)))
        intake = self.intake_id
        events = rows["case_events"]
        events.append((case_id, "intake", None, None, "received", "reporter", None, "{}", created))
        last = "received"
        if triaged_at is not None:
            events.append((case_id, "transition", "triage", "received", "triaged", "user", intake, "{}", triaged_at))
            last = "triaged"
        if status.startswith("referred") or (status == "closed" and office != "eoa"):
            dest = f"referred_{office}"
            events.append((case_id, "transition", f"refer_{office}", "triaged", dest, "user", intake, "{}", entered))
            rows["referrals"].append((case_id, office, "Within this office's remit.", intake, entered))
            last = dest
        if closed_at is not None:
            events.append((case_id, "transition", "close", last, "closed", "user", intake, "{}", closed_at))
        if assignee and rng.random() < 0.5:
            rows["notes"].append(
                (case_id, assignee, office, rng.choice(("office", "shared")), rng.choice(NOTES), entered)
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
    """Create the demo accounts and `cases` cases, and index them for search; the caller commits."""
    staff = ensure_demo_accounts()
    seeder = Seeder(cases, staff)
    # Per-row triggers would rebuild a case's search document once per party and note, and move its tally
    # once per referral: suspend them for the bulk load and index and count in bulk instead (same transaction).
    with search.triggers_suspended(), tallies.triggers_suspended():
        made = seeder.run()
    search.reindex_all(from_id=seeder.first_id)
    tallies.recount()
    audit.record("demo.seeded", "system", details={"cases": made})
    return made
