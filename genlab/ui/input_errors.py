"""Gradio's own input checks (a slider's range, a dropdown's choices, a number's type) refuse a value without saying
which input it was: "Value 7.0 is greater than maximum value 1.0.", "Value: 'cubic' (type: <class 'str'>) is not in
the list of choices: [...]"; and a value of the wrong type (text for a slider) ends in Gradio's generic "the app has
raised an exception" on a public server. An API caller cannot tell which of 33 parameters was wrong.

This prefixes every such refusal with the input's label ("Truncation ψ ...: 7.0 is greater than the maximum, 1.0"),
drops Python's type names, and turns a wrong type into the same kind of message. Applied once when genlab.ui is
imported, to the classes (not instances: Gradio keeps per-session copies of components whose choices change).
"""

from __future__ import annotations

import functools
import re

import gradio as gr

CHECKED = (gr.Slider, gr.Number, gr.Dropdown, gr.Radio, gr.CheckboxGroup, gr.Checkbox, gr.JSON, gr.File)
_TYPE = re.compile(r"\s*\(type: <class '[^']*'>\)")


def _label(component) -> str:
    return str(getattr(component, "label", None) or getattr(component, "elem_id", None) or "an input")


def clean(message: str) -> str:
    """Gradio's wording without its Python type names: "Value 7.0 is greater than maximum value 1.0." ->
    "7.0 is greater than the maximum, 1.0"."""
    message = _TYPE.sub("", str(message)).strip()
    message = re.sub(r"^Value:?\s*", "", message)
    message = re.sub(r"is (greater|less) than (maximum|minimum) value ([^\s]+?)\.?$", r"is \1 than the \2, \3",
                     message)
    return message.replace("is not in the list of choices:", "is not one of the choices:")


def _named(preprocess):
    @functools.wraps(preprocess)
    def checked(self, payload):
        try:
            return preprocess(self, payload)
        except gr.Error as e:
            raise gr.Error(f"{_label(self)}: {clean(e.message)}") from None
        except (TypeError, ValueError, OverflowError, AttributeError):
            raise gr.Error(f"{_label(self)}: {str(payload)[:60]!r} is not a value this input takes "
                           f"({type(self).__name__.lower()}).") from None

    checked.genlab_named = True
    return checked


def apply() -> None:
    for cls in CHECKED:
        if not getattr(cls.preprocess, "genlab_named", False):
            cls.preprocess = _named(cls.preprocess)
