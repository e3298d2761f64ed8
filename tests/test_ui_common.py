"""Shared UI helpers."""

import gradio as gr
import pytest

from genlab.ui.common import check_int


def test_check_int_accepts_whole_numbers_in_range():
    assert check_int(3, "k", 1, 8) == 3 and check_int(8.0, "k", 1, 8) == 8


@pytest.mark.parametrize("value", [None, 2.5, "x", 0, 9, float("inf"), float("nan")])
def test_check_int_refuses_with_the_name_and_range(value):
    with pytest.raises(gr.Error, match="k must be a whole number from 1 to 8"):
        check_int(value, "k", 1, 8)
