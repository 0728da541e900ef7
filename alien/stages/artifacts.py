"""The files that one stage writes and another reads, each read and written in one place.

- cached features (``features`` → ``align``, ``evaluate``): :func:`feature_path`,
  :func:`load_split_features`;
- per-row test scores (``evaluate`` → ``gate``): :class:`TestScores`, so the gate
  decides on exactly the numbers the evaluation measured, with the same ``n_bins``;
- the deployable model's metadata (``align`` → ``evaluate``, ``register``):
  :func:`deployable_label_names`, through :func:`alien.core.model.read_metadata`;
- the data version of the raw dataset (``fetch`` → ``register``, the flow):
  :func:`data_version`.

May import ``alien.config``, ``alien.core`` and ``alien.data``; never a stage module.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from alien.config import PathsConfig
from alien.core.deployable import read_metadata
from alien.core.feature_set import FeatureSet
from alien.data.io import atomic_file

_META = "meta"
_PREFIX = "u."


def feature_path(paths: PathsConfig, split: str) -> Path:
    """Where the cached features of ``split`` live."""
    return Path(paths.features) / f"{split}.safetensors"


def load_split_features(paths: PathsConfig, split: str) -> FeatureSet:
    """One split's cached features.

    Raises:
        FileNotFoundError: the split has no cached features (the message names the stage to run).
    """
    path = feature_path(paths, split)
    if not path.is_file():
        raise FileNotFoundError(f"no cached features for split {split!r} at {path}; run the features stage")
    return FeatureSet.load(path)


@dataclass(frozen=True)
class TestScores:
    """Every method's uncertainty on every test row, and what the gate needs to score the champion alike.

    Attributes:
        uncertainty: method name → ``(N,)`` float64 uncertainty (``"alien"`` included).
        is_probability: method name → whether its score is a probability of error (ECE is defined).
        errors: ``(N,)`` int64, 1 where the classifier is wrong.
        predictions: ``(N,)`` int64 predicted class ids.
        labels: ``(N,)`` int64 gold class ids.
        n_bins: the ECE bins the evaluation used.
    """

    __test__ = False  # not a pytest class, despite the name

    uncertainty: dict[str, np.ndarray]
    is_probability: dict[str, bool]
    errors: np.ndarray
    predictions: np.ndarray
    labels: np.ndarray
    n_bins: int

    def __post_init__(self) -> None:
        n = len(self.errors)
        for name, values in {"predictions": self.predictions, "labels": self.labels}.items():
            if len(values) != n:
                raise ValueError(f"{name} has {len(values)} rows but errors has {n}")
        for method, u in self.uncertainty.items():
            if u.shape != (n,):
                raise ValueError(f"uncertainty of {method!r} has shape {u.shape}, expected ({n},)")
        if set(self.is_probability) != set(self.uncertainty):
            raise ValueError(
                f"is_probability names {sorted(self.is_probability)} but the scores are of "
                f"{sorted(self.uncertainty)}"
            )

    def method(self, name: str) -> np.ndarray:
        """One method's scores.

        Raises:
            ValueError: ``name`` was not evaluated (the message lists those that were).
        """
        if name not in self.uncertainty:
            raise ValueError(f"no test scores for method {name!r}; evaluated: {sorted(self.uncertainty)}")
        return self.uncertainty[name]

    def save(self, path: str | Path) -> None:
        """Write one ``.npz`` atomically (arrays plus a JSON ``meta`` entry; no pickles)."""
        meta = {"n_bins": self.n_bins, "is_probability": self.is_probability}
        arrays = {f"{_PREFIX}{name}": u for name, u in self.uncertainty.items()}
        arrays.update(errors=self.errors, predictions=self.predictions, labels=self.labels)
        arrays[_META] = np.array(json.dumps(meta))
        with atomic_file(path) as tmp, tmp.open("wb") as fh:
            np.savez(fh, allow_pickle=False, **arrays)

    @classmethod
    def load(cls, path: str | Path) -> TestScores:
        """Read what :meth:`save` wrote.

        Raises:
            FileNotFoundError: no scores at ``path`` (run the evaluate stage).
        """
        path = Path(path)
        if not path.is_file():
            raise FileNotFoundError(f"no per-row test scores at {path}; run the evaluate stage")
        with np.load(path, allow_pickle=False) as data:
            meta = json.loads(str(data[_META]))
            uncertainty = {k.removeprefix(_PREFIX): data[k] for k in data.files if k.startswith(_PREFIX)}
            return cls(
                uncertainty=uncertainty,
                is_probability={str(k): bool(v) for k, v in meta["is_probability"].items()},
                errors=data["errors"],
                predictions=data["predictions"],
                labels=data["labels"],
                n_bins=int(meta["n_bins"]),
            )


def deployable_label_names(deployable: str | Path) -> list[str]:
    """The class names a saved deployable model predicts (from its ``alien.json``)."""
    return [str(name) for name in read_metadata(deployable)["label_names"]]


def file_md5(path: str | Path) -> str:
    """md5 of a file's bytes, the way DVC 3 hashes a file output."""
    with Path(path).open("rb") as fh:
        return hashlib.file_digest(fh, "md5").hexdigest()


def data_version(raw_path: str | Path, *, root: str | Path) -> dict[str, str]:
    """The data version of the raw dataset: DVC's md5 from ``<root>/dvc.lock`` if it matches the file.

    Args:
        raw_path: ``paths.raw``.
        root: the project root (where ``dvc.lock`` lives).

    Returns:
        ``{"md5": ..., "source": "dvc.lock" | "file", "path": ...}``.

    Raises:
        FileNotFoundError: no raw data at ``raw_path`` (run the fetch stage).
    """
    raw_path = Path(raw_path)
    if not raw_path.is_file():
        raise FileNotFoundError(f"raw data not found at {raw_path}; run the fetch stage first")
    md5 = file_md5(raw_path)
    lock = Path(root) / "dvc.lock"
    if lock.is_file():
        stages: dict[str, Any] = (yaml.safe_load(lock.read_text()) or {}).get("stages", {})
        for stage in stages.values():
            for out in stage.get("outs", []):
                if Path(out.get("path", "")) == raw_path and out.get("md5") == md5:
                    return {"md5": md5, "source": "dvc.lock", "path": str(raw_path)}
    return {"md5": md5, "source": "file", "path": str(raw_path)}
