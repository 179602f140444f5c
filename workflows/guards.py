"""Guards: side-effect-free conditions a transition may require, registered by name.

A guard reads only the *facts* mapping the caller passes in (the engine never looks at the
database). ``may_<trigger>()`` runs guards to decide which buttons a page shows, so a guard
must not change anything. Missing facts fall back to the cautious answer.

Facts read by the guards in this module:

``urgent`` (bool)
    The case is urgent (e.g. the reporter indicated imminent danger).
``risk_level`` (str | None)
    The triage risk level; ``"urgent"`` counts as urgent too.
``respondent_affiliations`` (iterable of str)
    The affiliation of each respondent party, e.g. ``["student", "unknown"]``.
``acknowledged`` (bool)
    The receiving office has already acknowledged the *current* referral.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

Facts = Mapping[str, Any]


@dataclass(frozen=True)
class Guard:
    """A named condition with the message shown when it does not hold."""

    name: str
    message: str
    func: Callable[[Facts], bool]

    def __call__(self, facts: Facts) -> bool:
        return bool(self.func(facts))


GUARDS: dict[str, Guard] = {}


def guard(message: str) -> Callable[[Callable[[Facts], bool]], Callable[[Facts], bool]]:
    """Register the decorated function as a guard under its own name."""

    def register(func: Callable[[Facts], bool]) -> Callable[[Facts], bool]:
        if func.__name__ in GUARDS:
            raise ValueError(f"guard {func.__name__!r} registered twice")
        GUARDS[func.__name__] = Guard(func.__name__, message, func)
        return func

    return register


@guard("Referral to Student Conduct needs at least one respondent who is a student.")
def has_student_respondent(facts: Facts) -> bool:
    return any(
        str(affiliation).strip().lower() == "student" for affiliation in facts.get("respondent_affiliations") or ()
    )


@guard("Only an urgent case can be escalated to the campus police before triage.")
def is_urgent(facts: Facts) -> bool:
    return facts.get("urgent") is True or facts.get("risk_level") == "urgent"


@guard("This referral has already been acknowledged.")
def not_acknowledged(facts: Facts) -> bool:
    return not facts.get("acknowledged", False)
