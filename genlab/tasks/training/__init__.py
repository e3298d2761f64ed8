"""Training jobs behind the app's Train tab: a queue that runs ``python -m genlab.train`` in the background.

The tab does not copy the training loops: each job is the CLI's own command (one loop per family stays
the one source of truth), run as a child process with its threads capped, so that a job

- outlives the request and the browser tab that started it (closing the page does not stop it);
- leaves the server a core (``GENLAB_TRAIN_THREADS``, default half the CPU cores) and survives a crash,
  a NaN loss or an out-of-memory error in the job, which ends it with a readable message;
- reports through the run's events file (``GENLAB_JOB_EVENTS``: loss points, sample grids) and stops,
  saving its resumable state, when its stop file appears (``GENLAB_JOB_STOP``).

One job runs at a time per server; the others wait in line and see their place. A job's id is an
unguessable token: on a public Space it is what a visitor holds (in the page's browser storage), and
another visitor can neither list, load nor stop a job whose id they do not have. Its data, run folder
and (on a Space) its model live in the job's own temporary folder, removed when the job is deleted
or the server stops.

    jobs = JobQueue()
    job = jobs.submit(JobSpec(family="gan", data="emoji", minutes=5), data_zip=None)
    jobs.status(job.id)          # state, step, images/s, time left, losses, latest grid, model id
    jobs.stop(job.id); jobs.resume(job.id)
"""

from __future__ import annotations

from .jobs import Job, JobQueue
from .process import failure
from .spec import (BUILT_IN, FAMILIES, RESOLUTIONS, Caps, JobError, JobSpec, caps, check, command, job_threads, on_space,
                   preset_for, training_enabled)
from .summary import describe

__all__ = ["BUILT_IN", "FAMILIES", "RESOLUTIONS", "Caps", "Job", "JobError", "JobQueue", "JobSpec", "caps", "check",
           "command", "describe", "failure", "job_threads", "on_space", "preset_for", "training_enabled"]
