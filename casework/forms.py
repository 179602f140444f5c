"""Helpers shared by every blueprint's forms."""

from collections.abc import Mapping
from functools import lru_cache

from flask_wtf import FlaskForm
from markupsafe import Markup, escape
from wtforms import SelectChoice, widgets
from wtforms.widgets.core import clean_key


def choices(options: Mapping[str, str], blank: str | None = None) -> list[SelectChoice]:
    """Select options from a vocabulary mapping, optionally led by a blank choice."""
    items = [SelectChoice(value, label) for value, label in options.items()]
    return [SelectChoice("", blank), *items] if blank is not None else items


# -- rendering -------------------------------------------------------------------------------------
# WTForms builds every attribute with Markup.format (string.Formatter, escaping each piece): on a case page
# with five forms that is a tenth of the request. These widgets write the same markup with f-strings.


def html_params(**kwargs) -> str:
    """The attributes WTForms' html_params writes (sorted, `class_` → `class`, booleans bare), escaped the same."""
    params = []
    for key, value in sorted(kwargs.items()):
        if value is True:
            params.append(_attribute_name(key))
        elif value is not False:
            params.append(f'{_attribute_name(key)}="{str(escape(value)).replace(chr(34), "&quot;")}"')
    return " ".join(params)


@lru_cache(maxsize=256)
def _attribute_name(key: str) -> str:
    """An attribute's name as WTForms writes it (keys come from code: a few dozen, worked out once each)."""
    return str(escape(clean_key(key)))


def _validation_flags(widget, field) -> dict:
    """The field's flags that the widget writes as attributes (required, maxlength, ...)."""
    flags = getattr(getattr(field, "flags", None), "__dict__", {})  # those set on the field (dir() is slow)
    return {k: value for k, value in flags.items() if k in widget.validation_attrs}


def _attributes(widget, field, kwargs: dict) -> dict:
    """The id and the validation attributes a WTForms textarea or select adds."""
    kwargs.setdefault("id", field.id)
    for k, value in _validation_flags(widget, field).items():
        kwargs.setdefault(k, value)
    return kwargs


class _Input(widgets.Input):
    """WTForms' Input: its type, value and list attributes, then its flags (a callable flag is called)."""

    def __call__(self, field, **kwargs):
        kwargs.setdefault("id", field.id)
        kwargs.setdefault("type", self.input_type)
        if "value" not in kwargs:
            kwargs["value"] = field._value()
        datalist = getattr(field, "_datalist", None)
        if datalist is not None and "list" not in kwargs:
            kwargs["list"] = datalist if isinstance(datalist, str) else datalist.id
        for k, value in _validation_flags(self, field).items():
            if k not in kwargs:
                kwargs[k] = value() if callable(value) else value
        return Markup(f"<input {html_params(name=field.name, **kwargs)}>")  # noqa: S704 - escaped


class _TextInput(widgets.TextInput, _Input):
    pass


class _HiddenInput(widgets.HiddenInput, _Input):
    pass


class _SubmitInput(widgets.SubmitInput, _Input):
    pass


class _TextArea(widgets.TextArea):
    def __call__(self, field, **kwargs):
        kwargs = _attributes(self, field, kwargs)
        inner = escape(field._value())
        return Markup(f"<textarea {html_params(name=field.name, **kwargs)}>\r\n{inner}</textarea>")  # noqa: S704 - escaped


class _Select(widgets.Select):
    def __call__(self, field, **kwargs):
        kwargs = _attributes(self, field, kwargs)
        html = [f"<select {html_params(name=field.name, **kwargs)}>"]
        for choice in field._iter_choices_normalized():
            value = str(choice.value) if isinstance(choice.value, bool) else choice.value
            options = {"value": value, **(choice.render_kw or {})}
            if choice.selected:
                options["selected"] = True
            html.append(f"<option {html_params(**options)}>{escape(choice.label or choice.value)}</option>")
        html.append("</select>")
        return Markup("".join(html))  # noqa: S704 - escaped


_QUICK_WIDGETS = {
    widgets.TextInput: _TextInput(),
    widgets.HiddenInput: _HiddenInput(),
    widgets.SubmitInput: _SubmitInput(),
    widgets.TextArea: _TextArea(),
}


_SELECT = _Select()


class QuickForm(FlaskForm):
    """A FlaskForm whose text, hidden, submit, textarea and select fields render WTForms' markup, faster."""

    class Meta:
        def render_field(self, field, render_kw):
            widget = _QUICK_WIDGETS.get(type(field.widget))
            if type(field.widget) is widgets.Select and not field.widget.multiple and not field.has_groups():
                widget = _SELECT
            if widget is None:
                return super().render_field(field, render_kw)
            render_kw = {clean_key(k): v for k, v in render_kw.items()}
            other_kw = getattr(field, "render_kw", None)
            if other_kw is not None:
                render_kw = dict({clean_key(k): v for k, v in other_kw.items()}, **render_kw)
            return widget(field, **render_kw)
