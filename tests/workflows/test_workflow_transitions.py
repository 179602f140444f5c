"""Who may fire what, from where; guards; required fields; what a fired transition returns."""

from collections.abc import Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from itertools import product

import pytest

from workflows import ROLES, Deadline, TransitionRefused, WorkflowError, load_directory

WORKFLOW = load_directory().default()
STATES = [s.name for s in WORKFLOW.states]
TRIGGERS = list(WORKFLOW.triggers)

# Facts under which every guard holds, so the table below is about roles and states only.
PERMISSIVE = {
    "urgent": True,
    "risk_level": "urgent",
    "respondent_affiliations": ["student"],
    "acknowledged": False,
}

VALID_DATA = {
    "triage": {"risk_level": "high", "jurisdiction_note": "Both parties are students."},
    "escalate_umpd": {"reason": "Threat of violence."},
    "refer_eoa": {"reason": "Sex-based harassment."},
    "refer_conduct": {"reason": "Student respondent."},
    "refer_umpd": {"reason": "Possible crime."},
    "acknowledge": {},
    "return_to_triage": {"reason": "Not ours."},
    "close": {"disposition": "resolved", "closing_summary": "Content removed, parties informed."},
    "reopen": {"reason": "New evidence."},
}

INTAKE_OR_INVESTIGATOR = {"intake", "investigator"}
# (state, trigger) -> (roles allowed, destination); every pair not listed is refused to everyone.
ALLOWED = {
    ("received", "triage"): (INTAKE_OR_INVESTIGATOR, "triaged"),
    ("received", "escalate_umpd"): (INTAKE_OR_INVESTIGATOR, "referred_umpd"),
    ("triaged", "refer_eoa"): (INTAKE_OR_INVESTIGATOR, "referred_eoa"),
    ("triaged", "refer_conduct"): (INTAKE_OR_INVESTIGATOR, "referred_conduct"),
    ("triaged", "refer_umpd"): (INTAKE_OR_INVESTIGATOR, "referred_umpd"),
    ("triaged", "close"): (INTAKE_OR_INVESTIGATOR, "closed"),
    ("referred_eoa", "acknowledge"): ({"investigator"}, "referred_eoa"),
    ("referred_conduct", "acknowledge"): ({"conduct_officer"}, "referred_conduct"),
    ("referred_umpd", "acknowledge"): ({"police_liaison"}, "referred_umpd"),
    ("referred_eoa", "return_to_triage"): (INTAKE_OR_INVESTIGATOR, "triaged"),
    ("referred_conduct", "return_to_triage"): ({"intake", "conduct_officer"}, "triaged"),
    ("referred_umpd", "return_to_triage"): ({"intake", "police_liaison"}, "triaged"),
    ("referred_eoa", "close"): (INTAKE_OR_INVESTIGATOR, "closed"),
    ("referred_conduct", "close"): ({"conduct_officer"}, "closed"),
    ("referred_umpd", "close"): ({"police_liaison"}, "closed"),
    ("closed", "reopen"): (INTAKE_OR_INVESTIGATOR, "triaged"),
}

MATRIX = [
    pytest.param(state, trigger, role, id=f"{role}-{trigger}-from-{state}")
    for state, trigger, role in product(STATES, TRIGGERS, sorted(ROLES))
]


@pytest.mark.parametrize(("state", "trigger", "role"), MATRIX)
def test_transition_matrix_every_role_every_trigger_every_state(state, trigger, role):
    roles, dest = ALLOWED.get((state, trigger), (set(), None))
    offered = [spec.trigger for spec in WORKFLOW.available(state, role, PERMISSIVE)]
    if role in roles:
        fired = WORKFLOW.fire(state, trigger, role, PERMISSIVE, VALID_DATA[trigger])
        assert (fired.source, fired.dest) == (state, dest)
        assert trigger in offered
    else:
        with pytest.raises(TransitionRefused) as info:
            WORKFLOW.fire(state, trigger, role, PERMISSIVE, VALID_DATA[trigger])
        assert info.value.message
        assert trigger not in offered


def test_the_table_covers_every_transition_of_the_definition():
    assert {(spec.source, spec.trigger) for spec in WORKFLOW.transitions} == set(ALLOWED)


@pytest.mark.parametrize("role", ["admin", "auditor"])
def test_admins_and_auditors_fire_nothing(role):
    assert all(WORKFLOW.available(state, role, PERMISSIVE) == [] for state in STATES)


def test_refusal_from_the_wrong_state_says_what_and_where():
    with pytest.raises(TransitionRefused, match="Triage is not possible while the case is closed"):
        WORKFLOW.fire("closed", "triage", "intake", PERMISSIVE, VALID_DATA["triage"])


def test_refusal_for_the_wrong_role_names_the_action():
    with pytest.raises(TransitionRefused, match="Your role may not use “Close case”"):
        WORKFLOW.fire("referred_conduct", "close", "investigator", PERMISSIVE, VALID_DATA["close"])


def test_unknown_trigger_is_refused_not_crashed():
    with pytest.raises(TransitionRefused, match="'delete' is not an action"):
        WORKFLOW.fire("triaged", "delete", "intake", PERMISSIVE, {})


def test_unknown_status_is_a_workflow_error():
    with pytest.raises(WorkflowError, match="'archived' is not a state"):
        WORKFLOW.available("archived", "intake", PERMISSIVE)


# -- guards ------------------------------------------------------------------------------------


def test_conduct_referral_needs_a_student_respondent():
    facts = {"respondent_affiliations": ["staff", "unknown"]}
    with pytest.raises(TransitionRefused, match="at least one respondent who is a student"):
        WORKFLOW.fire("triaged", "refer_conduct", "intake", facts, VALID_DATA["refer_conduct"])
    assert "refer_conduct" not in [s.trigger for s in WORKFLOW.available("triaged", "intake", facts)]


def test_conduct_referral_with_a_student_respondent_sets_the_conduct_office():
    facts = {"respondent_affiliations": ["staff", "Student"]}
    fired = WORKFLOW.fire("triaged", "refer_conduct", "intake", facts, VALID_DATA["refer_conduct"])
    assert fired.dest == "referred_conduct"
    assert fired.sets_office == "conduct"


def test_conduct_referral_without_any_respondent_is_refused():
    with pytest.raises(TransitionRefused):
        WORKFLOW.check("triaged", "refer_conduct", "intake", {}, VALID_DATA["refer_conduct"])


def test_escalation_to_umpd_before_triage_only_when_urgent():
    with pytest.raises(TransitionRefused, match="Only an urgent case"):
        WORKFLOW.fire("received", "escalate_umpd", "intake", {"urgent": False}, VALID_DATA["escalate_umpd"])
    assert [s.trigger for s in WORKFLOW.available("received", "intake", {"urgent": False})] == ["triage"]
    fired = WORKFLOW.fire("received", "escalate_umpd", "intake", {"urgent": True}, VALID_DATA["escalate_umpd"])
    assert (fired.dest, fired.sets_office) == ("referred_umpd", "umpd")


def test_what_may_fire_follows_each_question_not_the_one_before():
    """One machine per thread answers every question: each answer depends on that question's status and facts."""

    def offered(state, facts):
        return [spec.trigger for spec in WORKFLOW.available(state, "intake", facts)]

    for _ in range(2):
        assert offered("received", {"urgent": True}) == ["triage", "escalate_umpd"]
        assert offered("received", {"urgent": False}) == ["triage"]
        assert "refer_conduct" in offered("triaged", PERMISSIVE)
        assert "refer_conduct" not in offered("triaged", {"respondent_affiliations": ["staff"]})
    with ThreadPoolExecutor(max_workers=1) as other_thread:
        assert other_thread.submit(offered, "received", {"urgent": True}).result() == ["triage", "escalate_umpd"]


def test_urgent_risk_level_counts_as_urgent():
    fired = WORKFLOW.fire(
        "received", "escalate_umpd", "investigator", {"risk_level": "urgent"}, VALID_DATA["escalate_umpd"]
    )
    assert fired.dest == "referred_umpd"


def test_referral_can_be_acknowledged_only_once():
    fired = WORKFLOW.fire("referred_conduct", "acknowledge", "conduct_officer", {"acknowledged": False}, {})
    assert fired.dest == "referred_conduct"
    with pytest.raises(TransitionRefused, match="already been acknowledged"):
        WORKFLOW.fire("referred_conduct", "acknowledge", "conduct_officer", {"acknowledged": True}, {})
    offered = WORKFLOW.available("referred_conduct", "conduct_officer", {"acknowledged": True})
    assert [spec.trigger for spec in offered] == ["return_to_triage", "close"]


class FlippingFacts(Mapping):
    """Facts that change after the first read, as if another request acknowledged meanwhile."""

    def __init__(self):
        self.reads = 0

    def __getitem__(self, key):
        if key != "acknowledged":
            raise KeyError(key)
        self.reads += 1
        return self.reads > 1

    def __iter__(self) -> Iterator[str]:
        return iter(["acknowledged"])

    def __len__(self):
        return 1


def test_a_condition_failing_inside_the_machine_becomes_one_readable_refusal():
    with pytest.raises(TransitionRefused, match="already been acknowledged"):
        WORKFLOW.fire("referred_umpd", "acknowledge", "police_liaison", FlippingFacts(), {})


# -- fields ------------------------------------------------------------------------------------


def test_missing_and_blank_required_fields_are_reported_per_field():
    with pytest.raises(TransitionRefused) as info:
        WORKFLOW.fire("received", "triage", "intake", {}, {"risk_level": "", "jurisdiction_note": "   "})
    assert info.value.message == "Please correct the highlighted fields."
    assert info.value.field_errors == {
        "risk_level": "This field is required.",
        "jurisdiction_note": "This field is required.",
    }


def test_choice_outside_the_list_is_refused():
    data = {**VALID_DATA["close"], "disposition": "expelled"}
    with pytest.raises(TransitionRefused) as info:
        WORKFLOW.check("triaged", "close", "intake", {}, data)
    assert info.value.field_errors == {"disposition": "Choose one of the listed options."}


def test_text_longer_than_two_thousand_characters_is_refused_with_the_limit():
    with pytest.raises(TransitionRefused) as info:
        WORKFLOW.check("triaged", "refer_eoa", "intake", {}, {"reason": "x" * 2_001})
    assert "2,000" in info.value.field_errors["reason"]


def test_longtext_accepts_twenty_thousand_characters_but_not_more():
    summary = "y" * 20_000
    fired = WORKFLOW.fire("triaged", "close", "intake", {}, {"disposition": "resolved", "closing_summary": summary})
    assert fired.data["closing_summary"] == summary
    with pytest.raises(TransitionRefused):
        WORKFLOW.check("triaged", "close", "intake", {}, {"disposition": "resolved", "closing_summary": summary + "y"})


def test_values_are_stripped_and_unknown_keys_dropped():
    data = {"risk_level": " low ", "jurisdiction_note": "  on campus\n", "is_admin": "1"}
    fired = WORKFLOW.fire("received", "triage", "intake", {}, data)
    assert fired.data == {"risk_level": "low", "jurisdiction_note": "on campus"}


def test_a_non_text_value_is_refused():
    with pytest.raises(TransitionRefused) as info:
        WORKFLOW.check("closed", "reopen", "intake", {}, {"reason": ["a", "b"]})
    assert "reason" in info.value.field_errors


def test_guards_are_checked_before_fields():
    with pytest.raises(TransitionRefused) as info:
        WORKFLOW.check("triaged", "refer_conduct", "intake", {}, {})
    assert info.value.field_errors == {}


def test_disposition_choices_have_readable_labels():
    field = WORKFLOW.spec_for("triaged", "close").field("disposition")
    assert [value for value, _ in field.choices] == [
        "resolved",
        "no_policy_violation",
        "referred_outside",
        "withdrawn_by_reporter",
        "insufficient_information",
        "sanction_applied",
    ]
    assert field.choice_label("withdrawn_by_reporter") == "Withdrawn by the reporter"


# -- deadlines and offices ---------------------------------------------------------------------


def test_referral_starts_the_three_day_acknowledge_clock():
    fired = WORKFLOW.fire("triaged", "refer_eoa", "investigator", {}, VALID_DATA["refer_eoa"])
    assert (fired.deadline, fired.deadline_changed, fired.sets_office) == (
        Deadline(3, "acknowledge"),
        True,
        "eoa",
    )


def test_acknowledging_replaces_the_acknowledge_clock_with_sixty_days_to_close():
    fired = WORKFLOW.fire("referred_eoa", "acknowledge", "investigator", {}, {})
    assert (fired.deadline, fired.deadline_changed) == (Deadline(60, "close"), True)


def test_closing_clears_the_deadline():
    fired = WORKFLOW.fire("referred_umpd", "close", "police_liaison", {}, VALID_DATA["close"])
    assert (fired.dest, fired.deadline, fired.deadline_changed) == ("closed", None, True)


def test_reopening_starts_the_refer_or_close_clock():
    fired = WORKFLOW.fire("closed", "reopen", "intake", {}, VALID_DATA["reopen"])
    assert fired.deadline == Deadline(5, "refer or close")


def test_state_deadlines_and_public_statuses():
    assert WORKFLOW.deadline_for("received") == Deadline(2, "triage")
    assert WORKFLOW.deadline_for("closed") is None
    assert [WORKFLOW.public_status(s) for s in STATES] == [
        "received",
        "being reviewed",
        "referred to another office",
        "referred to another office",
        "referred to another office",
        "closed",
    ]
    assert WORKFLOW.state_label("referred_conduct") == "Referred to Student Conduct"
    assert WORKFLOW.transition_label("return_to_triage") == "Return to triage"


# -- the machine -------------------------------------------------------------------------------


def test_machine_starts_at_the_case_status_without_auto_transitions():
    machine = WORKFLOW.machine_for("referred_umpd", {"acknowledged": False})
    flow = machine.model
    assert flow.status == "referred_umpd"
    assert not hasattr(flow, "to_closed")
    assert flow.may_acknowledge() is True
    assert flow.may_triage() is False


def test_every_trigger_is_bound_on_the_case_adapter():
    flow = WORKFLOW.machine_for("received").model
    for trigger in TRIGGERS:
        assert callable(getattr(flow, trigger))
        assert callable(getattr(flow, f"may_{trigger}"))


def test_firing_does_not_change_anything_the_caller_holds():
    facts = dict(PERMISSIVE)
    data = dict(VALID_DATA["triage"])
    WORKFLOW.fire("received", "triage", "intake", facts, data)
    assert facts == PERMISSIVE
    assert data == VALID_DATA["triage"]
