"""The Casework workflow engine: TOML definitions → validated workflows → state machines.

Free of Flask, SQLAlchemy and ``casework``; see :mod:`workflows.engine` for the rules.
"""

from workflows.business_days import add_business_days, is_business_day
from workflows.engine import (
    DEFAULT_WORKFLOW,
    OFFICES,
    PUBLIC_STATUSES,
    ROLES,
    CaseFlow,
    Deadline,
    FieldSpec,
    FiredTransition,
    StateSpec,
    TransitionRefused,
    TransitionSpec,
    Workflow,
    WorkflowDefinitionError,
    WorkflowError,
    WorkflowRegistry,
    load_definition,
    load_directory,
)
from workflows.guards import GUARDS, Guard

__all__ = [
    "DEFAULT_WORKFLOW",
    "GUARDS",
    "OFFICES",
    "PUBLIC_STATUSES",
    "ROLES",
    "CaseFlow",
    "Deadline",
    "FieldSpec",
    "FiredTransition",
    "Guard",
    "StateSpec",
    "TransitionRefused",
    "TransitionSpec",
    "Workflow",
    "WorkflowDefinitionError",
    "WorkflowError",
    "WorkflowRegistry",
    "add_business_days",
    "is_business_day",
    "load_definition",
    "load_directory",
]
