"""Turn a trained head's raw u into what is served: g(u) ~= P(error) and a guaranteed abstention rule.

Both are fitted on one held-out split the head was not trained on (never test):
the monotone map first, then the threshold on the *calibrated* scores of the
same rows, chosen by Learn-then-Test (:func:`alien.selective.choose_threshold`).
The threshold's guarantee does not depend on the map: a monotone g turns a
threshold on g(u) into one on u, and the test is run on the rows as they are.
:func:`calibrate_classifier` does both for an :class:`~alien.core.model.AlienClassifier`
in one call (the library's way to the served ``uncertainty`` and ``abstain``).
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

import numpy as np
from sklearn.model_selection import StratifiedKFold

from alien.calibration import Calibrator, make_calibrator
from alien.core.abstention import AbstentionRule
from alien.options.names import AUTO_CALIBRATION, CALIBRATOR_NAMES, NO_CALIBRATION
from alien.selective import choose_threshold

if TYPE_CHECKING:
    from alien.core.model import AlienClassifier


AUTO_CANDIDATES: tuple[str, ...] = (*(n for n in CALIBRATOR_NAMES if n != "isotonic"), NO_CALIBRATION)
"""What ``method: auto`` chooses among: every map but plain isotonic, and none. Isotonic's steps tie
whole blocks of rows, which throws away the head's ranking (ROC-AUC) for a Brier gain that
cross-validation on a few hundred rows over-rates; centred isotonic interpolates between its knots."""
AUTO_FOLDS = 5


def choose_calibration_method(
    raw_u: np.ndarray, errors: np.ndarray, *, candidates: Sequence[str] = AUTO_CANDIDATES, seed: int = 0
) -> tuple[str, dict[str, float]]:
    """The map with the lowest cross-validated Brier score on the held-out rows, and every candidate's score.

    Stratified ``AUTO_FOLDS``-fold cross-validation on the same rows the map is then fitted on
    (the calibration split: never test): each candidate is fitted on four folds and scored
    (Brier of ``g(u)`` against the errors, a proper scoring rule) on the fifth. A map whose fit
    fails on a fold scores ``inf``. Ties go to the first candidate. With fewer errors (or
    correct rows) than folds, the folds shrink to that count (at least 2).

    Raises:
        ValueError: fewer than two errors or two correct rows (no fold could be scored).
    """
    y = np.asarray(errors, dtype=np.int64)
    u = np.asarray(raw_u, dtype=np.float64)
    folds = min(AUTO_FOLDS, int(y.sum()), int((1 - y).sum()))
    if folds < 2:
        raise ValueError(
            f"choosing a calibration map needs at least 2 errors and 2 correct rows, got {int(y.sum())} "
            f"errors in {len(y)} rows"
        )
    split = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed).split(u, y)
    squared = {name: 0.0 for name in candidates}
    for fit_rows, score_rows in split:
        for name in candidates:
            try:
                mapped = _fit_map(name, u[fit_rows], y[fit_rows])(u[score_rows])
            except ValueError:
                squared[name] = math.inf
                continue
            squared[name] += float(((np.asarray(mapped) - y[score_rows]) ** 2).sum())
    scores = {name: total / len(y) for name, total in squared.items()}
    return min(candidates, key=lambda name: scores[name]), scores


def _fit_map(method: str, raw_u: np.ndarray, errors: np.ndarray) -> Callable[[np.ndarray], np.ndarray]:
    if method == NO_CALIBRATION:
        return lambda u: u
    return make_calibrator(method).fit(raw_u, errors)


def fit_calibration(
    raw_u: np.ndarray,
    errors: np.ndarray,
    *,
    method: str,
    target_risk: float,
    delta: float,
    split: str,
) -> tuple[Calibrator | None, AbstentionRule]:
    """Fit the calibration map (``method="none"``: none) and the abstention rule on held-out rows.

    Args:
        raw_u: ``(N,)`` the head's uncertainties on the held-out split.
        errors: ``(N,)`` 0/1, 1 where the backbone's prediction was wrong.
        method: a name of :data:`alien.calibration.CALIBRATORS`, ``"none"``, or ``"auto"``
            (the map chosen on these rows by :func:`choose_calibration_method`).
        target_risk: error rate among accepted rows to control, in ``(0, 1)``.
        delta: allowed probability that the guarantee fails, in ``(0, 1)``.
        split: the split's name, recorded with the rule.

    Raises:
        ValueError: an unknown method (the message lists them), or rows without both
            errors and correct predictions.
    """
    if method == AUTO_CALIBRATION:
        method, _ = choose_calibration_method(raw_u, errors)
    calibrator = None if method == NO_CALIBRATION else make_calibrator(method).fit(raw_u, errors)
    served = raw_u if calibrator is None else np.asarray(calibrator(raw_u), dtype=np.float64)
    chosen = choose_threshold(served, errors, target_risk=target_risk, delta=delta)
    rule = AbstentionRule(
        threshold=chosen.threshold if chosen.controlled else -math.inf,
        target_risk=target_risk,
        delta=delta,
        calibration_rows=chosen.n_calibration,
        calibration_coverage=chosen.coverage,
        split=split,
    )
    return calibrator, rule


def calibrate_classifier(
    classifier: AlienClassifier,
    texts: Sequence[str],
    labels: Sequence[int | str],
    *,
    method: str = "centred_isotonic",
    target_risk: float = 0.05,
    delta: float = 0.1,
    split: str = "validation",
) -> AlienClassifier:
    """``classifier`` with the served calibration map and abstention rule, fitted on held-out rows.

    What the align stage does, as one call for a notebook: predict the held-out ``texts``,
    mark where the backbone's label differs from ``labels``, and fit the map g(u) ~= P(error)
    and the risk-controlled threshold on the head's raw output (:func:`fit_calibration`).
    The defaults are those of ``params.yaml``'s ``calibration`` section. Use rows the head
    was not trained on (its validation rows, as the pipeline does); never the test rows.

    Args:
        classifier: a sequence classifier with a trained head.
        texts: the held-out inputs.
        labels: their true classes, as ids or as names of ``classifier.label_names``.
        method, target_risk, delta, split: as in :func:`fit_calibration`.

    Returns:
        A shallow copy (same backbone and head) whose ``predict`` reports the calibrated
        ``uncertainty`` (the head's own output stays in ``raw_uncertainty``) and ``abstain``.

    Raises:
        ValueError: a token-classification model, labels that do not match the texts or
            name no class, or held-out rows without both errors and correct predictions.
    """
    if classifier.task != "sequence-classification":
        raise ValueError(f"calibrate_classifier takes a sequence classifier, got a {classifier.task} one")
    if len(texts) != len(labels):
        raise ValueError(f"{len(texts)} texts but {len(labels)} labels")
    index = {name: i for i, name in enumerate(classifier.label_names)}
    unknown = sorted({str(y) for y in labels if isinstance(y, str) and y not in index})
    if unknown:
        raise ValueError(f"labels {unknown[:5]} are not among {list(classifier.label_names)}")
    truth = np.array([index[y] if isinstance(y, str) else int(y) for y in labels], dtype=np.int64)
    prediction = classifier.predict(list(texts))
    errors = (prediction.labels != truth).astype(np.int64)
    calibrator, rule = fit_calibration(
        prediction.raw_uncertainty, errors, method=method, target_risk=target_risk, delta=delta, split=split
    )
    calibrated = copy.copy(classifier)
    calibrated.calibrator, calibrated.abstention = calibrator, rule
    return calibrated
