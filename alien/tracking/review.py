"""The model card of a run, as a reviewer reads it in MLflow's UI.

:func:`review_card` renders :func:`alien.evaluation.model_card.render_model_card`
with what only the tracking side knows: links to the run's plots that MLflow's UI
follows, the live champion's task and labels (a difference becomes a warning), and
the provenance (the run, the git commit and whether the code differed from it, the
Prefect flow run, the stage timings).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from alien.tracking.names import TAG_GIT_COMMIT, TAG_GIT_DIRTY, TAG_LABELS, TAG_TASK
from alien.tracking.run_context import FlowContext, stage_seconds

if TYPE_CHECKING:
    from alien.tracking.store import Store


def plot_links(run_id: str, plots: str | Path, *, folder: str = "plots") -> dict[str, str]:
    """Plot name -> ``get-artifact?path=plots/<name>&run_uuid=<run>``, relative to the MLflow server.

    MLflow's UI drops ``runs:/`` links from markdown; this route is what the UI itself
    fetches artifacts from (``mlflow server`` and ``mlflow ui`` alike, under any
    ``--static-prefix`` since it is relative), so the card's links and inline images work.
    """
    if not isinstance(run_id, str) or not re.fullmatch(r"[0-9a-zA-Z]+", run_id):
        raise ValueError(f"run_id must be an MLflow run id (letters and digits), got {run_id!r}")
    return {
        p.name: f"get-artifact?path={quote(f'{folder}/{p.name}')}&run_uuid={run_id}"
        for p in sorted(Path(plots).glob("*.png"))
    }


def provenance(
    run_id: str, experiment_id: str, lineage: Mapping[str, str], context: FlowContext | None
) -> dict[str, str]:
    """The card's provenance lines: the run (a UI route), git commit and dirty flag, Prefect, stage timings."""
    url = context.flow_run_url if context is not None else None
    flow_id = context.flow_run_id if context is not None else None
    seconds = stage_seconds(context)
    commit, dirty = lineage.get(TAG_GIT_COMMIT, "unknown"), lineage.get(TAG_GIT_DIRTY, "unknown")
    return {
        "MLflow run": f"[{run_id}](#/experiments/{experiment_id}/runs/{run_id})",
        "git commit": f"`{commit}` (uncommitted changes: {dirty})",
        "Prefect flow run": f"[{flow_id or 'open'}]({url})"
        if url
        else (flow_id or "none (not run by Prefect)"),
        "stage seconds": ", ".join(f"{k} {v:.1f}" for k, v in seconds.items()) or "not passed (dvc repro)",
    }


def champion_identity(store: Store) -> dict[str, str] | None:
    """The live champion's ``version``, ``task`` and ``labels`` (comma-separated), or ``None``."""
    version = store.champion()
    if version is None:
        return None
    tags = store.model_version(version).tags
    return {"version": str(version), "task": tags.get(TAG_TASK, ""), "labels": tags.get(TAG_LABELS, "")}


def review_card(
    store: Store,
    *,
    run_id: str,
    experiment_id: str,
    plots: str | Path,
    lineage: Mapping[str, str],
    metadata: Mapping[str, Any],
    context: FlowContext | None,
    **card: Any,
) -> str:
    """The model card of run ``run_id``: plot links the UI follows, the champion's labels, provenance.

    ``card`` is passed on to :func:`alien.evaluation.model_card.render_model_card`
    (``gate_report``, ``metrics``, ``data_version``, ``params``, ``champion``, ``title``).
    """
    from alien.evaluation.model_card import render_model_card

    return render_model_card(
        **card,
        plot_uris=plot_links(run_id, plots),
        identity={"task": metadata.get("task"), "labels": list(metadata.get("label_names") or [])},
        champion_identity=champion_identity(store),
        provenance=provenance(run_id, experiment_id, lineage, context),
    )
