"""The loaded workflow definitions, and the one a case runs on."""

from flask import current_app

from casework.models import Case
from workflows import Workflow, WorkflowRegistry


def registry() -> WorkflowRegistry:
    return current_app.extensions["workflows"]


def workflow_for(case: Case) -> Workflow:
    """The definition (name and version) this case was opened on."""
    return registry().get(case.workflow_name, case.workflow_version)


def default_workflow() -> Workflow:
    """The workflow a new case starts on: the latest version of the default definition."""
    return registry().default()


def state_labels() -> dict[str, str]:
    """Each state of the default workflow and its label."""
    return {state.name: state.label for state in default_workflow().states}


def known_states() -> list[str]:
    """Every state of every loaded workflow, sorted (a case's status is always one of them)."""
    return sorted({state.name for workflow in registry() for state in workflow.states})
