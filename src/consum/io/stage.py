"""Opening a stage: the one way every stage creates (or resumes) its run dir.

Every stage starts the same way::

    run = open_stage(cfg, accelerator, echo=echo)   # accelerator: None for one-process stages
    if run.is_complete:                              # open_stage has said "nothing to do"
        return run

A new run dir is created; an unfinished one with the same config is reopened (the stage then skips
its finished shards or resumes from its checkpoint); an unfinished or finished one written with a
different config is refused (:class:`~consum.io.rundir.ConfigMismatchError`); a complete one is
returned as it is, after one message on the main process.

This module imports no ``accelerate``: ``accelerator`` is anything with ``num_processes`` and
``is_main_process`` (an ``accelerate.Accelerator``), built by the stage, which knows its options.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from consum.io.rundir import RunDir


def open_stage(cfg: Mapping, accelerator: Any = None, *, echo: Callable[[str], object] = print) -> RunDir:
    """Create or reopen the run dir named by ``cfg["run_dir"]`` (stage ``cfg["stage"]``).

    ``accelerator``: the stage's ``accelerate.Accelerator`` in multi-process stages (world size and
    main process come from it; only the main process writes and speaks); None means one process.
    When the run dir is already complete, ``echo`` (main process only) gets
    ``"<stage>: <run dir> is already complete; nothing to do"`` and the complete run dir is returned:
    the caller returns it without doing anything. Raises ``ConfigMismatchError`` when the run dir was
    started with a different config.
    """
    config = cfg if isinstance(cfg, dict) else dict(cfg)
    world_size = accelerator.num_processes if accelerator is not None else 1
    is_main = accelerator.is_main_process if accelerator is not None else True
    run = RunDir.create(config, world_size=world_size, is_main=is_main)
    if run.is_complete and is_main:
        echo(f"{run.stage}: {run.path} is already complete; nothing to do")
    return run
