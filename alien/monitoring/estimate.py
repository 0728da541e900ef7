"""What one window of logged predictions says about the live error rate, before and after labels.

Before labels: the served ``u`` is calibrated to P(the label is wrong), so the
window's mean ``u`` estimates the share of its rows that are wrong (the idea of
NannyML's CBPE, here from a trained head). Given the ``u``'s, the number of
errors is a sum of independent Bernoulli(u_i), a Poisson-binomial variable with
variance ``sum u_i (1 - u_i)``; the interval is the normal approximation
``mean(u) ± z · sqrt(sum u_i (1 - u_i)) / n``. It is an interval for the
window's realised error rate and it holds only while the calibration holds:
under a shift ``u`` may be wrong, which is what the late labels check.

After labels: the realised error, ECE and Brier of ``1 - u`` against
correctness (:mod:`alien.metrics`), and the realised risk among accepted rows
with a one-sided exact binomial test of the guarantee H0: risk <= target.

An empty or one-row window gives a report whose ``status`` and ``note`` say so.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd
from scipy import stats

from alien.metrics import brier_score, expected_calibration_error
from alien.monitoring.drift import DriftResult
from alien.monitoring.schema import TRUE_LABEL

WindowStatus = Literal["ok", "one_row", "empty"]
ROUGH_BELOW = 30  # rows under which the normal interval is only a rough guide
NEEDED_COLUMNS = ("u", "abstain", "label")


@dataclass(frozen=True)
class WindowReport:
    """The monitor's numbers for one window of one model version (None where undefined).

    Attributes:
        model_version: the model version every row of the window was served by.
        window: the window's id (``"rows 0-199"``, or its UTC start time).
        index: the window's position (MLflow's step).
        n: rows in the window.
        status: ``"ok"``, ``"one_row"`` or ``"empty"``.
        note: what a reader should know (why numbers are missing, rough intervals).
        target_risk: the guarantee's target (``calibration.target_risk``).
        confidence: the level of the interval.
        estimated_error: mean ``u``.
        estimated_error_low: lower end of the interval.
        estimated_error_high: upper end of the interval.
        u_sd: sample standard deviation of ``u`` (for tests of the window's mean).
        abstention_rate: share of rows the rule refused.
        n_accepted: rows not refused.
        estimated_risk_accepted: mean ``u`` over accepted rows.
        n_labelled: rows with a late label.
        realised_error: share of labelled rows that are wrong.
        ece: ECE of ``1 - u`` on labelled rows.
        brier: Brier score of ``1 - u`` on labelled rows.
        n_labelled_accepted: labelled rows not refused.
        realised_risk_accepted: share of those that are wrong.
        guarantee_p_value: one-sided binomial p-value of H0: risk among accepted <= target.
        drift: drift tests of the window, if any were run.
    """

    model_version: str
    window: str
    index: int
    n: int
    status: WindowStatus
    note: str
    target_risk: float
    confidence: float
    estimated_error: float | None = None
    estimated_error_low: float | None = None
    estimated_error_high: float | None = None
    u_sd: float | None = None
    abstention_rate: float | None = None
    n_accepted: int = 0
    estimated_risk_accepted: float | None = None
    n_labelled: int = 0
    realised_error: float | None = None
    ece: float | None = None
    brier: float | None = None
    n_labelled_accepted: int = 0
    realised_risk_accepted: float | None = None
    guarantee_p_value: float | None = None
    drift: tuple[DriftResult, ...] = field(default=())

    @property
    def key(self) -> str:
        """``<model_version>/<window>``: what a trigger is de-duplicated by."""
        return f"{self.model_version}/{self.window}"

    def metrics(self) -> dict[str, float]:
        """The numeric fields that are defined, plus drift p-values (``drift_<name>_p``), e.g. for MLflow."""
        skip = {"index", "target_risk", "confidence"}
        out = {
            k: float(v)
            for k, v in asdict(self).items()
            if k not in skip and isinstance(v, int | float) and not isinstance(v, bool)
        }
        out.update({f"drift_{d.name}_p": d.p_value for d in self.drift if d.p_value is not None})
        return out


def check_unit(value: float, name: str) -> float:
    """Refuse a number outside ``(0, 1)``.

    Raises:
        ValueError: names the value.
    """
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0.0 < float(value) < 1.0:
        raise ValueError(f"{name} must lie in (0, 1), got {value!r}")
    return float(value)


def error_interval(u: Any, *, confidence: float = 0.95) -> tuple[float, float, float]:
    """Mean ``u`` and its Poisson-binomial normal interval, clipped to ``[0, 1]``.

    Args:
        u: ``(n,)`` calibrated probabilities of error, ``n >= 1``.
        confidence: two-sided level.

    Returns:
        ``(estimate, low, high)``.

    >>> [round(x, 4) for x in error_interval([0.1, 0.2, 0.3, 0.4])]
    [0.25, 0.0, 0.66]
    """
    arr = np.asarray(u, dtype=np.float64)
    mean = float(arr.mean())
    half = float(stats.norm.ppf(0.5 + confidence / 2) * math.sqrt(float((arr * (1 - arr)).sum())) / arr.size)
    return mean, max(0.0, mean - half), min(1.0, mean + half)


def estimate_window(
    frame: pd.DataFrame,
    *,
    target_risk: float,
    window: str = "all",
    index: int = 0,
    model_version: str | None = None,
    confidence: float = 0.95,
    n_bins: int = 15,
) -> WindowReport:
    """The report of one window of the log (:func:`alien.monitoring.log.read_log`'s frame).

    Args:
        frame: rows of one model version with ``u``, ``abstain``, ``label`` and,
            optionally, ``true_label`` (null where unknown).
        target_risk: the guarantee's target risk among accepted rows.
        window: the window's id.
        index: the window's position.
        model_version: the version; default the frame's.
        confidence: level of the error interval.
        n_bins: ECE bins.

    Raises:
        ValueError: missing columns, rows of several model versions, or
            ``target_risk``/``confidence`` outside ``(0, 1)``.
    """
    check_unit(target_risk, "target_risk")
    check_unit(confidence, "confidence")
    missing = [c for c in NEEDED_COLUMNS if c not in frame.columns]
    if missing:
        raise ValueError(f"window frame lacks columns {missing}; it has {list(frame.columns)}")
    version = model_version if model_version is not None else _single_version(frame)
    base: dict[str, Any] = dict(
        model_version=version,
        window=window,
        index=index,
        n=len(frame),
        target_risk=target_risk,
        confidence=confidence,
    )
    if frame.empty:
        return WindowReport(**base, status="empty", note="no rows in this window")
    labelled, labelled_note = _labelled(frame, target_risk, n_bins)
    fields = _unlabelled(frame, confidence) | labelled
    notes = [labelled_note] if labelled_note else []
    if len(frame) == 1:
        status: WindowStatus = "one_row"
        notes.insert(0, "one row: no interval and no tests")
        fields.update(estimated_error_low=None, estimated_error_high=None, guarantee_p_value=None)
    else:
        status = "ok"
        if len(frame) < ROUGH_BELOW:
            notes.insert(0, f"under {ROUGH_BELOW} rows: the interval is rough")
    return WindowReport(**base, status=status, note="; ".join(notes), **fields)


def _single_version(frame: pd.DataFrame) -> str:
    if "model_version" not in frame.columns or frame.empty:
        return ""
    versions = sorted({str(v) for v in frame["model_version"]})
    if len(versions) > 1:
        raise ValueError(f"a window holds one model version; this frame has {versions}")
    return versions[0]


def _unlabelled(frame: pd.DataFrame, confidence: float) -> dict[str, Any]:
    u = frame["u"].to_numpy(dtype=np.float64)
    accepted = ~frame["abstain"].to_numpy(dtype=bool)
    estimate, low, high = error_interval(u, confidence=confidence)
    return {
        "estimated_error": estimate,
        "estimated_error_low": low,
        "estimated_error_high": high,
        "u_sd": float(u.std(ddof=1)) if u.size > 1 else None,
        "abstention_rate": float(1.0 - accepted.mean()),
        "n_accepted": int(accepted.sum()),
        "estimated_risk_accepted": float(u[accepted].mean()) if accepted.any() else None,
    }


def _labelled(frame: pd.DataFrame, target_risk: float, n_bins: int) -> tuple[dict[str, Any], str]:
    if TRUE_LABEL not in frame.columns:
        return {}, ""
    known = frame[frame[TRUE_LABEL].notna()]
    if known.empty:
        return {}, ""
    u = known["u"].to_numpy(dtype=np.float64)
    wrong = (known["label"].astype(str) != known[TRUE_LABEL].astype(str)).to_numpy()
    correct = (~wrong).astype(np.int64)
    accepted = ~known["abstain"].to_numpy(dtype=bool)
    out: dict[str, Any] = {
        "n_labelled": len(known),
        "realised_error": float(wrong.mean()),
        "ece": expected_calibration_error(1.0 - u, correct, n_bins=n_bins),
        "brier": brier_score(1.0 - u, correct),
        "n_labelled_accepted": int(accepted.sum()),
    }
    if not accepted.any():
        return out, "no labelled accepted rows: the guarantee is not tested"
    errors = int(wrong[accepted].sum())
    out["realised_risk_accepted"] = errors / int(accepted.sum())
    test = stats.binomtest(errors, int(accepted.sum()), target_risk, alternative="greater")
    out["guarantee_p_value"] = float(test.pvalue)
    return out, ""
