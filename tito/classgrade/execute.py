"""The execute step of autograding: nbgrader's Execute preprocessor, plus a memory limit on the kernel.

This class is the one place a student's code runs during class grading. nbgrader's Autograde chain calls
it in place of its own Execute (see worker.py), so a sandbox (issue 16) wraps exactly this step.
"""
from __future__ import annotations

import resource

from nbclient.util import run_sync
from nbgrader.preprocessors import Execute
from traitlets import Integer


class LimitedExecute(Execute):
    """nbgrader's Execute whose kernel cannot take more than `memory_mb` of address space.

    A submission that allocates without bound then gets a MemoryError inside its own kernel (its tests
    fail) instead of pushing the grading machine into swap or the OOM killer.
    """

    memory_mb = Integer(4096, help="Address-space limit of the student's kernel, in MiB (0: none).").tag(config=True)

    async def async_start_new_kernel(self, **kwargs):
        await super().async_start_new_kernel(**kwargs)
        pid = getattr(getattr(self.km, "provisioner", None), "pid", None)
        if self.memory_mb and pid:
            limit = self.memory_mb * 1024 * 1024
            resource.prlimit(pid, resource.RLIMIT_AS, (limit, limit))

    # nbconvert's preprocess() calls the sync wrapper, which nbclient binds to its own coroutine.
    start_new_kernel = run_sync(async_start_new_kernel)
