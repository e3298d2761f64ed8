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


def test_output_path_is_fresh_and_old_outputs_are_deleted():
    import os
    import time

    from genlab.ui import common

    old = common.output_path("a.gif")
    old.write_bytes(b"x")
    past = time.time() - common.KEEP_SECONDS - 10
    os.utime(old.parent, (past, past))
    new = common.output_path("a.gif")
    assert new != old and new.parent.parent == common.OUT_DIR
    assert not old.parent.exists()
