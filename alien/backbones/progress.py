"""Fine-tuning progress an operator can follow: a bar with ETA on a terminal, a line per epoch in logs.

Fine-tuning runs for minutes on CPU; silence looks like a hang. On a TTY a tqdm
bar over the optimiser steps shows rate and ETA; without one (a Prefect
worker, CI, ``dvc repro`` into a file) each epoch logs one line with the mean
training loss, elapsed time and ETA. Only the main process reports under DDP.
"""

from __future__ import annotations

import logging
import sys
import time
from typing import Any

from tqdm.auto import tqdm
from transformers import TrainerCallback

log = logging.getLogger("alien.finetune")


class FinetuneProgress(TrainerCallback):
    """A :class:`transformers.TrainerCallback` reporting steps, loss and ETA."""

    def __init__(self, *, tty: bool | None = None) -> None:
        self.tty = sys.stderr.isatty() if tty is None else tty
        self.bar: Any = None
        self.start = 0.0
        self.losses: list[float] = []
        self.epoch_lines: list[str] = []

    def on_train_begin(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        self.start = time.perf_counter()
        if state.is_world_process_zero and self.tty:
            self.bar = tqdm(total=state.max_steps, desc="finetune", unit="step", file=sys.stderr)

    def on_step_end(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        if self.bar is not None:
            self.bar.update(state.global_step - self.bar.n)

    def on_log(
        self, args: Any, state: Any, control: Any, logs: dict[str, Any] | None = None, **kwargs: Any
    ) -> None:
        if logs and "loss" in logs:
            self.losses.append(float(logs["loss"]))
            if self.bar is not None:
                self.bar.set_postfix(loss=f"{logs['loss']:.4f}")

    def on_epoch_end(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        if not state.is_world_process_zero:
            return
        elapsed = time.perf_counter() - self.start
        done = max(state.global_step, 1) / max(state.max_steps, 1)
        eta = elapsed / done - elapsed
        recent = self.losses[-5:]
        loss = f"{sum(recent) / len(recent):.4f}" if recent else "n/a"
        line = (
            f"finetune epoch {state.epoch:.2f}/{args.num_train_epochs:g}: step {state.global_step}/"
            f"{state.max_steps}, loss {loss}, elapsed {elapsed:.0f} s, ETA {eta:.0f} s"
        )
        self.epoch_lines.append(line)
        if self.bar is None:
            log.info(line)

    def on_train_end(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None
