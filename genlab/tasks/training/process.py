"""A job's process: killed with its server, and its failure told in one line."""

from __future__ import annotations

import re


def die_with_parent() -> None:
    """In the job's process, before it starts: on Linux, be killed when the server dies, however it dies (SIGTERM
    from a supervisor does not run the server's atexit handlers). Elsewhere the run notices a new parent itself
    (GENLAB_JOB_PARENT, checked with the stop file)."""
    try:
        import ctypes
        import signal

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def failure(tail: list[str], code: int) -> str:
    """A readable reason from a failed job's log: the CLI's 'error: ...' line, or the exception's last line."""
    for line in reversed(tail):
        if line.startswith("error: "):
            return line[len("error: "):]
    for line in reversed(tail):
        if re.match(r"^[\w.]*(Error|Exception)\b", line):
            if "OutOfMemory" in line or "out of memory" in line:
                return f"out of memory ({line.split(':', 1)[-1].strip()}): lower the batch size or the resolution."
            return f"training failed: {line}"
    if code < 0:
        return f"the training process was killed (signal {-code}); if the machine ran out of memory, lower the batch " \
               "size or the resolution."
    return f"the training process exited with code {code}; see its log."


