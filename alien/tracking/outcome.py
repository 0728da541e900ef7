"""What a registration decides and records besides the version: whether to promote, and the outcome.

A run is an experiment when ``registry.mode`` says so or when DVC says so: ``dvc exp run``
sets ``DVC_EXP_NAME`` for every stage, and the register stage's command line passes that
name to ``register.run`` explicitly (``experiment=``). An experiment never promotes; its
run and version carry the experiment's name (:data:`TAG_DVC_EXPERIMENT`). Every
registration leaves its one-line outcome on the version (:data:`TAG_OUTCOME`), which
the card's status block shows next to what the version is now.

Why a retrain ran at all (:func:`start_reason`) stands in its summary next to that outcome:
the monitor's trigger and the numbers behind it, its deployment's schedule, or a person.
"""

from __future__ import annotations

import dataclasses
import logging
import math
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from alien.config.registry import RegistryConfig
from alien.evaluation.gates import GateReport
from alien.tracking.cards import refresh_cards
from alien.tracking.execution import Decision
from alien.tracking.names import PRODUCTION, TAG_DVC_EXPERIMENT, TAG_OUTCOME

if TYPE_CHECKING:
    from alien.tracking.store import Store

log = logging.getLogger(__name__)


def effective_registry(cfg: RegistryConfig, experiment: str | None) -> RegistryConfig:
    """``cfg``, in experiment mode when ``experiment`` (a ``dvc exp run``'s name) is given."""
    return cfg if experiment is None else dataclasses.replace(cfg, mode="experiment")


def leftover_experiment_warning(cfg: RegistryConfig, experiment: str | None) -> str | None:
    """A loud warning when params say ``registry.mode: experiment`` outside a ``dvc exp run``, else ``None``."""
    if cfg.mode == PRODUCTION or experiment is not None:
        return None
    return (
        "registry.mode is 'experiment' in params.yaml but this is not a `dvc exp run`: this run "
        "registers without ever promoting. If an experiment left it there, set it back to "
        "production (experiments: `dvc exp run --temp --set-param ...`, which never edits params.yaml)"
    )


def decision(gate_report: GateReport, cfg: RegistryConfig, *, experiment: str | None = None) -> Decision:
    """Whether to promote (gate passed, production mode, ``registry.promote``), and why or why not."""
    compared = None if gate_report.champion is None else gate_report.champion.version
    passed = gate_report.passed
    if experiment is not None:
        why = f"it ran as DVC experiment {experiment!r}: experiments never move production aliases"
        return Decision(False, why, compared, passed)
    if cfg.mode != PRODUCTION:
        why = "registry.mode is 'experiment' in params.yaml: experiments never move production aliases"
        return Decision(False, why, compared, passed)
    if not passed:
        return Decision(False, "gate failed", compared, passed)
    if not cfg.promote:
        return Decision(False, "registry.promote is false", compared, passed)
    return Decision(True, "gate passed: promoted to champion", compared, passed)


def record_outcome(
    store: Store, version: str, run_id: str | None, *, headline: str, experiment: str | None
) -> None:
    """Tag the version with ``headline`` (and the run and version with ``experiment``); refresh its card."""
    client, name = store.client, store.model_name
    if experiment is not None:
        client.set_model_version_tag(name, version, TAG_DVC_EXPERIMENT, experiment)
        if run_id is not None:
            client.set_tag(run_id, TAG_DVC_EXPERIMENT, experiment)
    client.set_model_version_tag(name, version, TAG_OUTCOME, headline)
    refresh_cards(store, [version])


def start_reason(
    triggers: Sequence[Mapping[str, Any]] | None, *, scheduled_for: datetime | None = None
) -> str:
    """Why a retrain run started, in one line for its summary.

    Args:
        triggers: the monitor triggers that started it (each a
            :meth:`alien.monitoring.triggers.Trigger.to_dict`: ``name``, ``numbers``, and
            ``window_key`` when known); None or empty when no trigger did.
        scheduled_for: when its deployment's schedule made the run (it was not started by
            a trigger or a person); None when no schedule made it.

    Raises:
        ValueError: a trigger without a ``name`` or with ``numbers`` that are not a mapping of
            names to numbers (the trigger and the bad value are named).

    >>> start_reason([{"name": "drift_u", "numbers": {"p_value": 3.2e-05, "alpha": 0.01},
    ...                "window_key": "3/rows 600-799"}])
    'started by monitor trigger drift_u: p_value 3.2e-05, alpha 0.01 (window 3/rows 600-799)'
    >>> start_reason(None)
    'started by hand (no monitor trigger, no schedule)'
    """
    if triggers:
        return "started by " + "; ".join(_trigger_text(i, t) for i, t in enumerate(triggers))
    if scheduled_for is not None:
        return (
            f"scheduled: a run of its deployment's schedule, due {scheduled_for:%Y-%m-%d %H:%M %Z}".rstrip()
        )
    return "started by hand (no monitor trigger, no schedule)"


def _trigger_text(index: int, trigger: Mapping[str, Any]) -> str:
    if not isinstance(trigger, Mapping) or not isinstance(trigger.get("name"), str) or not trigger["name"]:
        raise ValueError(f"trigger {index} must be a mapping with a 'name', got {trigger!r:.120}")
    numbers = trigger.get("numbers", {})
    if not isinstance(numbers, Mapping):
        raise ValueError(f"trigger {trigger['name']!r}: numbers must be a mapping, got {numbers!r:.120}")
    shown = []
    for key, value in numbers.items():
        if isinstance(value, bool) or not isinstance(value, int | float) or math.isnan(value):
            raise ValueError(f"trigger {trigger['name']!r}: number {key!r} must be a number, got {value!r}")
        shown.append(f"{key} {value:.3g}")
    where = f" (window {trigger['window_key']})" if trigger.get("window_key") else ""
    return f"monitor trigger {trigger['name']}: {', '.join(shown) or 'no numbers'}{where}"
