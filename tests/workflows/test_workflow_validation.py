"""A bad definition is refused at load with a message naming the file, the entry and the line."""

from pathlib import Path

import pytest

from workflows import WorkflowDefinitionError, load_definition
from workflows.engine import CaseFlow, reserved_trigger_reason

DEFAULT_TOML = Path(__file__).resolve().parents[2] / "workflows" / "online_harassment.toml"
TEXT = DEFAULT_TOML.read_text(encoding="utf-8")

ON_HOLD_STATE = """
[states.on_hold]
label = "On hold"
public_status = "being reviewed"
"""


def mutate(old: str, new: str) -> str:
    assert TEXT.count(old) == 1, f"fixture snippet must be unique: {old!r}"
    return TEXT.replace(old, new)


def add_state(state: str, *transitions: str) -> str:
    marker = "# ------------------------------------------------------------"
    return mutate(marker, state + "\n" + marker) + "".join(transitions)


def line_of(text: str, snippet: str, occurrence: int = 0) -> int:
    numbers = [n for n, line in enumerate(text.splitlines(), start=1) if snippet in line]
    return numbers[occurrence]


def load_text(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "bad.toml"
    path.write_text(text, encoding="utf-8")
    return path


def refused(tmp_path: Path, text: str) -> str:
    path = load_text(tmp_path, text)
    with pytest.raises(WorkflowDefinitionError) as info:
        load_definition(path)
    message = str(info.value)
    assert message.startswith(str(path)), message
    return message


# (id, mutated text, fragments the message must contain, (line snippet, occurrence) or None)
CASES = [
    (
        "toml_syntax_error",
        mutate("version = 1\n", "version = = 1\n"),
        ["invalid TOML", "line 22"],
        None,
    ),
    (
        "unknown_role",
        mutate('roles = ["intake", "investigator"]\nstyle = "primary"', 'roles = ["intake", "janitor"]'),
        ["transition 'triage'", "unknown role 'janitor'"],
        ('trigger = "triage"', 0),
    ),
    (
        "unknown_role_in_roles_by_source",
        mutate(
            'referred_umpd = ["police_liaison"]\n\n[[transitions]]',
            'referred_umpd = ["sheriff"]\n\n[[transitions]]',
        ),
        ["transition 'acknowledge'", "unknown role 'sheriff'"],
        ('trigger = "acknowledge"', 0),
    ),
    (
        "roles_by_source_naming_a_state_not_in_sources",
        mutate('referred_umpd = ["police_liaison"]\n\n[[transitions]]', 'closed = ["intake"]\n\n[[transitions]]'),
        ["transition 'acknowledge'", "'roles_by_source' names 'closed'"],
        ('trigger = "acknowledge"', 0),
    ),
    (
        "source_without_any_role",
        mutate('referred_umpd = ["police_liaison"]\n\n[[transitions]]', "\n[[transitions]]"),
        ["transition 'acknowledge'", "nobody may fire it from 'referred_umpd'"],
        ('trigger = "acknowledge"', 0),
    ),
    (
        "unknown_guard",
        mutate('guards = ["is_urgent"]', 'guards = ["is_very_urgent"]'),
        ["transition 'escalate_umpd'", "unknown guard 'is_very_urgent'"],
        ('trigger = "escalate_umpd"', 0),
    ),
    (
        "unknown_field_kind",
        mutate('kind = "longtext"', 'kind = "essay"'),
        ["transition 'close', field 'closing_summary'", "unknown field kind 'essay'"],
        ('trigger = "close"', 0),
    ),
    (
        "choice_field_without_choices",
        mutate('choices = [["low", "Low"], ["medium", "Medium"], ["high", "High"], ["urgent", "Urgent"]]\n', ""),
        ["transition 'triage', field 'risk_level'", "needs 'choices'"],
        ('trigger = "triage"', 0),
    ),
    (
        "initial_state_missing",
        mutate('initial = "received"', 'initial = "new"'),
        ["initial state 'new' is not a state"],
        ('initial = "new"', 0),
    ),
    (
        "initial_key_missing",
        mutate('initial = "received"\n', ""),
        ["'initial' must be a non-empty string"],
        None,
    ),
    (
        "source_not_a_state",
        mutate('sources = ["closed"]', 'sources = ["archived"]'),
        ["transition 'reopen'", "source 'archived' is not a state"],
        ('trigger = "reopen"', 0),
    ),
    (
        "dest_not_a_state",
        mutate('dest = "referred_eoa"', 'dest = "referred_hr"'),
        ["transition 'refer_eoa'", "dest 'referred_hr' is not a state"],
        ('trigger = "refer_eoa"', 0),
    ),
    (
        "unreachable_state",
        add_state(ON_HOLD_STATE + "terminal = true\n"),
        ["state 'on_hold'", "unreachable from initial state 'received'"],
        ("[states.on_hold]", 0),
    ),
    (
        "non_terminal_dead_end",
        add_state(
            ON_HOLD_STATE,
            '\n[[transitions]]\ntrigger = "hold"\nlabel = "Hold"\nsources = ["triaged"]\n'
            'dest = "on_hold"\nroles = ["intake"]\n',
        ),
        ["state 'on_hold'", "dead end"],
        ("[states.on_hold]", 0),
    ),
    (
        "no_terminal_state",
        mutate("terminal = true", "terminal = false"),
        ["no terminal state"],
        None,
    ),
    (
        "duplicate_trigger_on_the_same_source",
        TEXT + '\n[[transitions]]\ntrigger = "triage"\nlabel = "Triage again"\nsources = ["received"]\n'
        'dest = "closed"\nroles = ["intake"]\n',
        ["transition 'triage'", "duplicate trigger from state 'received'"],
        ('trigger = "triage"', 1),
    ),
    (
        "unknown_office",
        mutate(
            'dest = "referred_eoa"\nroles = ["intake", "investigator"]\nsets_office = "eoa"',
            'dest = "referred_eoa"\nroles = ["intake", "investigator"]\nsets_office = "hr"',
        ),
        ["transition 'refer_eoa'", "unknown office 'hr'"],
        ('trigger = "refer_eoa"', 0),
    ),
    (
        "referral_without_an_office",
        mutate(
            'roles = ["intake", "investigator"]\nsets_office = "eoa"\nrefers = true',
            'roles = ["intake", "investigator"]\nrefers = true',
        ),
        ["transition 'refer_eoa'", "'refers' needs 'sets_office'"],
        ('trigger = "refer_eoa"', 0),
    ),
    (
        "negative_transition_deadline",
        mutate("deadline = 60", "deadline = -1"),
        ["transition 'acknowledge'", "'deadline' must not be negative"],
        ('trigger = "acknowledge"', 0),
    ),
    (
        "negative_state_deadline",
        mutate("deadline = 2\n", "deadline = -2\n"),
        ["state 'received'", "'deadline' must not be negative"],
        ("[states.received]", 0),
    ),
    (
        "deadline_without_label",
        mutate('deadline_label = "close"\n', ""),
        ["transition 'acknowledge'", "needs a 'deadline_label'"],
        ('trigger = "acknowledge"', 0),
    ),
    (
        "misspelt_key",
        mutate('guards = ["has_student_respondent"]', 'gaurds = ["has_student_respondent"]'),
        ["transition 'refer_conduct'", "unknown key(s) 'gaurds'"],
        ('trigger = "refer_conduct"', 0),
    ),
    (
        "unknown_public_status",
        mutate('public_status = "closed"', 'public_status = "done"'),
        ["state 'closed'", "'public_status' must be one of"],
        ("[states.closed]", 0),
    ),
    (
        "version_not_a_number",
        mutate("version = 1\n", 'version = "1"\n'),
        ["'version' must be a whole number"],
        ("version = ", 0),
    ),
]


@pytest.mark.parametrize(("text", "fragments", "anchor"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_bad_definition_is_refused_naming_file_entry_and_line(tmp_path, text, fragments, anchor):
    message = refused(tmp_path, text)
    for fragment in fragments:
        assert fragment in message
    if anchor is not None:
        line = line_of(text, *anchor)
        assert message.startswith(f"{tmp_path / 'bad.toml'}:{line}: "), message


def test_the_default_definition_text_is_valid_before_mutation(tmp_path):
    assert load_definition(load_text(tmp_path, TEXT)).name == "online_harassment"


def test_same_trigger_on_different_sources_in_separate_entries_is_allowed(tmp_path):
    text = mutate(
        'sources = ["referred_eoa", "referred_conduct", "referred_umpd"]\nguards',
        'sources = ["referred_eoa", "referred_conduct"]\nguards',
    ).replace('referred_umpd = ["police_liaison"]\n\n[[transitions]]', "\n[[transitions]]", 1)
    text += (
        '\n[[transitions]]\ntrigger = "acknowledge"\nlabel = "Acknowledge referral"\n'
        'sources = ["referred_umpd"]\nroles = ["police_liaison"]\nguards = ["not_acknowledged"]\n'
        'deadline = 60\ndeadline_label = "close"\n'
    )
    workflow = load_definition(load_text(tmp_path, text))
    assert workflow.spec_for("referred_umpd", "acknowledge").roles == {"police_liaison"}
    assert workflow.spec_for("referred_conduct", "acknowledge").roles == {"conduct_officer"}


def test_missing_file_is_reported_with_its_path(tmp_path):
    with pytest.raises(WorkflowDefinitionError, match="cannot read"):
        load_definition(tmp_path / "nope.toml")


@pytest.mark.parametrize(
    "trigger",
    [
        "status",
        "facts",
        "trigger",
        "may_trigger",
        "may_close",
        "to_closed",
        "is_status_closed",
        "on_enter_closed",
        "get_graph",
        "class",
        "Close",
        "close-case",
        "_close",
        "__init__",
    ],
)
def test_trigger_names_that_would_collide_with_the_case_adapter_are_refused(tmp_path, trigger):
    message = refused(tmp_path, mutate('trigger = "reopen"', f'trigger = "{trigger}"'))
    assert "transition" in message
    assert repr(trigger) in message


def test_every_attribute_of_the_case_adapter_is_reserved_for_triggers():
    names = set(dir(CaseFlow)) | set(vars(CaseFlow("received", {})))
    assert all(reserved_trigger_reason(name) for name in names)
