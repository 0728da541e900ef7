"""Metrics as pure functions of numpy arrays (torch tensors accepted).

Error detection (:mod:`.error_detection`), calibration (:mod:`.calibration`),
task quality (:mod:`.task`), named collections (:mod:`.collection`), the paired
bootstrap (:mod:`.paired`), curve data for plots (:mod:`.curves`) and the input
checks they, the calibrators and the selective rules share (:mod:`.checks`).
"""

from __future__ import annotations

from pathlib import Path

from alien.metrics.calibration import (
    brier_score,
    expected_calibration_error,
    multiclass_brier,
    negative_log_likelihood,
    to_probabilities,
)
from alien.metrics.collection import (
    TASK_METRIC_KEYS,
    UNCERTAINTY_METRIC_KEYS,
    task_metrics,
    uncertainty_metrics,
)
from alien.metrics.curves import reliability_diagram, risk_coverage_curve
from alien.metrics.error_detection import aurc, pr_auc, prediction_rejection_ratio, roc_auc
from alien.metrics.paired import BootstrapResult, PairedMetric, paired_bootstrap
from alien.metrics.task import accuracy, macro_f1

_EVALUATE_MODULES = Path(__file__).resolve().parent.parent / "evaluate_modules"


def evaluate_module_path(name: str) -> str:
    """Path of a local ``evaluate`` metric module, for ``evaluate.load(path)``.

    The Hugging Face hub is not reachable from the pipeline, so metric modules
    ship inside the package as ``alien/evaluate_modules/<name>/<name>.py``.

    Args:
        name: module name, e.g. ``"alien_uncertainty"``.

    Raises:
        ValueError: no such module; the message lists the available ones.

    >>> Path(evaluate_module_path("alien_uncertainty")).name
    'alien_uncertainty.py'
    """
    available = sorted(
        p.name for p in _EVALUATE_MODULES.iterdir() if p.is_dir() and (p / f"{p.name}.py").is_file()
    )
    if name not in available:
        raise ValueError(f"unknown evaluate module {name!r}; choose one of {available}")
    return str(_EVALUATE_MODULES / name / f"{name}.py")


__all__ = [
    "TASK_METRIC_KEYS",
    "UNCERTAINTY_METRIC_KEYS",
    "BootstrapResult",
    "PairedMetric",
    "accuracy",
    "aurc",
    "brier_score",
    "evaluate_module_path",
    "expected_calibration_error",
    "macro_f1",
    "multiclass_brier",
    "negative_log_likelihood",
    "paired_bootstrap",
    "pr_auc",
    "prediction_rejection_ratio",
    "reliability_diagram",
    "risk_coverage_curve",
    "roc_auc",
    "task_metrics",
    "to_probabilities",
    "uncertainty_metrics",
]
