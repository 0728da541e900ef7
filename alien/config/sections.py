"""The typed sections of ``params.yaml``: one frozen dataclass per section.

Each stage receives only its own section (matching its ``params:`` list in
``dvc.yaml``). Ranges are checked in ``__post_init__``; unknown keys are
rejected by :func:`alien.config.base.from_mapping`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from alien.config.base import check
from alien.task import TaskName as Task


@dataclass(frozen=True)
class PathsConfig:
    """Where each stage writes; relative to the project root."""

    raw: str = "data/raw/dataset.jsonl"
    prepared: str = "data/prepared"
    backbone: str = "models/backbone"
    features: str = "artifacts/features"
    grid: str = "reports/grid.json"
    deployable: str = "models/deployable"
    metrics: str = "reports/metrics.json"
    plots: str = "reports/plots"
    gate_report: str = "reports/gate_report.json"
    registration: str = "reports/registration.json"
    scores: str = "reports/scores.npz"

    def __post_init__(self) -> None:
        for name, value in vars(self).items():
            check(bool(value), f"paths.{name} must not be empty")


@dataclass(frozen=True)
class DataConfig:
    source: str = "package:trec"
    task: Task = "sequence-classification"
    text_column: str = "text"
    label_column: str = "label"
    max_rows: int | None = 4000
    seed: int = 42
    test_fraction: float = 0.25
    validation_fraction: float = 0.15
    alignment_fraction: float = 0.15

    def __post_init__(self) -> None:
        check(bool(self.source), "data.source must not be empty")
        check(
            self.max_rows is None or self.max_rows >= 10,
            f"data.max_rows must be >= 10 or null, got {self.max_rows}",
        )
        for name in ("test_fraction", "validation_fraction"):
            value = getattr(self, name)
            check(0.0 < value < 1.0, f"data.{name} must lie in (0, 1), got {value}")
        check(
            0.0 <= self.alignment_fraction < 1.0,
            f"data.alignment_fraction must lie in [0, 1), got {self.alignment_fraction}",
        )
        total = self.test_fraction + self.validation_fraction + self.alignment_fraction
        check(
            total < 0.9,
            f"data.test_fraction + validation_fraction + alignment_fraction must leave "
            f"at least 10% for training, got {total:.2f}",
        )


@dataclass(frozen=True)
class BackboneConfig:
    name: str = "package:minilm"
    max_length: int = 64
    allow_pickle: bool = False

    def __post_init__(self) -> None:
        check(bool(self.name), "backbone.name must not be empty")
        check(
            8 <= self.max_length <= 8192, f"backbone.max_length must lie in [8, 8192], got {self.max_length}"
        )


@dataclass(frozen=True)
class FinetuneConfig:
    method: Literal["full", "lora"] = "full"
    epochs: float = 2.0
    batch_size: int = 32
    learning_rate: float = 1e-4
    weight_decay: float = 0.01
    warmup_ratio: float = 0.1
    lora_r: int = 8
    lora_alpha: int = 16
    lora_dropout: float = 0.1
    lora_target_modules: tuple[str, ...] = ()
    seed: int = 42
    processes: int = 1

    def __post_init__(self) -> None:
        check(self.epochs > 0, f"finetune.epochs must be > 0, got {self.epochs}")
        check(self.batch_size >= 1, f"finetune.batch_size must be >= 1, got {self.batch_size}")
        check(
            0 < self.learning_rate < 1, f"finetune.learning_rate must lie in (0, 1), got {self.learning_rate}"
        )
        check(self.weight_decay >= 0, f"finetune.weight_decay must be >= 0, got {self.weight_decay}")
        check(
            0 <= self.warmup_ratio < 1, f"finetune.warmup_ratio must lie in [0, 1), got {self.warmup_ratio}"
        )
        check(self.lora_r >= 1, f"finetune.lora_r must be >= 1, got {self.lora_r}")
        check(
            0 <= self.lora_dropout < 1, f"finetune.lora_dropout must lie in [0, 1), got {self.lora_dropout}"
        )
        check(1 <= self.processes <= 64, f"finetune.processes must lie in [1, 64], got {self.processes}")


@dataclass(frozen=True)
class AlignConfig:
    uncertainty: Literal["entropy", "smoothmax"] = "entropy"
    train_split: Literal["alignment", "train"] = "alignment"
    learning_rates: tuple[float, ...] = (4e-4, 1e-4, 1e-5)
    alphas: tuple[float, ...] = (0.01, 0.1, 1.0)
    betas: tuple[float, ...] = (0.01, 0.1, 1.0)
    max_epochs: int = 50
    patience: int = 5
    batch_size: int = 128
    warmup_fraction: float = 0.1
    oversample_errors: bool = False
    selection: Literal["roc_auc", "bce"] = "roc_auc"
    top_k: int = 1
    seed: int = 42

    def __post_init__(self) -> None:
        check(self.top_k >= 1, f"align.top_k must be >= 1, got {self.top_k}")
        for name in ("learning_rates", "alphas", "betas"):
            values = getattr(self, name)
            check(len(values) > 0, f"align.{name} must list at least one value")
        check(
            all(0 < v < 1 for v in self.learning_rates),
            f"align.learning_rates must lie in (0, 1), got {list(self.learning_rates)}",
        )
        check(all(v >= 0 for v in self.alphas), f"align.alphas must be >= 0, got {list(self.alphas)}")
        check(all(v >= 0 for v in self.betas), f"align.betas must be >= 0, got {list(self.betas)}")
        check(self.max_epochs >= 1, f"align.max_epochs must be >= 1, got {self.max_epochs}")
        check(self.patience >= 1, f"align.patience must be >= 1, got {self.patience}")
        check(self.batch_size >= 1, f"align.batch_size must be >= 1, got {self.batch_size}")
        check(
            0 < self.warmup_fraction < 1,
            f"align.warmup_fraction must lie in (0, 1), got {self.warmup_fraction}",
        )


BASELINE_NAMES = (
    "softmax_response",
    "entropy",
    "temperature_scaling",
    "mahalanobis",
    "relative_mahalanobis",
    "linear_probe",
    "doctor",
    "rde",
)


@dataclass(frozen=True)
class EvaluateConfig:
    n_bins: int = 15
    baselines: tuple[str, ...] = BASELINE_NAMES

    def __post_init__(self) -> None:
        check(self.n_bins >= 2, f"evaluate.n_bins must be >= 2, got {self.n_bins}")
        unknown = sorted(set(self.baselines) - set(BASELINE_NAMES))
        check(
            not unknown, f"evaluate.baselines has unknown name(s) {unknown}; allowed: {list(BASELINE_NAMES)}"
        )
        for needed in ("entropy", "softmax_response"):
            check(
                needed in self.baselines,
                f"evaluate.baselines must include {needed!r} (the gates compare with the backbone's own uncertainty)",
            )


@dataclass(frozen=True)
class GatesConfig:
    """Promotion rules (docs/gates.md); every interval is a paired bootstrap on the test rows."""

    confidence_level: float = 0.95
    bootstrap_samples: int = 1000
    require_backbone_improvement: bool = True
    max_ece: float = 0.10
    champion_auroc_margin: float = 0.05
    champion_brier_margin: float = 0.01
    champion_accuracy_margin: float = 0.02
    seed: int = 42

    def __post_init__(self) -> None:
        check(
            self.bootstrap_samples >= 100,
            f"gates.bootstrap_samples must be >= 100, got {self.bootstrap_samples}",
        )
        check(
            0.5 <= self.confidence_level < 1,
            f"gates.confidence_level must lie in [0.5, 1), got {self.confidence_level}",
        )
        check(0 < self.max_ece <= 1, f"gates.max_ece must lie in (0, 1], got {self.max_ece}")
        for name in ("champion_auroc_margin", "champion_brier_margin", "champion_accuracy_margin"):
            value = getattr(self, name)
            check(0 <= value <= 1, f"gates.{name} must lie in [0, 1], got {value}")


CALIBRATORS = ("platt", "isotonic", "centred_isotonic", "beta", "none")


@dataclass(frozen=True)
class CalibrationConfig:
    """The monotone map g(u) ~ P(error) and the risk-controlled abstention threshold.

    Both are fitted on ``split`` (held-out rows the head was not trained on; never test).
    """

    method: str = "centred_isotonic"
    split: Literal["validation", "alignment"] = "validation"
    target_risk: float = 0.1
    delta: float = 0.1

    def __post_init__(self) -> None:
        check(
            self.method in CALIBRATORS,
            f"calibration.method {self.method!r} is not one of {list(CALIBRATORS)}",
        )
        check(0 < self.target_risk < 1, f"calibration.target_risk must lie in (0, 1), got {self.target_risk}")
        check(0 < self.delta < 1, f"calibration.delta must lie in (0, 1), got {self.delta}")


@dataclass(frozen=True)
class RegistryConfig:
    model_name: str = "alien-classifier"
    experiment: str = "alien-retrain"
    tracking_uri: str = "sqlite:///mlflow.db"
    promote: bool = True
    mode: Literal["production", "experiment"] = "production"

    def __post_init__(self) -> None:
        check(bool(self.model_name.strip()), "registry.model_name must not be empty")
        check(bool(self.experiment.strip()), "registry.experiment must not be empty")
