"""One pipeline execution as one MLflow run, and the version it registers.

The run holds the params (the params file as written), the metrics of every stage,
the lineage tags, the files a reviewer opens (gate report, metrics, params, ``dvc.lock``,
grid, plots), the context of :mod:`alien.tracking.run_context`, the pyfunc model and
the model card (:mod:`alien.tracking.review`). Then the version is registered
(:func:`alien.tracking.registration.register_version`: pending, then one commit) and
the run is named after it (``trec · minilm · v3``).

Everything is written through the store's client, except the run itself: it is
MLflow's fluent run, because ``mlflow.pyfunc.log_model`` logs only into the active run
through the process-wide URIs. Those point at this store for the run alone
(:func:`alien.tracking.setup.pointed_at`). A failure ends the run FAILED. The run is
created with its owner's tags (:func:`alien.tracking.recovery.registering_tags`), so
if the process dies anywhere — inside ``log_model``, before any version exists — the
next registration's recovery finds the run and ends it FAILED.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from alien.tracking.names import RUN_PROMOTED, RUN_REGISTERED_VERSION, TAG_TOKEN
from alien.tracking.recovery import registering_tags
from alien.tracking.registration import Registration, register_version
from alien.tracking.review import review_card
from alien.tracking.run_context import FlowContext, log_run_context, name_run, run_name
from alien.tracking.run_logging import lineage_tags, log_pipeline_run, params_record, version_tags
from alien.tracking.setup import Tracking, pointed_at

if TYPE_CHECKING:
    from alien.tracking.store import Store

log = logging.getLogger(__name__)
DESCRIPTION_LIMIT = 4500  # MLflow's SQL column holds 5000; the card's status block needs room
CARD_FILE = "model_card.md"


@dataclass(frozen=True)
class Execution:
    """What one pipeline execution hands to its MLflow run (the register stage gathers it).

    Attributes:
        token: the registration token (:func:`alien.tracking.registration.registration_token`).
        deployable: the deployable model folder.
        metrics: the evaluation's ``metrics.json``.
        gate_report: the gate's report, as a JSON object.
        gate_report_file: the report's file (logged; the promotion event names it).
        data_version: the raw data's ``{"md5", "source", "path"}``.
        dataset: ``data.source``; backbone: ``backbone.name`` (the run's name).
        root: the project root (git commit and whether the code differs from it).
        params_file: the params file, logged as the run's record.
        prepared: the prepared splits (the run's datasets).
        plots: the evaluation's plots folder.
        files: further files logged at the artifact root (missing ones are skipped).
        outputs: what the pipeline writes, relative to ``root`` (not a change to the code).
        grid: the align grid's results; finetune_metrics: fine-tuning's metrics.
        context: what the flow passed (``None`` under ``dvc repro``).
        scores: the per-row test scores, logged with the digest of the test rows they were
            computed on (:mod:`alien.tracking.champion_scores`: a later gate reads the champion's).
    """

    token: str
    deployable: Path
    metrics: Mapping[str, Any]
    gate_report: Mapping[str, Any]
    gate_report_file: Path
    data_version: Mapping[str, str]
    dataset: str
    backbone: str
    root: Path
    params_file: Path
    prepared: Path
    plots: Path
    files: tuple[Path, ...] = ()
    outputs: tuple[str, ...] = ()
    grid: Mapping[str, Any] | None = None
    finetune_metrics: Mapping[str, Any] | None = None
    context: FlowContext | None = None
    scores: Path | None = None


@dataclass(frozen=True)
class Decision:
    """Whether to promote the new version, why (or why not), the champion the gate compared with, its verdict."""

    promote: bool
    reason: str
    expected_champion: str | None
    gate_passed: bool


def card_description(card: str, run_id: str) -> str:
    """The card as a version description: cut to :data:`DESCRIPTION_LIMIT`, pointing at the full one."""
    if len(card) <= DESCRIPTION_LIMIT:
        return card
    tail = f"\n\n… truncated; full card: runs:/{run_id}/{CARD_FILE}\n"
    return card[: DESCRIPTION_LIMIT - len(tail)] + tail


def log_and_register(
    store: Store, tracking: Tracking, execution: Execution, decision: Decision
) -> tuple[str, Registration]:
    """One MLflow run (ended FAILED on any error) that logs everything and registers the version.

    Hold the registry lock, and recover first. Returns the run id and the registration.
    """
    import mlflow

    name = run_name(dataset=execution.dataset, backbone=execution.backbone, version=None)
    with pointed_at(tracking.uri):
        tags = registering_tags(store.model_name)  # in the creating call: no moment without an owner
        run_id = mlflow.start_run(experiment_id=tracking.experiment_id, run_name=name, tags=tags).info.run_id
        try:
            registration = _log_and_register(store, tracking, execution, decision, run_id)
        except BaseException:
            _end_run("FAILED")
            raise
        _end_run("FINISHED")
    return run_id, registration


def _end_run(status: str) -> None:
    import mlflow

    try:
        mlflow.end_run(status)
    except Exception:  # the store is down: the next run's recovery ends it FAILED
        log.exception("could not mark the MLflow run %s", status)


def _log_and_register(
    store: Store, tracking: Tracking, execution: Execution, decision: Decision, run_id: str
) -> Registration:
    """Log the run, its card, register the version and name the run after it."""
    from mlflow.entities import RunTag

    from alien.core.deployable import read_metadata

    client, passed = tracking.client, bool(execution.gate_report["passed"])
    metadata = read_metadata(execution.deployable)
    lineage = lineage_tags(
        data_version=execution.data_version,
        gate_passed=passed,
        root=execution.root,
        outputs=execution.outputs,
    )
    params = params_record(execution.params_file)
    info = _log_run(client, run_id, execution, lineage, params, task=str(metadata.get("task", "")))
    card = _card(store, tracking, execution, run_id, lineage=lineage, metadata=metadata, params=params)
    client.log_text(run_id, card, CARD_FILE)
    tags = version_tags(
        lineage,
        metadata=metadata,
        metrics=execution.metrics["methods"]["alien"],
        dataset=execution.dataset,
        gate_passed=passed,
    )
    registration = register_version(
        store,
        info.model_uri,
        token=execution.token,
        run_id=run_id,
        model_id=info.model_id,
        tags=tags,
        description=card_description(card, run_id),
        promote=decision.promote,
        expected_champion=decision.expected_champion,
        reason=decision.reason,
        extra={
            "run_id": run_id,
            "gate_report": f"runs:/{run_id}/{execution.gate_report_file.name}",
            "mode": store.mode,
        },
    )
    promoted = str(registration.promotion.promoted).lower()
    client.log_batch(
        run_id, tags=[RunTag(RUN_REGISTERED_VERSION, registration.version), RunTag(RUN_PROMOTED, promoted)]
    )
    name_run(
        client, run_id, dataset=execution.dataset, backbone=execution.backbone, version=registration.version
    )
    return registration


def _card(
    store: Store,
    tracking: Tracking,
    execution: Execution,
    run_id: str,
    *,
    lineage: Mapping[str, str],
    metadata: Mapping[str, Any],
    params: Mapping[str, Any],
) -> str:
    """The run's model card (:func:`alien.tracking.review.review_card`)."""
    return review_card(
        store,
        run_id=run_id,
        experiment_id=tracking.experiment_id,
        plots=execution.plots,
        lineage=lineage,
        metadata=metadata,
        context=execution.context,
        gate_report=execution.gate_report,
        metrics=execution.metrics,
        data_version=execution.data_version,
        params=params,
        champion=execution.gate_report.get("champion"),
        title=f"{store.model_name} — ALIEN classifier",
    )


def _log_run(
    client: Any,
    run_id: str,
    execution: Execution,
    lineage: Mapping[str, str],
    params: Mapping[str, Any],
    *,
    task: str,
) -> Any:
    """Params, metrics, tags, files, context and the pyfunc model; returns the model's ``ModelInfo``."""
    from alien.tracking.champion_scores import test_scores_tag
    from alien.tracking.pyfunc import log_alien_model

    scores = [] if execution.scores is None else [execution.scores]
    scores_tag = {} if execution.scores is None else test_scores_tag(execution.scores, execution.prepared)
    log_pipeline_run(
        client,
        run_id,
        params=params,
        metrics=execution.metrics,
        tags={**lineage, TAG_TOKEN: execution.token, **scores_tag},
        stages=None if execution.grid is None else {"align": execution.grid},
        files=[execution.gate_report_file, *execution.files, *scores],
        folders={"plots": execution.plots},
    )
    log_run_context(
        client,
        run_id,
        prepared=execution.prepared,
        finetune_metrics=execution.finetune_metrics,
        task=task,
        dataset=execution.dataset,
        data_version=execution.data_version,
        context=execution.context,
    )
    return log_alien_model(execution.deployable)
