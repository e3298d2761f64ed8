"""The worked examples' store: computed once in the background, one value per output, a failure shows nothing."""

import gradio as gr

from genlab.ui.first_visit import WorkedExamples


def test_results_are_computed_once_and_shaped_per_output(monkeypatch):
    monkeypatch.delenv("GENLAB_FIRST_VISIT", raising=False)
    calls = []
    ex = WorkedExamples()
    ex.add("two", lambda: calls.append("two") or ("a", "b"))
    ex.add("one", lambda: calls.append("one") or ("c",))
    ex.add("two", lambda: calls.append("again") or ("x", "y"))  # the app built twice: the first job stays
    ex.add("broken", lambda: 1 / 0)
    ex.start()
    assert ex.outputs("two", 2) == ("a", "b")
    assert ex.outputs("one", 1) == "c"  # a single output gets the value itself, not a 1-tuple
    assert ex.outputs("two", 2) == ("a", "b") and calls == ["two", "one"]
    skipped = ex.outputs("broken", 1)  # the tab stays as it is; the server keeps serving
    assert isinstance(skipped, type(gr.skip()))
    assert all(isinstance(v, type(gr.skip())) for v in ex.outputs("broken", 3))


def test_switched_off_nothing_runs(monkeypatch):
    monkeypatch.setenv("GENLAB_FIRST_VISIT", "0")
    ran = []
    ex = WorkedExamples()
    ex.add("job", lambda: ran.append(1) or ("a", "b"))
    ex.start()
    assert ran == [] and all(isinstance(v, type(gr.skip())) for v in ex.outputs("job", 2))
