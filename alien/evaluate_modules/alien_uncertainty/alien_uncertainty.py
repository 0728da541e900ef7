"""``evaluate`` metric module for ALIEN's uncertainty metrics (loaded by local path).

    import evaluate
    from alien.metrics import evaluate_module_path

    metric = evaluate.load(evaluate_module_path("alien_uncertainty"))
    metric.compute(uncertainties=[0.1, 0.9], errors=[0, 1])

The numbers come from :func:`alien.metrics.uncertainty_metrics`; this file only
adapts it to the ``evaluate.Metric`` interface.
"""

from __future__ import annotations

from typing import Any

import datasets
import evaluate
import numpy as np

from alien.metrics import uncertainty_metrics

_DESCRIPTION = """\
Error-detection and calibration metrics of an uncertainty score u (higher = the
prediction is more likely wrong) against 0/1 error indicators: ROC-AUC, PR-AUC,
prediction rejection ratio (PRR), area under the risk-coverage curve (AURC) and,
when 1 - u is a confidence, expected calibration error (ECE) and Brier score.
"""

_KWARGS_DESCRIPTION = """\
Args:
    uncertainties (list of float): u per prediction, higher = more likely wrong.
    errors (list of int): 1 where the prediction is wrong, 0 where it is right.
    n_bins (int): equal-width ECE bins, default 15.
    is_probability (bool): whether 1 - u is a confidence in [0, 1]; only then are
        "ece" and "brier" returned. Default True.
Returns:
    dict with "roc_auc", "pr_auc", "prr", "aurc" and optionally "ece", "brier".
"""

_CITATION = """\
@article{alien2025,
  title={ALIEN: Aligned Entropy Head for Improving Uncertainty Estimation of LLMs},
  journal={arXiv preprint arXiv:2505.15443},
  year={2025}
}
"""


class AlienUncertainty(evaluate.Metric):
    """Uncertainty metrics of :mod:`alien.metrics` as an ``evaluate`` module."""

    def _info(self) -> evaluate.MetricInfo:
        return evaluate.MetricInfo(
            description=_DESCRIPTION,
            citation=_CITATION,
            inputs_description=_KWARGS_DESCRIPTION,
            features=datasets.Features(
                {"uncertainties": datasets.Value("float64"), "errors": datasets.Value("int64")}
            ),
        )

    def _compute(
        self,
        uncertainties: Any,
        errors: Any,
        n_bins: int = 15,
        is_probability: bool = True,
    ) -> dict[str, float]:
        return uncertainty_metrics(
            np.asarray(uncertainties, dtype=np.float64),
            np.asarray(errors, dtype=np.int64),
            n_bins=n_bins,
            is_probability=is_probability,
        )
