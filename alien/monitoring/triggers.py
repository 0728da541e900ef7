"""Retrain on evidence: which window reports are reason enough to start a retrain.

A trigger fires on a window whose report is ``"ok"`` (empty and one-row windows
never fire) when one of the policy's tests rejects at its level:

- ``error_above_champion``: the window's mean ``u`` is above the champion's test
  error, by a one-sided one-sample t-test on the window's ``u``'s (H0: E[u] <=
  champion test error). It assumes the champion's test error is known exactly;
  if the map is biased on the test split, pass the champion's mean test ``u``.
- ``drift_u`` / ``drift_features``: a drift test's p-value below the level (``drift``,
  one level for both: drift of ``u``, and of the features the head reads when the
  log keeps texts).
- ``guarantee_violation``: the one-sided binomial test of the risk among
  accepted labelled rows (H0: risk <= target) rejects.
- ``min_new_labels``: at least N labelled rows (those of the window, or a count
  the caller passes, e.g. all labels since the champion was trained).

Each level is per window and per test: with several tests on every window, set
them small (the defaults are 0.01) to keep false retrains rare. A window that
has fired (its key ``<model_version>/<window>`` is in ``already_fired``) fires
no more, whatever later evidence on it says: it has started its retrain.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from collections.abc import Set as AbstractSet
from dataclasses import asdict, dataclass, field, fields
from typing import TYPE_CHECKING, Any

from scipy import stats

if TYPE_CHECKING:  # the type only: reading a policy need not load the metrics stack
    from alien.monitoring.estimate import WindowReport

ERROR_ABOVE_CHAMPION = "error_above_champion"
GUARANTEE_VIOLATION = "guarantee_violation"
MIN_NEW_LABELS = "min_new_labels"
DRIFT_PREFIX = "drift_"
DEFAULT_ALPHA = 0.01


def _check_level(value: Any, name: str) -> None:
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0.0 < float(value) < 1.0:
        raise ValueError(f"retrain_when.{name} must be a level in (0, 1) or null (off), got {value!r}")


@dataclass(frozen=True)
class RetrainPolicy:
    """When the monitor starts a retrain (``monitor.retrain_when``); None turns a trigger off.

    Attributes:
        error_above_champion: level of the test "estimated error > champion's test error".
        drift: level of each drift test.
        guarantee_violation: level of the binomial test of the guarantee.
        min_new_labels: fire once at least this many labelled rows exist.
    """

    error_above_champion: float | None = DEFAULT_ALPHA
    drift: float | None = DEFAULT_ALPHA
    guarantee_violation: float | None = DEFAULT_ALPHA
    min_new_labels: int | None = None

    def __post_init__(self) -> None:
        for name in ("error_above_champion", "drift", "guarantee_violation"):
            _check_level(getattr(self, name), name)
        n = self.min_new_labels
        if n is not None and (isinstance(n, bool) or not isinstance(n, int) or n < 1):
            raise ValueError(f"retrain_when.min_new_labels must be a positive int or null (off), got {n!r}")

    @classmethod
    def from_dict(cls, values: Mapping[str, Any]) -> RetrainPolicy:
        """The policy from ``params.yaml``'s mapping: ``true`` = the default level, ``false`` = off.

        Raises:
            ValueError: an unknown key (named, with the known ones) or a bad value.
        """
        known = [f.name for f in fields(cls)]
        unknown = sorted(set(values) - set(known))
        if unknown:
            raise ValueError(f"unknown retrain_when key(s) {unknown}; known: {known}")
        out: dict[str, Any] = {}
        for key, value in values.items():
            if value is True:
                value = DEFAULT_ALPHA if key != "min_new_labels" else value
            out[key] = None if value is False else value
        return cls(**out)


@dataclass(frozen=True)
class Trigger:
    """A trigger that fired, with the numbers behind it (for the retrain's summary).

    Attributes:
        name: which trigger (``error_above_champion``, ``drift_u``, ``drift_features``,
            ``guarantee_violation``, ``min_new_labels``).
        window_key: ``<model_version>/<window>``.
        model_version: the version the window was served by.
        window: the window's id.
        reason: one line a person reads.
        numbers: the statistics behind it.
    """

    name: str
    window_key: str
    model_version: str
    window: str
    reason: str
    numbers: dict[str, float] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """The fields as a plain dict (JSON-ready)."""
        return asdict(self)


def evaluate_triggers(
    window_report: WindowReport,
    policy: RetrainPolicy,
    *,
    champion_test_error: float | None,
    already_fired: AbstractSet[str] = frozenset(),
    new_labels: int | None = None,
) -> list[Trigger]:
    """The triggers ``window_report`` fires under ``policy``.

    Args:
        window_report: one window's report.
        policy: the triggers and their levels.
        champion_test_error: the champion's error rate on its test split (needed
            when ``policy.error_above_champion`` is on).
        already_fired: window keys that have fired before; such a window fires nothing.
        new_labels: labelled rows counted for ``min_new_labels``; default the window's.

    Raises:
        ValueError: ``champion_test_error`` missing or outside ``[0, 1]`` while needed.
    """
    if policy.error_above_champion is not None and (
        champion_test_error is None or not 0.0 <= champion_test_error <= 1.0
    ):
        raise ValueError(f"champion_test_error must lie in [0, 1], got {champion_test_error!r}")
    r = window_report
    if r.key in already_fired or r.status != "ok":
        return []
    found: list[tuple[str, str, dict[str, float]]] = []
    if policy.error_above_champion is not None and champion_test_error is not None:
        found += _error_above(r, champion_test_error, policy.error_above_champion)
    if policy.drift is not None:
        for d in r.drift:
            if d.p_value is not None and d.p_value < policy.drift:
                numbers = {"statistic": d.statistic or 0.0, "p_value": d.p_value, "alpha": policy.drift}
                reason = f"{d.method} drift of {d.name}: p = {d.p_value:.2g} < {policy.drift:g}"
                reason += f" ({d.note})" if d.note else ""  # features: the component that moved most
                found.append((f"{DRIFT_PREFIX}{d.name}", reason, numbers))
    level = policy.guarantee_violation
    if level is not None and r.guarantee_p_value is not None and r.guarantee_p_value < level:
        risk = r.realised_risk_accepted or 0.0
        numbers = {"realised_risk_accepted": risk, "target_risk": r.target_risk}
        numbers |= {"n_labelled_accepted": float(r.n_labelled_accepted), "p_value": r.guarantee_p_value}
        reason = f"risk among accepted {risk:.3f} > target {r.target_risk:g}: p = {r.guarantee_p_value:.2g} < {level:g}"
        found.append((GUARANTEE_VIOLATION, reason, numbers))
    count = r.n_labelled if new_labels is None else new_labels
    if policy.min_new_labels is not None and count >= policy.min_new_labels:
        reason = f"{count} new labelled rows >= {policy.min_new_labels}"
        found.append(
            (MIN_NEW_LABELS, reason, {"new_labels": float(count), "min": float(policy.min_new_labels)})
        )
    return [Trigger(name, r.key, r.model_version, r.window, reason, nums) for name, reason, nums in found]


def _error_above(r: WindowReport, champion: float, alpha: float) -> list[tuple[str, str, dict[str, float]]]:
    if r.estimated_error is None or r.u_sd is None:
        return []
    diff = r.estimated_error - champion
    if r.u_sd > 0:
        p = float(stats.t.sf(diff / (r.u_sd / math.sqrt(r.n)), df=r.n - 1))
    else:
        p = 0.0 if diff > 0 else 1.0
    if p >= alpha:
        return []
    numbers = {
        "estimated_error": r.estimated_error,
        "champion_test_error": champion,
        "p_value": p,
        "alpha": alpha,
    }
    reason = f"estimated error {r.estimated_error:.3f} > champion's test error {champion:.3f}: p = {p:.2g} < {alpha:g}"
    return [(ERROR_ABOVE_CHAMPION, reason, numbers)]


def evaluate_windows(
    reports: Iterable[WindowReport],
    policy: RetrainPolicy,
    *,
    champion_test_error: float | None,
    already_fired: AbstractSet[str] = frozenset(),
) -> list[Trigger]:
    """:func:`evaluate_triggers` over many windows, each window key firing at most once.

    Add the returned triggers' ``window_key`` to the persisted ``already_fired``.
    """
    fired = set(already_fired)
    out: list[Trigger] = []
    for report in reports:
        found = evaluate_triggers(
            report, policy, champion_test_error=champion_test_error, already_fired=fired
        )
        if found:
            fired.add(report.key)
            out += found
    return out
