"""Access matrix: the staff case pages — queues, the case page, evidence, actions, assignment, notes, replies.

Case content is for the roles that work cases and for auditors; administrators get 403 on every page of
a case they can see (they see references and states elsewhere, never content). Auditors read everything
and change nothing: 403 on every change. A case the user may not see is a 404 for every role.

Each POST carries data that succeeds for a role allowed to use it, from the state `make_case` left the case in.
"""

import io

from casework import storage
from tests import factories
from tests.access.matrix import Route, only

CASE_WORKERS = ("intake", "investigator", "conduct_officer", "police_liaison")
READERS = only(*CASE_WORKERS, "auditor")
WORKERS = only(*CASE_WORKERS)
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + b"\x00" * 64

# A trigger the case's state offers, from the point of view of the role that may fire it there, with the
# fields it requires. Intake's "other office's" case is a case referred to UMPD: intake may return it.
TRIGGER = {
    ("triaged", "intake"): "refer_umpd",
    ("triaged", "investigator"): "refer_umpd",
    ("referred_umpd", "intake"): "return_to_triage",
    ("referred_conduct", "conduct_officer"): "acknowledge",
    ("referred_umpd", "police_liaison"): "acknowledge",
}
FIELDS = {
    "refer_umpd": {"reason": "Threats of violence: the campus police should see this."},
    "return_to_triage": {"reason": "Not a police matter after all."},
    "acknowledge": {},
}
OFFICE_WORKER = {"eoa": "investigator", "conduct": "conduct_officer", "umpd": "police_liaison"}


def _page(ctx, suffix=""):
    return f"/cases/{ctx.case.reference}{suffix}"


def _trigger(ctx) -> str:
    """The role's trigger from the case's state; roles that fire nothing try the one intake would (and get 403)."""
    role = ctx.user.role if ctx.user is not None and ctx.user.role in CASE_WORKERS else "intake"
    return TRIGGER.get((ctx.case.status, role), "refer_umpd")


def _fire_data(ctx) -> dict:
    trigger = _trigger(ctx)
    return {f"{trigger}-version": str(ctx.case.version), **{f"{trigger}-{k}": v for k, v in FIELDS[trigger].items()}}


def _stored_file(ctx):
    stored = storage.save(io.BytesIO(PNG), "screenshot.png")
    ctx.extra["evidence"] = factories.EvidenceFactory(
        case_id=ctx.case.id,
        kind="file",
        url=None,
        file_name="screenshot.png",
        media_type=stored.media_type,
        size=stored.size,
        sha256=stored.sha256,
        storage_key=stored.key,
    )


def _assignee(ctx):
    """An active worker of the office that holds the case: someone the case may be assigned to."""
    ctx.extra["assignee"] = factories.UserFactory(role=OFFICE_WORKER[ctx.case.office])


ROUTES = [
    Route("cases.queue", "GET", lambda ctx: "/cases/", READERS),
    Route("cases.workflows", "GET", lambda ctx: "/cases/workflows", only("admin")),
    Route("cases.case_page", "GET", _page, READERS, names_case=True),
    Route(
        "cases.evidence_download",
        "GET",
        lambda ctx: _page(ctx, f"/evidence/{ctx.extra['evidence'].id}"),
        READERS,
        names_case=True,
        setup=_stored_file,
    ),
    Route(
        "cases.fire",
        "POST",
        lambda ctx: _page(ctx, f"/actions/{_trigger(ctx)}"),
        WORKERS,
        names_case=True,
        data=_fire_data,
    ),
    Route(
        "cases.assign",
        "POST",
        lambda ctx: _page(ctx, "/assign"),
        WORKERS,
        names_case=True,
        setup=_assignee,
        data=lambda ctx: {"assignee": str(ctx.extra["assignee"].id), "version": str(ctx.case.version)},
    ),
    Route(
        "cases.add_note",
        "POST",
        lambda ctx: _page(ctx, "/notes"),
        WORKERS,
        names_case=True,
        data=lambda ctx: {"note-body": "Called the reporter back.", "note-visibility": "office"},
    ),
    Route(
        "cases.reply",
        "POST",
        lambda ctx: _page(ctx, "/messages"),
        WORKERS,
        names_case=True,
        data=lambda ctx: {"message-body": "We have your report and are looking into it."},
    ),
]
