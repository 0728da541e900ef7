"""Per-config early stopping for the batched grid: best epoch, patience, history.

The grid scores every still-active config once per epoch on validation; this
bookkeeping decides which configs improved (their weights are kept) and which
have run out of patience (they leave the stack). The untrained head is epoch 0.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence


class EarlyStopping:
    """Early-stopping state of ``k`` configs scored on the same metrics.

    Args:
        k: number of configs.
        patience: epochs without a strict improvement of ``metric`` before a config stops.
        initial: every metric's value for the untrained head (shared by all configs).
        metric: the name in ``initial`` that decides improvement.
        higher_is_better: direction of ``metric``.

    Raises:
        ValueError: ``k`` or ``patience`` below 1, or ``metric`` not in ``initial``.
    """

    def __init__(
        self, k: int, *, patience: int, initial: Mapping[str, float], metric: str, higher_is_better: bool
    ) -> None:
        if k < 1 or patience < 1:
            raise ValueError(f"k and patience must be >= 1, got {k} and {patience}")
        if metric not in initial:
            raise ValueError(f"metric {metric!r} is not among the initial values {sorted(initial)}")
        self.metric = metric
        self.higher_is_better = higher_is_better
        self.patience = patience
        self.kept: list[dict[str, float]] = [dict(initial) for _ in range(k)]
        self.best_epoch = [0] * k
        self.epochs_run = [0] * k
        self.history: list[list[float]] = [[] for _ in range(k)]
        self.active = list(range(k))
        self._bad = [0] * k

    def _better(self, new: float, old: float) -> bool:
        # nan compares false both ways: a diverged epoch never improves
        return new > old if self.higher_is_better else new < old

    def update(self, epoch: int, scores: Mapping[str, Sequence[float]]) -> list[int]:
        """Record one epoch of the active configs; the configs that improved.

        Args:
            epoch: the epoch just trained (1-based).
            scores: each metric's value per active config, in :attr:`active` order.

        Returns:
            The configs whose weights should be kept (a strict improvement of ``metric``).
        """
        improved = []
        for j, i in enumerate(self.active):
            row = {name: float(values[j]) for name, values in scores.items()}
            self.history[i].append(row[self.metric])
            self.epochs_run[i] = epoch
            if self._better(row[self.metric], self.kept[i][self.metric]):
                self.kept[i], self.best_epoch[i], self._bad[i] = row, epoch, 0
                improved.append(i)
            else:
                self._bad[i] += 1
        self.active = [i for i in self.active if self._bad[i] < self.patience]
        return improved

    def ranking(self) -> list[int]:
        """Configs from best to worst by their kept ``metric``; ties (and nan) keep grid order."""

        def key(i: int) -> tuple[int, float, int]:
            value = self.kept[i][self.metric]
            if value != value:  # nan last
                return (1, 0.0, i)
            return (0, -value if self.higher_is_better else value, i)

        return sorted(range(len(self.kept)), key=key)

    def best(self) -> float:
        """The best kept ``metric`` over all configs (for progress display)."""
        return self.kept[self.ranking()[0]][self.metric]
