"""Stopping a stage cleanly when the scheduler asks: SIGUSR1, SIGUSR2 or SIGTERM.

A scheduler warns a job before it kills it: ``#SBATCH --signal=USR1@90`` sends SIGUSR1 90 s before
the time limit (scripts/slurm/stage.sbatch asks for it), submitit asks for SIGUSR2, and preemption,
``scancel`` and the time limit itself send SIGTERM, then SIGKILL ``KillWait`` seconds later. A stage
killed there would lose everything since its last checkpoint. While a stage's loop runs inside
:class:`StopSignals`, a signal only records itself; the loop polls :meth:`StopSignals.agreed` at a safe
point and, when it is set, saves and calls :meth:`StopSignals.exit`:

- a training stage (training/loop.py) after the optimizer update in flight: every rank agrees on the
  update (the flag is summed over the ranks), ``save_state`` goes to the usual
  ``checkpoints/step_N``; the run loses at most the update it was in;
- a sharded stage (generate, score_quals) after the shard in flight: it is written atomically,
  the next one is not started (a SIGKILL before the shard ends abandons it; it is never counted).

:meth:`StopSignals.exit` then, in this order (Lightning's SLURM auto-requeue, which this matches):

1. hands the signal to the handler that was installed before ours when that is a Python function:
   submitit's, which requeues the job itself (``max_num_timeout``) and exits. The signal acted on is a
   warning (SIGUSR1/SIGUSR2) when one came, else the first that came;
2. under SLURM (``SLURM_JOB_ID`` set, ``CONSUM_REQUEUE`` not ``0``), on SIGUSR1/SIGUSR2 (a warning
   that the job is about to end), the main process runs ``scontrol requeue $SLURM_JOB_ID``: SLURM ends
   the job and queues it again with the same job id, hence the same ``RUN_ID``, and the stage resumes.
   SIGTERM is not requeued here: it comes from ``scancel`` (the user wants the job gone), from the time
   limit without a warning signal, or from a preemption that SLURM requeues itself (PreemptMode=REQUEUE);
3. exits with status 128 + the signal's number (143 for SIGTERM, 138 for SIGUSR1, 140 for SIGUSR2),
   the status a shell reports for a process killed by that signal: not 0, so ``make pipeline`` and
   ``&&`` chains stop at the unfinished stage.

Why ``scontrol requeue`` and not an exit status: SLURM requeues a job by its exit status only where the
administrator listed that status in ``RequeueExit`` (slurm.conf); ``scontrol requeue`` works wherever
jobs may be requeued (``--requeue``, or ``JobRequeue=1``, SLURM's default).

Signal handlers can only be installed from the main thread; elsewhere :class:`StopSignals` does nothing
and the signals keep their handlers.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from typing import Any

STOP_SIGNALS = (signal.SIGUSR1, signal.SIGUSR2, signal.SIGTERM)
REQUEUE_SIGNALS = (signal.SIGUSR1, signal.SIGUSR2)  # warnings before the end of the job: come back
REQUEUE_ENV = "CONSUM_REQUEUE"  # "0": never requeue (the signal still saves and stops the stage)


class Preempted(SystemExit):
    """Raised by :meth:`StopSignals.exit`; uncaught, the process exits with ``code`` (128 + signal)."""

    def __init__(self, signum: int, what: str):
        self.signum = signum
        self.what = what
        super().__init__(128 + signum)

    def __str__(self) -> str:
        return f"stopped by {signal.Signals(self.signum).name}: {self.what}"


def exit_status(signum: int) -> int:
    """The process's exit status after a stop by ``signum``.

    >>> exit_status(signal.SIGTERM), exit_status(signal.SIGUSR1)
    (143, 138)
    """
    return 128 + int(signum)


class StopSignals:
    """Record the first stop signal while a loop runs (a context manager; restores the old handlers).

    >>> with StopSignals() as stop:
    ...     os.kill(os.getpid(), signal.SIGUSR1)
    ...     stop.signum == signal.SIGUSR1
    True
    """

    def __init__(self, signals: tuple[int, ...] = STOP_SIGNALS, *, echo=None):
        self.signals = signals
        self.received: list[int] = []  # in order of arrival, each once
        self._previous: dict[int, Any] = {}
        self._echo = echo or (lambda text: print(text, file=sys.stderr, flush=True))

    def __enter__(self) -> StopSignals:
        if threading.current_thread() is threading.main_thread():
            for signum in self.signals:
                self._previous[signum] = signal.signal(signum, self._record)
        return self

    def __exit__(self, *exc) -> None:
        for signum, previous in self._previous.items():
            signal.signal(signum, previous if previous is not None else signal.SIG_DFL)
        self._previous.clear()

    def _record(self, signum: int, frame) -> None:
        if signum not in self.received:
            self.received.append(signum)
            self._echo(f"consum: got {signal.Signals(signum).name} (pid {os.getpid()}); "
                       "stopping at the next safe point (end of the update or shard in flight)")

    @property
    def signum(self) -> int | None:
        """The signal to act on: a warning (SIGUSR1/SIGUSR2) when one came, else the first; None: none came.

        A warning wins over a SIGTERM that came with it: submitit's preemption is SIGTERM then SIGUSR2, and
        the job must still be requeued.
        """
        warnings = [s for s in self.received if s in REQUEUE_SIGNALS]
        return (warnings or self.received or [None])[0]

    @property
    def requested(self) -> bool:
        return bool(self.received)

    def agreed(self, accelerator=None) -> bool:
        """Whether any rank got a stop signal (one sum over the ranks when there are several).

        Every rank must call it at the same point (after the same update), so that all stop there.
        """
        if accelerator is None or accelerator.num_processes == 1:
            return self.requested
        import torch

        flag = torch.tensor([1.0 if self.requested else 0.0], device=accelerator.device)
        return bool(accelerator.reduce(flag, reduction="sum").item() > 0)

    def exit(self, *, is_main: bool, what: str) -> None:
        """Hand over, requeue and exit (see the module docstring). Raises :class:`Preempted`."""
        signum = self.signum if self.signum is not None else signal.SIGTERM  # only another rank got one
        previous = self._previous.get(signum)  # our handlers stay until the `with` ends: a SIGTERM
        if callable(previous):                  # that the requeue brings is only recorded
            previous(signum, None)  # submitit: requeues and exits (raises SystemExit)
        if is_main and signum in REQUEUE_SIGNALS and should_requeue():
            requeue(os.environ["SLURM_JOB_ID"], echo=self._echo)
        raise Preempted(signum, what)


def should_requeue(environ=os.environ) -> bool:
    """Under SLURM, unless ``CONSUM_REQUEUE=0``.

    >>> should_requeue({"SLURM_JOB_ID": "7"}), should_requeue({"SLURM_JOB_ID": "7", "CONSUM_REQUEUE": "0"})
    (True, False)
    >>> should_requeue({})
    False
    """
    return bool(environ.get("SLURM_JOB_ID")) and environ.get(REQUEUE_ENV, "1") != "0"


def requeue(job_id: str, *, echo=print) -> bool:
    """``scontrol requeue <job_id>``; False (and a message) when it fails: the job then just ends.

    The message comes first: SLURM ends the job as soon as it is requeued, and what the job prints after
    that may not reach its log."""
    echo(f"consum: requeueing SLURM job {job_id}; it resumes from the checkpoint when it starts again")
    try:
        proc = subprocess.run(
            ["scontrol", "requeue", str(job_id)], capture_output=True, text=True, timeout=60
        )
    except (OSError, subprocess.TimeoutExpired) as err:
        echo(f"consum: could not requeue SLURM job {job_id}: {err}")
        return False
    if proc.returncode != 0:
        echo(f"consum: scontrol requeue {job_id} failed ({proc.returncode}): {proc.stderr.strip()}")
        return False
    return True
