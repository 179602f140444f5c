"""Helpers shared by every blueprint's forms."""

from collections.abc import Mapping

from wtforms import SelectChoice


def choices(options: Mapping[str, str], blank: str | None = None) -> list[SelectChoice]:
    """Select options from a vocabulary mapping, optionally led by a blank choice."""
    items = [SelectChoice(value, label) for value, label in options.items()]
    return [SelectChoice("", blank), *items] if blank is not None else items
