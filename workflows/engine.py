"""The workflow engine: load and validate TOML definitions, build state machines, fire triggers.

A *definition* is data (``workflows/<name>.toml``): states, transitions, who may fire them,
what they require, deadlines. It is validated completely when it is loaded; a bad definition
raises :class:`WorkflowDefinitionError` naming the file, the entry and, where it can be found,
the line. The application loads every definition at start-up and refuses to start on a bad one.

Versioning
----------
A case stores the ``(name, version)`` of the workflow it runs on and keeps running on that
version, so a superseded definition must stay loadable. To change a workflow:

1. copy ``workflows/<name>.toml`` to ``workflows/archive/<name>.v<N>.toml`` unchanged;
2. edit ``workflows/<name>.toml`` and raise its ``version`` to ``N + 1``.

:func:`load_directory` loads the current files and the archive. Two files with the same name
and version are an error, as is an archived version that is newer than the current one.

The machine
-----------
:meth:`Workflow.machine_for` builds a ``transitions.Machine`` over a :class:`CaseFlow`, a tiny
adapter holding only ``status`` and ``facts`` (never the ORM object). ``auto_transitions`` is
off, the initial state is the case's status, and guards are conditions reading ``facts``.
Trigger names are validated at load so that none can collide with an attribute of the
adapter or with a name the machine binds (``is_*``, ``may_*``, ``to_*`` ...); ``transitions``
would otherwise skip binding it silently. The engine keeps no state between calls: the caller
stores the new status, the timeline event and the audit entry in its own transaction.
"""

from __future__ import annotations

import json
import keyword
import re
import threading
import tomllib
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date
from functools import cached_property
from pathlib import Path
from typing import Any

from transitions import Machine, MachineError
from transitions.extensions.diagrams import GraphMachine

from workflows.business_days import add_business_days
from workflows.guards import GUARDS, Facts, Guard

ROLES = frozenset({"admin", "intake", "investigator", "conduct_officer", "police_liaison", "auditor"})
OFFICES = frozenset({"eoa", "conduct", "umpd"})
PUBLIC_STATUSES = ("received", "being reviewed", "referred to another office", "closed")
FIELD_KINDS = {"choice": None, "text": 2_000, "longtext": 20_000}
STYLES = frozenset({"primary", "danger", "secondary"})
DEFAULT_DIR = Path(__file__).resolve().parent
ARCHIVE_DIRNAME = "archive"
DEFAULT_WORKFLOW = "online_harassment"

_IDENTIFIER = re.compile(r"^[a-z][a-z0-9_]*$")
# Names the machine binds on the model itself, or that would shadow its bound helpers.
_RESERVED_PREFIXES = ("is_", "may_", "to_", "on_enter_", "on_exit_", "before_", "after_", "prepare_")
_MACHINE_NAMES = frozenset({"trigger", "may_trigger", "get_graph", "status", "facts", "machine"})


class WorkflowError(Exception):
    """Base class for workflow errors (also raised for an unknown workflow or state)."""


class WorkflowDefinitionError(WorkflowError):
    """A definition file is invalid; the message names the file, the entry and the line."""


class TransitionRefused(WorkflowError):
    """A trigger may not be fired; ``message`` is readable, ``field_errors`` maps field → message."""

    def __init__(self, message: str, field_errors: Mapping[str, str] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field_errors: dict[str, str] = dict(field_errors or {})


@dataclass(frozen=True)
class Deadline:
    """A deadline of ``business_days`` after a transition, named by what must happen by then."""

    business_days: int
    label: str

    def due(self, start: date, holidays: frozenset[date] = frozenset()) -> date:
        """The due date counted from ``start``."""
        return add_business_days(start, self.business_days, holidays)


@dataclass(frozen=True)
class FieldSpec:
    """An input a transition asks for."""

    name: str
    label: str
    kind: str  # "choice" | "text" | "longtext"
    required: bool = False
    choices: tuple[tuple[str, str], ...] = ()
    max_length: int | None = None

    def choice_label(self, value: str) -> str:
        """The readable label of a choice value (the value itself when unknown)."""
        return dict(self.choices).get(value, value)


@dataclass(frozen=True)
class StateSpec:
    name: str
    label: str
    terminal: bool
    public_status: str
    deadline: Deadline | None = None


@dataclass(frozen=True)
class TransitionSpec:
    """One trigger from one source state (a definition entry with several sources gives several)."""

    trigger: str
    label: str
    source: str
    dest: str  # equals ``source`` for an internal transition
    internal: bool
    roles: frozenset[str]
    fields: tuple[FieldSpec, ...] = ()
    guards: tuple[str, ...] = ()
    sets_office: str | None = None
    refers: bool = False  # entering ``dest`` is a referral to ``sets_office``
    deadline: Deadline | None = None
    style: str | None = None

    def field(self, name: str) -> FieldSpec | None:
        return next((f for f in self.fields if f.name == name), None)


@dataclass(frozen=True)
class FiredTransition:
    """The outcome of :meth:`Workflow.fire`; the caller persists it.

    ``deadline_changed`` says whether the case's deadline must be replaced by ``deadline``
    (``None`` then means "no deadline any more"); an internal transition without its own
    deadline leaves the running deadline alone.
    """

    trigger: str
    source: str
    dest: str
    spec: TransitionSpec
    data: Mapping[str, str]
    sets_office: str | None
    deadline: Deadline | None
    deadline_changed: bool


class CaseFlow:
    """The machine's model: a status and the caller's facts, nothing else.

    Kept minimal on purpose; every attribute name here is reserved for triggers.
    """

    def __init__(self, status: str, facts: Facts | None = None) -> None:
        self.status = status
        self.facts: Facts = facts if facts is not None else {}


_RESERVED_NAMES = _MACHINE_NAMES | {name for name in dir(CaseFlow)}


def reserved_trigger_reason(name: str) -> str | None:
    """Why ``name`` cannot be a trigger (or ``None`` when it can)."""
    if not isinstance(name, str) or not _IDENTIFIER.match(name):
        return "must be a lowercase identifier (a-z, 0-9, _; starting with a letter)"
    if keyword.iskeyword(name) or name in _RESERVED_NAMES:
        return "collides with an attribute of the case adapter or the state machine"
    if name.startswith(_RESERVED_PREFIXES):
        return "must not start with " + ", ".join(repr(p) for p in _RESERVED_PREFIXES)
    return None


@dataclass(frozen=True)
class Workflow:
    """A validated workflow definition. Build it with :func:`load_definition`."""

    name: str
    version: int
    title: str
    initial: str
    states: tuple[StateSpec, ...]
    transitions: tuple[TransitionSpec, ...]
    source_path: str = field(default="", compare=False)
    guards: Mapping[str, Guard] = field(default_factory=lambda: GUARDS, compare=False, repr=False)

    # -- lookups -------------------------------------------------------------------------

    @property
    def key(self) -> tuple[str, int]:
        return (self.name, self.version)

    @cached_property
    def _states(self) -> dict[str, StateSpec]:
        return {s.name: s for s in self.states}

    @cached_property
    def _by_source(self) -> dict[str, dict[str, TransitionSpec]]:
        table: dict[str, dict[str, TransitionSpec]] = {s.name: {} for s in self.states}
        for spec in self.transitions:
            table[spec.source][spec.trigger] = spec
        return table

    @property
    def triggers(self) -> tuple[str, ...]:
        """Every trigger name, in definition order."""
        return tuple(dict.fromkeys(t.trigger for t in self.transitions))

    def state(self, status: str) -> StateSpec:
        try:
            return self._states[status]
        except KeyError:
            raise WorkflowError(f"{status!r} is not a state of workflow {self.name} v{self.version}") from None

    def state_label(self, status: str) -> str:
        return self.state(status).label

    def public_status(self, status: str) -> str:
        """The coarse word the reporter portal shows for ``status``."""
        return self.state(status).public_status

    def deadline_for(self, status: str) -> Deadline | None:
        """The deadline that starts when a case enters ``status``."""
        return self.state(status).deadline

    def transition_label(self, trigger: str) -> str:
        for spec in self.transitions:
            if spec.trigger == trigger:
                return spec.label
        raise WorkflowError(f"{trigger!r} is not an action of workflow {self.name} v{self.version}")

    def transitions_from(self, status: str) -> list[TransitionSpec]:
        """Every transition leaving ``status``, whoever may fire it."""
        self.state(status)
        return list(self._by_source[status].values())

    def spec_for(self, status: str, trigger: str) -> TransitionSpec | None:
        self.state(status)
        return self._by_source[status].get(trigger)

    # -- the machine ---------------------------------------------------------------------

    def _condition(self, guard_name: str):
        guard = self.guards[guard_name]

        def condition(event: Any) -> bool:
            return guard(event.model.facts)

        condition.__name__ = guard_name  # shown in the diagram
        return condition

    @cached_property
    def _machine_transitions(self) -> list[dict[str, Any]]:
        return [
            {
                "trigger": spec.trigger,
                "source": spec.source,
                "dest": None if spec.internal else spec.dest,
                "conditions": [self._condition(g) for g in spec.guards],
            }
            for spec in self.transitions
        ]

    def _build(self, machine_cls: type[Machine], flow: CaseFlow, **extra: Any) -> Machine:
        machine = machine_cls(
            model=flow,
            states=[s.name for s in self.states],
            transitions=self._machine_transitions,
            initial=flow.status,
            auto_transitions=False,
            send_event=True,
            model_attribute="status",
            **extra,
        )
        for trigger in self.triggers:  # belt and braces: load-time validation should make this impossible
            bound = getattr(flow, trigger, None)
            if getattr(bound, "func", None) != machine.events[trigger].trigger:
                raise WorkflowError(f"trigger {trigger!r} could not be bound to the case adapter")
        return machine

    def machine_for(self, status: str, facts: Facts | None = None) -> Machine:
        """A fresh machine whose model (``machine.model``, a :class:`CaseFlow`) is at ``status``."""
        self.state(status)
        return self._build(Machine, CaseFlow(status, facts))

    @cached_property
    def _probes(self) -> threading.local:
        return threading.local()

    def _probe(self, status: str, facts: Facts) -> CaseFlow:
        """A model at ``status`` with ``facts``, on a machine kept per thread for asking what may fire.

        Asking changes nothing on the machine, so one serves every question (building one costs a case page
        a third of a millisecond); the model is moved by setting its status, which runs no callback.
        """
        self.state(status)
        flow = getattr(self._probes, "flow", None)
        if flow is None:
            flow = self._probes.flow = self.machine_for(status).model
        flow.status = status
        flow.facts = facts
        return flow

    def available(self, status: str, role: str, facts: Facts) -> list[TransitionSpec]:
        """The transitions ``role`` may fire now, guards included (for the action buttons)."""
        flow = self._probe(status, facts)
        try:
            return [
                spec
                for spec in self.transitions_from(status)
                if role in spec.roles and getattr(flow, f"may_{spec.trigger}")()
            ]
        finally:
            flow.facts = {}  # a case's facts are not kept past the question

    def check(
        self,
        status: str,
        trigger: str,
        role: str,
        facts: Facts,
        data: Mapping[str, Any] | None = None,
    ) -> TransitionSpec:
        """Check role, source state, guards and required fields; raise :class:`TransitionRefused`."""
        self._check_without_fields(status, trigger, role, facts)
        spec = self._by_source[status][trigger]
        clean_fields(spec, data)
        return spec

    def _check_without_fields(self, status: str, trigger: str, role: str, facts: Facts) -> TransitionSpec:
        state = self.state(status)
        if trigger not in self.triggers:
            raise TransitionRefused(f"'{trigger}' is not an action of this workflow.")
        spec = self._by_source[status].get(trigger)
        if spec is None:
            label = self.transition_label(trigger)
            raise TransitionRefused(f"{label} is not possible while the case is {state.label.lower()}.")
        if role not in spec.roles:
            raise TransitionRefused(f"Your role may not use “{spec.label}” on this case.")
        for guard_name in spec.guards:
            guard = self.guards[guard_name]
            if not guard(facts):
                raise TransitionRefused(guard.message)
        return spec

    def fire(
        self,
        status: str,
        trigger: str,
        role: str,
        facts: Facts,
        data: Mapping[str, Any] | None = None,
    ) -> FiredTransition:
        """Check and fire ``trigger``; return what the caller must store. Never mutates anything."""
        spec = self._check_without_fields(status, trigger, role, facts)
        cleaned = clean_fields(spec, data)
        flow = self.machine_for(status, facts).model
        try:
            fired = getattr(flow, trigger)()
        except MachineError:
            raise TransitionRefused(
                f"{spec.label} is not possible while the case is {self.state_label(status).lower()}."
            ) from None
        if not fired:  # a condition failed between check and fire (facts are read twice)
            failing = next((g for g in spec.guards if not self.guards[g](facts)), None)
            message = self.guards[failing].message if failing else f"{spec.label} is not possible now."
            raise TransitionRefused(message)
        if spec.deadline is not None:
            deadline, changed = spec.deadline, True
        elif not spec.internal:
            deadline, changed = self.deadline_for(spec.dest), True
        else:
            deadline, changed = None, False
        return FiredTransition(
            trigger=trigger,
            source=status,
            dest=flow.status,
            spec=spec,
            data=cleaned,
            sets_office=spec.sets_office,
            deadline=deadline,
            deadline_changed=changed,
        )

    def mermaid(self, status: str | None = None) -> str:
        """Mermaid ``stateDiagram-v2`` text, drawn by ``GraphMachine``; ``status`` is highlighted."""
        flow = CaseFlow(status or self.initial)
        self.state(flow.status)
        machine = self._build(GraphMachine, flow, graph_engine="mermaid", show_conditions=True, title=self.title)
        if status is None:
            machine.get_graph()  # first call creates the graph and marks the model's state active
            machine.model_graphs[id(flow)].reset_styling()
        labels = {state.name: state.label for state in self.states}
        return _tidy_mermaid(machine.get_graph().draw(None), self.title, labels)


def _tidy_mermaid(source: str, title: str, labels: Mapping[str, str]) -> str:
    """Small fixes to transitions' output: YAML front matter, state labels, lowercase ``class``."""
    lines = [line.rstrip() for line in source.splitlines()]
    if len(lines) > 2 and lines[0] == "---" and lines[2] == "---":
        lines[1] = f"title: {json.dumps(title)}"
    lines = [re.sub(r"^(\s*)Class ", r"\1class ", line) for line in lines]
    for name, label in labels.items():
        node = f'state "{name}" as {name}'
        lines = [line.replace(node, f"state {json.dumps(label)} as {name}") for line in lines]
    return "\n".join(lines).strip() + "\n"


def clean_fields(spec: TransitionSpec, data: Mapping[str, Any] | None) -> dict[str, str]:
    """Strip and validate ``data`` against the fields of ``spec``; unknown keys are dropped."""
    data = data or {}
    cleaned: dict[str, str] = {}
    errors: dict[str, str] = {}
    for f in spec.fields:
        raw = data.get(f.name)
        if raw is None:
            raw = ""
        if not isinstance(raw, str):
            errors[f.name] = "This value is not valid."
            continue
        value = raw.strip()
        if not value:
            if f.required:
                errors[f.name] = "This field is required."
            cleaned[f.name] = ""
            continue
        if f.kind == "choice" and value not in dict(f.choices):
            errors[f.name] = "Choose one of the listed options."
        elif f.max_length is not None and len(value) > f.max_length:
            errors[f.name] = f"Please keep this under {f.max_length:,} characters (it has {len(value):,})."
        cleaned[f.name] = value
    if errors:
        raise TransitionRefused("Please correct the highlighted fields.", errors)
    return cleaned


# -- loading and validation -----------------------------------------------------------------

_TOP_KEYS = {"name", "version", "title", "initial", "states", "transitions", "description"}
_STATE_KEYS = {"label", "terminal", "deadline", "deadline_label", "public_status", "description"}
_TRANSITION_KEYS = {
    "trigger",
    "label",
    "sources",
    "dest",
    "roles",
    "roles_by_source",
    "fields",
    "guards",
    "sets_office",
    "refers",
    "deadline",
    "deadline_label",
    "style",
    "description",
}
_FIELD_KEYS = {"name", "label", "kind", "required", "choices", "max_length", "help"}


class _Loader:
    """Turns one parsed file into a :class:`Workflow`, raising errors that point into the file."""

    def __init__(self, path: Path, text: str, guards: Mapping[str, Guard]) -> None:
        self.path = path
        self.lines = text.splitlines()
        self.guards = guards

    # -- error helpers

    def _line_of(self, pattern: str, occurrence: int = 0) -> int | None:
        regex = re.compile(pattern)
        seen = 0
        for number, line in enumerate(self.lines, start=1):
            if regex.search(line):
                if seen == occurrence:
                    return number
                seen += 1
        return None

    def fail(self, where: str, problem: str, line: int | None = None) -> WorkflowDefinitionError:
        location = f"{self.path}:{line}" if line else f"{self.path}"
        return WorkflowDefinitionError(f"{location}: {where}: {problem}")

    def top_line(self, key: str) -> int | None:
        return self._line_of(rf"^\s*{re.escape(key)}\s*=")

    def state_line(self, name: str) -> int | None:
        return self._line_of(rf"^\s*\[\s*states\.{re.escape(name)}\s*\]") or self._line_of(
            rf"^\s*{re.escape(name)}\s*=\s*\{{"
        )

    # -- small typed getters

    def _str(self, table: Mapping[str, Any], key: str, where: str, line: int | None, *, required=True):
        value = table.get(key)
        if value is None and not required:
            return None
        if not isinstance(value, str) or not value.strip():
            raise self.fail(where, f"'{key}' must be a non-empty string", line)
        return value.strip()

    def _deadline(self, table: Mapping[str, Any], where: str, line: int | None) -> Deadline | None:
        days, label = table.get("deadline"), table.get("deadline_label")
        if days is None:
            if label is not None:
                raise self.fail(where, "'deadline_label' given without 'deadline'", line)
            return None
        if isinstance(days, bool) or not isinstance(days, int):
            raise self.fail(where, "'deadline' must be a whole number of business days", line)
        if days < 0:
            raise self.fail(where, f"'deadline' must not be negative (got {days})", line)
        if not isinstance(label, str) or not label.strip():
            raise self.fail(where, "a 'deadline' needs a 'deadline_label' (e.g. \"triage\")", line)
        return Deadline(days, label.strip())

    def _unknown_keys(self, table: Mapping[str, Any], allowed: set[str], where: str, line: int | None):
        unknown = sorted(set(table) - allowed)
        if unknown:
            raise self.fail(where, "unknown key(s) " + ", ".join(repr(k) for k in unknown), line)

    # -- the document

    def load(self, doc: Mapping[str, Any]) -> Workflow:
        self._unknown_keys(doc, _TOP_KEYS, "definition", None)
        name = self._str(doc, "name", "definition", self.top_line("name"))
        if not _IDENTIFIER.match(name):
            raise self.fail("definition", f"name {name!r} must be a lowercase identifier", self.top_line("name"))
        version = doc.get("version")
        if isinstance(version, bool) or not isinstance(version, int) or version < 1:
            raise self.fail("definition", "'version' must be a whole number ≥ 1", self.top_line("version"))
        title = self._str(doc, "title", "definition", self.top_line("title"))

        raw_states = doc.get("states")
        if not isinstance(raw_states, dict) or not raw_states:
            raise self.fail("definition", "'states' must be a table with at least one state", None)
        states = tuple(self._state(state_name, table) for state_name, table in raw_states.items())
        state_names = {s.name for s in states}

        initial = self._str(doc, "initial", "definition", self.top_line("initial"))
        if initial not in state_names:
            raise self.fail("definition", f"initial state {initial!r} is not a state", self.top_line("initial"))

        raw_transitions = doc.get("transitions")
        if not isinstance(raw_transitions, list) or not raw_transitions:
            raise self.fail("definition", "'transitions' must be a list with at least one [[transitions]]", None)
        transitions: list[TransitionSpec] = []
        seen: dict[tuple[str, str], int] = {}
        occurrences: dict[str, int] = {}
        for index, table in enumerate(raw_transitions):
            trigger = table.get("trigger") if isinstance(table, dict) else None
            occurrence = occurrences.get(str(trigger), 0)
            occurrences[str(trigger)] = occurrence + 1
            line = self._transition_line(index, trigger, occurrence)
            for spec in self._transition(table, index, line, state_names):
                key = (spec.trigger, spec.source)
                if key in seen:
                    raise self.fail(
                        f"transition '{spec.trigger}'",
                        f"duplicate trigger from state {spec.source!r} (also in transition #{seen[key] + 1})",
                        line,
                    )
                seen[key] = index
                transitions.append(spec)

        self._check_graph(states, initial, transitions)
        return Workflow(
            name=name,
            version=version,
            title=title,
            initial=initial,
            states=states,
            transitions=tuple(transitions),
            source_path=str(self.path),
            guards=self.guards,
        )

    def _state(self, name: str, table: Any) -> StateSpec:
        where = f"state '{name}'"
        line = self.state_line(name)
        if not _IDENTIFIER.match(name):
            raise self.fail(where, "state names must be lowercase identifiers", line)
        if not isinstance(table, dict):
            raise self.fail(where, "must be a table", line)
        self._unknown_keys(table, _STATE_KEYS, where, line)
        terminal = table.get("terminal", False)
        if not isinstance(terminal, bool):
            raise self.fail(where, "'terminal' must be true or false", line)
        public = table.get("public_status")
        if public not in PUBLIC_STATUSES:
            allowed = ", ".join(repr(p) for p in PUBLIC_STATUSES)
            raise self.fail(where, f"'public_status' must be one of {allowed} (got {public!r})", line)
        return StateSpec(
            name=name,
            label=self._str(table, "label", where, line),
            terminal=terminal,
            public_status=public,
            deadline=self._deadline(table, where, line),
        )

    def _transition_line(self, index: int, trigger: Any, occurrence: int) -> int | None:
        if isinstance(trigger, str):
            line = self._line_of(rf"^\s*trigger\s*=\s*[\"']{re.escape(trigger)}[\"']", occurrence)
            if line:
                return line
        return self._line_of(r"^\s*\[\[\s*transitions\s*\]\]", index)

    def _transition(self, table: Any, index: int, line: int | None, states: set[str]) -> list[TransitionSpec]:
        where = f"transition #{index + 1}"
        if not isinstance(table, dict):
            raise self.fail(where, "must be a table", line)
        trigger = table.get("trigger")
        if isinstance(trigger, str):
            where = f"transition '{trigger}'"
        reason = reserved_trigger_reason(trigger)
        if reason:
            raise self.fail(where, f"trigger {trigger!r} {reason}", line)
        self._unknown_keys(table, _TRANSITION_KEYS, where, line)
        label = self._str(table, "label", where, line)

        sources = table.get("sources")
        if not isinstance(sources, list) or not sources or not all(isinstance(s, str) for s in sources):
            raise self.fail(where, "'sources' must be a non-empty list of state names", line)
        if len(set(sources)) != len(sources):
            raise self.fail(where, "'sources' lists a state twice", line)
        for source in sources:
            if source not in states:
                raise self.fail(where, f"source {source!r} is not a state", line)
        dest = table.get("dest")
        if dest is not None and dest not in states:
            raise self.fail(where, f"dest {dest!r} is not a state", line)

        roles = self._roles(table.get("roles", []), where, line)
        by_source = table.get("roles_by_source", {})
        if not isinstance(by_source, dict):
            raise self.fail(where, "'roles_by_source' must be a table of state = [roles]", line)
        role_map: dict[str, frozenset[str]] = {}
        for source, source_roles in by_source.items():
            if source not in sources:
                raise self.fail(where, f"'roles_by_source' names {source!r}, which is not in 'sources'", line)
            role_map[source] = self._roles(source_roles, where, line)
        for source in sources:
            if not role_map.get(source, roles):
                raise self.fail(where, f"nobody may fire it from {source!r}: give 'roles'", line)

        guards = table.get("guards", [])
        if not isinstance(guards, list) or not all(isinstance(g, str) for g in guards):
            raise self.fail(where, "'guards' must be a list of guard names", line)
        for guard in guards:
            if guard not in self.guards:
                known = ", ".join(sorted(self.guards))
                raise self.fail(where, f"unknown guard {guard!r} (known: {known})", line)

        office = table.get("sets_office")
        if office is not None and office not in OFFICES:
            raise self.fail(where, f"unknown office {office!r} in 'sets_office' (known: eoa, conduct, umpd)", line)
        refers = table.get("refers", False)
        if not isinstance(refers, bool):
            raise self.fail(where, "'refers' must be true or false", line)
        if refers and office is None:
            raise self.fail(where, "'refers' needs 'sets_office': the office the case is referred to", line)
        style = table.get("style")
        if style is not None and style not in STYLES:
            raise self.fail(where, f"unknown style {style!r} (known: {', '.join(sorted(STYLES))})", line)
        fields = self._fields(table.get("fields", []), where, line)
        deadline = self._deadline(table, where, line)

        return [
            TransitionSpec(
                trigger=trigger,
                label=label,
                source=source,
                dest=dest if dest is not None else source,
                internal=dest is None,
                roles=role_map.get(source, roles),
                fields=fields,
                guards=tuple(guards),
                sets_office=office,
                refers=refers,
                deadline=deadline,
                style=style,
            )
            for source in sources
        ]

    def _roles(self, roles: Any, where: str, line: int | None) -> frozenset[str]:
        if not isinstance(roles, list) or not all(isinstance(r, str) for r in roles):
            raise self.fail(where, "roles must be a list of role names", line)
        for role in roles:
            if role not in ROLES:
                raise self.fail(where, f"unknown role {role!r} (known: {', '.join(sorted(ROLES))})", line)
        return frozenset(roles)

    def _fields(self, raw: Any, where: str, line: int | None) -> tuple[FieldSpec, ...]:
        if not isinstance(raw, list):
            raise self.fail(where, "'fields' must be a list of [[transitions.fields]] tables", line)
        fields: list[FieldSpec] = []
        for table in raw:
            if not isinstance(table, dict):
                raise self.fail(where, "each field must be a table", line)
            name = table.get("name")
            if not isinstance(name, str) or not _IDENTIFIER.match(name):
                raise self.fail(where, f"field name {name!r} must be a lowercase identifier", line)
            fwhere = f"{where}, field '{name}'"
            self._unknown_keys(table, _FIELD_KEYS, fwhere, line)
            if any(f.name == name for f in fields):
                raise self.fail(fwhere, "field defined twice", line)
            kind = table.get("kind")
            if kind not in FIELD_KINDS:
                raise self.fail(fwhere, f"unknown field kind {kind!r} (known: {', '.join(FIELD_KINDS)})", line)
            required = table.get("required", False)
            if not isinstance(required, bool):
                raise self.fail(fwhere, "'required' must be true or false", line)
            choices = self._choices(table.get("choices"), kind, fwhere, line)
            max_length = table.get("max_length", FIELD_KINDS[kind])
            if max_length is not None and (
                isinstance(max_length, bool) or not isinstance(max_length, int) or max_length < 1
            ):
                raise self.fail(fwhere, "'max_length' must be a positive whole number", line)
            fields.append(
                FieldSpec(
                    name=name,
                    label=self._str(table, "label", fwhere, line),
                    kind=kind,
                    required=required,
                    choices=choices,
                    max_length=max_length,
                )
            )
        return tuple(fields)

    def _choices(self, raw: Any, kind: str, where: str, line: int | None) -> tuple[tuple[str, str], ...]:
        if kind != "choice":
            if raw is not None:
                raise self.fail(where, f"'choices' only make sense for kind = \"choice\", not {kind!r}", line)
            return ()
        if not isinstance(raw, list) or not raw:
            raise self.fail(where, "a choice field needs 'choices' as a list of [value, label] pairs", line)
        pairs: list[tuple[str, str]] = []
        for pair in raw:
            if not isinstance(pair, list) or len(pair) != 2 or not all(isinstance(p, str) and p.strip() for p in pair):
                raise self.fail(where, f"choice {pair!r} must be a [value, label] pair of strings", line)
            if any(value == pair[0] for value, _ in pairs):
                raise self.fail(where, f"choice value {pair[0]!r} appears twice", line)
            pairs.append((pair[0], pair[1]))
        return tuple(pairs)

    def _check_graph(self, states: tuple[StateSpec, ...], initial: str, transitions: list[TransitionSpec]):
        if not any(s.terminal for s in states):
            raise self.fail("definition", "no terminal state: mark where a case may rest with terminal = true")
        exits: dict[str, set[str]] = {s.name: set() for s in states}
        for spec in transitions:
            if not spec.internal and spec.dest != spec.source:
                exits[spec.source].add(spec.dest)
        reached, queue = {initial}, [initial]
        while queue:
            for nxt in sorted(exits[queue.pop()]):
                if nxt not in reached:
                    reached.add(nxt)
                    queue.append(nxt)
        for state in states:
            if state.name not in reached:
                raise self.fail(
                    f"state '{state.name}'",
                    f"unreachable from initial state {initial!r}",
                    self.state_line(state.name),
                )
            if not state.terminal and not exits[state.name]:
                raise self.fail(
                    f"state '{state.name}'",
                    "dead end: no transition leaves it and it is not terminal",
                    self.state_line(state.name),
                )


def load_definition(path: str | Path, *, guards: Mapping[str, Guard] | None = None) -> Workflow:
    """Load and validate one definition file."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise WorkflowDefinitionError(f"{path}: cannot read: {exc.strerror or exc}") from None
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise WorkflowDefinitionError(f"{path}: invalid TOML: {exc}") from None
    return _Loader(path, text, GUARDS if guards is None else guards).load(doc)


class WorkflowRegistry:
    """Every loaded workflow, by ``(name, version)``; iterates in name, version order."""

    def __init__(self, workflows: Iterable[Workflow]) -> None:
        self._workflows: dict[tuple[str, int], Workflow] = {}
        for wf in workflows:
            if wf.key in self._workflows:
                other = self._workflows[wf.key].source_path
                raise WorkflowDefinitionError(
                    f"{wf.source_path}: workflow {wf.name} version {wf.version} is already defined in {other}"
                )
            self._workflows[wf.key] = wf

    def get(self, name: str, version: int) -> Workflow:
        try:
            return self._workflows[(name, version)]
        except KeyError:
            raise WorkflowError(f"no workflow {name!r} version {version}") from None

    def latest(self, name: str) -> Workflow:
        versions = [wf for (n, _), wf in self._workflows.items() if n == name]
        if not versions:
            raise WorkflowError(f"no workflow {name!r}")
        return max(versions, key=lambda wf: wf.version)

    def default(self) -> Workflow:
        return self.latest(DEFAULT_WORKFLOW)

    def names(self) -> list[str]:
        return sorted({name for name, _ in self._workflows})

    def __iter__(self) -> Iterator[Workflow]:
        return iter(sorted(self._workflows.values(), key=lambda wf: wf.key))

    def __len__(self) -> int:
        return len(self._workflows)

    def __contains__(self, key: object) -> bool:
        return key in self._workflows


def load_directory(
    directory: str | Path | None = None, *, guards: Mapping[str, Guard] | None = None
) -> WorkflowRegistry:
    """Load ``<dir>/<name>.toml`` (current) and ``<dir>/archive/<name>.v<N>.toml`` (superseded)."""
    directory = Path(directory) if directory is not None else DEFAULT_DIR
    current = [load_definition(p, guards=guards) for p in sorted(directory.glob("*.toml"))]
    archived = [load_definition(p, guards=guards) for p in sorted((directory / ARCHIVE_DIRNAME).glob("*.toml"))]
    for wf in current:
        if Path(wf.source_path).name != f"{wf.name}.toml":
            raise WorkflowDefinitionError(f"{wf.source_path}: workflow {wf.name!r} must live in {wf.name}.toml")
    for wf in archived:
        if Path(wf.source_path).name != f"{wf.name}.v{wf.version}.toml":
            raise WorkflowDefinitionError(
                f"{wf.source_path}: an archived definition must be named {wf.name}.v{wf.version}.toml"
            )
    registry = WorkflowRegistry([*current, *archived])
    for wf in current:
        newest = registry.latest(wf.name)
        if newest.version != wf.version:
            raise WorkflowDefinitionError(
                f"{newest.source_path}: archived version {newest.version} of {wf.name!r} is newer than "
                f"the current {wf.source_path} (version {wf.version})"
            )
    return registry
