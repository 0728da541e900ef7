"""Where this process stands in a ``torchrun`` launch, and how to start one.

Fine-tuning scales out with PyTorch's own launcher (``torchrun --standalone
--nproc_per_node N``) and DDP inside the Hugging Face ``Trainer``: gloo on
CPU, NCCL on GPU. (``accelerate launch --cpu`` silently runs one process
here, so it is not used.) torchrun tells each process its place through the
``RANK`` / ``WORLD_SIZE`` / ``LOCAL_RANK`` environment variables; rank 0 alone
writes outputs.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Sequence


def world_size() -> int:
    """How many processes this launch has (1 outside torchrun)."""
    return int(os.environ.get("WORLD_SIZE", "1"))


def rank() -> int:
    """This process's global rank (0 outside torchrun)."""
    return int(os.environ.get("RANK", "0"))


def is_main_process() -> bool:
    """Whether this process writes outputs (rank 0, or the only process)."""
    return rank() == 0


def under_torchrun() -> bool:
    """Whether torchrun (or another elastic launcher) started this process."""
    return "TORCHELASTIC_RUN_ID" in os.environ or ("LOCAL_RANK" in os.environ and "WORLD_SIZE" in os.environ)


def barrier() -> None:
    """Wait for every process of the launch (a no-op without a process group)."""
    import torch.distributed as dist

    if dist.is_available() and dist.is_initialized():
        dist.barrier()


def shutdown() -> None:
    """Wait for every process, then tear the process group down (a no-op without one)."""
    import torch.distributed as dist

    if dist.is_available() and dist.is_initialized():
        dist.barrier()
        dist.destroy_process_group()


def torchrun(module: str, args: Sequence[str], *, processes: int) -> subprocess.CompletedProcess[str]:
    """Run ``python -m module *args`` in ``processes`` processes with torchrun and wait.

    The children inherit the environment, working directory and stderr (so
    progress and any traceback show); their stdout is discarded, since a
    stage's stdout carries its one-line JSON summary.

    Raises:
        ValueError: ``processes`` is not an integer >= 1.
    """
    if isinstance(processes, bool) or not isinstance(processes, int) or processes < 1:
        raise ValueError(f"processes must be an integer >= 1, got {processes!r}")
    launcher = [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--standalone",
        f"--nproc_per_node={processes}",
    ]
    command = [*launcher, "-m", module, *args]
    env = {**os.environ, "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS", str(_threads(processes)))}
    return subprocess.run(command, env=env, stdout=subprocess.DEVNULL, check=False, text=True)


def _threads(processes: int) -> int:
    """Threads per process so that the launch uses the machine's cores once (torchrun's default is 1)."""
    return max(1, (os.cpu_count() or 1) // processes)
