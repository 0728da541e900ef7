"""The files that one stage writes and another reads, each read and written in one place.

- cached features (``features`` → ``align``, ``evaluate``): :func:`feature_path`,
  :func:`load_split_features`;
- per-row test scores (``evaluate`` → ``gate``): :class:`TestScores`, so the gate
  decides on exactly the numbers the evaluation measured, with the same ``n_bins`` and
  Rule 1's baselines as evaluate chose them on the calibration split;
- the deployable model's metadata (``align`` → ``evaluate``, ``register``):
  :func:`deployable_label_names`, through :func:`alien.core.model.read_metadata`;
- the data version of the raw dataset (``fetch`` → ``register``, the flow):
  :func:`data_version`;
- fine-tuning's metrics (``finetune`` → ``register``): :func:`read_finetune_metrics`;
- the align grid's results (``align`` → ``register``): :func:`read_grid`;
- the evaluation's metrics (``evaluate`` → ``register``): :func:`read_metrics`;
- the gate report (``gate`` → ``register``): :func:`read_gate_report`, through the
  one parser :meth:`alien.evaluation.gates.GateReport.from_dict`;
- all of ``register``'s inputs at once, checked: :func:`read_register_inputs`.

The readers ``register`` uses take the project root that ``paths.*`` are relative to.

May import ``alien.config``, ``alien.core``, ``alien.data`` and ``alien.evaluation``;
never a stage module.
"""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from alien.config.paths import PathsConfig
from alien.data.io import atomic_file, read_json
from alien.evaluation.gates import GateReport
from alien.pipeline.dvc_lock import locked_stages

# torch and scikit-learn come with these: imported by the hand-offs that need them, so that a
# no-op nightly run (data version, gate report, register's inputs) never loads them
if TYPE_CHECKING:
    from alien.core.feature_set import FeatureSet
    from alien.evaluation.free_baseline import FreeBaseline

log = logging.getLogger(__name__)
FINETUNE_METRICS_FILE = "finetune_metrics.json"  # inside paths.backbone
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
    from alien.core.feature_set import FeatureSet

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
        free_baseline: Rule 1's baselines, chosen on the calibration split (``None`` in scores
            written before it existed; the gate then asks for evaluate to run again).
    """

    __test__ = False  # not a pytest class, despite the name

    uncertainty: dict[str, np.ndarray]
    is_probability: dict[str, bool]
    errors: np.ndarray
    predictions: np.ndarray
    labels: np.ndarray
    n_bins: int
    free_baseline: FreeBaseline | None = None

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
        meta: dict[str, Any] = {"n_bins": self.n_bins, "is_probability": self.is_probability}
        if self.free_baseline is not None:
            meta["free_baseline"] = self.free_baseline.to_dict()
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
        from alien.evaluation.free_baseline import FreeBaseline

        path = Path(path)
        if not path.is_file():
            raise FileNotFoundError(f"no per-row test scores at {path}; run the evaluate stage")
        with np.load(path, allow_pickle=False) as data:
            meta = json.loads(str(data[_META]))
            free = meta.get("free_baseline")
            uncertainty = {k.removeprefix(_PREFIX): data[k] for k in data.files if k.startswith(_PREFIX)}
            return cls(
                uncertainty=uncertainty,
                is_probability={str(k): bool(v) for k, v in meta["is_probability"].items()},
                errors=data["errors"],
                predictions=data["predictions"],
                labels=data["labels"],
                n_bins=int(meta["n_bins"]),
                free_baseline=None if free is None else FreeBaseline.from_dict(free),
            )


def deployable_label_names(deployable: str | Path) -> list[str]:
    """The class names a saved deployable model predicts (from its ``alien.json``)."""
    from alien.core.deployable import read_metadata

    return [str(name) for name in read_metadata(deployable)["label_names"]]


def file_md5(path: str | Path) -> str:
    """md5 of a file's bytes, the way DVC 3 hashes a file output."""
    with Path(path).open("rb") as fh:
        return hashlib.file_digest(fh, "md5").hexdigest()


def data_version(raw_path: str | Path, *, root: str | Path) -> dict[str, str]:
    """The data version of the raw dataset: DVC's md5 from ``<root>/dvc.lock`` if it matches the file.

    Args:
        raw_path: ``paths.raw`` (relative to ``root``, and recorded as given).
        root: the project root (where ``dvc.lock`` lives).

    Returns:
        ``{"md5": ..., "source": "dvc.lock" | "file", "path": ...}``.

    Raises:
        FileNotFoundError: no raw data at ``raw_path`` (run the fetch stage).
    """
    raw_path = Path(raw_path)
    if not (Path(root) / raw_path).is_file():
        raise FileNotFoundError(f"raw data not found at {raw_path}; run the fetch stage first")
    md5 = file_md5(Path(root) / raw_path)
    for stage in locked_stages(root).values():
        for out in stage.get("outs", []):
            if Path(out.get("path", "")) == raw_path and out.get("md5") == md5:
                return {"md5": md5, "source": "dvc.lock", "path": str(raw_path)}
    return {"md5": md5, "source": "file", "path": str(raw_path)}


def read_finetune_metrics(paths: PathsConfig, *, root: str | Path) -> dict[str, Any] | None:
    """What fine-tuning measured (``paths.backbone/finetune_metrics.json``); ``None`` if absent or unreadable.

    A backbone used as it is (no fine-tuning) has none; a run is logged without them then.
    """
    path = Path(root) / paths.backbone / FINETUNE_METRICS_FILE
    if not path.is_file():
        return None
    try:
        return read_json(path, what="finetune metrics")
    except ValueError:
        log.warning("ignoring %s: not a JSON object", path)
        return None


def read_grid(paths: PathsConfig, *, root: str | Path) -> dict[str, Any] | None:
    """The align grid's results (``paths.grid``), ``None`` when there are none."""
    path = Path(root) / paths.grid
    return read_json(path, what="grid results") if path.is_file() else None


def read_metrics(paths: PathsConfig, *, root: str | Path) -> dict[str, Any]:
    """The evaluation's test metrics (``paths.metrics``): ``methods`` (with ``alien``), ``task``, ``rows``.

    Raises:
        FileNotFoundError: no metrics file (run the evaluate stage).
        ValueError: not a JSON object, or ``methods`` has no ``alien`` entry.
    """
    metrics = read_json(Path(root) / paths.metrics, what="metrics file")
    methods = metrics.get("methods")
    if not isinstance(methods, dict) or "alien" not in methods:
        raise ValueError(
            f"metrics file {paths.metrics} must have 'methods' with an 'alien' entry, "
            f"got methods={sorted(methods) if isinstance(methods, dict) else methods!r}"
        )
    return metrics


def read_gate_report(paths: PathsConfig, *, root: str | Path) -> GateReport:
    """The gate's report (``paths.gate_report``), checked by its one parser.

    Raises:
        FileNotFoundError: no report (run the gate stage).
        ValueError: a malformed report, or one whose ``passed`` contradicts its gates.
    """
    data = read_json(Path(root) / paths.gate_report, what="gate report")
    return GateReport.from_dict(data, where=f"gate report {paths.gate_report}")


@dataclass(frozen=True)
class RegisterInputs:
    """Everything ``register`` reads from the earlier stages, checked."""

    deployable: Path
    metrics: dict[str, Any]
    gate_report: GateReport
    data_version: dict[str, str]
    grid: dict[str, Any] | None
    finetune_metrics: dict[str, Any] | None


def read_register_inputs(paths: PathsConfig, *, root: Path) -> RegisterInputs:
    """Read and check everything ``register`` needs from the earlier stages, without touching MLflow.

    Raises:
        FileNotFoundError: the deployable folder, metrics, gate report or raw data is missing.
        ValueError: a file has the wrong content (the message names the file and the key).
    """
    from alien.core.deployable import CONFIG_FILE

    deployable = root / paths.deployable
    if not (deployable / CONFIG_FILE).is_file():
        raise FileNotFoundError(
            f"deployable model folder {deployable} is missing or has no {CONFIG_FILE}; "
            "run the align stage first"
        )
    metrics = read_metrics(paths, root=root)
    gate_report = read_gate_report(paths, root=root)
    return RegisterInputs(
        deployable,
        metrics,
        gate_report,
        data_version(paths.raw, root=root),
        read_grid(paths, root=root),
        read_finetune_metrics(paths, root=root),
    )
