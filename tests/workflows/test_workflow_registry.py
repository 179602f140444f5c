"""Loading the shipped definitions, versioning through workflows/archive/, and the diagram."""

import shutil
from pathlib import Path

import pytest

from workflows import WorkflowDefinitionError, WorkflowError, load_definition, load_directory
from workflows.engine import DEFAULT_DIR

DEFAULT_TOML = DEFAULT_DIR / "online_harassment.toml"


def make_directory(tmp_path: Path, current_version: int | None, *archived: int) -> Path:
    """A workflow folder with the default definition as current and/or archived versions."""
    text = DEFAULT_TOML.read_text(encoding="utf-8")
    if current_version is not None:
        (tmp_path / "online_harassment.toml").write_text(
            text.replace("version = 1\n", f"version = {current_version}\n"), encoding="utf-8"
        )
    (tmp_path / "archive").mkdir()
    for version in archived:
        (tmp_path / "archive" / f"online_harassment.v{version}.toml").write_text(
            text.replace("version = 1\n", f"version = {version}\n"), encoding="utf-8"
        )
    return tmp_path


def test_default_workflow_loads_from_the_package_folder():
    registry = load_directory()
    workflow = registry.default()
    assert (workflow.name, workflow.version) == ("online_harassment", 1)
    assert workflow.initial == "received"
    assert [s.name for s in workflow.states] == [
        "received",
        "triaged",
        "referred_eoa",
        "referred_conduct",
        "referred_umpd",
        "closed",
    ]
    assert [s.name for s in workflow.states if s.terminal] == ["closed"]
    assert registry.get("online_harassment", 1) == workflow
    assert ("online_harassment", 1) in registry
    assert list(registry) == [workflow]


def test_load_definition_reads_one_file():
    assert load_definition(DEFAULT_TOML).source_path == str(DEFAULT_TOML)


def test_archived_version_stays_loadable_next_to_the_current_one(tmp_path):
    registry = load_directory(make_directory(tmp_path, 2, 1))
    assert [wf.key for wf in registry] == [("online_harassment", 1), ("online_harassment", 2)]
    assert registry.latest("online_harassment").version == 2
    assert registry.default().version == 2
    old = registry.get("online_harassment", 1)
    assert old.fire(
        "received", "triage", "intake", {}, {"risk_level": "low", "jurisdiction_note": "x"}
    ).dest == ("triaged")


def test_same_name_and_version_twice_is_an_error_naming_both_files(tmp_path):
    directory = make_directory(tmp_path, 1, 1)
    with pytest.raises(WorkflowDefinitionError) as info:
        load_directory(directory)
    message = str(info.value)
    assert "online_harassment version 1 is already defined" in message
    assert str(directory / "online_harassment.toml") in message
    assert str(directory / "archive" / "online_harassment.v1.toml") in message


def test_archived_file_must_be_named_after_its_version(tmp_path):
    directory = make_directory(tmp_path, 2, 1)
    (directory / "archive" / "online_harassment.v1.toml").rename(directory / "archive" / "old.toml")
    with pytest.raises(WorkflowDefinitionError, match=r"must be named online_harassment\.v1\.toml"):
        load_directory(directory)


def test_current_file_must_be_named_after_its_workflow(tmp_path):
    shutil.copy(DEFAULT_TOML, tmp_path / "harassment.toml")
    with pytest.raises(WorkflowDefinitionError, match=r"must live in online_harassment\.toml"):
        load_directory(tmp_path)


def test_archived_version_newer_than_the_current_one_is_an_error(tmp_path):
    with pytest.raises(WorkflowDefinitionError, match="archived version 3 .* is newer than the current"):
        load_directory(make_directory(tmp_path, 2, 1, 3))


def test_unknown_workflow_or_version_is_a_workflow_error():
    registry = load_directory()
    with pytest.raises(WorkflowError, match="no workflow 'online_harassment' version 9"):
        registry.get("online_harassment", 9)
    with pytest.raises(WorkflowError, match="no workflow 'grievance'"):
        registry.latest("grievance")


def test_a_bad_file_in_the_folder_stops_the_whole_load(tmp_path):
    directory = make_directory(tmp_path, 1)
    (directory / "broken.toml").write_text("name = \n", encoding="utf-8")
    with pytest.raises(WorkflowDefinitionError, match=r"broken\.toml: invalid TOML"):
        load_directory(directory)


# -- diagram -----------------------------------------------------------------------------------


def test_mermaid_diagram_is_deterministic_and_shows_every_state_and_transition():
    workflow = load_directory().default()
    text = workflow.mermaid()
    assert text == load_directory().default().mermaid()
    assert text.splitlines()[:4] == ["---", 'title: "Online harassment report"', "---", "stateDiagram-v2"]
    for state in workflow.states:
        assert f'state "{state.label}" as {state.name}' in text
    for spec in workflow.transitions:
        assert f"{spec.source} --> {spec.dest}: {spec.trigger}" in text
    assert "[*] --> received" in text
    assert "s_active" not in text.split("classDef s_previous")[1]
    assert all(line == line.rstrip() for line in text.splitlines())


def test_mermaid_diagram_can_highlight_the_case_status():
    text = load_directory().default().mermaid("referred_conduct")
    assert "class referred_conduct s_active" in text
    assert "class received s_default" in text


def test_mermaid_diagram_shows_guards():
    assert "refer_conduct [has_student_respondent]" in load_directory().default().mermaid()
