"""Cached per-example (or per-token) features of a frozen backbone.

A :class:`FeatureSet` is what the backbone's single forward pass leaves behind
for ALIEN and the baselines: the pooled feature that feeds the classifier head,
the logits, and the gold label. For token classification there is one row per
labelled token (labels ``-100`` are dropped at extraction) and
``example_ids`` says which example each row came from. With ``align.layers``,
``layers`` holds the pooled states of those earlier layers (:mod:`alien.core.layers`),
and the head reads :attr:`FeatureSet.head_inputs`.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch
from safetensors.torch import load_file, save_file


@dataclass(frozen=True)
class FeatureSet:
    """Features, logits and labels of one split.

    Attributes:
        features: ``(N, H)`` float32 pooled features (the classifier head's input).
        logits: ``(N, C)`` float32 logits of the fine-tuned classifier.
        labels: ``(N,)`` int64 gold labels in ``[0, C)``.
        example_ids: ``(N,)`` int64 example index of each row (token tasks), or ``None``.
        layers: ``(N, K H')`` float32 pooled states of the layers ``layer_ids``, or ``None``.
        layer_ids: the ``K`` layer indices (counted from the top), in column order.
    """

    features: torch.Tensor
    logits: torch.Tensor
    labels: torch.Tensor
    example_ids: torch.Tensor | None = None
    layers: torch.Tensor | None = None
    layer_ids: tuple[int, ...] = ()

    def __post_init__(self) -> None:
        validate_feature_set(self)

    def __len__(self) -> int:
        return int(self.labels.shape[0])

    @property
    def num_classes(self) -> int:
        return int(self.logits.shape[1])

    @property
    def head_inputs(self) -> torch.Tensor:
        """What the ALIEN head reads: ``features``, followed by ``layers`` when there are any."""
        return self.features if self.layers is None else torch.cat([self.features, self.layers], dim=1)

    @property
    def predictions(self) -> torch.Tensor:
        """``(N,)`` argmax predictions of the classifier."""
        return self.logits.argmax(dim=1)

    @property
    def errors(self) -> torch.Tensor:
        """``(N,)`` float 0/1 indicator: 1 where the classifier is wrong."""
        return (self.predictions != self.labels).float()

    def subset(self, index: torch.Tensor) -> FeatureSet:
        """Rows selected by an index or boolean mask."""
        ids = None if self.example_ids is None else self.example_ids[index]
        layers = None if self.layers is None else self.layers[index]
        return FeatureSet(
            self.features[index], self.logits[index], self.labels[index], ids, layers, self.layer_ids
        )

    def save(self, path: str | Path) -> None:
        """Write to one safetensors file (atomically: a temp file, then rename)."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        tensors = {
            "features": self.features.contiguous(),
            "logits": self.logits.contiguous(),
            "labels": self.labels.contiguous(),
        }
        if self.example_ids is not None:
            tensors["example_ids"] = self.example_ids.contiguous()
        if self.layers is not None:
            tensors["layers"] = self.layers.contiguous()
            tensors["layer_ids"] = torch.tensor(self.layer_ids, dtype=torch.int64)
        tmp = path.with_name(path.name + ".tmp")
        save_file(tensors, str(tmp))
        tmp.replace(path)

    @classmethod
    def load(cls, path: str | Path) -> FeatureSet:
        """Read a file written by :meth:`save`."""
        t = load_file(str(path))
        ids = tuple(int(i) for i in t["layer_ids"].tolist()) if "layer_ids" in t else ()
        return cls(t["features"], t["logits"], t["labels"], t.get("example_ids"), t.get("layers"), ids)


def validate_feature_set(fs: FeatureSet) -> None:
    """Raise ``ValueError`` naming the first inconsistency of a feature set."""
    f, lg, y = fs.features, fs.logits, fs.labels
    if f.ndim != 2:
        raise ValueError(f"features must be 2-D (N, H), got shape {tuple(f.shape)}")
    if lg.ndim != 2 or lg.shape[1] < 2:
        raise ValueError(f"logits must be 2-D (N, C) with C >= 2, got shape {tuple(lg.shape)}")
    if y.ndim != 1:
        raise ValueError(f"labels must be 1-D (N,), got shape {tuple(y.shape)}")
    if not (f.shape[0] == lg.shape[0] == y.shape[0]):
        raise ValueError(
            "features, logits and labels disagree on the number of rows: "
            f"{f.shape[0]}, {lg.shape[0]}, {y.shape[0]}"
        )
    if not f.is_floating_point() or not lg.is_floating_point():
        raise TypeError(f"features and logits must be floating point, got {f.dtype} and {lg.dtype}")
    if y.dtype not in (torch.int64, torch.int32):
        raise TypeError(f"labels must be integer, got {y.dtype}")
    if not torch.isfinite(lg).all():
        raise ValueError("logits contain NaN or inf")
    if not torch.isfinite(f).all():
        raise ValueError("features contain NaN or inf")
    if y.numel() and (int(y.min()) < 0 or int(y.max()) >= lg.shape[1]):
        raise ValueError(
            f"labels must lie in [0, {lg.shape[1]}) for {lg.shape[1]} classes, "
            f"got range [{int(y.min())}, {int(y.max())}]"
        )
    _validate_layers(fs)
    if fs.example_ids is not None and fs.example_ids.shape != y.shape:
        raise ValueError(f"example_ids shape {tuple(fs.example_ids.shape)} != labels shape {tuple(y.shape)}")


def _validate_layers(fs: FeatureSet) -> None:
    if fs.layers is None:
        if fs.layer_ids:
            raise ValueError(f"layer_ids {list(fs.layer_ids)} given without layers")
        return
    n, width = fs.features.shape[0], fs.layers.shape[-1]
    if fs.layers.ndim != 2 or fs.layers.shape[0] != n or not fs.layer_ids or width % len(fs.layer_ids):
        raise ValueError(
            f"layers must be (N, K H') with N={n} rows and K={len(fs.layer_ids)} equal states "
            f"(layer_ids {list(fs.layer_ids)}), got shape {tuple(fs.layers.shape)}"
        )
    if not fs.layers.is_floating_point() or not torch.isfinite(fs.layers).all():
        raise ValueError("layers must be finite floating point")
