"""Stage ``gate``: decide whether the challenger may replace the champion.

Decides on the numbers ``evaluate`` measured: the per-row
test scores (:class:`~alien.stages.artifacts.TestScores`) — ALIEN's scores are
not recomputed. Decides the rules of docs/gates.md (:mod:`alien.evaluation.rules`):
paired bootstraps on the test rows against what the backbone gives for free after
post-hoc calibration (the baselines evaluate chose on the calibration split, and the
free scores' test rows it wrote) and against the current registry champion (if any),
scored on the **same current test split** with its served (calibrated) uncertainty and the **same**
``n_bins`` the challenger was scored with, and writes
``paths.gate_report``. The report names the registry (resolved tracking URI,
model, champion version) it was decided against. The registry is only read
here; :mod:`alien.stages.register` acts on the verdict.

The gate reads the live registry, which DVC does not track, so the stage table
marks it ``live``: it runs every time in both runners and is never restored
from DVC's run-cache. It decides again only when something it decides on changed:
when the registry holds a decision made on the same inputs (:func:`decision_key`: the
scores, the test split, its params, the code) and is still in the state that decision
left (:mod:`alien.tracking.decision`: no rollback, no new champion, no pin since),
it writes that decision's report again and reports ``unchanged`` — no champion is
loaded, nothing is resampled. The report carries its key as ``inputs``: register records
the decision under it. Its one output is the JSON report; the markdown view is
rendered from it wherever it is shown (:meth:`GateReport.to_markdown`), so no
second file can disagree with it.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from alien.config.data import DataConfig
from alien.config.gates import GatesConfig
from alien.config.paths import PathsConfig
from alien.config.registry import RegistryConfig
from alien.data.io import read_labels, read_split, write_json
from alien.evaluation.gates import GateReport
from alien.pipeline.cli import StageResult, stage_cli
from alien.pipeline.dvc_env import dvc_root
from alien.task import get_task

# The rules and the scores pull in the numerical stack (torch, scikit-learn): imported when the
# gate decides, so an unchanged nightly run (which only reads its standing decision) never loads it.
if TYPE_CHECKING:
    from alien.core.model import AlienClassifier
    from alien.evaluation.rules import Scored
    from alien.stages.artifacts import TestScores
    from alien.tracking.store import Store

ALIEN = "alien"


@dataclass(frozen=True)
class GateStageResult(StageResult):
    """The verdict, every gate, and the champion it compared with."""

    passed: bool
    gates: list[dict[str, Any]]
    champion_version: str | None
    unchanged: bool = False  # the registry's decision on these inputs still held: not decided again
    decided_at: str | None = None  # when that decision was made (``unchanged`` only)


def champion_scored(version: str, champion: AlienClassifier, paths: PathsConfig, data: DataConfig) -> Scored:
    """The champion's served uncertainty and errors on the challenger's current test split.

    Raises:
        ValueError: the champion predicts a different label set than the current data has.
    """
    from alien.evaluation.rules import Scored

    labels = read_labels(paths.prepared)
    if list(champion.label_names) != list(labels):
        raise ValueError(
            f"champion v{version} predicts labels {list(champion.label_names)} but the current "
            f"data has {labels}; the models are not comparable"
        )
    task = get_task(data.task)
    inputs, gold = task.split_inputs(read_split(paths.prepared, "test"))
    prediction = champion.predict(inputs)
    # what the champion serves (its calibrated P(error)), as the challenger's "alien" row is
    u = np.asarray(prediction.uncertainty, dtype=np.float64).reshape(-1)
    predicted = np.asarray(prediction.labels).reshape(-1)
    gold_rows = task.gold_rows(gold, prediction.example_ids, prediction.word_ids)
    keep = gold_rows >= 0  # ignored words (-100) are not scored
    return Scored(u[keep], (predicted[keep] != gold_rows[keep]).astype(np.int64))


def build_report(
    gates: GatesConfig,
    scores: TestScores,
    champion: tuple[str, Scored] | None,
    *,
    registry: dict[str, Any] | None = None,
) -> GateReport:
    """Decide every rule (:mod:`alien.evaluation.rules`) on the per-row test scores.

    Raises:
        ValueError: a free score (entropy, softmax response, temperature scaling) was not
            evaluated, the scores predate Rule 1's baselines, or the champion was scored on
            different rows.
    """
    from alien.evaluation.free_baseline import FREE_SCORES
    from alien.evaluation.rules import FreeScores, Scored, decide

    for needed in FREE_SCORES:
        if needed not in scores.uncertainty:
            raise ValueError(
                f"the {needed} baseline is missing from the evaluation; add it to evaluate.baselines"
            )
    if scores.free_baseline is None:
        raise ValueError(
            "the per-row test scores name no Rule 1 baselines (written by an older evaluate); "
            "run the evaluate stage again"
        )
    if champion is not None and champion[1].errors.shape != scores.errors.shape:
        raise ValueError(
            f"champion v{champion[0]} was scored on {champion[1].errors.shape[0]} rows but the "
            f"challenger on {scores.errors.shape[0]}; the test rows must be the same"
        )
    return decide(
        Scored(scores.method(ALIEN), scores.errors),
        free=FreeScores(scores.free_baseline, {name: scores.method(name) for name in FREE_SCORES}),
        champion=champion,
        config=gates,
        n_bins=scores.n_bins,
        registry=registry,
    )


def decision_key(
    gates: GatesConfig, registry: RegistryConfig, data: DataConfig, paths: PathsConfig, *, uri: str
) -> str:
    """sha256 of everything the verdict is decided on, bar the registry's state.

    The per-row scores (the model), the prepared splits (the test rows the champion is
    scored on), the gate's params (``gates``, ``registry`` with its resolved ``uri``,
    ``data.task``) and the code (the ``alien`` package's source: an edited rule decides again).
    """
    from alien.tracking.decision import tree_digest

    params = {
        "gates": dataclasses.asdict(gates),
        "registry": {**dataclasses.asdict(registry), "tracking_uri": uri},
        "task": data.task,
    }
    parts = (
        tree_digest(paths.scores),
        tree_digest(paths.prepared),
        json.dumps(params, sort_keys=True, default=str),
        tree_digest(Path(__file__).resolve().parents[1], suffix=".py"),
    )
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()


def run(
    gates: GatesConfig,
    registry: RegistryConfig,
    data: DataConfig,
    paths: PathsConfig,
    *,
    registry_root: Path | None = None,
) -> GateStageResult:
    """Write the gate report, decided against the live registry's champion (or the standing decision).

    ``registry_root``: what a relative registry URI is relative to (default: the working
    directory; the command line passes DVC's repository root, which under
    ``dvc exp run --temp`` is the user's project, not the executor's folder).

    Raises:
        FileNotFoundError: the per-row scores are missing (run evaluate).
        ValueError: the champion is not comparable, or a metric is missing.
        RegistryUnavailableError: the registry cannot be reached.
    """
    from alien.stages.artifacts import TestScores
    from alien.tracking import resolve_tracking_uri
    from alien.tracking.setup import missing_store
    from alien.tracking.store import Store

    if registry_root is not None:
        uri = resolve_tracking_uri(registry.tracking_uri, root=registry_root)
        registry = dataclasses.replace(registry, tracking_uri=uri)
    uri = resolve_tracking_uri(registry.tracking_uri)
    key = decision_key(gates, registry, data, paths, uri=uri)
    store = None if missing_store(uri) is not None else Store.from_config(registry)
    if store is not None and Path(paths.scores).is_file():  # else: TestScores says to run evaluate
        standing = _standing(store, key, paths)
        if standing is not None:
            return standing
    scores = TestScores.load(paths.scores)
    champion, how = (None, None) if store is None else _champion(store, paths, data)
    looked_up = {
        "tracking_uri": uri,
        "model_name": registry.model_name,
        "champion": None if champion is None else champion[0],
        **({} if how is None else {"champion_scores": how}),
    }
    report = build_report(gates, scores, champion, registry=looked_up)
    out = {**report.to_dict(), "inputs": key}  # what register records the decision under
    _write(paths, out)
    return GateStageResult(
        passed=report.passed,
        gates=out["gates"],
        champion_version=None if champion is None else champion[0],
    )


def _champion(
    store: Store, paths: PathsConfig, data: DataConfig
) -> tuple[tuple[str, Scored] | None, str | None]:
    """The champion's scores on the current test rows, and how they were had: read from its run
    when it logged them for these very rows (:mod:`alien.tracking.champion_scores`), else predicted."""
    import tempfile

    from alien.evaluation.rules import Scored
    from alien.stages.artifacts import TestScores
    from alien.tracking.champion import load_classifier
    from alien.tracking.champion_scores import logged_test_scores

    version = store.champion()
    if version is None:
        return None, None
    with tempfile.TemporaryDirectory(prefix="alien-champion-") as tmp:
        logged = logged_test_scores(store, version, paths.prepared, tmp)
        if logged is not None:
            found = TestScores.load(logged)
            return (version, Scored(found.method(ALIEN), found.errors)), "logged by its run (same test rows)"
    scored = champion_scored(version, load_classifier(store, version), paths, data)
    return (version, scored), "predicted on the test rows"


def _standing(store: Store, key: str, paths: PathsConfig) -> GateStageResult | None:
    """The decision made on ``key`` while the registry is still as it left it: its report, written again."""
    from alien.tracking.decision import last_decision

    recorded = last_decision(store, gate_key=key)
    if recorded is None:
        return None
    out = recorded.gate_report
    _write(paths, out)
    return GateStageResult(
        passed=bool(out["passed"]),
        gates=list(out["gates"]),
        champion_version=(out.get("registry") or {}).get("champion"),
        unchanged=True,
        decided_at=recorded.at,
    )


def _write(paths: PathsConfig, report: dict[str, Any]) -> None:
    write_json(paths.gate_report, report)
    # Earlier versions wrote a markdown twin that DVC did not track; a stale one would contradict this report.
    Path(paths.gate_report).with_suffix(".md").unlink(missing_ok=True)


def cli_keywords() -> dict[str, Any]:
    """What DVC tells this stage's command line: the repository root (``$DVC_ROOT``)."""
    return {"registry_root": dvc_root()}


main = stage_cli(__name__)

if __name__ == "__main__":
    raise SystemExit(main())
